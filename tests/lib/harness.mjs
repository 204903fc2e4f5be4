// Test harness of the API and browser tests: a real `registrar serve` on a
// free port, against a fresh database of the throwaway cluster that
// `scripts/dev test` starts (REGISTRAR_TEST_PG), plus a small HTTP client.
//
//   import { startServer, client } from '../lib/harness.mjs';
//   const srv = await startServer();            // { env, processes, ownCluster }
//   const c = client(srv.url);
//   const r = await c.get('/api/v1/courses');   // { status, headers, body, text }
//   await srv.stop();                           // throws unless every process exits 0
//
// Environment (set by meson and scripts/dev):
//   REGISTRAR_BIN          the binary under test (default <source>/build/registrar)
//   REGISTRAR_SOURCE_ROOT  the repository (default: two levels above this file)
//   REGISTRAR_TEST_PG      superuser URL of the throwaway cluster, no database part
//   REGISTRAR_TEST_PGCTL   shell command prefix running pg_ctl on that cluster
//                          (`$REGISTRAR_TEST_PGCTL stop -m fast`, `... start -w`)
//   REGISTRAR_PG_BINDIR    PostgreSQL binaries (default /usr/lib/postgresql/15/bin)

import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { checkResponse } from './openapi-check.mjs';

const execFileP = promisify(execFile);

export const sourceRoot =
  process.env.REGISTRAR_SOURCE_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const registrarBin = process.env.REGISTRAR_BIN ?? path.join(sourceRoot, 'build', 'registrar');
const pgBinDir = process.env.REGISTRAR_PG_BINDIR ?? '/usr/lib/postgresql/15/bin';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const READY_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 15000;

export function randomHex(bytes = 32) {
  return randomBytes(bytes).toString('hex');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Ports that are free right now: all are bound at once (so they differ),
// then released for the server to take.
export async function freePorts(n = 1) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', resolve);
      });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

export async function freePort() {
  return (await freePorts(1))[0];
}

function withDatabase(url, dbname) {
  const u = new URL(url);
  u.pathname = '/' + dbname;
  return u.toString();
}

async function adminQuery(adminUrl, text) {
  const c = new pg.Client({ connectionString: withDatabase(adminUrl, 'postgres') });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ code: -1, signal: null, out: out + String(err) }));
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

// --- PostgreSQL control ----------------------------------------------------

// A cluster of the test's own, for tests that stop and start PostgreSQL
// without disturbing the test files that run beside them.
async function startOwnCluster() {
  const dir = await mkdtemp(path.join(tmpdir(), 'registrar-own-pg-'));
  await chmod(dir, 0o755);
  const asPg = (cmd, args) => (isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgresql.log');
  if (isRoot) await execFileP('chown', ['postgres:', dir]);
  let r = await run(...asPg(path.join(pgBinDir, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust',
    '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']), { cwd: '/' });
  if (r.code !== 0) throw new Error(`initdb failed:\n${r.out}`);
  const port = await freePort();
  const conf = [
    "listen_addresses = '127.0.0.1'", `port = ${port}`, `unix_socket_directories = '${dir}'`,
    'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'max_connections = 100',
    'shared_buffers = 32MB', '',
  ].join('\n');
  const confFile = path.join(dir, 'extra.conf');
  await writeFile(confFile, conf);
  r = await run(...asPg('sh', ['-c', `cat '${confFile}' >> '${data}/postgresql.conf'`]), { cwd: '/' });
  if (r.code !== 0) throw new Error(`configuring the cluster failed:\n${r.out}`);
  const pgctl = async (...args) => {
    const res = await run(...asPg(path.join(pgBinDir, 'pg_ctl'), ['-D', data, '-l', log, ...args]), { cwd: '/' });
    if (res.code !== 0) throw new Error(`pg_ctl ${args.join(' ')} failed:\n${res.out}`);
  };
  await pgctl('-w', '-t', '60', 'start');
  return {
    url: `postgresql://postgres@127.0.0.1:${port}`,
    stop: () => pgctl('-w', '-t', '60', '-m', 'fast', 'stop'),
    start: () => pgctl('-w', '-t', '60', 'start'),
    async destroy() {
      await pgctl('-w', '-t', '60', '-m', 'immediate', 'stop').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// Control of the shared throwaway cluster through REGISTRAR_TEST_PGCTL.
// Stopping it disturbs every test file running at the same time: prefer
// startServer({ ownCluster: true }).
function sharedClusterControl() {
  const pgctl = async (args) => {
    const prefix = process.env.REGISTRAR_TEST_PGCTL;
    if (!prefix) throw new Error('REGISTRAR_TEST_PGCTL is not set (run under scripts/dev test)');
    const r = await run('sh', ['-c', `${prefix} ${args}`], { cwd: '/' });
    if (r.code !== 0) throw new Error(`${prefix} ${args} failed:\n${r.out}`);
  };
  return {
    stop: () => pgctl('-w -t 60 -m fast stop'),
    start: () => pgctl('-w -t 60 start'),
  };
}

export const stopPostgres = () => sharedClusterControl().stop();
export const startPostgres = () => sharedClusterControl().start();
export async function restartPostgres() {
  await stopPostgres();
  await startPostgres();
}

// --- the server ------------------------------------------------------------

const running = new Set();
process.once('exit', () => {
  // A test that failed before stop(): leave no server behind.
  for (const child of running) child.kill('SIGKILL');
});

function spawnServer(env, index) {
  const child = spawn(registrarBin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { child, lines: [], exited: null, index };
  proc.exit = new Promise((resolve) => {
    child.on('error', (err) => {
      proc.lines.push(`harness: could not start ${registrarBin}: ${err.message}`);
      proc.exited = { code: -1, signal: null };
      running.delete(child);
      resolve(proc.exited);
    });
    child.on('exit', (code, signal) => {
      proc.exited = { code, signal };
      running.delete(child);
      resolve(proc.exited);
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      proc.lines.push(...parts);
    });
    stream.on('end', () => {
      if (partial) proc.lines.push(partial);
      partial = '';
    });
  }
  running.add(child);
  return proc;
}

async function waitReady(proc, url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exited) {
      throw new Error(`registrar serve exited during start-up (${JSON.stringify(proc.exited)}):\n` +
        proc.lines.join('\n'));
    }
    try {
      const r = await fetch(url + '/readyz', { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(50);
  }
  throw new Error(`registrar serve at ${url} not ready within ${READY_TIMEOUT_MS} ms (${last}):\n` +
    proc.lines.join('\n'));
}

// startServer({ env, processes, ownCluster, migrate, admin })
//   env         extra environment for `registrar serve` (wins over the defaults)
//   processes   how many server processes share the database (default 1)
//   admin       give each process an admin address (REGISTRAR_ADMIN_LISTEN) on a
//               free loopback port: srv.adminUrl, srv.adminUrls; off otherwise
//   ownCluster  run on a PostgreSQL cluster of this call's own (for tests
//               that stop and start PostgreSQL), destroyed by stop()
//   migrate     false to skip `registrar migrate`
// Returns { url, urls, adminUrl, adminUrls, dbUrl, dbName, secretKey, webhookSecret,
//   metricsToken, env, sql, metrics, logs, logEntries, pids, stopPostgres, startPostgres,
//   restartPostgres, stop }.
//
// Secrets reach the servers through the environment (flags would show in ps):
// the secret key through REGISTRAR_SECRET_KEY_FILE (a file of mode 0600 in a
// directory of the call's own), the others as variables.
export async function startServer({ env = {}, processes = 1, ownCluster = false, migrate = true, admin = false } = {}) {
  let cluster = null;
  let adminUrl = process.env.REGISTRAR_TEST_PG;
  if (ownCluster) {
    cluster = await startOwnCluster();
    adminUrl = cluster.url;
  }
  if (!adminUrl) {
    throw new Error('REGISTRAR_TEST_PG is not set: run the tests with `scripts/dev test` ' +
      '(or `scripts/dev with-pg meson test -C <builddir>`)');
  }
  const dbName = 't_' + randomHex(6);
  await adminQuery(adminUrl, `create database ${dbName}`);
  const dbUrl = withDatabase(adminUrl, dbName);
  const secretKey = randomHex(32);
  const webhookSecret = randomHex(32);
  const metricsToken = randomHex(24);
  const secretsDir = await mkdtemp(path.join(tmpdir(), 'registrar-secrets-'));
  const secretKeyFile = path.join(secretsDir, 'secret_key');
  await writeFile(secretKeyFile, secretKey + '\n', { mode: 0o600 });
  const baseEnv = {
    ...process.env,
    REGISTRAR_DATABASE_URL: dbUrl,
    REGISTRAR_SECRET_KEY_FILE: secretKeyFile,
    REGISTRAR_WEBHOOK_SECRET: webhookSecret,
    REGISTRAR_METRICS_TOKEN: metricsToken,
    // The built-in test processor, explicitly (unset, payments answer 503);
    // tests of Stripe set REGISTRAR_PAYMENT_PROCESSOR=stripe and the stand-in's keys.
    REGISTRAR_PAYMENT_PROCESSOR: 'test',
    // Many servers share this machine: none takes the default admin port.
    REGISTRAR_ADMIN_LISTEN: 'off',
    REGISTRAR_WEB_ROOT: path.join(sourceRoot, 'web'),
    REGISTRAR_LOG_LEVEL: 'debug',
    // Every test signs up from 127.0.0.1: the per-address limits are set
    // out of reach, except by the tests of the limits themselves (env wins).
    REGISTRAR_SIGNUP_LIMIT: '1000000',
    REGISTRAR_RESET_LIMIT: '1000000',
    REGISTRAR_DISCOUNT_ADDRESS_LIMIT: '1000000',
    REGISTRAR_DISCOUNT_LEARNER_LIMIT: '1000000',
    ...env,
  };

  let pool = null;
  const procs = [];
  const cleanupDatabase = async () => {
    if (pool) await pool.end().catch(() => {});
    pool = null;
    await adminQuery(adminUrl, `drop database if exists ${dbName} with (force)`).catch(() => {});
    await rm(secretsDir, { recursive: true, force: true });
    if (cluster) await cluster.destroy();
  };

  try {
    if (migrate) {
      const r = await run(registrarBin, ['migrate', '--database-url', dbUrl], { env: baseEnv });
      if (r.code !== 0) throw new Error(`registrar migrate failed (exit ${r.code}, signal ${r.signal}):\n${r.out}`);
    }
    // A port can be taken between our probe and the server's bind: retry.
    for (let i = 0; i < processes; i++) {
      for (let attempt = 1; ; attempt++) {
        const [port, adminPort] = await freePorts(2);
        const url = `http://127.0.0.1:${port}`;
        const procEnv = { ...baseEnv, REGISTRAR_LISTEN: `127.0.0.1:${port}` };
        if (admin) procEnv.REGISTRAR_ADMIN_LISTEN = `127.0.0.1:${adminPort}`;
        const proc = spawnServer(procEnv, i);
        proc.url = url;
        proc.adminUrl = admin ? `http://127.0.0.1:${adminPort}` : null;
        try {
          await waitReady(proc, url);
          procs.push(proc);
          break;
        } catch (err) {
          if (!proc.exited) {
            proc.child.kill('SIGKILL');
            await proc.exit;
          }
          const portTaken = proc.lines.some((l) => /address already in use|EADDRINUSE/i.test(l));
          if (!portTaken || attempt >= 3) throw err;
        }
      }
    }
  } catch (err) {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exit));
    await cleanupDatabase();
    throw err;
  }

  pool = new pg.Pool({ connectionString: dbUrl, max: 4 });
  pool.on('error', () => {}); // a restarted cluster drops idle clients
  const control = cluster ?? sharedClusterControl();
  let stopped = false;

  const srv = {
    url: procs[0].url,
    urls: procs.map((p) => p.url),
    adminUrl: procs[0].adminUrl,
    adminUrls: procs.map((p) => p.adminUrl),
    pids: procs.map((p) => p.child.pid),
    dbUrl,
    dbName,
    secretKey,
    webhookSecret,
    metricsToken,
    env: baseEnv,

    // metrics(i) → the Prometheus text of process i (default 0), fetched with the token.
    async metrics(i = 0) {
      const r = await fetch(procs[i].url + '/metrics', { headers: { authorization: `Bearer ${metricsToken}` } });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`GET /metrics: ${r.status} ${text}`);
      return text;
    },

    // sql(text, params) → rows, on the test database.
    async sql(text, params = []) {
      return (await pool.query(text, params)).rows;
    },

    // logs(i) → the stderr/stdout lines of process i, or of all processes.
    logs(i) {
      if (i !== undefined) return [...procs[i].lines];
      return procs.flatMap((p) => p.lines);
    },

    // logEntries(i) → the log lines that are JSON objects, parsed.
    logEntries(i) {
      return srv.logs(i).flatMap((line) => {
        try {
          const v = JSON.parse(line);
          return v && typeof v === 'object' ? [v] : [];
        } catch {
          return [];
        }
      });
    },

    stopPostgres: () => control.stop(),
    startPostgres: () => control.start(),
    async restartPostgres() {
      await control.stop();
      await control.start();
    },

    // stop(): SIGTERM to every process; throws unless each exits with 0.
    async stop() {
      if (stopped) return;
      stopped = true;
      const problems = [];
      for (const p of procs) if (!p.exited) p.child.kill('SIGTERM');
      await Promise.all(procs.map(async (p) => {
        const timer = setTimeout(() => {
          problems.push(`process ${p.index} (${p.url}) did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
          p.child.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        const { code, signal } = await p.exit;
        clearTimeout(timer);
        if (code !== 0) {
          problems.push(`process ${p.index} (${p.url}) exited with code ${code}, signal ${signal}:\n` +
            p.lines.slice(-60).join('\n'));
        }
      }));
      for (const u of srv.urls) servers.delete(u);
      await cleanupDatabase();
      if (problems.length) throw new Error('registrar serve did not stop cleanly:\n' + problems.join('\n'));
    },
  };
  for (const u of srv.urls) servers.set(u, srv);
  for (const u of srv.adminUrls) if (u) adminAddresses.add(String(u).replace(/\/+$/, ''));
  return srv;
}

// The running servers by URL, so that helpers given only a client (or a
// URL) can reach the server's database: serverAt(c.base) or serverAt(url).
const servers = new Map();
// The admin addresses (REGISTRAR_ADMIN_LISTEN): they serve the operations
// routes only, so the OpenAPI check holds them to that (openapi-check.mjs).
const adminAddresses = new Set();
export function serverAt(url) {
  return servers.get(String(url).replace(/\/+$/, ''));
}

// --- the HTTP client -------------------------------------------------------

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function splitSetCookie(headers) {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie();
  const joined = headers.get('set-cookie');
  return joined ? joined.split(/,(?=\s*[A-Za-z0-9_.-]+=)/) : [];
}

// client(baseUrl) → { req, get, post, put, patch, del, cookies, csrf, setCsrf, clearCookies }
//
// req(method, path, opts) → { status, headers (Headers), body, text }
//   opts.json     a value sent as JSON (Content-Type: application/json)
//   opts.body     same as json for objects; strings and Buffers are sent as they are
//   opts.raw      a string or Buffer sent as it is (no Content-Type unless given)
//   opts.headers  extra request headers
//   opts.token    sent as Authorization: Bearer <token>
//   opts.cookie   a Cookie header to send instead of the jar's
//   opts.csrf     X-CSRF-Token to send; false sends none. By default the one
//                 remembered from the last sign-in response is sent on unsafe
//                 requests that carry the jar's cookies.
//   opts.redirect fetch's redirect mode (default 'manual')
// body is parsed when the response is JSON (application/json or
// application/problem+json), else it is the text.
//
// The client keeps a cookie jar like a browser (Set-Cookie stored, expired
// cookies dropped, sent on each request) and remembers `csrf_token` from
// any JSON response that has one.
export function client(baseUrl) {
  const base = baseUrl.replace(/\/+$/, '');
  const jar = new Map();
  let csrfToken = null;

  async function req(method, urlPath, opts = {}) {
    method = method.toUpperCase();
    const headers = new Headers(opts.headers ?? {});
    let body;
    if (opts.raw !== undefined) {
      body = opts.raw;
    } else if (opts.json !== undefined ||
      (opts.body !== undefined && typeof opts.body !== 'string' && !(opts.body instanceof Uint8Array))) {
      body = JSON.stringify(opts.json !== undefined ? opts.json : opts.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    } else if (opts.body !== undefined) {
      body = opts.body;
    }
    if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
    let usingJar = false;
    if (opts.cookie !== undefined) {
      if (opts.cookie) headers.set('cookie', opts.cookie);
    } else if (jar.size && !headers.has('cookie')) {
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
      usingJar = true;
    }
    if (opts.csrf !== undefined) {
      if (opts.csrf !== false && opts.csrf !== null) headers.set('x-csrf-token', opts.csrf);
    } else if (usingJar && csrfToken && UNSAFE.has(method) && !headers.has('x-csrf-token')) {
      headers.set('x-csrf-token', csrfToken);
    }

    const res = await fetch(base + urlPath, {
      method,
      headers,
      body,
      redirect: opts.redirect ?? 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30000),
    });
    const text = await res.text();

    for (const line of splitSetCookie(res.headers)) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        if (/^max-age$/i.test(k)) return Number(v) <= 0;
        if (/^expires$/i.test(k)) return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }

    let parsed = text;
    const type = res.headers.get('content-type') ?? '';
    if (/^application\/([\w.+-]*\+)?json\b/i.test(type) && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    // Every response is held to the OpenAPI document (openapi-check.mjs).
    checkResponse(method, urlPath, res, parsed, text, { admin: adminAddresses.has(base) });
    if (parsed && typeof parsed === 'object' && typeof parsed.csrf_token === 'string') {
      csrfToken = parsed.csrf_token;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  return {
    base,
    req,
    get: (p, o) => req('GET', p, o),
    head: (p, o) => req('HEAD', p, o),
    post: (p, o) => req('POST', p, o),
    put: (p, o) => req('PUT', p, o),
    patch: (p, o) => req('PATCH', p, o),
    del: (p, o) => req('DELETE', p, o),
    cookies: () => Object.fromEntries(jar),
    clearCookies: () => jar.clear(),
    get csrf() {
      return csrfToken;
    },
    setCsrf(token) {
      csrfToken = token;
    },
  };
}

// The name team.md uses for the same client.
export const api = client;

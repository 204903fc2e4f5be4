// Operations: health, readiness (database reachable, schema current),
// metrics (private: a Bearer token or the admin address), secrets from the
// environment or files only, the OpenAPI document, and surviving a
// PostgreSQL restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import pg from 'pg';
import { startServer, client, registrarBin, randomHex, freePort } from '../lib/harness.mjs';
import { sleep, eventually } from '../lib/common.mjs';


test('healthz and readyz answer while the database is up', async () => {
  const srv = await startServer();
  try {
    const c = client(srv.url);
    const h = await c.get('/healthz');
    assert.equal(h.status, 200);
    assert.deepEqual(h.body, { status: 'ok' });
    const r = await c.get('/readyz');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ready');
    const [{ v }] = await srv.sql('select max(version) as v from registrar.schema_migrations');
    assert.equal(r.body.schema_version, v);
  } finally {
    await srv.stop();
  }
});

test('readyz is 503 when the database schema is newer than the binary knows', async () => {
  const srv = await startServer();
  try {
    await srv.sql("insert into registrar.schema_migrations (version, name) values (9999, '9999_future.sql')");
    const r = await client(srv.url).get('/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.body.type, 'https://registrar.invalid/problems/database-unavailable');
    assert.match(r.body.detail, /newer/);
    assert.ok(r.headers.get('retry-after'));
    await srv.sql('delete from registrar.schema_migrations where version = 9999');
    assert.equal((await client(srv.url).get('/readyz')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('migrate is idempotent and safe to run from several processes at once', async () => {
  const { spawn } = await import('node:child_process');
  const srv = await startServer({ migrate: true });
  try {
    const runMigrate = () => new Promise((resolve) => {
      const p = spawn(process.env.REGISTRAR_BIN, ['migrate', '--database-url', srv.dbUrl], { stdio: 'ignore' });
      p.on('exit', (code) => resolve(code));
    });
    const codes = await Promise.all([runMigrate(), runMigrate(), runMigrate(), runMigrate()]);
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const rows = await srv.sql('select version, count(*)::int as n from registrar.schema_migrations group by version');
    for (const row of rows) assert.equal(row.n, 1);
    const [{ n }] = await srv.sql('select count(*)::int as n from registrar.courses');
    assert.equal(n, 4, 'the seed ran once');
  } finally {
    await srv.stop();
  }
});

test('metrics are Prometheus text with requests by route and status, latency and pool', async () => {
  const srv = await startServer();
  try {
    const c = client(srv.url);
    await c.get('/api/v1/courses');
    await c.get('/api/v1/courses/no-such-course');
    const m = await c.get('/metrics', { token: srv.metricsToken });
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    assert.match(m.text, /# TYPE registrar_http_requests_total counter/);
    assert.match(m.text, /registrar_http_requests_total\{route="\/api\/v1\/courses",method="GET",status="200"\} 1\n/);
    assert.match(m.text, /registrar_http_requests_total\{route="\/api\/v1\/courses\/\{slug\}",method="GET",status="404"\} 1\n/);
    assert.match(m.text, /# TYPE registrar_http_request_duration_seconds histogram/);
    assert.match(m.text, /registrar_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/);
    assert.match(m.text, /registrar_http_request_duration_seconds_count \d+/);
    assert.match(m.text, /registrar_db_pool_in_use \d+/);
    // Raw paths never become labels: they could carry tokens.
    assert.doesNotMatch(m.text, /no-such-course/);
  } finally {
    await srv.stop();
  }
});

test('the OpenAPI document is served as JSON and names the contract paths', async () => {
  const srv = await startServer();
  try {
    const r = await client(srv.url).get('/api/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.1.0');
    // It is a valid OpenAPI 3.1 document (checked against the specification's schema).
    const validator = new Validator();
    const result = await validator.validate(r.body);
    assert.equal(validator.version, '3.1');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 1));
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/v1/courses', '/api/v1/courses/{slug}']) {
      assert.ok(r.body.paths[p], `missing ${p}`);
    }
    const etag = r.headers.get('etag');
    assert.ok(etag);
    const again = await client(srv.url).get('/api/v1/openapi.json', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  } finally {
    await srv.stop();
  }
});

test('the server survives a PostgreSQL restart: 503 while down, 200 within 5 s after', async () => {
  const srv = await startServer({ ownCluster: true });
  try {
    const c = client(srv.url);
    assert.equal((await c.get('/api/v1/courses/pcep', { headers: { 'cache-control': 'no-cache' } })).status, 200);
    await srv.stopPostgres();
    // Bypass the public cache with distinct queries so that the database is asked.
    const down = await c.get('/api/v1/courses?limit=3');
    assert.equal(down.status, 503);
    assert.equal(down.body.type, 'https://registrar.invalid/problems/database-unavailable');
    assert.ok(down.headers.get('retry-after'));
    assert.doesNotMatch(down.text, /postgres|libpq|connection|server closed/i, 'no internals in a 5xx');
    const ready = await c.get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal((await c.get('/healthz')).status, 200, 'liveness does not depend on the database');

    await srv.startPostgres();
    const t0 = Date.now();
    let status = 0;
    let i = 0;
    while (Date.now() - t0 < 5000) {
      status = (await c.get(`/api/v1/courses?limit=${(i++ % 150) + 4}`)).status;
      if (status === 200) break;
      await sleep(100);
    }
    assert.equal(status, 200, 'the catalog answers again within 5 s');
    // Every pooled connection recovers, not just one: a worker whose reconnect
    // was slow while PostgreSQL was down waits a second before trying again
    // (answering 503 with Retry-After meanwhile), so allow the same 5 s, for
    // readiness too (it asks the database on whichever worker takes it).
    let readyAgain = 0;
    while (Date.now() - t0 < 10000) {
      readyAgain = (await c.get('/readyz')).status;
      if (readyAgain === 200) break;
      await sleep(100);
    }
    assert.equal(readyAgain, 200, 'ready again');
    let statuses = [];
    for (let round = 0; Date.now() - t0 < 10000; round++) {
      const many = await Promise.all(Array.from({ length: 20 },
        (_, k) => c.get(`/api/v1/courses?limit=${((round * 20 + k) % 190) + 5}`)));
      statuses = [...new Set(many.map((r) => r.status))];
      if (statuses.length === 1 && statuses[0] !== 503) break;
      await sleep(200);
    }
    assert.deepEqual(statuses, [200], 'every pooled connection answers again');
    assert.equal(srv.logEntries().filter((e) => e.msg === 'listening').length, 1, 'the server was not restarted');
  } finally {
    await srv.stop();
  }
});

const NOT_FOUND = 'https://registrar.invalid/problems/not-found';

test('/metrics on the main address: only with Authorization: Bearer REGISTRAR_METRICS_TOKEN, else 404', async () => {
  const srv = await startServer();
  try {
    const c = client(srv.url);
    const ok = await c.get('/metrics', { token: srv.metricsToken });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /registrar_http_requests_total/);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    const wrong = [
      {},                                                         // missing
      { token: srv.metricsToken.slice(0, -1) },                   // one character short
      { token: srv.metricsToken + 'x' },                          // one too many
      { token: 'x'.repeat(srv.metricsToken.length) },             // same length
      { headers: { authorization: `Basic ${srv.metricsToken}` } }, // another scheme
      { headers: { authorization: srv.metricsToken } },
      { cookie: `registrar_session=${srv.metricsToken}` },
    ];
    for (const opts of wrong) {
      const r = await c.get('/metrics', opts);
      assert.equal(r.status, 404, JSON.stringify(opts));
      assert.equal(r.body.type, NOT_FOUND);
      assert.doesNotMatch(r.text, /registrar_http/);
    }
    // Another method does not give the route away with a 405 and an Allow.
    const post = await c.post('/metrics', { json: {} });
    assert.equal(post.status, 404);
    assert.equal(post.headers.get('allow'), null);
    // The token opens nothing else: it is no session.
    assert.equal((await c.get('/api/v1/me', { token: srv.metricsToken })).status, 401);
    // Refused scrapes are not counted under the route's label.
    const text = await srv.metrics();
    assert.match(text, /registrar_http_requests_total\{route="\/metrics",method="GET",status="200"\} 1\n/);
    assert.doesNotMatch(text, /route="\/metrics",method="GET",status="404"/);
  } finally {
    await srv.stop();
  }
});

test('/metrics without a configured token is on the admin address only', async () => {
  const srv = await startServer({ env: { REGISTRAR_METRICS_TOKEN: '' }, admin: true });
  try {
    assert.equal((await client(srv.url).get('/metrics')).status, 404);
    assert.equal((await client(srv.url).get('/metrics', { token: 'anything-at-all-here' })).status, 404);
    assert.equal((await client(srv.adminUrl).get('/metrics')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('the admin address serves /metrics, /healthz and /readyz, and nothing else', async () => {
  const srv = await startServer({ admin: true, processes: 2 });
  try {
    assert.equal(srv.adminUrls.length, 2);
    for (const [i, adminUrl] of srv.adminUrls.entries()) {
      const a = client(adminUrl);
      const m = await a.get('/metrics');
      assert.equal(m.status, 200);
      assert.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
      assert.deepEqual((await a.get('/healthz')).body, { status: 'ok' });
      const ready = await a.get('/readyz');
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      for (const p of ['/api/v1/courses', '/api/v1/courses/pcep', '/api/v1/openapi.json', '/', '/index.html',
        '/api/v1/me', '/nothing']) {
        const r = await a.get(p);
        assert.equal(r.status, 404, `${p} on the admin address`);
        assert.equal(r.body.type, NOT_FOUND);
      }
      assert.equal((await a.post('/api/v1/accounts', { json: {} })).status, 404);
      assert.equal((await a.post('/metrics', { json: {} })).status, 404);
      // The main address still serves everything else, and /metrics only with the token.
      const c = client(srv.urls[i]);
      assert.equal((await c.get('/api/v1/courses')).status, 200);
      assert.equal((await c.get('/metrics')).status, 404);
      const listening = srv.logEntries(i).find((e) => e.msg === 'listening');
      assert.equal(listening.admin_url, adminUrl);
    }
  } finally {
    await srv.stop();
  }
});

test('REGISTRAR_ADMIN_LISTEN=off: no admin address; a taken admin port stops the start', async () => {
  const srv = await startServer();
  try {
    const listening = srv.logEntries().find((e) => e.msg === 'listening');
    assert.ok(listening);
    assert.equal(listening.admin_url, undefined);
    // A second server asked for an address that is taken refuses to start, saying why.
    const taken = new URL(srv.url).port;
    const r = await runRegistrar(['serve'], {
      ...srv.env, REGISTRAR_LISTEN: `127.0.0.1:${await freePort()}`, REGISTRAR_ADMIN_LISTEN: `127.0.0.1:${taken}`,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.err, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}`));
  } finally {
    await srv.stop();
  }
});

// Runs the binary to its end: { code, out, err }.
function runRegistrar(args, env) {
  return new Promise((resolve) => {
    const p = spawn(registrarBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('secrets come from the environment or *_FILE, never from flags', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'registrar-secret-test-'));
  const key = randomHex(32);
  const base = { PATH: process.env.PATH, REGISTRAR_DATABASE_URL: 'postgresql://127.0.0.1:1/none' };
  try {
    // A flag for a secret: one line naming the flag and the variables, never the value.
    for (const flag of ['--secret-key', '--webhook-secret', '--smtp-password', '--metrics-token']) {
      for (const args of [['serve', flag, key], ['serve', `${flag}=${key}`]]) {
        const r = await runRegistrar(args, { ...base, REGISTRAR_SECRET_KEY: key });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
        assert.equal(r.err.trim().split('\n').length, 1, r.err);
        assert.match(r.err, new RegExp(`${flag}: secrets are not taken from flags.*_FILE`));
        assert.ok(!r.err.includes(key) && !r.out.includes(key), 'the secret was echoed');
      }
    }
    const loose = path.join(dir, 'loose');
    await writeFile(loose, key + '\n', { mode: 0o644 });
    let r = await runRegistrar(['serve'], { ...base, REGISTRAR_SECRET_KEY_FILE: loose });
    assert.equal(r.code, 2);
    assert.match(r.err, /REGISTRAR_SECRET_KEY_FILE: .*loose may be read by its group or others/);
    assert.ok(!r.err.includes(key));

    const tight = path.join(dir, 'tight');
    await writeFile(tight, key + '\n', { mode: 0o600 });
    r = await runRegistrar(['serve'], { ...base, REGISTRAR_SECRET_KEY_FILE: tight, REGISTRAR_SECRET_KEY: key });
    assert.equal(r.code, 2);
    assert.match(r.err, /REGISTRAR_SECRET_KEY and REGISTRAR_SECRET_KEY_FILE are both set/);

    r = await runRegistrar(['serve'], { ...base, REGISTRAR_WEBHOOK_SECRET_FILE: path.join(dir, 'missing') });
    assert.equal(r.code, 2);
    assert.match(r.err, /REGISTRAR_WEBHOOK_SECRET_FILE: cannot open/);

    r = await runRegistrar(['serve'], {
      ...base, REGISTRAR_SECRET_KEY: key, REGISTRAR_SMTP_URL: 'smtp://127.0.0.1:1', REGISTRAR_SMTP_PASSWORD: 'pw',
    });
    assert.equal(r.code, 2);
    assert.match(r.err, /REGISTRAR_SMTP_PASSWORD needs/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // And the harness itself serves every API test with the key from a 0600 file.
  const srv = await startServer();
  try {
    assert.ok(srv.env.REGISTRAR_SECRET_KEY_FILE);
    assert.equal(srv.env.REGISTRAR_SECRET_KEY, undefined);
    assert.equal((await client(srv.url).get('/readyz')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('a stale public copy is refreshed in the background: the request that finds it is answered from it, not after the query', async () => {
  const srv = await startServer();
  const locker = new pg.Client({ connectionString: srv.dbUrl });
  await locker.connect();
  try {
    const c = client(srv.url);
    const path = '/api/v1/courses/pcep';
    const first = await c.get(path);
    assert.equal(first.status, 200);
    const t0 = Date.now();
    // Every query of the courses now waits for this transaction.
    await locker.query('begin');
    await locker.query('lock table registrar.courses in access exclusive mode');
    // Into the second half of the copy's 1 s life: a refresh is due.
    await sleep(Math.max(0, 600 - (Date.now() - t0)));
    // Answered while the lock is still held: from the copy, to the request
    // asked to refresh it and to the next; neither waited on the query.
    const stale = await c.get(path);
    assert.equal(stale.status, 200, stale.text);
    assert.deepEqual(stale.body, first.body);
    assert.equal((await c.get(path)).status, 200);
    assert.ok(Date.now() - t0 < 1000, 'the copy was still within its life (the test is meaningful)');
    await locker.query('commit');
    // The refresh that waited is stored: a fresh copy, served again.
    await eventually(async () => (await c.get(path)).status === 200, 'served after the lock');
  } finally {
    await locker.end().catch(() => {});
    await srv.stop();
  }
});

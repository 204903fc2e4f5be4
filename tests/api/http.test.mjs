// HTTP conventions of docs/api.md: problems, 404/405, request ids, security
// headers, body limits, static files that cannot leave the web root, and a
// server that survives malformed traffic.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, writeFile, mkdir, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, client } from '../lib/harness.mjs';
import { account, createOffering } from '../lib/catalog.mjs';
import { PASSWORD } from '../lib/common.mjs';

let srv;
let c;
let webRoot;
before(async () => {
  webRoot = await mkdtemp(path.join(tmpdir(), 'registrar-web-'));
  await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>t</title><p>home</p>');
  await mkdir(path.join(webRoot, 'css'));
  await writeFile(path.join(webRoot, 'css', 'app.css'), 'body{color:#111}');
  await writeFile(path.join(webRoot, 'app.js'), 'export {};');
  await writeFile(path.join(webRoot, '.hidden'), 'secret');
  await symlink('/etc/passwd', path.join(webRoot, 'passwd'));
  await symlink('/etc', path.join(webRoot, 'etc'));
  await symlink(path.join(webRoot, 'app.js'), path.join(webRoot, 'inside.js'));
  srv = await startServer({ env: { REGISTRAR_WEB_ROOT: webRoot } });
  c = client(srv.url);
});
after(async () => {
  await srv?.stop();
  await rm(webRoot, { recursive: true, force: true });
});

// A raw request over a socket: for paths and bytes fetch() would normalise.
function raw(text, { timeoutMs = 5000 } = {}) {
  const u = new URL(srv.url);
  return new Promise((resolve) => {
    const s = net.connect(Number(u.port), u.hostname);
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d) => { data += d; });
    s.on('close', () => resolve(data));
    s.on('error', () => resolve(data));
    s.setTimeout(timeoutMs, () => s.destroy());
    s.write(text);
  });
}
const statusOf = (response) => Number((/^HTTP\/1\.[01] (\d{3})/.exec(response) ?? [])[1] ?? 0);

test('an unknown API path is a 404 problem', async () => {
  const r = await c.get('/api/v1/nothing-here');
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  assert.deepEqual(Object.keys(r.body).sort(), ['detail', 'status', 'title', 'type']);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/not-found');
});

test('a wrong method is 405 with Allow', async () => {
  const r = await c.req('DELETE', '/api/v1/courses');
  assert.equal(r.status, 405);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/method-not-allowed');
  assert.match(r.headers.get('allow'), /GET/);
  const h = await c.req('PUT', '/healthz');
  assert.equal(h.status, 405);
  assert.equal(h.headers.get('allow'), 'GET, HEAD');
});

test('X-Request-Id is echoed when sane and made up otherwise', async () => {
  const mine = await c.get('/healthz', { headers: { 'x-request-id': 'abc-123_X.y' } });
  assert.equal(mine.headers.get('x-request-id'), 'abc-123_X.y');
  const made = await c.get('/healthz');
  assert.match(made.headers.get('x-request-id'), /^[0-9a-f]{24}$/);
  const evil = await c.get('/healthz', { headers: { 'x-request-id': 'a"}{\\n' + 'x'.repeat(100) } });
  assert.match(evil.headers.get('x-request-id'), /^[0-9a-f]{24}$/);
});

test('security headers on API answers, problems and HTML', async () => {
  for (const p of ['/api/v1/courses', '/api/v1/nothing', '/', '/healthz']) {
    const r = await c.get(p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', p);
    assert.ok(r.headers.get('x-request-id'), p);
  }
  const html = await c.get('/');
  assert.match(html.headers.get('content-type'), /^text\/html/);
  const csp = html.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.match(csp, /frame-ancestors 'none'/);
});

test('credentials make a response uncacheable (Cache-Control: no-store)', async () => {
  const r = await c.get('/api/v1/courses', { token: 'not-a-real-token' });
  assert.equal(r.status, 200, 'a bad token on a public route reads as anonymous');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const anon = await c.get('/api/v1/courses');
  assert.notEqual(anon.headers.get('cache-control'), 'no-store');
});

test('bodies over 64 KiB are 413 problems, announced or chunked', async () => {
  const big = JSON.stringify({ x: 'a'.repeat(70 * 1024) });
  const r = await c.post('/api/v1/courses', { raw: big, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 413);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/payload-too-large');
  const chunked = await raw('POST /api/v1/courses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
    (70 * 1024).toString(16) + '\r\n' + 'a'.repeat(70 * 1024) + '\r\n0\r\n\r\n');
  assert.equal(statusOf(chunked), 413);
  assert.equal((await c.get('/healthz')).status, 200);
});

test('static files get their content types and revalidation headers', async () => {
  const css = await c.get('/css/app.css');
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /^text\/css/);
  assert.equal(css.text, 'body{color:#111}');
  const js = await c.get('/app.js');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const etag = js.headers.get('etag');
  assert.ok(etag);
  assert.equal(js.headers.get('cache-control'), 'no-cache');
  const again = await c.get('/app.js', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const home = await c.get('/');
  assert.match(home.text, /home/);
});

test('no way out of the web root: dot segments, encodings, symlinks, hidden files', async () => {
  const attempts = [
    'GET /../../../../etc/passwd HTTP/1.1',
    'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1',
    'GET /css/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1',
    'GET /%2E%2E%2F%2E%2E%2Fetc%2Fpasswd HTTP/1.1',
    'GET /..%2f..%2fetc%2fpasswd HTTP/1.1',
    'GET /css/..%5c..%5cetc%5cpasswd HTTP/1.1',
    'GET /passwd HTTP/1.1',
    'GET /etc/passwd HTTP/1.1',
    'GET /inside.js HTTP/1.1',
    'GET /.hidden HTTP/1.1',
    'GET /css HTTP/1.1',
  ];
  for (const line of attempts) {
    const res = await raw(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const status = statusOf(res);
    assert.ok(status === 404 || status === 400, `${line} → ${status}`);
    assert.doesNotMatch(res, /root:|secret/, line);
  }
});

test('malformed requests never crash the server or produce a 5xx', async () => {
  const junk = [
    'GARBAGE\r\n\r\n',
    'GET\r\n\r\n',
    'GET /api/v1/courses HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
    'POST /api/v1/courses HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n',
    'GET /api/v1/courses/' + 'a'.repeat(20000) + ' HTTP/1.1\r\nHost: x\r\n\r\n',
    'GET /api/v1/courses HTTP/1.1\r\nHost: x\r\n' + 'X-Big: ' + 'b'.repeat(70000) + '\r\n\r\n',
    'GET /api/v1/courses?limit=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n',
    '\x00\x01\x02\x03\r\n\r\n',
  ];
  for (const j of junk) {
    const res = await raw(j);
    const status = statusOf(res);
    assert.ok(status === 0 || status < 500, `${JSON.stringify(j.slice(0, 60))} → ${status}`);
  }
  // An unknown protocol version is refused by libmicrohttpd itself with the
  // status RFC 9110 prescribes for it (505), before any of our code runs.
  const version = statusOf(await raw('GET / HTTP/9.9\r\nHost: x\r\n\r\n'));
  assert.ok(version === 505 || version === 400 || version === 0, `HTTP/9.9 → ${version}`);
  assert.equal((await c.get('/healthz')).status, 200);
  assert.equal((await c.get('/api/v1/courses')).status, 200);
});

test('SIGTERM finishes requests in flight and exits 0', async () => {
  const s = await startServer();
  const cc = client(s.url);
  const inflight = Array.from({ length: 20 }, (_, i) => cc.get(`/api/v1/courses?limit=${i + 1}`));
  const stopping = s.stop();
  const results = await Promise.allSettled(inflight);
  await stopping; // throws unless exit code 0
  for (const r of results) {
    if (r.status === 'fulfilled') assert.ok(r.value.status < 500 || r.value.status === 503);
  }
});

test('a stalled connection (slowloris) is closed after the idle timeout', async () => {
  const s = await startServer({ env: { REGISTRAR_IDLE_TIMEOUT: '1' } });
  try {
    const u = new URL(s.url);
    const closedAfter = await new Promise((resolve) => {
      const t0 = Date.now();
      const sock = net.connect(Number(u.port), u.hostname, () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'));
      sock.on('close', () => resolve(Date.now() - t0));
      sock.on('error', () => {});
      setTimeout(() => { sock.destroy(); resolve(-1); }, 6000);
    });
    assert.ok(closedAfter > 0 && closedAfter < 4000, `closed after ${closedAfter} ms`);
    // fetch's pooled keep-alive connection was closed by the same timeout:
    // a first attempt may land on it, so the server is asked twice.
    const again = await client(s.url).get('/healthz').catch(() => client(s.url).get('/healthz'));
    assert.equal(again.status, 200);
  } finally {
    await s.stop();
  }
});

test('one address cannot hold more connections than the per-address limit', async () => {
  const s = await startServer({ env: { REGISTRAR_PER_IP_LIMIT: '4' } });
  const socks = [];
  try {
    const u = new URL(s.url);
    for (let i = 0; i < 4; i++) {
      socks.push(await new Promise((resolve) => {
        const sock = net.connect(Number(u.port), u.hostname, () => resolve(sock));
        sock.on('error', () => {});
      }));
    }
    // The fifth is accepted by the kernel and closed at once by the server.
    const fifth = await new Promise((resolve) => {
      let data = '';
      const sock = net.connect(Number(u.port), u.hostname, () => sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      sock.on('data', (d) => { data += d; });
      sock.on('close', () => resolve(data));
      sock.on('error', () => resolve(data));
      setTimeout(() => { sock.destroy(); resolve('still open'); }, 3000);
    });
    assert.doesNotMatch(fifth, /200 OK|still open/);
    for (const sock of socks) sock.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await client(s.url).get('/healthz')).status, 200);
  } finally {
    for (const sock of socks) sock.destroy();
    await s.stop();
  }
});

// --- query parameters: stated per route, refused otherwise, canonical cache keys ---

const INVALID = 'https://registrar.invalid/problems/invalid-request';

test('a query parameter a route does not take is 400 naming it, on every kind of route', async () => {
  const who = await account(srv);
  const cases = [
    ['/api/v1/courses?nocache=1', 'nocache', null],
    ['/api/v1/courses?limit=5&_=123', '_', null],
    ['/api/v1/courses/pcep?limit=1', 'limit', null],
    ['/api/v1/offerings?course=pcep&Course=pcep', 'Course', null],
    ['/healthz?x', 'x', null],
    ['/api/v1/me?fields=all', 'fields', who.token],
    ['/api/v1/me/enrollments?limit=5&token=abc', 'token', who.token],
  ];
  for (const [url, name, token] of cases) {
    const r = await c.get(url, { token });
    assert.equal(r.status, 400, `${url}: ${r.text}`);
    assert.equal(r.body.type, INVALID, url);
    assert.deepEqual(r.body.errors.map((e) => e.field), [name], url);
  }
  // The same paths with the parameters they do take are answered.
  assert.equal((await c.get('/api/v1/courses?limit=5')).status, 200);
  assert.equal((await c.get('/api/v1/me/enrollments?limit=5', { token: who.token })).status, 200);
});

test('a repeated query parameter is 400, never first-wins or last-wins', async () => {
  for (const url of ['/api/v1/offerings?status=open&status=draft', '/api/v1/courses?limit=1&limit=1',
    '/api/v1/offerings?course=pcep&year=2027&course=practical-aspects']) {
    const r = await c.get(url);
    assert.equal(r.status, 400, url);
    assert.equal(r.body.type, INVALID);
    assert.match(r.body.errors[0].message, /more than once/);
  }
});

test('odd bytes in query names and values are 400 problems with valid JSON', async () => {
  let r = await c.get('/api/v1/courses?%FF%22%3C=1');
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].field, '%FF%22%3C');
  r = await c.get('/api/v1/offerings?course=%FF');
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].field, 'course');
  r = await c.get(`/api/v1/courses?${'n'.repeat(500)}=1`);
  assert.equal(r.status, 400);
  assert.ok(r.body.errors[0].field.length <= 64);
});

test('the public cache keys on the canonical query: %26 and %3D never pass for & and =', async () => {
  const admin = await account(srv, { admin: true });
  const offering = await createOffering(srv, admin, 'practical-aspects');
  // One parameter, course = "practical-aspects&status=open" (no such course) ...
  const oneParam = '/api/v1/offerings?course=practical-aspects%26status%3Dopen';
  // ... and two parameters, whose decoded text is the same.
  const twoParams = '/api/v1/offerings?course=practical-aspects&status=open';
  for (const order of [[oneParam, twoParams], [twoParams, oneParam]]) {
    const answers = {};
    for (const url of order) {
      const r = await c.get(url);
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      answers[url] = r.body.items.map((o) => o.id);
    }
    assert.deepEqual(answers[oneParam], [], 'a course named "practical-aspects&status=open" has no offerings');
    assert.ok(answers[twoParams].includes(offering.id), 'the open offering is listed');
  }
  // The order the parameters are written in does not change the answer (nor the ETag).
  const a = await c.get('/api/v1/offerings?status=open&course=practical-aspects');
  const b = await c.get('/api/v1/offerings?course=practical-aspects&status=open');
  assert.equal(a.headers.get('etag'), b.headers.get('etag'));
});

// --- REGISTRAR_COOKIE_SECURE: HSTS and the __Host- session cookie ---

const HSTS = 'max-age=63072000; includeSubDomains';

async function signInWithCookie(url) {
  const who = await account({ sql: srv.sql }, { url });
  const r = await client(url).post('/api/v1/auth/sessions', { json: { email: who.email, password: PASSWORD } });
  assert.equal(r.status, 201, r.text);
  return { ...who, token: r.body.token, setCookie: r.headers.getSetCookie() };
}

test('without REGISTRAR_COOKIE_SECURE: no HSTS, the cookie is registrar_session', async () => {
  for (const p of ['/healthz', '/api/v1/courses', '/api/v1/nothing', '/']) {
    assert.equal((await c.get(p)).headers.get('strict-transport-security'), null, p);
  }
  const who = await signInWithCookie(srv.url);
  assert.equal(who.setCookie.length, 1);
  assert.ok(who.setCookie[0].startsWith(`registrar_session=${who.token};`), who.setCookie[0]);
  assert.doesNotMatch(who.setCookie[0], /Secure/);
  assert.equal((await c.get('/api/v1/me', { cookie: `registrar_session=${who.token}` })).status, 200);
  // The secure mode's name is not read here.
  assert.equal((await c.get('/api/v1/me', { cookie: `__Host-registrar_session=${who.token}` })).status, 401);
});

test('with REGISTRAR_COOKIE_SECURE=true: HSTS on every response and the __Host- cookie', async (t) => {
  const secure = await startServer({ env: { REGISTRAR_WEB_ROOT: webRoot, REGISTRAR_COOKIE_SECURE: 'true' } });
  t.after(() => secure.stop());
  const s = client(secure.url);
  const who0 = await account(secure);
  const answers = [
    await s.get('/healthz'), await s.get('/readyz'), await s.get('/api/v1/courses'),
    await s.get('/api/v1/nothing'), await s.req('DELETE', '/api/v1/courses'), await s.get('/'),
    await s.get('/css/app.css'), await s.get('/api/v1/me'), await s.get('/api/v1/me', { token: who0.token }),
    await s.post('/api/v1/accounts', { json: { nope: 1 } }),
  ];
  const courses = answers[2];
  answers.push(await s.get('/api/v1/courses', { headers: { 'if-none-match': courses.headers.get('etag') } }));
  assert.equal(answers.at(-1).status, 304);
  for (const r of answers) assert.equal(r.headers.get('strict-transport-security'), HSTS, `status ${r.status}`);

  const r = await s.post('/api/v1/auth/sessions', { json: { email: who0.email, password: PASSWORD } });
  assert.equal(r.status, 201);
  const [cookie, ...more] = r.headers.getSetCookie();
  assert.equal(more.length, 0);
  const [pair, ...attrs] = cookie.split(';').map((x) => x.trim());
  assert.equal(pair, `__Host-registrar_session=${r.body.token}`);
  assert.ok(attrs.includes('Secure') && attrs.includes('Path=/') && attrs.includes('HttpOnly'), cookie);
  assert.ok(!attrs.some((a) => /^domain=/i.test(a)), cookie);
  // The server reads the cookie by the name it sets, and only by it.
  assert.equal((await s.get('/api/v1/me', { cookie: `__Host-registrar_session=${r.body.token}` })).status, 200);
  assert.equal((await s.get('/api/v1/me', { cookie: `registrar_session=${r.body.token}` })).status, 401);
  // Signing out clears the same name.
  const out = await s.del('/api/v1/auth/sessions/current', {
    cookie: `__Host-registrar_session=${r.body.token}`, csrf: r.body.csrf_token,
  });
  assert.equal(out.status, 204);
  assert.match(out.headers.getSetCookie()[0], /^__Host-registrar_session=;.*Max-Age=0/);
});

// --- REGISTRAR_TRUST_PROXY: X-Real-IP from the trusted proxies only ---

// Where a failed sign-in was counted from (the address rate limits key on).
async function recordedAddress(server, realIp) {
  const email = `nobody-${Math.random().toString(16).slice(2)}@example.org`;
  const r = await client(server.url).post('/api/v1/auth/sessions', {
    json: { email, password: 'not the password at all' }, headers: { 'x-real-ip': realIp },
  });
  assert.equal(r.status, 401, r.text);
  const rows = await server.sql('select host(client_ip) as ip from registrar.auth_failures where email = $1', [email]);
  assert.equal(rows.length, 1);
  return rows[0].ip;
}

test('X-Real-IP is believed only from REGISTRAR_TRUSTED_PROXIES (default loopback)', async (t) => {
  // Not behind a proxy: the header is a client's claim.
  assert.equal(await recordedAddress(srv, '203.0.113.9'), '127.0.0.1');

  const behind = await startServer({ env: { REGISTRAR_TRUST_PROXY: 'true' } });
  t.after(() => behind.stop());
  assert.equal(await recordedAddress(behind, '203.0.113.9'), '203.0.113.9', 'from loopback, trusted by default');
  assert.equal(await recordedAddress(behind, 'not-an-address'), '127.0.0.1', 'a malformed header is ignored');

  const elsewhere = await startServer({
    env: { REGISTRAR_TRUST_PROXY: 'true', REGISTRAR_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.10' },
  });
  t.after(() => elsewhere.stop());
  assert.equal(await recordedAddress(elsewhere, '203.0.113.9'), '127.0.0.1', 'a peer outside the list is not believed');

  const listed = await startServer({
    env: { REGISTRAR_TRUST_PROXY: 'true', REGISTRAR_TRUSTED_PROXIES: '10.0.0.0/8,127.0.0.1/32' },
  });
  t.after(() => listed.stop());
  assert.equal(await recordedAddress(listed, '2001:db8::7'), '2001:db8::7');
});

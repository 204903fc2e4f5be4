// Tests of the test harness itself (tests/lib/harness.mjs), against the real
// server: if these fail, no other API test can be trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import pg from 'pg';
import { startServer, client, freePorts } from '../lib/harness.mjs';
import { describeMismatch } from '../lib/openapi-check.mjs';

async function databaseExists(name) {
  const u = new URL(process.env.REGISTRAR_TEST_PG);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query('select 1 from pg_database where datname = $1', [name]);
    return r.rowCount === 1;
  } finally {
    await c.end();
  }
}

test('a started server answers /healthz and stops with exit code 0', async () => {
  const srv = await startServer();
  try {
    const r = await client(srv.url).get('/healthz');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.body, { status: 'ok' });
    const ready = await client(srv.url).get('/readyz');
    assert.equal(ready.status, 200);
  } finally {
    await srv.stop();
  }
});

test('each server gets a fresh database of its own, dropped by stop()', async () => {
  const a = await startServer();
  const b = await startServer();
  try {
    assert.notEqual(a.dbName, b.dbName);
    const [row] = await a.sql('select current_database() as db');
    assert.equal(row.db, a.dbName);
    await a.sql('create table harness_probe (x int)');
    const rows = await b.sql("select to_regclass('harness_probe') as t");
    assert.equal(rows[0].t, null, 'a table made in one test database is visible in another');
    assert.ok(await databaseExists(a.dbName));
  } finally {
    await a.stop();
    await b.stop();
  }
  assert.equal(await databaseExists(a.dbName), false);
  assert.equal(await databaseExists(b.dbName), false);
});

test('sql() runs parameterised queries and the migrations have been applied', async () => {
  const srv = await startServer();
  try {
    const [row] = await srv.sql('select $1::int + $2::int as sum', [2, 3]);
    assert.equal(row.sum, 5);
    const [m] = await srv.sql(
      "select count(*)::int as n from pg_class where relname = 'schema_migrations' and relkind = 'r'");
    assert.equal(m.n, 1, 'registrar migrate left no schema_migrations table');
  } finally {
    await srv.stop();
  }
});

test('several processes share one database, each on its own port', async () => {
  const srv = await startServer({ processes: 2 });
  try {
    assert.equal(srv.urls.length, 2);
    assert.notEqual(srv.urls[0], srv.urls[1]);
    for (const url of srv.urls) {
      const r = await client(url).get('/healthz');
      assert.equal(r.status, 200);
    }
    assert.notEqual(srv.pids[0], srv.pids[1]);
  } finally {
    await srv.stop();
  }
});

test('the server log is captured as JSON lines, with the "listening" line', async () => {
  const srv = await startServer();
  try {
    await client(srv.url).get('/healthz');
    const entries = srv.logEntries();
    assert.ok(entries.length > 0, 'no JSON log line captured:\n' + srv.logs().join('\n'));
    assert.ok(entries.some((e) => e.msg === 'listening'), 'no "listening" log line:\n' + srv.logs().join('\n'));
    assert.ok(!srv.logs().some((l) => l.includes(srv.secretKey)), 'the secret key appears in the log');
  } finally {
    await srv.stop();
  }
});

test('a server on a cluster of its own survives the harness stopping and starting PostgreSQL', async () => {
  const srv = await startServer({ ownCluster: true });
  try {
    assert.equal((await client(srv.url).get('/healthz')).status, 200);
    await srv.restartPostgres();
    const [row] = await srv.sql('select 1 as one').catch(async () => srv.sql('select 1 as one'));
    assert.equal(row.one, 1);
    assert.equal((await client(srv.url).get('/healthz')).status, 200);
  } finally {
    await srv.stop();
  }
});

test('client: cookie jar, CSRF header, bearer token and problem+json parsing', async () => {
  // A stand-in peer, so that the client's browser-like behaviour is checked
  // independently of which endpoints the server has today.
  const [port] = await freePorts(1);
  const seen = [];
  const peer = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, raw });
      if (req.url === '/signin') {
        res.setHeader('set-cookie', ['registrar_session=s3cret; HttpOnly; SameSite=Lax; Path=/', 'other=1; Path=/']);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ token: 't0k', csrf_token: 'c5rf' }));
      } else if (req.url === '/signout') {
        res.setHeader('set-cookie', 'registrar_session=; Max-Age=0; Path=/');
        res.statusCode = 204;
        res.end();
      } else {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/problem+json');
        res.end(JSON.stringify({ type: 'https://registrar.invalid/problems/not-found', status: 404 }));
      }
    });
  });
  await new Promise((resolve) => peer.listen(port, '127.0.0.1', resolve));
  try {
    const c = client(`http://127.0.0.1:${port}/`);
    const r = await c.post('/signin', { json: { email: 'a@b.c' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.token, 't0k');
    assert.equal(seen[0].headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(seen[0].raw), { email: 'a@b.c' });
    assert.deepEqual(c.cookies(), { registrar_session: 's3cret', other: '1' });
    assert.equal(c.csrf, 'c5rf');

    const p = await c.get('/missing');
    assert.equal(p.status, 404);
    assert.equal(p.body.type, 'https://registrar.invalid/problems/not-found');
    assert.equal(seen[1].headers.cookie, 'registrar_session=s3cret; other=1');
    assert.equal(seen[1].headers['x-csrf-token'], undefined, 'CSRF token sent on a GET');

    await c.patch('/missing', { json: {} });
    assert.equal(seen[2].headers['x-csrf-token'], 'c5rf');
    await c.patch('/missing', { json: {}, csrf: false });
    assert.equal(seen[3].headers['x-csrf-token'], undefined);

    await c.del('/missing', { cookie: '', token: 'bearer-only' });
    assert.equal(seen[4].headers.cookie, undefined);
    assert.equal(seen[4].headers.authorization, 'Bearer bearer-only');
    assert.equal(seen[4].headers['x-csrf-token'], undefined);

    await c.post('/missing', { raw: '{"a":1,"a":2}', headers: { 'content-type': 'application/json' } });
    assert.equal(seen[5].raw, '{"a":1,"a":2}');

    await c.del('/signout');
    assert.deepEqual(c.cookies(), { other: '1' });
  } finally {
    await new Promise((resolve) => peer.close(resolve));
  }
});

// The response check of client() (tests/lib/openapi-check.mjs) must catch
// each kind of drift, or every API test's agreement with the document
// would prove nothing.
test('the OpenAPI check refuses an undocumented status, a wrong type, a wrong body and a wrong route', () => {
  const problem = (slug, status) => ({ type: `https://registrar.invalid/problems/${slug}`, title: 't', status });
  const course = { slug: 'pcep', title: 'T', summary: 'S', credit_type: 'participation', directors: [] };
  const ok = (m, p, st, type, body) => describeMismatch(m, p, st, type, body, JSON.stringify(body));
  assert.equal(ok('GET', '/api/v1/courses/pcep', 200, 'application/json', course), null);
  assert.equal(ok('GET', '/api/v1/courses/nope', 404, 'application/problem+json', problem('not-found', 404)), null);
  assert.match(ok('GET', '/api/v1/courses/pcep', 418, 'application/json', course), /status 418 is not documented/);
  assert.match(ok('GET', '/api/v1/courses/pcep', 200, 'text/html', course), /content type text\/html is not documented/);
  assert.match(ok('GET', '/api/v1/courses/pcep', 200, 'application/json', { ...course, directors: 'x' }), /directors must be array/);
  assert.match(ok('GET', '/api/v1/courses/pcep', 200, 'application/json', { slug: 'pcep' }), /must have required property/);
  assert.match(ok('GET', '/api/v1/courses/nope', 404, 'application/problem+json', problem('no-such-slug', 404)), /type must be equal to one of the allowed values/);
  assert.match(ok('GET', '/api/v1/courses/nope', 404, 'application/problem+json', { ...problem('not-found', 404), status: 'held' }), /status/);
  assert.match(ok('POST', '/api/v1/courses', 409, 'application/problem+json', problem('email-taken', 409)), /allowed values/, 'narrowed per route');
  assert.match(describeMismatch('GET', '/api/v1/courses', 200, 'application/json', {}, '{}', { admin: true }), /admin address/);
});

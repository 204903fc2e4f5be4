// Operations: health, readiness (database reachable, schema current),
// metrics, the OpenAPI document, and surviving a PostgreSQL restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startServer, client } from '../lib/harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
    const m = await c.get('/metrics');
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
    assert.equal((await c.get('/readyz')).status, 200);
    // Every pooled connection recovers, not just one: a worker whose reconnect
    // was slow while PostgreSQL was down waits a second before trying again
    // (answering 503 with Retry-After meanwhile), so allow the same 5 s.
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

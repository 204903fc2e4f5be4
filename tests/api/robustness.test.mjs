// Nothing a client sends gets a 5xx or crashes the server: every route of
// the OpenAPI document (which a unit test holds equal to the route table)
// is called, as an admin and anonymously, with malformed path parameters,
// query strings and bodies of every wrong shape. Afterwards the server
// still answers and its log holds no error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import { newAdmin } from '../lib/accounts.mjs';

let srv;
let admin;
let doc;
let offeringId;
let sessionId;

before(async () => {
  srv = await startServer();
  admin = await newAdmin(srv);
  doc = (await client(srv.url).get('/api/v1/openapi.json')).body;
  // A real offering and session, so that handlers get past "not found" too.
  const o = await admin.c.post('/api/v1/courses/pcep/offerings', {
    json: {
      title: 'Robustness', status: 'open', starts_on: '2031-03-10', ends_on: '2031-03-12',
      timezone: 'America/New_York', venue: 'Hall', capacity: 5,
      prices: [{ profession: 'physician', amount_cents: 1000 }],
    },
  });
  assert.equal(o.status, 201, o.text);
  offeringId = o.body.id;
  const s = await admin.c.post(`/api/v1/offerings/${offeringId}/sessions`, {
    json: { title: 'S', kind: 'plenary', starts_at: '2031-03-10T09:00:00-04:00', ends_at: '2031-03-10T10:00:00-04:00' },
  });
  assert.equal(s.status, 201, s.text);
  sessionId = s.body.id;
});

after(async () => {
  await srv?.stop();
});

const WEIRD_IDS = ['x', '00000000-0000-0000-0000-000000000000', 'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
  '%00', '..%2F..', 'a'.repeat(300), "'; drop table registrar.users; --", '%E2%9C%93'];

const BODIES = [
  '{}', 'null', '[]', '"string"', '42', 'true', '{"a":', '{"x":1}',
  JSON.stringify({ title: null, capacity: 'many', starts_on: 7, timezone: {}, prices: 'free' }),
  JSON.stringify({ email: [], password: {}, full_name: 1e308, profession: null }),
  JSON.stringify({ session_ids: 'all', payment_token: 123, reason: ['x'], note: { a: 1 } }),
  JSON.stringify({ capacity: -1, hold_minutes: 1e20, max_uses: 2147483648, percent_off: 101 }),
  JSON.stringify({ starts_at: '2031-02-30T25:61:00+99:00', ends_at: 'yesterday', kind: 'party' }),
  JSON.stringify({ title: 'x'.repeat(20000), summary: '\u0000'.slice(1) + 'é'.repeat(5000) }),
  JSON.stringify({ parts: [{ name: 1 }, null, []], credit_types: [{}], cancellation_policy: [[]] }),
  JSON.stringify({ answers: 'no', claimed_hours: 'lots' }),
  JSON.stringify({ session_ids: Array.from({ length: 500 }, () => '00000000-0000-0000-0000-000000000000') }),
];

function fill(pattern, value) {
  return pattern.replace(/\{[^}]+\}/g, value);
}

function realValue(name) {
  if (name === 'slug') return 'pcep';
  if (name === 'user_id') return admin.user.id;
  if (/session/.test(name)) return sessionId;
  return offeringId;
}

async function call(c, method, path, body, opts = {}) {
  const r = await c.req(method, path, {
    raw: body, headers: body !== undefined ? { 'content-type': 'application/json', 'idempotency-key': 'k-' + Math.random() } : {},
    ...opts,
  });
  assert.ok(r.status < 500 || r.status === 503, `${method} ${path} ${body ?? ''} → ${r.status} ${r.text.slice(0, 200)}`);
  if (r.status >= 400) {
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, `${method} ${path}`);
    assert.equal(r.body.status, r.status);
    assert.match(r.body.type, /^https:\/\/registrar\.invalid\/problems\/[a-z-]+$/);
  }
  return r;
}

test('every route answers malformed input with a 4xx problem, never a 5xx', { timeout: 240_000 }, async () => {
  const anon = client(srv.url);
  let calls = 0;
  for (const [pattern, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))) {
      const M = method.toUpperCase();
      const real = pattern.replace(/\{([^}]+)\}/g, (_, name) => realValue(name));
      const paths = [real, ...WEIRD_IDS.filter(() => pattern.includes('{')).map((w) => fill(pattern, w))];
      for (const p of paths) {
        if (p.includes('/payments/webhook')) continue; // covered by its own signature tests
        for (const who of [admin.c, anon]) {
          if (M === 'GET' || M === 'DELETE') {
            await call(who, M, p);
            await call(who, M, p + '?limit=0&cursor=%ZZ&format=xml&status=%00&year=-1&course=' + 'x'.repeat(100));
            calls += 2;
          } else {
            for (const body of p === real ? BODIES : BODIES.slice(0, 2)) {
              await call(who, M, p, body);
              calls++;
            }
          }
        }
      }
    }
  }
  assert.ok(calls > 500, `only ${calls} calls made`);
  assert.equal((await client(srv.url).get('/readyz')).status, 200);
  const errors = srv.logEntries().filter((e) => e.level === 'error');
  assert.deepEqual(errors, [], 'the server logged errors');
});

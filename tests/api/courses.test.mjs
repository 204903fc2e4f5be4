// The catalog's read side: the four seeded courses, pagination, ETags.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';

let srv;
let c;
before(async () => {
  srv = await startServer();
  c = client(srv.url);
});
after(async () => {
  await srv?.stop();
});

const SEEDED = {
  pcep: 'Palliative Care Education and Practice',
  'practical-aspects': 'Practical Aspects of Palliative Care',
  'hospitalists-intensivists': 'Palliative Care for Hospitalists and Intensivists',
  'serious-illness-communication': 'Serious Illness Communication',
};

test('GET /api/v1/courses lists the four annual courses', async () => {
  const r = await c.get('/api/v1/courses');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.body.next_cursor, null);
  assert.equal(r.body.items.length, 4);
  for (const course of r.body.items) {
    assert.equal(course.title, SEEDED[course.slug]);
    assert.equal(typeof course.summary, 'string');
    assert.ok(course.summary.length > 20);
    assert.equal(course.credit_type, 'AMA PRA Category 1');
    assert.deepEqual(course.directors, []);
    assert.deepEqual(Object.keys(course).sort(), ['credit_type', 'directors', 'slug', 'summary', 'title']);
  }
});

test('pagination walks every course once, in a stable order', async () => {
  const seen = [];
  let cursor = null;
  for (let page = 0; page < 10; page++) {
    const r = await c.get('/api/v1/courses?limit=1' + (cursor ? `&cursor=${cursor}` : ''));
    assert.equal(r.status, 200);
    assert.equal(r.body.items.length, 1);
    seen.push(r.body.items[0].slug);
    cursor = r.body.next_cursor;
    if (cursor === null) break;
  }
  assert.deepEqual(seen, [...Object.keys(SEEDED)].sort());
  const all = await c.get('/api/v1/courses?limit=3');
  assert.equal(all.body.items.length, 3);
  const rest = await c.get(`/api/v1/courses?limit=3&cursor=${all.body.next_cursor}`);
  assert.equal(rest.body.items.length, 1);
  assert.equal(rest.body.next_cursor, null);
});

test('bad limit and cursor values are 400 problems naming the parameter', async () => {
  for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=1.5', 'limit=-1', 'cursor=zz', 'cursor=abc',
    'cursor=' + 'a'.repeat(600), 'cursor=ff']) {
    const r = await c.get('/api/v1/courses?' + q);
    assert.equal(r.status, 400, q);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.equal(r.body.type, 'https://registrar.invalid/problems/invalid-request');
    assert.equal(r.body.status, 400);
    assert.ok(['limit', 'cursor'].includes(r.body.errors[0].field), q);
  }
});

test('GET /api/v1/courses/{slug} returns the course with its offerings', async () => {
  const r = await c.get('/api/v1/courses/pcep');
  assert.equal(r.status, 200);
  assert.equal(r.body.slug, 'pcep');
  assert.equal(r.body.title, SEEDED.pcep);
  assert.ok(Array.isArray(r.body.offerings));
  const missing = await c.get('/api/v1/courses/no-such-course');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.type, 'https://registrar.invalid/problems/not-found');
  const odd = await c.get('/api/v1/courses/%E2%9C%93%00x');
  assert.equal(odd.status, 404);
});

test('strong ETags: If-None-Match gives 304 without a body; a change gives a new tag', async () => {
  const first = await c.get('/api/v1/courses/practical-aspects');
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const again = await c.get('/api/v1/courses/practical-aspects', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(again.headers.get('etag'), etag);
  const other = await c.get('/api/v1/courses/practical-aspects', { headers: { 'if-none-match': '"0000000000000000"' } });
  assert.equal(other.status, 200);

  await srv.sql("update registrar.courses set summary = summary || ' Updated.' where slug = 'practical-aspects'");
  await new Promise((r) => setTimeout(r, 1100)); // the public cache keeps a body at most 1 s
  const changed = await c.get('/api/v1/courses/practical-aspects', { headers: { 'if-none-match': etag } });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers.get('etag'), etag);
  assert.match(changed.body.summary, /Updated\.$/);
});

test('HEAD answers like GET without a body', async () => {
  const r = await c.head('/api/v1/courses');
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
  assert.ok(r.headers.get('etag'));
});

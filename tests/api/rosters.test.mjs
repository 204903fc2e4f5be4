// Rosters and waitlists (docs/api.md "Rosters, attendance, credits"): directors
// and admins only, JSON pages, CSV read back by a real CSV parser (RFC 4180,
// BOM, quoting, the formula-injection guard), an audit row for every read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { startServer, client } from '../lib/harness.mjs';
import { account, as, learners, openOffering } from '../lib/enroll.mjs';

let srv, admin, director, otherDirector, off, ls, es;

const NAMES = [
  'Ada Lovelace',
  '=HYPERLINK("http://evil.example","click")',
  'Smith, Jane "JJ"',
  '+1 555 0100',
  '@SUM(A1:A9)',
  '-2+3',
  'Zoë Ødegård',
  'Line\nbreak',
];

before(async () => {
  srv = await startServer({ processes: 1 });
  [admin, director, otherDirector] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { directorOf: ['pcep'] }),
  ]);
  off = await openOffering(srv, admin, { capacity: 6 });
  ls = await learners(srv, NAMES.length, { names: NAMES });
  // The first learner signed up through the API; give it its name too.
  await srv.sql('update registrar.users set full_name = $1 where id = $2', [NAMES[0], ls[0].id]);
  es = [];
  for (const l of ls) {
    const r = await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`);
    assert.equal(r.status, 201, r.text);
    es.push(r.body);
  }
});

after(async () => {
  await srv?.stop();
});

const audits = async (action) => srv.sql(
  `select actor_id, action, object, detail from registrar.audit_log where offering_id = $1 and action = $2 order by id`,
  [off.id, action]);

test('who may read: directors of the course and admins; others 403, signed out 401', async () => {
  assert.equal((await client(srv.url).get(`/api/v1/offerings/${off.id}/roster`)).status, 401);
  const learner = await as(srv, ls[0]).get(`/api/v1/offerings/${off.id}/roster`);
  assert.equal(learner.status, 403);
  assert.equal(learner.body.type, 'https://registrar.invalid/problems/forbidden');
  assert.equal((await as(srv, otherDirector).get(`/api/v1/offerings/${off.id}/roster`)).status, 403);
  assert.equal((await as(srv, otherDirector).get(`/api/v1/offerings/${off.id}/waitlist`)).status, 403);
  assert.equal((await as(srv, admin).get('/api/v1/offerings/00000000-0000-4000-8000-000000000000/roster')).status, 404);
  assert.equal((await as(srv, admin).get(`/api/v1/offerings/${off.id}/roster`)).status, 200);
  assert.equal((await as(srv, director).get(`/api/v1/offerings/${off.id}/roster?status=bogus`)).status, 400);
  assert.equal((await as(srv, director).get(`/api/v1/offerings/${off.id}/roster?format=xml`)).status, 400);
});

test('the JSON roster: seat holders by default, pages with a cursor, learner and sessions; audited', async () => {
  const before = (await audits('roster.read')).length;
  const p1 = await as(srv, director).get(`/api/v1/offerings/${off.id}/roster?limit=4`);
  assert.equal(p1.status, 200, p1.text);
  assert.equal(p1.headers.get('cache-control'), 'no-store');
  assert.equal(p1.body.items.length, 4);
  assert.ok(p1.body.next_cursor);
  const p2 = await as(srv, director).get(`/api/v1/offerings/${off.id}/roster?limit=4&cursor=${p1.body.next_cursor}`);
  assert.equal(p2.body.items.length, 2);
  assert.equal(p2.body.next_cursor, null);
  const items = [...p1.body.items, ...p2.body.items];
  assert.deepEqual(items.map((x) => x.enrollment.id), es.slice(0, 6).map((e) => e.id));
  for (const x of items) {
    assert.equal(x.enrollment.status, 'held');
    assert.deepEqual(Object.keys(x).sort(), ['attended_hours', 'enrollment', 'learner', 'sessions']);
    assert.ok(x.learner.email.endsWith('@example.org'));
    assert.deepEqual(x.sessions, []);
    assert.equal(x.attended_hours, 0);
  }
  assert.equal(items[1].learner.full_name, NAMES[1]);
  const all = await as(srv, director).get(`/api/v1/offerings/${off.id}/roster?status=held,waitlisted`);
  assert.equal(all.body.items.length, 8);

  const rows = await audits('roster.read');
  assert.equal(rows.length, before + 3);
  assert.deepEqual(rows.slice(-3).map((r) => r.detail.rows), [4, 2, 8]);
  assert.equal(rows.at(-1).actor_id, director.id);
  assert.equal(rows.at(-1).object, `offering:${off.id}`);
  for (const r of rows) assert.doesNotMatch(JSON.stringify(r.detail), /@example\.org/, 'no personal data in the audit');
});

test('CSV by Accept or ?format=csv: attachment, BOM, CRLF, parsed back exactly, formulas defused', async () => {
  const before = (await audits('roster.export')).length;
  const a = await as(srv, admin).get(`/api/v1/offerings/${off.id}/roster?status=all`, { headers: { accept: 'text/csv' } });
  assert.equal(a.status, 200);
  assert.match(a.headers.get('content-type'), /^text\/csv; charset=utf-8/);
  assert.equal(a.headers.get('content-disposition'), `attachment; filename="roster-${off.id}.csv"`);
  const raw = Buffer.from(await (await fetch(`${srv.url}/api/v1/offerings/${off.id}/roster?format=csv&status=all`,
    { headers: { authorization: `Bearer ${director.token}` } })).arrayBuffer());
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark');
  assert.ok(raw.toString('utf8').endsWith('\r\n'));
  assert.equal(raw.toString('utf8').split('\r\n').length - 1 >= NAMES.length + 1, true);

  const records = parse(raw, { bom: true, columns: true, relax_column_count: false });
  assert.equal(records.length, NAMES.length);
  const byId = new Map(records.map((r) => [r.enrollment_id, r]));
  const want = (name) => (/^[=+\-@\t\r]/.test(name) ? `'${name}` : name);
  ls.forEach((l, i) => {
    const r = byId.get(es[i].id);
    assert.ok(r, `row of learner ${i}`);
    assert.equal(r.full_name, want(NAMES[i]));
    assert.equal(r.email, l.email);
    assert.equal(r.status, i < 6 ? 'held' : 'waitlisted');
    assert.equal(r.price_cents, '125000');
    assert.equal(r.attended_hours, '0');
  });
  for (const r of records) assert.doesNotMatch(r.full_name, /^[=+\-@]/, 'no cell starts a formula');
  assert.deepEqual(Object.keys(records[0]).slice(0, 4), ['enrollment_id', 'status', 'full_name', 'email']);

  const rows = await audits('roster.export');
  assert.equal(rows.length, before + 2);
  assert.deepEqual(rows.slice(-2).map((r) => [r.actor_id, r.detail.rows, r.detail.format]),
    [[admin.id, NAMES.length, 'csv'], [director.id, NAMES.length, 'csv']]);
});

test('the waitlist, in order with positions, audited', async () => {
  const r = await as(srv, director).get(`/api/v1/offerings/${off.id}/waitlist`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => x.position), [1, 2]);
  assert.deepEqual(r.body.items.map((x) => x.enrollment.id), [es[6].id, es[7].id]);
  assert.equal(r.body.items[0].learner.full_name, NAMES[6]);
  const p = await as(srv, director).get(`/api/v1/offerings/${off.id}/waitlist?limit=1`);
  const q = await as(srv, director).get(`/api/v1/offerings/${off.id}/waitlist?limit=1&cursor=${p.body.next_cursor}`);
  assert.deepEqual([p.body.items[0].position, q.body.items[0].position], [1, 2]);
  assert.equal(q.body.next_cursor, null);
  const rows = await audits('waitlist.read');
  assert.equal(rows.length, 3);
});

// Offerings (docs/api.md "Catalog"): create, read, list, change; who may write;
// drafts hidden; validation naming fields; capacity against seats taken;
// stable pagination; ETag/304; the cache emptied by NOTIFY across processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import {
  account, as, offeringBody, twoPartBody, createOffering, OFFERING_KEYS,
} from '../lib/catalog.mjs';
import { sleep } from '../lib/common.mjs';

let srv, admin, director, learner;

before(async () => {
  srv = await startServer({ processes: 2 });
  [admin, director, learner] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { profession: 'nurse' }),
  ]);
});

after(async () => {
  await srv?.stop();
});


test('an admin creates an offering: 201, Location, the contract\'s fields, times in its zone', async () => {
  const r = await as(srv, admin).post('/api/v1/courses/practical-aspects/offerings', {
    json: offeringBody({ registration_opens_at: '2026-10-01T13:00:00Z', title: '  Spring 2027  ' }),
  });
  assert.equal(r.status, 201, r.text);
  const o = r.body;
  assert.deepEqual(Object.keys(o).sort(), [...OFFERING_KEYS].sort());
  assert.equal(r.headers.get('location'), `/api/v1/offerings/${o.id}`);
  assert.equal(o.course_slug, 'practical-aspects');
  assert.equal(o.title, 'Spring 2027', 'title not trimmed');
  assert.equal(o.status, 'open');
  assert.equal(o.starts_on, '2027-03-15');
  assert.equal(o.ends_on, '2027-03-17');
  assert.deepEqual(o.parts, [{ name: 'Course days', starts_on: '2027-03-15', ends_on: '2027-03-17' }]);
  assert.equal(o.timezone, 'America/New_York');
  assert.equal(o.capacity, 40);
  assert.equal(o.seats_taken, 0);
  assert.equal(o.seats_left, 40);
  assert.equal(o.waitlist_length, 0);
  // 13:00 UTC on 1 October is 09:00 EDT; 1 March is in winter time.
  assert.equal(o.registration_opens_at, '2026-10-01T09:00:00-04:00');
  assert.equal(o.registration_closes_at, '2027-03-01T17:00:00-05:00');
  assert.equal(o.hold_minutes, 30);
  assert.equal(o.approval_hold_days, 14);
  assert.equal(o.max_credits, 21.5);
  assert.equal(o.currency, 'USD');
  assert.equal(o.requires_application, false);
  assert.deepEqual(o.prices, [
    { profession: 'physician', amount_cents: 150000, early_amount_cents: 125000, early_until: '2027-01-15' },
    { profession: 'nurse', amount_cents: 90000, early_amount_cents: null, early_until: null },
  ]);
  assert.deepEqual(o.cancellation_policy, [
    { until_days_before: 30, refund_percent: 100 },
    { until_days_before: 7, refund_percent: 50 },
  ]);
  // Every profession has a credit type; the defaults follow docs/api.md.
  const credit = Object.fromEntries(o.credit_types.map((c) => [c.profession, c.credit_type]));
  assert.equal(credit.physician, 'AMA PRA Category 1');
  assert.equal(credit.nurse, 'ANCC contact hours');
  assert.equal(credit.chaplain, 'participation');
  assert.equal(o.credit_types.length, 9);

  const got = await client(srv.url).get(`/api/v1/offerings/${o.id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, o);
});

test('PCEP in two parts months apart: one offering spanning both', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody({
    credit_types: [{ profession: 'nurse', credit_type: 'ANCC contact hours (NCPD)' }],
  }));
  assert.equal(o.starts_on, '2027-03-15');
  assert.equal(o.ends_on, '2027-06-10');
  assert.deepEqual(o.parts.map((p) => p.name), ['Part 1', 'Part 2']);
  assert.equal(o.requires_application, true);
  const nurse = o.credit_types.find((c) => c.profession === 'nurse');
  assert.equal(nurse.credit_type, 'ANCC contact hours (NCPD)');
  assert.equal(o.credit_types.find((c) => c.profession === 'physician').credit_type, 'AMA PRA Category 1');

  // The course page lists it among its offerings' summaries.
  const course = await client(srv.url).get('/api/v1/courses/pcep');
  assert.equal(course.status, 200);
  const summary = course.body.offerings.find((x) => x.id === o.id);
  assert.ok(summary, 'the offering is missing from its course');
  assert.equal(summary.seats_left, 40);
  assert.deepEqual(summary.parts, o.parts);
});

test('who may write: anonymous 401, a learner 403, another course\'s director 403, the director 201', async () => {
  const path = '/api/v1/courses/practical-aspects/offerings';
  assert.equal((await client(srv.url).post(path, { json: offeringBody() })).status, 401);
  const r = await as(srv, learner).post(path, { json: offeringBody() });
  assert.equal(r.status, 403);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/forbidden');
  const other = await account(srv, { directorOf: ['pcep'] });
  assert.equal((await as(srv, other).post(path, { json: offeringBody() })).status, 403);
  const ok = await as(srv, director).post(path, { json: offeringBody({ title: 'By the director' }) });
  assert.equal(ok.status, 201, ok.text);
  // The same rules on PATCH.
  const p = `/api/v1/offerings/${ok.body.id}`;
  assert.equal((await client(srv.url).patch(p, { json: { venue: 'x' } })).status, 401);
  assert.equal((await as(srv, learner).patch(p, { json: { venue: 'x' } })).status, 403);
  assert.equal((await as(srv, other).patch(p, { json: { venue: 'x' } })).status, 403);
  const changed = await as(srv, director).patch(p, { json: { venue: 'Room 2' } });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.body.venue, 'Room 2');
  assert.equal(changed.body.title, 'By the director', 'a PATCH changed a member it did not send');
  // Unknown course: 404.
  assert.equal((await as(srv, admin).post('/api/v1/courses/no-such-course/offerings', { json: offeringBody() })).status, 404);
});

test('bad bodies are 400 naming the field', async () => {
  const path = '/api/v1/courses/practical-aspects/offerings';
  const count = async () => (await srv.sql('select count(*)::int as n from registrar.offerings'))[0].n;
  const before = await count();
  const cases = [
    [{ ...offeringBody(), role: 'admin' }, 'role'],
    [{ ...offeringBody(), seats_taken: 3 }, 'seats_taken'],
    [{ ...offeringBody(), id: '00000000-0000-0000-0000-000000000000' }, 'id'],
    [offeringBody({ title: undefined }), 'title'],
    [offeringBody({ title: '' }), 'title'],
    [offeringBody({ timezone: 'Mars/Olympus_Mons' }), 'timezone'],
    [offeringBody({ timezone: 'EST' }), 'timezone'],
    [offeringBody({ capacity: -1 }), 'capacity'],
    [offeringBody({ capacity: 2.5 }), 'capacity'],
    [offeringBody({ status: 'published' }), 'status'],
    [offeringBody({ starts_on: '2027-02-30' }), 'starts_on'],
    [offeringBody({ ends_on: '2027-03-01' }), 'ends_on'],
    [offeringBody({ starts_on: undefined }), 'starts_on'],
    [offeringBody({ registration_opens_at: '2026-10-01T09:00:00' }), 'registration_opens_at'],
    [offeringBody({ registration_closes_at: '2026-09-01T09:00:00Z' }), 'registration_closes_at'],
    [offeringBody({ max_credits: 1.234 }), 'max_credits'],
    [offeringBody({ currency: 'EUR' }), 'currency'],
    [offeringBody({ prices: [{ profession: 'wizard', amount_cents: 1 }] }), 'prices[0].profession'],
    [offeringBody({ prices: [{ profession: 'nurse', amount_cents: -5 }] }), 'prices[0].amount_cents'],
    [offeringBody({ prices: [{ profession: 'nurse', amount_cents: 5, colour: 'red' }] }), 'prices[0].colour'],
    [offeringBody({ prices: [{ profession: 'nurse', amount_cents: 5, early_amount_cents: 9, early_until: '2027-01-01' }] }), 'prices[0].early_amount_cents'],
    [offeringBody({ prices: [{ profession: 'nurse', amount_cents: 5, early_amount_cents: 1 }] }), 'prices[0]'],
    [offeringBody({ prices: [{ profession: 'nurse', amount_cents: 5 }, { profession: 'nurse', amount_cents: 6 }] }), 'prices'],
    [offeringBody({ cancellation_policy: [{ until_days_before: 3, refund_percent: 101 }] }), 'cancellation_policy[0].refund_percent'],
    [twoPartBody({ parts: [{ name: 'A', starts_on: '2027-03-15', ends_on: '2027-03-19' }, { name: 'B', starts_on: '2027-03-18', ends_on: '2027-03-20' }] }), 'parts[1]'],
    [twoPartBody({ parts: [{ name: 'A', starts_on: '2027-03-15', ends_on: '2027-03-14' }] }), 'parts[0].ends_on'],
    [twoPartBody({ parts: [{ name: 'A', starts_on: '15/03/2027', ends_on: '2027-03-19' }] }), 'parts[0].starts_on'],
    [twoPartBody({ parts: [] }), 'parts'],
    [twoPartBody({ starts_on: '2027-03-14' }), 'starts_on'],
  ];
  for (const [body, field] of cases) {
    const r = await as(srv, admin).post(path, { json: body });
    assert.equal(r.status, 400, `${field}: ${r.status} ${r.text}`);
    assert.equal(r.body.type, 'https://registrar.invalid/problems/invalid-request');
    assert.equal(r.body.errors?.[0]?.field, field, `expected the problem to name ${field}: ${r.text}`);
  }
  // Nothing was written by the refused requests.
  assert.equal(await count(), before);
  // PATCH: a bad id is 404; a bad member is 400.
  const o = await createOffering(srv, admin);
  assert.equal((await as(srv, admin).patch('/api/v1/offerings/not-a-uuid', { json: {} })).status, 404);
  assert.equal((await as(srv, admin).patch('/api/v1/offerings/00000000-0000-4000-8000-000000000000', { json: {} })).status, 404);
  const bad = await as(srv, admin).patch(`/api/v1/offerings/${o.id}`, { json: { title: null } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'title');
});

test('capacity below the seats taken is 409 capacity-below-taken; at the seats taken is fine', async () => {
  const o = await createOffering(srv, admin);
  await srv.sql('update registrar.offerings set seats_taken = 12 where id = $1', [o.id]);
  const r = await as(srv, admin).patch(`/api/v1/offerings/${o.id}`, { json: { capacity: 11 } });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/capacity-below-taken');
  assert.match(r.body.detail, /12/);
  const ok = await as(srv, admin).patch(`/api/v1/offerings/${o.id}`, { json: { capacity: 12 } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.seats_left, 0);
  // The database refuses it too, whoever writes.
  await assert.rejects(srv.sql('update registrar.offerings set capacity = 5 where id = $1', [o.id]), /offerings_seats_within_capacity/);
});

test('drafts are visible only to the course\'s directors and admins', async () => {
  const d = await createOffering(srv, director, 'practical-aspects', offeringBody({ status: 'draft', title: 'Secret draft' }));
  const path = `/api/v1/offerings/${d.id}`;
  assert.equal((await client(srv.url).get(path)).status, 404);
  assert.equal((await as(srv, learner).get(path)).status, 404);
  const other = await account(srv, { directorOf: ['pcep'] });
  assert.equal((await as(srv, other).get(path)).status, 404);
  assert.equal((await as(srv, director).get(path)).status, 200);
  assert.equal((await as(srv, admin).get(path)).status, 200);

  const anonList = await client(srv.url).get('/api/v1/offerings?limit=200');
  assert.ok(!anonList.body.items.some((o) => o.id === d.id), 'a draft is listed to anyone');
  const anonDrafts = await client(srv.url).get('/api/v1/offerings?status=draft');
  assert.deepEqual(anonDrafts.body.items, []);
  const dirList = await as(srv, director).get('/api/v1/offerings?status=draft&limit=200');
  assert.ok(dirList.body.items.some((o) => o.id === d.id));

  const anonCourse = await client(srv.url).get('/api/v1/courses/practical-aspects');
  assert.ok(!anonCourse.body.offerings.some((o) => o.id === d.id), 'a draft shows on its course to anyone');
  const dirCourse = await as(srv, director).get('/api/v1/courses/practical-aspects');
  assert.ok(dirCourse.body.offerings.some((o) => o.id === d.id));
  const adminCourse = await as(srv, admin).get('/api/v1/courses/practical-aspects');
  assert.ok(adminCourse.body.offerings.some((o) => o.id === d.id));

  // Writing a draft one may not see is 404, not 403: its existence is not disclosed.
  assert.equal((await as(srv, learner).patch(path, { json: { venue: 'x' } })).status, 404);
  // Publishing shows it to everyone (the cache is emptied on commit).
  assert.equal((await as(srv, director).patch(path, { json: { status: 'open' } })).status, 200);
  let seen = 0;
  for (let i = 0; i < 40 && seen !== 200; i++) {
    seen = (await client(srv.urls[1]).get(path)).status;
    if (seen !== 200) await sleep(50);
  }
  assert.equal(seen, 200);
});

test('list filters: course, status, year', async () => {
  const a = await createOffering(srv, admin, 'serious-illness-communication', offeringBody({ starts_on: '2029-05-01', ends_on: '2029-05-01', title: 'SIC 2029' }));
  const b = await createOffering(srv, admin, 'serious-illness-communication', offeringBody({ starts_on: '2030-05-01', ends_on: '2030-05-01', status: 'closed', title: 'SIC 2030' }));
  const byCourse = await client(srv.url).get('/api/v1/offerings?course=serious-illness-communication');
  assert.deepEqual(byCourse.body.items.map((o) => o.id), [a.id, b.id]);
  const byYear = await client(srv.url).get('/api/v1/offerings?course=serious-illness-communication&year=2030');
  assert.deepEqual(byYear.body.items.map((o) => o.id), [b.id]);
  const byStatus = await client(srv.url).get('/api/v1/offerings?course=serious-illness-communication&status=open');
  assert.deepEqual(byStatus.body.items.map((o) => o.id), [a.id]);
  assert.deepEqual((await client(srv.url).get('/api/v1/offerings?course=nothing-here')).body.items, []);
  for (const q of ['status=published', 'year=20x0', 'year=', 'limit=0', 'limit=201', 'cursor=zz', 'cursor=00ff']) {
    const r = await client(srv.url).get(`/api/v1/offerings?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
  }
});

test('pagination is stable: every offering once, in order, also while rows are added', async () => {
  const mine = [];
  for (let i = 0; i < 7; i++) {
    // Several share a start date: the id breaks the tie.
    const day = String(10 + (i % 3)).padStart(2, '0');
    mine.push(await createOffering(srv, admin, 'hospitalists-intensivists',
      offeringBody({ starts_on: `2031-01-${day}`, ends_on: `2031-01-${day}`, title: `H&I ${i}` })));
  }
  const full = (await client(srv.url).get('/api/v1/offerings?course=hospitalists-intensivists&year=2031&limit=200')).body.items;
  assert.equal(full.length, 7);
  const keys = full.map((o) => `${o.starts_on}/${o.id}`);
  assert.deepEqual(keys, [...keys].sort(), 'not ordered by start date, then id');

  const paged = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = `/api/v1/offerings?course=hospitalists-intensivists&year=2031&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const r = await client(srv.url).get(q);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.body.items.length <= 2);
    paged.push(...r.body.items.map((o) => o.id));
    cursor = r.body.next_cursor;
    pages++;
    if (pages === 2) {
      // A new offering sorting before the cursor must not shift later pages.
      await createOffering(srv, admin, 'hospitalists-intensivists',
        offeringBody({ starts_on: '2031-01-01', ends_on: '2031-01-01', title: 'H&I early' }));
    }
  } while (cursor);
  assert.equal(pages, 4);
  assert.deepEqual(paged, full.map((o) => o.id));
});

test('ETag and 304 on an offering and on lists; a change gives a new ETag', async () => {
  const o = await createOffering(srv, admin);
  const path = `/api/v1/offerings/${o.id}`;
  const first = await client(srv.url).get(path);
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+"$/);
  const again = await client(srv.url).get(path, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  const list = await client(srv.url).get('/api/v1/offerings?limit=5');
  const listAgain = await client(srv.url).get('/api/v1/offerings?limit=5', { headers: { 'If-None-Match': list.headers.get('etag') } });
  assert.equal(listAgain.status, 304);

  await as(srv, admin).patch(path, { json: { title: 'Renamed' } });
  let r;
  for (let i = 0; i < 40; i++) {
    r = await client(srv.url).get(path, { headers: { 'If-None-Match': etag } });
    if (r.status === 200) break;
    await sleep(50);
  }
  assert.equal(r.status, 200);
  assert.equal(r.body.title, 'Renamed');
  assert.notEqual(r.headers.get('etag'), etag);
});

test('a change through one process empties the other\'s cache at once (NOTIFY), not after the 1 s TTL', async () => {
  const o = await createOffering(srv, admin);
  const path = `/api/v1/offerings/${o.id}`;
  // Fill process 1's cache, then change the offering through process 0.
  assert.equal((await client(srv.urls[1]).get(path)).body.title, 'Spring 2027');
  const filledAt = Date.now();
  const r = await as(srv, admin, srv.urls[0]).patch(path, { json: { title: 'Seen everywhere' } });
  assert.equal(r.status, 200);
  let fresh = null;
  while (Date.now() - filledAt < 2000) {
    const g = await client(srv.urls[1]).get(path);
    if (g.body.title === 'Seen everywhere') {
      fresh = Date.now() - filledAt;
      break;
    }
    await sleep(10);
  }
  assert.ok(fresh !== null, 'the change never showed');
  assert.ok(fresh < 800, `the change took ${fresh} ms to show: the cache was not emptied by NOTIFY`);
});

test('seats_left is never more than 1 s stale, though seat changes send no NOTIFY', async () => {
  const o = await createOffering(srv, admin);
  const path = `/api/v1/offerings/${o.id}`;
  assert.equal((await client(srv.url).get(path)).body.seats_left, 40);
  await srv.sql('update registrar.offerings set seats_taken = 7 where id = $1', [o.id]);
  const changedAt = Date.now();
  let left;
  do {
    left = (await client(srv.url).get(path)).body.seats_left;
    if (left === 33) break;
    await sleep(25);
  } while (Date.now() - changedAt < 3000);
  assert.equal(left, 33);
  assert.ok(Date.now() - changedAt <= 1250, `seats_left was stale for ${Date.now() - changedAt} ms`);
});

test('changing days keeps the single part in step; a zone that strands sessions is refused', async () => {
  const o = await createOffering(srv, admin);
  const path = `/api/v1/offerings/${o.id}`;
  const moved = await as(srv, admin).patch(path, { json: { starts_on: '2027-03-14' } });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(moved.body.parts, [{ name: 'Course days', starts_on: '2027-03-14', ends_on: '2027-03-17' }]);
  const s = await as(srv, admin).post(`${path}/sessions`, {
    json: { title: 'Late', kind: 'plenary', starts_at: '2027-03-17T20:00:00-04:00', ends_at: '2027-03-17T23:00:00-04:00' },
  });
  assert.equal(s.status, 201, s.text);
  // In Europe/London that session would run into 18 March, past the last day.
  const tz = await as(srv, admin).patch(path, { json: { timezone: 'Europe/London' } });
  assert.equal(tz.status, 422, tz.text);
  assert.equal(tz.body.type, 'https://registrar.invalid/problems/outside-offering');
  assert.deepEqual(tz.body.sessions, [s.body.id]);
  const cut = await as(srv, admin).patch(path, { json: { ends_on: '2027-03-16' } });
  assert.equal(cut.status, 422);
  // Nothing changed.
  const now = (await as(srv, admin).get(path)).body;
  assert.equal(now.timezone, 'America/New_York');
  assert.equal(now.ends_on, '2027-03-17');
});

// Enrollment (docs/api.md "Enrollment and payment"): a real registration rush
// through two server processes, the database's own counts afterwards;
// prices, discount codes raced, applications, holds expiring and the
// waitlist promoted without any request, cancellation, capacity increases,
// workshop choice raced, the personal calendar, other learners' objects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startServer, client } from '../lib/harness.mjs';
import { sessionBody } from '../lib/catalog.mjs';
import {
  account, as, learners, openOffering, dayIn, eventually, seatCounts, metric, sleep,
} from '../lib/enroll.mjs';

let srv, admin, director;

before(async () => {
  // A short sweep interval, so that expiry and promotion show within a test.
  srv = await startServer({ processes: 2, env: { REGISTRAR_SWEEP_INTERVAL_MS: '200',
    REGISTRAR_PUBLIC_URL: 'https://registrar.example.org/' } });
  [admin, director] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects', 'pcep'] }),
  ]);
});

after(async () => {
  await srv?.stop();
});

const enroll = (who, offeringId, body, url) =>
  as(srv, who, url).post(`/api/v1/offerings/${offeringId}/enrollments`, body ? { json: body } : {});

test('220 learners rush 50 seats through two processes: never oversold, one each, waitlist 1..n', async () => {
  const off = await openOffering(srv, admin, { capacity: 50 });
  const ls = await learners(srv, 220);
  // Twenty of them press the button twice at the same moment.
  const calls = ls.map((l, i) => ({ l, url: srv.urls[i % 2] }));
  for (let i = 0; i < 20; i++) calls.push({ l: ls[i], url: srv.urls[(i + 1) % 2] });
  const results = await Promise.all(calls.map(({ l, url }) => enroll(l, off.id, null, url)));

  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s >= 500).length, 0, 'no 5xx');
  assert.equal(statuses.filter((s) => s === 201).length, 220);
  const dup = results.filter((r) => r.status === 409);
  assert.equal(dup.length, 20);
  for (const r of dup) {
    assert.equal(r.body.type, 'https://registrar.invalid/problems/already-enrolled');
    assert.match(r.headers.get('content-type'), /application\/problem\+json/);
  }
  const made = results.filter((r) => r.status === 201).map((r) => r.body);
  assert.equal(made.filter((e) => e.status === 'held').length, 50);
  assert.equal(made.filter((e) => e.status === 'waitlisted').length, 170);
  for (const e of made) {
    if (e.status === 'held') {
      assert.equal(e.waitlist_position, null);
      assert.ok(Date.parse(e.hold_expires_at) > Date.now() + 29 * 60000, 'a 30-minute hold');
    } else {
      assert.ok(e.waitlist_position >= 1 && e.waitlist_position <= 170);
      assert.equal(e.hold_expires_at, null);
    }
  }

  // The database's own counts.
  const c = await seatCounts(srv, off.id);
  assert.equal(c.seats_taken, 50);
  assert.equal(c.held + c.confirmed, c.seats_taken);
  assert.ok(c.seats_taken <= c.capacity);
  assert.equal(c.waitlisted, 170);
  const twice = await srv.sql(
    `select user_id from registrar.enrollments where offering_id = $1
       and status in ('applied', 'held', 'confirmed', 'waitlisted')
     group by user_id having count(*) > 1`, [off.id]);
  assert.deepEqual(twice, []);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.enrollments where offering_id = $1', [off.id]);
  assert.equal(n, 220);

  // The waitlist in order: positions 1..170, first come first served.
  const items = [];
  let cursor = null;
  do {
    const r = await as(srv, director).get(`/api/v1/offerings/${off.id}/waitlist?limit=64${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    items.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  assert.deepEqual(items.map((x) => x.position), Array.from({ length: 170 }, (_, i) => i + 1));
  assert.deepEqual(items.map((x) => x.enrollment.waitlist_position), items.map((x) => x.position));
  const order = await srv.sql(
    `select id from registrar.enrollments where offering_id = $1 and status = 'waitlisted' order by created_at, id`,
    [off.id]);
  assert.equal(new Set(items.map((x) => x.enrollment.id)).size, 170);
  assert.equal(order.length, 170);

  // The public offering agrees (after the cache's 1 s bound).
  await sleep(1100);
  const o = await client(srv.urls[1]).get(`/api/v1/offerings/${off.id}`);
  assert.equal(o.body.seats_taken, 50);
  assert.equal(o.body.seats_left, 0);
  assert.equal(o.body.waitlist_length, 170);
});

test('registering: 401 signed out, 404 unknown or draft, 422 closed, body fields checked', async () => {
  const [l] = await learners(srv, 1);
  const off = await openOffering(srv, admin, { capacity: 5 });
  assert.equal((await client(srv.url).post(`/api/v1/offerings/${off.id}/enrollments`)).status, 401);
  assert.equal((await enroll(l, '00000000-0000-4000-8000-000000000000')).status, 404);
  assert.equal((await enroll(l, 'not-a-uuid')).status, 404);
  const bad = await enroll(l, off.id, { discount_code: 'X1', role: 'admin' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'role');

  const draft = await openOffering(srv, admin, { status: 'draft' });
  assert.equal((await enroll(l, draft.id)).status, 404);
  const closed = await openOffering(srv, admin, { status: 'closed' });
  const r1 = await enroll(l, closed.id);
  assert.equal(r1.status, 422);
  assert.equal(r1.body.type, 'https://registrar.invalid/problems/registration-closed');
  const later = await openOffering(srv, admin, {
    registration_opens_at: new Date(Date.now() + 86400000).toISOString(),
  });
  const r2 = await enroll(l, later.id);
  assert.equal(r2.status, 422);
  assert.match(r2.body.detail, /opens at/);
  const over = await openOffering(srv, admin, {
    registration_opens_at: new Date(Date.now() - 2 * 86400000).toISOString(),
    registration_closes_at: new Date(Date.now() - 86400000).toISOString(),
  });
  assert.equal((await enroll(l, over.id)).status, 422);
});

test('prices: by profession, early price until its date in the offering\'s zone, discount codes', async () => {
  const [doc] = await learners(srv, 1, { profession: 'physician' });
  const [nurse] = await learners(srv, 1, { profession: 'nurse' });
  const [chap] = await learners(srv, 1, { profession: 'chaplain' });
  const off = await openOffering(srv, admin, { capacity: 10 });
  // Early until 10 days from now: the physician pays the early price.
  const q = await as(srv, doc).get(`/api/v1/offerings/${off.id}/price`);
  assert.equal(q.status, 200);
  assert.equal(q.body.price_cents, 125000);
  assert.equal(q.body.early, true);

  const code = await as(srv, director).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'Spring-10', percent_off: 10, max_uses: 10 } });
  assert.equal(code.status, 201, code.text);
  assert.equal(code.body.uses, 0);
  const fixed = await as(srv, admin).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'FRIEND', amount_off_cents: 100000 } });
  assert.equal(fixed.status, 201, fixed.text);
  assert.equal((await as(srv, admin).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'friend', percent_off: 5 } })).body.type, 'https://registrar.invalid/problems/code-taken');
  assert.equal((await as(srv, admin).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'BOTH-55', percent_off: 5, amount_off_cents: 5 } })).status, 400, 'one kind of discount');
  assert.equal((await as(srv, doc).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'MINE-100', percent_off: 100 } })).status, 403, 'a learner makes no codes');

  const e1 = await enroll(doc, off.id, { discount_code: 'spring-10' });
  assert.equal(e1.status, 201, e1.text);
  assert.deepEqual([e1.body.price_cents, e1.body.discount_cents, e1.body.amount_due_cents], [125000, 12500, 112500]);
  assert.equal(e1.body.status, 'held');

  const e2 = await enroll(nurse, off.id, { discount_code: 'FRIEND' });
  assert.deepEqual([e2.body.price_cents, e2.body.discount_cents, e2.body.amount_due_cents], [90000, 90000, 0]);
  assert.equal(e2.body.status, 'confirmed', 'nothing due: confirmed at once');
  assert.equal(e2.body.hold_expires_at, null);

  // No price for chaplains: the offering is free for them.
  const e3 = await enroll(chap, off.id, { discount_code: 'nope' });
  assert.equal(e3.status, 422);
  assert.equal(e3.body.type, 'https://registrar.invalid/problems/discount-code-invalid');
  assert.equal(e3.body.errors[0].field, 'discount_code');

  // After early_until (in New York), the regular price.
  await srv.sql(`update registrar.offering_prices set early_until = $2 where offering_id = $1 and profession = 'physician'`,
    [off.id, dayIn('America/New_York', -1)]);
  const q2 = await as(srv, doc).get(`/api/v1/offerings/${off.id}/price?discount_code=SPRING-10`);
  assert.deepEqual([q2.body.price_cents, q2.body.early, q2.body.discount_cents], [150000, false, 15000]);
  await srv.sql(`update registrar.offering_prices set early_until = $2 where offering_id = $1 and profession = 'physician'`,
    [off.id, dayIn('America/New_York', 0)]);
  const q3 = await as(srv, doc).get(`/api/v1/offerings/${off.id}/price`);
  assert.equal(q3.body.price_cents, 125000, 'the early price holds through its last day');

  // An expired code gets the very answer of an unknown one (a guesser learns nothing).
  await srv.sql(`update registrar.discount_codes set expires_at = now() - interval '1 second' where code = 'FRIEND'`);
  const e4 = await as(srv, doc).get(`/api/v1/offerings/${off.id}/price?discount_code=friend`);
  assert.equal(e4.status, 422);
  assert.deepEqual(e4.body, e3.body);
});

test('a discount code raced by 30 learners is used exactly max_uses times', async () => {
  const off = await openOffering(srv, admin, { capacity: 100 });
  const r = await as(srv, director).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'FIRST5', percent_off: 50, max_uses: 5 } });
  assert.equal(r.status, 201);
  const ls = await learners(srv, 30);
  const results = await Promise.all(ls.map((l, i) => enroll(l, off.id, { discount_code: 'first5' }, srv.urls[i % 2])));
  const ok = results.filter((x) => x.status === 201);
  assert.equal(ok.length, 5);
  for (const x of ok) assert.equal(x.body.discount_cents, 62500);
  const refused = results.filter((x) => x.status === 422);
  assert.equal(refused.length, 25);
  for (const x of refused) assert.equal(x.body.type, 'https://registrar.invalid/problems/discount-code-invalid');
  const [{ uses }] = await srv.sql(`select uses from registrar.discount_codes where id = $1`, [r.body.id]);
  assert.equal(uses, 5);
  const c = await seatCounts(srv, off.id);
  assert.equal(c.seats_taken, 5, 'a refused code takes no seat');

  // A hold that runs out unpaid gives its use back.
  const held = ok[0].body;
  await srv.sql(`update registrar.enrollments set hold_expires_at = now() - interval '1 second' where id = $1`, [held.id]);
  await eventually(async () => (await srv.sql(`select uses from registrar.discount_codes where id = $1`, [r.body.id]))[0].uses === 4,
    'the code\'s use given back');
});

test('applications: applied, approved to a hold of approval_hold_days, rejected with a note', async () => {
  const off = await openOffering(srv, admin, { capacity: 1, requires_application: true, approval_hold_days: 10 },
    { slug: 'pcep' });
  const [a, b, c] = await learners(srv, 3);
  const ea = (await enroll(a, off.id)).body;
  const eb = (await enroll(b, off.id)).body;
  const ec = (await enroll(c, off.id)).body;
  assert.deepEqual([ea.status, eb.status, ec.status], ['applied', 'applied', 'applied']);
  assert.equal((await seatCounts(srv, off.id)).seats_taken, 0, 'an application takes no seat');

  // Directors see applications on the roster; the learner may not decide.
  const ro = await as(srv, director).get(`/api/v1/offerings/${off.id}/roster?status=applied`);
  assert.equal(ro.status, 200);
  assert.equal(ro.body.items.length, 3);
  const self = await as(srv, a).post(`/api/v1/enrollments/${ea.id}/approve`);
  assert.equal(self.status, 403);
  assert.equal((await as(srv, b).post(`/api/v1/enrollments/${ea.id}/approve`)).status, 404);

  const ok = await as(srv, director).post(`/api/v1/enrollments/${ea.id}/approve`, { json: { note: 'Welcome!' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.status, 'held');
  const days = (Date.parse(ok.body.hold_expires_at) - Date.now()) / 86400000;
  assert.ok(days > 9.9 && days <= 10, `hold of ${days} days`);
  const again = await as(srv, director).post(`/api/v1/enrollments/${ea.id}/approve`);
  assert.equal(again.status, 409);
  assert.equal(again.body.type, 'https://registrar.invalid/problems/not-applied');

  // Full: the next approval waitlists.
  const full = await as(srv, admin).post(`/api/v1/enrollments/${eb.id}/approve`);
  assert.equal(full.body.status, 'waitlisted');
  assert.equal(full.body.waitlist_position, 1);

  const no = await as(srv, director).post(`/api/v1/enrollments/${ec.id}/reject`, { json: { note: 'Next year.' } });
  assert.equal(no.status, 200);
  assert.equal(no.body.status, 'rejected');
  assert.equal(no.body.note, 'Next year.');
  const mail = await srv.sql(`select recipient, subject, body from registrar.outbox where recipient in ($1, $2)
    and subject not like 'Confirm your email%' and subject not like 'Registration:%' order by id`,
    [a.email, c.email]);
  assert.equal(mail.length, 2);
  assert.match(mail[0].subject, /approved/);
  assert.match(mail[1].body, /Next year\./);
  const audit = await srv.sql(`select action from registrar.audit_log where offering_id = $1 and action like 'enrollment.%' order by id`, [off.id]);
  assert.deepEqual(audit.map((x) => x.action), ['enrollment.approve', 'enrollment.approve', 'enrollment.reject']);
});

test('unpaid holds expire within the sweep interval, seats go to the waitlist in order, with mail', async () => {
  const off = await openOffering(srv, admin, { capacity: 2 });
  const ls = await learners(srv, 5);
  const es = [];
  for (const l of ls) es.push((await enroll(l, off.id)).body);
  assert.deepEqual(es.map((e) => e.status), ['held', 'held', 'waitlisted', 'waitlisted', 'waitlisted']);
  const before = await metric(srv, 'registrar_holds_expired_total');

  // Age both holds (no back door: plain SQL), then wait for the sweeper.
  await srv.sql(`update registrar.enrollments set hold_expires_at = now() - interval '1 second' where id = any ($1::uuid[])`,
    [[es[0].id, es[1].id]]);
  await eventually(async () => (await as(srv, ls[0]).get(`/api/v1/enrollments/${es[0].id}`)).body.status === 'expired',
    'the hold expired', 5000);
  const third = await eventually(async () => {
    const r = await as(srv, ls[2]).get(`/api/v1/enrollments/${es[2].id}`);
    return r.body.status === 'held' && r.body;
  }, 'the first waitlisted promoted', 5000);
  assert.ok(Date.parse(third.hold_expires_at) > Date.now() + 29 * 60000, 'a fresh hold');
  const fourth = (await as(srv, ls[3]).get(`/api/v1/enrollments/${es[3].id}`)).body;
  assert.equal(fourth.status, 'held');
  const fifth = (await as(srv, ls[4]).get(`/api/v1/enrollments/${es[4].id}`)).body;
  assert.equal(fifth.status, 'waitlisted');
  assert.equal(fifth.waitlist_position, 1);

  const c = await seatCounts(srv, off.id);
  assert.deepEqual([c.seats_taken, c.held, c.waitlisted], [2, 2, 1]);
  const mail = await srv.sql(`select recipient, subject from registrar.outbox where recipient = any ($1::text[])
    and subject not like 'Registration:%'`, [[ls[2].email, ls[3].email]]);
  assert.equal(mail.length, 2);
  for (const m of mail) assert.match(m.subject, /A seat is yours/);
  assert.ok(await metric(srv, 'registrar_holds_expired_total') >= before + 2);
  assert.ok(await metric(srv, 'registrar_waitlist_promoted_total') >= 2);
  // An expired enrollment can register again (it is not active).
  const again = await enroll(ls[0], off.id);
  assert.equal(again.status, 201);
  assert.equal(again.body.status, 'waitlisted');
  assert.equal(again.body.waitlist_position, 2);
});

test('a hold that ran out before the sweep reached it does not block registering again', async () => {
  // A server whose sweep never comes within the test: only the registration itself can expire the hold.
  const slow = await startServer({ env: { REGISTRAR_SWEEP_INTERVAL_MS: '3600000' } });
  try {
    const adm = await account(slow, { admin: true });
    const off = await openOffering(slow, adm, { capacity: 1 });
    const [ann, bob] = await learners(slow, 2);
    const post = (who) => as(slow, who).post(`/api/v1/offerings/${off.id}/enrollments`, {});
    const first = (await post(ann)).body;
    assert.equal(first.status, 'held');
    assert.equal((await post(bob)).body.status, 'waitlisted');
    assert.equal((await post(ann)).status, 409, 'a live hold is an active enrollment');

    await slow.sql(`update registrar.enrollments set hold_expires_at = now() - interval '1 second' where id = $1`, [first.id]);
    const again = await post(ann);
    assert.equal(again.status, 201, again.text);
    // The seat went to the waitlist first, as the sweep would have given it.
    assert.equal(again.body.status, 'waitlisted');
    assert.equal((await as(slow, ann).get(`/api/v1/enrollments/${first.id}`)).body.status, 'expired');
    const bobs = (await as(slow, bob).get('/api/v1/me/enrollments')).body.items[0];
    assert.equal(bobs.status, 'held');
    const c = await seatCounts(slow, off.id);
    assert.deepEqual([c.seats_taken, c.held, c.waitlisted], [1, 1, 1]);
  } finally {
    await slow.stop();
  }
});

test('cancelling a seat promotes at once; a capacity increase promotes; cancel rules', async () => {
  const off = await openOffering(srv, admin, { capacity: 1 });
  const [a, b, c, d] = await learners(srv, 4);
  const ea = (await enroll(a, off.id)).body;
  const eb = (await enroll(b, off.id)).body;
  const ec = (await enroll(c, off.id)).body;
  assert.deepEqual([ea.status, eb.status, ec.status], ['held', 'waitlisted', 'waitlisted']);

  assert.equal((await as(srv, d).post(`/api/v1/enrollments/${ea.id}/cancel`)).status, 404, 'not d\'s to cancel');
  const x = await as(srv, a).post(`/api/v1/enrollments/${ea.id}/cancel`, { json: { reason: 'Clash with clinic' } });
  assert.equal(x.status, 200, x.text);
  assert.equal(x.body.status, 'cancelled');
  assert.equal(x.body.refund_cents, 0, 'nothing was paid');
  assert.equal((await as(srv, b).get(`/api/v1/enrollments/${eb.id}`)).body.status, 'held');
  assert.equal((await as(srv, c).get(`/api/v1/enrollments/${ec.id}`)).body.waitlist_position, 1);
  const twice = await as(srv, a).post(`/api/v1/enrollments/${ea.id}/cancel`);
  assert.equal(twice.status, 409);
  assert.equal(twice.body.type, 'https://registrar.invalid/problems/not-cancellable');

  // The director raises the capacity: the waitlist moves up in the same request.
  const p = await as(srv, director).patch(`/api/v1/offerings/${off.id}`, { json: { capacity: 3 } });
  assert.equal(p.status, 200, p.text);
  assert.equal((await as(srv, c).get(`/api/v1/enrollments/${ec.id}`)).body.status, 'held');
  const cnt = await seatCounts(srv, off.id);
  assert.deepEqual([cnt.seats_taken, cnt.held, cnt.waitlisted], [2, 2, 0]);

  // A director cancels a waitlisted learner's place on their behalf.
  const ed = (await enroll(d, off.id)).body;
  assert.equal(ed.status, 'held');
  const byDir = await as(srv, director).post(`/api/v1/enrollments/${ed.id}/cancel`);
  assert.equal(byDir.status, 200);
  const mail = await srv.sql(`select subject from registrar.outbox where recipient = $1`, [d.email]);
  assert.ok(mail.some((m) => /cancelled/.test(m.subject)));
});

test('workshop choice: overlaps 409, full 409, raced seats never oversold, choice changed, calendar feed', async () => {
  const off = await openOffering(srv, admin, { capacity: 20 }, { startsIn: 60 });
  const day = off.starts_on;
  const mk = async (over) => {
    const r = await as(srv, admin).post(`/api/v1/offerings/${off.id}/sessions`, { json: sessionBody(over) });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  const plenary = await mk({ title: 'Plenary', kind: 'plenary', starts_at: `${day}T08:00:00-04:00`,
    ends_at: `${day}T09:00:00-04:00`, room: 'Hall', faculty: ['Dr. P'] });
  const w1 = await mk({ title: 'Workshop A', kind: 'workshop', capacity: 1, starts_at: `${day}T10:00:00-04:00`,
    ends_at: `${day}T11:00:00-04:00`, room: 'Room 1', faculty: ['Dr. A'] });
  const w2 = await mk({ title: 'Workshop B', kind: 'workshop', capacity: 10, starts_at: `${day}T10:30:00-04:00`,
    ends_at: `${day}T11:30:00-04:00`, room: 'Room 2', faculty: ['Dr. B'] });
  const w3 = await mk({ title: 'Workshop C', kind: 'workshop', capacity: 10, starts_at: `${day}T13:00:00-04:00`,
    ends_at: `${day}T14:00:00-04:00`, room: 'Room 1', faculty: ['Dr. C'] });

  const ls = await learners(srv, 6);
  const es = [];
  for (const l of ls) es.push((await enroll(l, off.id)).body);
  const put = (i, ids) => as(srv, ls[i], srv.urls[i % 2]).put(`/api/v1/enrollments/${es[i].id}/sessions`,
    { json: { session_ids: ids } });

  const clash = await put(0, [w1.id, w2.id]);
  assert.equal(clash.status, 409);
  assert.equal(clash.body.type, 'https://registrar.invalid/problems/schedule-conflict');
  assert.deepEqual(clash.body.conflicts.sort(), [w1.id, w2.id].sort());
  const plen = await put(0, [plenary.id]);
  assert.equal(plen.status, 422);
  assert.equal(plen.body.type, 'https://registrar.invalid/problems/unknown-session');
  assert.equal((await put(0, ['nope'])).status, 400);

  // Six learners race for Workshop A's one seat.
  const race = await Promise.all(ls.map((_, i) => put(i, [w1.id, w3.id])));
  assert.equal(race.filter((r) => r.status === 200).length, 1);
  const lost = race.filter((r) => r.status === 409);
  assert.equal(lost.length, 5);
  for (const r of lost) {
    assert.equal(r.body.type, 'https://registrar.invalid/problems/session-full');
    assert.deepEqual(r.body.sessions, [w1.id]);
  }
  const [s1] = await srv.sql('select seats_taken from registrar.sessions where id = $1', [w1.id]);
  const [s3] = await srv.sql('select seats_taken from registrar.sessions where id = $1', [w3.id]);
  assert.equal(s1.seats_taken, 1);
  assert.equal(s3.seats_taken, 1, 'the losers\' other choice was rolled back with the whole request');
  const winner = race.findIndex((r) => r.status === 200);
  assert.deepEqual(race[winner].body.session_ids, [w1.id, w3.id]);

  // The winner switches to B: A's seat is free for the next.
  const sw = await put(winner, [w2.id]);
  assert.equal(sw.status, 200, sw.text);
  assert.deepEqual(sw.body.session_ids, [w2.id]);
  const other = (winner + 1) % 6;
  assert.equal((await put(other, [w1.id])).status, 200);
  const seats = await srv.sql('select id, seats_taken from registrar.sessions where offering_id = $1 order by starts_at', [off.id]);
  assert.deepEqual(seats.map((x) => x.seats_taken), [0, 1, 1, 0]);

  // Another learner's enrollment is not found.
  const foreign = await as(srv, ls[other]).put(`/api/v1/enrollments/${es[winner].id}/sessions`, { json: { session_ids: [] } });
  assert.equal(foreign.status, 404);

  // The personal calendar: confirmed offerings only, plenaries and chosen workshops.
  const tok = await as(srv, ls[winner]).post('/api/v1/me/calendar-token');
  assert.equal(tok.status, 201, tok.text);
  const feedPath = new URL(tok.body.feed_url, srv.url).pathname;
  let ics = await client(srv.url).get(feedPath);
  assert.equal(ics.status, 200);
  assert.doesNotMatch(ics.text, /BEGIN:VEVENT/, 'a held seat is not in the calendar yet');
  await srv.sql(`update registrar.enrollments set status = 'confirmed', hold_expires_at = null where id = $1`, [es[winner].id]);
  ics = await client(srv.url).get(feedPath);
  const uids = [...ics.text.matchAll(/^UID:(.*)\r?$/gm)].map((m) => m[1].trim());
  assert.deepEqual(uids.sort(), [`${plenary.id}@registrar`, `${w2.id}@registrar`].sort());

  // Cancelling gives the workshop seats back.
  await as(srv, ls[other]).post(`/api/v1/enrollments/${es[other].id}/cancel`);
  const [after1] = await srv.sql('select seats_taken from registrar.sessions where id = $1', [w1.id]);
  assert.equal(after1.seats_taken, 0);
});

test('another learner\'s enrollment is 404 everywhere; my list pages newest first', async () => {
  const [a, b] = await learners(srv, 2);
  const offs = [];
  for (let i = 0; i < 3; i++) offs.push(await openOffering(srv, admin, { capacity: 5 }));
  const mine = [];
  for (const o of offs) mine.push((await enroll(a, o.id)).body);
  const id = mine[0].id;
  assert.equal((await as(srv, b).get(`/api/v1/enrollments/${id}`)).status, 404);
  assert.equal((await as(srv, b).post(`/api/v1/enrollments/${id}/cancel`)).status, 404);
  assert.equal((await as(srv, b).post(`/api/v1/enrollments/${id}/payments`,
    { json: { payment_token: 'tok_test_visa' }, headers: { 'Idempotency-Key': 'k' } })).status, 404);
  assert.equal((await client(srv.url).get(`/api/v1/enrollments/${id}`)).status, 401);
  // Its learner, the course's director and an admin see it.
  const own = await as(srv, a).get(`/api/v1/enrollments/${id}`);
  assert.equal(own.status, 200);
  assert.equal(own.body.offering.id, offs[0].id);
  assert.deepEqual(own.body.payments, []);
  assert.equal((await as(srv, director).get(`/api/v1/enrollments/${id}`)).status, 200);
  assert.equal((await as(srv, admin).get(`/api/v1/enrollments/${id}`)).status, 200);

  const p1 = await as(srv, a).get('/api/v1/me/enrollments?limit=2');
  assert.equal(p1.status, 200);
  assert.equal(p1.body.items.length, 2);
  assert.ok(p1.body.next_cursor);
  const p2 = await as(srv, a).get(`/api/v1/me/enrollments?limit=2&cursor=${p1.body.next_cursor}`);
  assert.equal(p2.body.items.length, 1);
  assert.equal(p2.body.next_cursor, null);
  assert.deepEqual([...p1.body.items, ...p2.body.items].map((e) => e.id), mine.map((e) => e.id).reverse());
  assert.equal((await as(srv, b).get('/api/v1/me/enrollments')).body.items.length, 0);
  assert.equal((await as(srv, a).get('/api/v1/me/enrollments?cursor=zz')).status, 400);
});

test('a refund the processor did not make at the time is retried by the sweeper', async () => {
  const off = await openOffering(srv, admin, { capacity: 3 });
  const [l] = await learners(srv, 1);
  const e = (await enroll(l, off.id)).body;
  const paid = await as(srv, l).post(`/api/v1/enrollments/${e.id}/payments`,
    { json: { payment_token: 'tok_test_visa' }, headers: { 'Idempotency-Key': 'retry-refund' } });
  assert.equal(paid.status, 201, paid.text);
  const c = await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`);
  assert.equal(c.body.refund_cents, 125000);
  // As if the processor had not answered: the refund is still pending, a while ago.
  await srv.sql(`update registrar.payments set status = 'succeeded', refund_status = 'pending', refund_ref = null,
                   updated_at = now() - interval '2 minutes' where id = $1`, [paid.body.payment.id]);
  const p = await eventually(async () => {
    const [row] = await srv.sql('select status, refund_status, refund_ref from registrar.payments where id = $1',
      [paid.body.payment.id]);
    return row.refund_status === 'succeeded' && row;
  }, 'the refund retried', 5000);
  assert.equal(p.status, 'refunded');
  assert.match(p.refund_ref, /^test_re_/);
});

// ---- issue 8: exact waitlist places, verified emails, unpaid holds, discount codes guessed ----

test('100 learners rush 25 seats through two processes: the waitlisted are told 1..75 exactly, the stored order', async () => {
  const off = await openOffering(srv, admin, { capacity: 25 });
  const ls = await learners(srv, 100);
  const results = await Promise.all(ls.map((l, i) => enroll(l, off.id, null, srv.urls[i % 2])));
  assert.deepEqual(results.filter((r) => r.status !== 201).map((r) => r.text), []);
  const made = results.map((r) => r.body);
  assert.equal(made.filter((e) => e.status === 'held').length, 25);
  const waiting = made.filter((e) => e.status === 'waitlisted');
  assert.equal(waiting.length, 75);
  // Every answer a distinct place, 1..75, none told twice.
  assert.deepEqual(waiting.map((e) => e.waitlist_position).sort((a, b) => a - b),
    Array.from({ length: 75 }, (_, i) => i + 1));
  // Each place is the stored order.
  const stored = await srv.sql(
    `select id, row_number() over (order by waitlist_seq)::int as place from registrar.enrollments
     where offering_id = $1 and status = 'waitlisted'`, [off.id]);
  const place = new Map(stored.map((r) => [r.id, r.place]));
  for (const e of waiting) assert.equal(e.waitlist_position, place.get(e.id), `enrollment ${e.id}`);

  // After a cancellation ahead (a promotion) and a place given up in the
  // middle, every reading agrees: the enrollment, my list, the waitlist.
  const held = made.find((e) => e.status === 'held');
  const holder = ls[made.indexOf(held)];
  assert.equal((await as(srv, holder, srv.urls[1]).post(`/api/v1/enrollments/${held.id}/cancel`)).status, 200);
  const tenth = waiting.find((e) => e.waitlist_position === 10);
  const tenthWho = ls[made.indexOf(tenth)];
  assert.equal((await as(srv, tenthWho).post(`/api/v1/enrollments/${tenth.id}/cancel`)).status, 200);
  const list = [];
  let cursor = null;
  do {
    const r = await as(srv, director).get(`/api/v1/offerings/${off.id}/waitlist?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    list.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  assert.deepEqual(list.map((x) => x.position), Array.from({ length: 73 }, (_, i) => i + 1));
  const first = waiting.find((e) => e.waitlist_position === 1);
  assert.equal((await as(srv, ls[made.indexOf(first)]).get(`/api/v1/enrollments/${first.id}`)).body.status, 'held',
    'the first waitlisted took the freed seat');
  // Told so with an absolute link, built from REGISTRAR_PUBLIC_URL.
  const [told] = await srv.sql(`select body from registrar.outbox where recipient = $1 and subject like 'A seat is yours%'`,
    [ls[made.indexOf(first)].email]);
  assert.match(told.body, new RegExp(`\nYour registration: https://registrar\\.example\\.org/#/registrations/${first.id}\n$`));
  for (const x of [list[0], list[7], list[8], list[72]]) {
    const who = ls[made.findIndex((e) => e.id === x.enrollment.id)];
    const one = await as(srv, who, srv.urls[1]).get(`/api/v1/enrollments/${x.enrollment.id}`);
    assert.equal(one.body.waitlist_position, x.position);
    const mine = await as(srv, who).get('/api/v1/me/enrollments');
    assert.equal(mine.body.items.find((e) => e.id === x.enrollment.id).waitlist_position, x.position);
  }
});

test('registering needs a verified email: 403 email-unverified, nothing changed; then the link, then 201', async () => {
  const off = await openOffering(srv, admin, { capacity: 5 });
  const code = await as(srv, director).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'VERIFY-10', percent_off: 10, max_uses: 5 } });
  assert.equal(code.status, 201, code.text);
  const fresh = await account(srv, { verified: false });
  const r = await enroll(fresh, off.id, { discount_code: 'VERIFY-10' });
  assert.equal(r.status, 403);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/email-unverified');
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.enrollments where user_id = $1', [fresh.id]);
  assert.equal(n, 0);
  assert.equal((await seatCounts(srv, off.id)).seats_taken, 0);
  const [{ uses }] = await srv.sql('select uses from registrar.discount_codes where offering_id = $1', [off.id]);
  assert.equal(uses, 0);
  // The SQL fixtures can be unverified too.
  const [, fixture] = await learners(srv, 2, { verified: false });
  assert.equal((await enroll(fixture, off.id)).status, 403);

  const { verifyEmail } = await import('../lib/accounts.mjs');
  await verifyEmail(srv, fresh.email);
  const ok = await enroll(fresh, off.id, { discount_code: 'VERIFY-10' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.status, 'held');
});

test('at most 3 unpaid holds at once across offerings, however many are sent at once; waitlist and free seats still go', async () => {
  const offs = await Promise.all(Array.from({ length: 6 }, () => openOffering(srv, admin, { capacity: 5 })));
  const [l] = await learners(srv, 1);
  const rs = await Promise.all(offs.map((o, i) => enroll(l, o.id, null, srv.urls[i % 2])));
  assert.deepEqual(rs.map((r) => r.status).sort(), [201, 201, 201, 409, 409, 409]);
  for (const r of rs.filter((x) => x.status === 409)) {
    assert.equal(r.body.type, 'https://registrar.invalid/problems/too-many-holds');
    assert.match(r.headers.get('content-type'), /application\/problem\+json/);
  }
  const refused = offs.filter((_, i) => rs[i].status === 409);
  for (const o of refused) assert.equal((await seatCounts(srv, o.id)).seats_taken, 0, 'a refused hold took no seat');
  const [{ n }] = await srv.sql(`select count(*)::int as n from registrar.enrollments where user_id = $1 and status = 'held'`, [l.id]);
  assert.equal(n, 3);

  // A full offering still waitlists; one with nothing to pay still confirms.
  const full = await openOffering(srv, admin, { capacity: 1 });
  const [other] = await learners(srv, 1);
  assert.equal((await enroll(other, full.id)).body.status, 'held');
  const w = await enroll(l, full.id);
  assert.equal(w.status, 201, w.text);
  assert.equal(w.body.status, 'waitlisted');
  const free = await openOffering(srv, admin, { capacity: 5, prices: [] });
  const f = await enroll(l, free.id);
  assert.equal(f.status, 201, f.text);
  assert.equal(f.body.status, 'confirmed');

  // A hold paid (or run out) makes room for another.
  const paidId = rs.find((r) => r.status === 201).body.id;
  const pay = await as(srv, l).post(`/api/v1/enrollments/${paidId}/payments`,
    { json: { payment_token: 'tok_test_visa' }, headers: { 'idempotency-key': `k-${paidId}` } });
  assert.equal(pay.status, 201, pay.text);
  const again = await enroll(l, refused[0].id);
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.status, 'held');
});

test('discount codes: unknown, used up and expired get one answer, in the quote and in registering', async () => {
  const off = await openOffering(srv, admin, { capacity: 10 });
  for (const [c, extra] of [['USED-UP-1', { max_uses: 1 }], ['EXPIRED-1', {}]]) {
    const r = await as(srv, director).post(`/api/v1/offerings/${off.id}/discount-codes`,
      { json: { code: c, percent_off: 50, ...extra } });
    assert.equal(r.status, 201, r.text);
  }
  const [a, b] = await learners(srv, 2);
  assert.equal((await enroll(a, off.id, { discount_code: 'USED-UP-1' })).status, 201);
  await srv.sql(`update registrar.discount_codes set expires_at = now() - interval '1 second' where code = 'EXPIRED-1'`);
  const answers = [];
  for (const c of ['NO-SUCH-CODE', 'USED-UP-1', 'EXPIRED-1']) {
    const q = await as(srv, b).get(`/api/v1/offerings/${off.id}/price?discount_code=${c}`);
    const e = await enroll(b, off.id, { discount_code: c });
    answers.push([q.status, q.body], [e.status, e.body]);
  }
  for (const x of answers) assert.deepEqual(x, answers[0]);
  assert.equal(answers[0][0], 422);
  assert.equal(answers[0][1].type, 'https://registrar.invalid/problems/discount-code-invalid');
  assert.equal((await srv.sql('select count(*)::int as n from registrar.enrollments where user_id = $1', [b.id]))[0].n, 0);
});

test('discount codes tried are throttled per learner and per address, shared by two processes; plain quotes are not', async () => {
  const lim = await startServer({ processes: 2, env: {
    REGISTRAR_DISCOUNT_LEARNER_LIMIT: '4', REGISTRAR_DISCOUNT_ADDRESS_LIMIT: '6', REGISTRAR_TRUST_PROXY: 'true' } });
  try {
    const boss = await account(lim, { admin: true });
    const off = await openOffering(lim, boss, { capacity: 10 });
    const [l, m] = await learners(lim, 2);
    const from = (who, ip, i, path) => client(lim.urls[i % 2]).get(path,
      { token: who.token, headers: { 'x-real-ip': ip } });
    // Eight guesses by one learner at once from eight addresses: four are looked at.
    const guesses = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      from(l, `198.51.100.${i + 1}`, i, `/api/v1/offerings/${off.id}/price?discount_code=GUESS-${i}`)));
    assert.deepEqual(guesses.map((r) => r.status).sort(), [422, 422, 422, 422, 429, 429, 429, 429]);
    for (const r of guesses.filter((x) => x.status === 429)) {
      assert.equal(r.body.type, 'https://registrar.invalid/problems/rate-limited');
      assert.ok(Number(r.headers.get('retry-after')) > 3000, `Retry-After ${r.headers.get('retry-after')}`);
    }
    // Registering with a code is a guess too, and counts in the same bucket.
    const e = await client(lim.url).post(`/api/v1/offerings/${off.id}/enrollments`,
      { token: l.token, json: { discount_code: 'GUESS-X' }, headers: { 'x-real-ip': '198.51.100.99' } });
    assert.equal(e.status, 429);
    // Without a code, nothing is counted.
    assert.equal((await from(l, '198.51.100.1', 0, `/api/v1/offerings/${off.id}/price`)).status, 200);
    // Per address (IPv6: its /64): another learner from the same /64 gets 2 more, then 429.
    const v6 = await Promise.all(Array.from({ length: 4 }, (_, i) =>
      from(m, `2001:db8:7:7::${i + 1}`, i, `/api/v1/offerings/${off.id}/price?discount_code=V6-${i}`)));
    assert.equal(v6.filter((r) => r.status === 422).length, 4);
    const more = await Promise.all(Array.from({ length: 4 }, (_, i) =>
      from(boss, `2001:db8:7:7:${i + 1}::1`, i, `/api/v1/offerings/${off.id}/price?discount_code=MORE-${i}`)));
    assert.deepEqual(more.map((r) => r.status).sort(), [422, 422, 429, 429]);
    assert.equal((await from(boss, '2001:db8:7:8::1', 0, `/api/v1/offerings/${off.id}/price?discount_code=OTHER-64`)).status, 422,
      'another /64 is another address');
  } finally {
    await lim.stop();
  }
});

test('group commit: 150 registrations at once for one offering through one process, each its own exact outcome', async () => {
  const off = await openOffering(srv, admin, { capacity: 40 });
  const code = await as(srv, admin).post(`/api/v1/offerings/${off.id}/discount-codes`,
    { json: { code: 'RUSH-3', percent_off: 10, max_uses: 3 } });
  assert.equal(code.status, 201, code.text);
  const ls = await learners(srv, 130);
  const unverified = await learners(srv, 10, { verified: false });
  const one = srv.urls[0];
  const before = [await metric(srv, 'registrar_enroll_batches_total'),
    await metric(srv, 'registrar_enroll_batched_total')];
  // 130 learners (6 of them with a code of 3 uses), 10 more pressing twice,
  // 10 with their email unverified: all at once, into one process.
  const calls = ls.map((l, i) => ({ l, body: i < 6 ? { discount_code: 'rush-3' } : null }));
  for (let i = 10; i < 20; i++) calls.push({ l: ls[i], body: null });
  for (const l of unverified) calls.push({ l, body: null });
  const results = await Promise.all(calls.map(({ l, body }) => enroll(l, off.id, body, one)));
  const after = [await metric(srv, 'registrar_enroll_batches_total'),
    await metric(srv, 'registrar_enroll_batched_total')];

  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s >= 500).length, 0, 'no 5xx');
  const slugs = (s) => results.filter((r) => r.body?.type === `https://registrar.invalid/problems/${s}`).length;
  assert.equal(slugs('email-unverified'), 10);
  assert.equal(slugs('already-enrolled'), 10);
  assert.equal(slugs('discount-code-invalid'), 3, 'three uses, three refused');
  const made = results.filter((r) => r.status === 201).map((r) => r.body);
  assert.equal(made.length, 127);
  assert.equal(made.filter((e) => e.status === 'held').length, 40);
  assert.equal(made.filter((e) => e.status === 'waitlisted').length, 87);
  assert.equal(made.filter((e) => e.discount_cents > 0).length, 3);
  // Each waitlisted learner was told their own place, 1..87, once each.
  assert.deepEqual(made.filter((e) => e.status === 'waitlisted').map((e) => e.waitlist_position)
    .sort((a, b) => a - b), Array.from({ length: 87 }, (_, i) => i + 1));
  // The refused changed nothing: the database's own counts.
  const c = await seatCounts(srv, off.id);
  assert.deepEqual([c.seats_taken, c.held, c.waitlisted], [40, 40, 87]);
  const [{ uses }] = await srv.sql('select uses from registrar.discount_codes where offering_id = $1', [off.id]);
  assert.equal(uses, 3);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.enrollments where offering_id = $1', [off.id]);
  assert.equal(n, 127);
  const stored = await srv.sql(
    `select id, registrar.waitlist_position(e) as p from registrar.enrollments e
     where offering_id = $1 and status = 'waitlisted'`, [off.id]);
  const told = new Map(made.map((e) => [e.id, e.waitlist_position]));
  for (const s of stored) assert.equal(told.get(s.id), s.p, 'the place told is the place stored');
  // Decided in batches: fewer transactions than registrations.
  const batches = after[0] - before[0], batched = after[1] - before[1];
  assert.equal(batched, calls.length);
  assert.ok(batches < batched, `${batches} batches for ${batched} registrations`);
});

test('an erasure racing a batch refuses its own learner alone: the batch waits for it, then registers the others', async () => {
  const off = await openOffering(srv, admin, { capacity: 5 });
  const [victim, a, b] = await learners(srv, 3);
  const [{ password_hash: hash }] = await srv.sql('select password_hash from registrar.users where id = $1',
    [victim.id]);
  const eraser = new pg.Client({ connectionString: srv.dbUrl });
  const batcher = new pg.Client({ connectionString: srv.dbUrl });
  await Promise.all([eraser.connect(), batcher.connect()]);
  try {
    // The erasure holds the learner's row (FOR UPDATE) in an open transaction.
    await eraser.query('begin');
    await eraser.query('select registrar.privacy_erase($1, null, $2)', [victim.id, hash]);
    const [{ pid }] = (await batcher.query('select pg_backend_pid() as pid')).rows;
    const decided = batcher.query(
      `select n, code, slug from registrar.enroll_batch($1::uuid[], $2, array[null, null, null]::text[])
       order by n`, [[victim.id, a.id, b.id], off.id]);
    // The batch waits on the learner's row, before it has taken the offering's.
    await eventually(async () => {
      const [w] = await srv.sql('select wait_event_type from pg_stat_activity where pid = $1', [pid]);
      return w?.wait_event_type === 'Lock';
    }, 'the batch waits on a lock');
    const [{ locked }] = await srv.sql(
      `select count(*)::int as locked from pg_locks l join pg_class c on c.oid = l.relation
       where l.pid = $1 and c.relname = 'offerings' and l.mode in ('RowShareLock', 'RowExclusiveLock')`, [pid]);
    assert.equal(locked, 0, 'the offering is not yet locked by the waiting batch');
    await eraser.query('commit');
    const rows = (await decided).rows;
    assert.deepEqual(rows.map((r) => [r.n, r.code, r.slug]),
      [[1, 403, 'email-unverified'], [2, 201, null], [3, 201, null]]);
  } finally {
    await eraser.end();
    await batcher.end();
  }
  const c = await seatCounts(srv, off.id);
  assert.equal(c.seats_taken, 2);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.enrollments where user_id = $1',
    [victim.id]);
  assert.equal(n, 0, 'nothing of the erased learner');
});

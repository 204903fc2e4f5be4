// Privacy (docs/api.md "Privacy"): a learner's export of everything held about
// them, erasure of an account with its password (registrations cancelled by
// their policy, personal data gone from every table, payments kept under the
// pseudonymous id, seats exact even while others rush the same offering
// through two processes), and the retention job purging aged rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, client } from '../lib/harness.mjs';
import { sessionBody } from '../lib/catalog.mjs';
import { newUser, DEFAULT_PASSWORD } from '../lib/accounts.mjs';
import { account, as, learners, openOffering, eventually, seatCounts, metric } from '../lib/enroll.mjs';

let srv, admin, director;

before(async () => {
  srv = await startServer({ processes: 2, env: { REGISTRAR_SWEEP_INTERVAL_MS: '200' } });
  [admin, director] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
  ]);
});

after(async () => {
  await srv?.stop();
});

const tag = () => randomBytes(4).toString('hex');
const enroll = (who, offeringId, url) => as(srv, who, url).post(`/api/v1/offerings/${offeringId}/enrollments`);
const pay = (who, enrollmentId, key) => as(srv, who).post(`/api/v1/enrollments/${enrollmentId}/payments`,
  { json: { payment_token: 'tok_test_visa' }, headers: { 'Idempotency-Key': key } });

// Every row of every table of the schema whose text contains needle.
async function rowsContaining(needle) {
  const tables = await srv.sql(
    `select table_name from information_schema.tables
     where table_schema = 'registrar' and table_type = 'BASE TABLE' order by table_name`);
  const hits = [];
  for (const { table_name: t } of tables) {
    const [{ n }] = await srv.sql(`select count(*)::int as n from registrar."${t}" x where x::text ilike $1`,
      [`%${needle}%`]);
    if (n > 0) hits.push(`${t}: ${n}`);
  }
  return hits;
}

// A learner with a paid registration, a workshop chosen, a note from the
// course team, a reset message and a calendar feed; and another learner of
// the same offering whose data must not show.
async function busyLearner() {
  const t = tag();
  const me = await newUser(srv, { full_name: `Wilhelmina Export ${t}`, institution: `Saint Ives ${t}` });
  const other = await newUser(srv, { full_name: `Bartholomew Other ${t}` });
  const off = await openOffering(srv, admin, { capacity: 10 }, { startsIn: 60 });
  const day = off.starts_on;
  const w = await as(srv, admin).post(`/api/v1/offerings/${off.id}/sessions`, { json: sessionBody({
    title: `Workshop ${t}`, kind: 'workshop', capacity: 5, starts_at: `${day}T10:00:00-04:00`,
    ends_at: `${day}T11:00:00-04:00`, room: `Room ${t}` }) });
  assert.equal(w.status, 201, w.text);
  const mine = await me.c.post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(mine.status, 201, mine.text);
  const paid = await me.c.post(`/api/v1/enrollments/${mine.body.id}/payments`,
    { json: { payment_token: 'tok_test_visa' }, headers: { 'Idempotency-Key': `pay-${t}` } });
  assert.equal(paid.status, 201, paid.text);
  const chose = await me.c.put(`/api/v1/enrollments/${mine.body.id}/sessions`, { json: { session_ids: [w.body.id] } });
  assert.equal(chose.status, 200, chose.text);
  const theirs = await other.c.post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(theirs.status, 201, theirs.text);
  // The course team cancels the other learner (an audit row by the director, about them, not us).
  assert.equal((await as(srv, director).post(`/api/v1/enrollments/${theirs.body.id}/cancel`)).status, 200);
  // A note on our enrollment, as a director's decision leaves one, and an audit row
  // about it by the director whose detail names the director and another learner.
  await srv.sql('update registrar.enrollments set note = $2 where id = $1', [mine.body.id, `Welcome back ${t}`]);
  await srv.sql(`insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
                 values ($1, 'enrollment.note', $2, $3, $4)`, [director.id, `enrollment:${mine.body.id}`,
    { by: director.email, other_id: other.user.id, enrollment_id: mine.body.id, rows: 1 }, off.id]);
  assert.equal((await client(srv.url).post('/api/v1/auth/password-resets', { json: { email: me.email } })).status, 202);
  assert.equal((await me.c.post('/api/v1/me/calendar-token')).status, 201);
  return { me, other, off, enrollment: mine.body, payment: paid.body.payment, workshop: w.body, t };
}

test('export: 401 without a session; everything about the learner, nothing about anyone else, audited', async () => {
  assert.equal((await client(srv.url).get('/api/v1/me/export')).status, 401);
  const { me, other, off, enrollment, payment, workshop, t } = await busyLearner();

  const r = await me.c.get('/api/v1/me/export');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="[^"]+\.json"$/);
  assert.match(r.headers.get('cache-control'), /no-store/);
  const x = r.body;

  assert.equal(x.profile.id, me.user.id);
  assert.equal(x.profile.email, me.email);
  assert.equal(x.profile.full_name, `Wilhelmina Export ${t}`);
  assert.equal(x.profile.institution, `Saint Ives ${t}`);

  assert.equal(x.enrollments.length, 1);
  const e = x.enrollments[0];
  assert.equal(e.id, enrollment.id);
  assert.equal(e.status, 'confirmed');
  assert.equal(e.note, `Welcome back ${t}`);
  assert.equal(e.offering.id, off.id);
  assert.equal(e.offering.title, off.title);
  assert.equal(e.offering.starts_on, off.starts_on);
  assert.equal(e.offering.ends_on, off.ends_on);
  assert.deepEqual(e.sessions.map((s) => [s.id, s.title]), [[workshop.id, workshop.title]]);

  assert.deepEqual(x.payments.map((p) => [p.id, p.status, p.amount_cents]), [[payment.id, 'succeeded', payment.amount_cents]]);
  assert.deepEqual(x.attendance, []);
  assert.deepEqual(x.evaluations, []);

  const reset = x.messages.find((m) => /reset/i.test(m.subject));
  assert.ok(reset, 'the reset message is listed');
  assert.match(reset.body, /token=\[removed\]/);
  const [{ body: stored }] = await srv.sql(
    `select body from registrar.outbox where recipient = $1 and subject ilike '%reset%'`, [me.email]);
  const token = /token=([A-Za-z0-9_-]+)/.exec(stored)[1];
  assert.ok(!r.text.includes(token), 'the reset token is not in the export');

  assert.ok(x.sign_in_sessions.length >= 1);
  for (const s of x.sign_in_sessions) assert.deepEqual(Object.keys(s).sort(), ['created_at', 'last_seen_at', 'revoked_at']);
  assert.equal(x.calendar_feed.exists, true);
  const noted = x.audit.find((a) => a.action === 'enrollment.note');
  assert.deepEqual(noted && [noted.by, noted.object, noted.detail],
    ['staff', `enrollment:${enrollment.id}`, { enrollment_id: enrollment.id, rows: 1 }]);
  assert.ok(x.audit.some((a) => a.action === 'privacy.export' && a.by === 'you'));

  // No hash, token or digest; nothing of the other learner or the director.
  assert.ok(!r.text.includes(me.token), 'no session token');
  assert.ok(!/\$argon2/.test(r.text), 'no password hash');
  for (const k of ['password_hash', 'token_hash', 'csrf_hash', 'fingerprint']) assert.ok(!r.text.includes(k), k);
  for (const s of [other.email, other.user.id, `Bartholomew Other ${t}`, director.id, director.email]) {
    assert.ok(!r.text.includes(s), `the export mentions ${s}`);
  }

  // The read is audited, as an action of the learner on their own account.
  const audit = await srv.sql(
    `select actor_id, object from registrar.audit_log where action = 'privacy.export' and actor_id = $1`, [me.user.id]);
  assert.deepEqual(audit, [{ actor_id: me.user.id, object: `user:${me.user.id}` }]);
});

test('erase: bad bodies, a wrong password and a missing CSRF token change nothing', async () => {
  const me = await newUser(srv);
  const del = (o) => me.c.del('/api/v1/me', o);
  assert.equal((await client(srv.url).del('/api/v1/me', { json: { password: DEFAULT_PASSWORD } })).status, 401);
  let r = await del({ json: {} });
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].field, 'password');
  r = await del({ json: { password: DEFAULT_PASSWORD, user_id: admin.id } });
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].field, 'user_id');
  r = await del({ json: { password: 42 } });
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].field, 'password');
  r = await del();
  assert.ok([400, 415].includes(r.status), `a body is required: ${r.status}`);
  r = await del({ json: { password: 'not my password at all' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.type, 'https://registrar.invalid/problems/invalid-request');
  assert.equal(r.body.errors[0].field, 'password');
  r = await del({ json: { password: DEFAULT_PASSWORD }, csrf: false });
  assert.equal(r.status, 403);
  // Nothing changed.
  assert.equal((await me.c.get('/api/v1/me')).body.email, me.email);
  const [u] = await srv.sql('select erased_at, password_hash is not null as has_hash from registrar.users where id = $1',
    [me.user.id]);
  assert.deepEqual(u, { erased_at: null, has_hash: true });
});

test('erase: registrations cancelled and refunded by policy, seats to the waitlist, personal data gone everywhere', async () => {
  const { me, off, enrollment, payment, workshop, t } = await busyLearner();
  const full = await openOffering(srv, admin, { capacity: 1 }, { startsIn: 30 });
  const held = await me.c.post(`/api/v1/offerings/${full.id}/enrollments`);
  assert.equal(held.body.status, 'held');
  const [waiting] = await learners(srv, 1);
  assert.equal((await enroll(waiting, full.id)).body.status, 'waitlisted');
  // A registration of an offering that has ended stays (attended, paid for), without its note.
  const past = await openOffering(srv, admin, { capacity: 5 }, { startsIn: 20 });
  const done = await me.c.post(`/api/v1/offerings/${past.id}/enrollments`);
  assert.equal(done.status, 201);
  await srv.sql(`update registrar.enrollments set status = 'confirmed', hold_expires_at = null, note = 'ok'
                 where id = $1`, [done.body.id]);
  await srv.sql(`update registrar.offerings set starts_on = current_date - 10, ends_on = current_date - 8,
                   registration_opens_at = null, registration_closes_at = null where id = $1`, [past.id]);
  // What later issues added about a learner: a badge scanned at the door,
  // an invoice billed to the learner themselves, a group they coordinated
  // billed to them with its invoice, a refund whose reason names them.
  const name = `Wilhelmina Export ${t}`;
  const due = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  const badge = await me.c.get(`/api/v1/enrollments/${enrollment.id}/badge`);
  assert.equal(badge.status, 200, badge.text);
  const scan = await as(srv, director).post(`/api/v1/sessions/${workshop.id}/check-ins`,
    { json: { badge_code: badge.body.badge_code, nonce: `scan-${t}` } });
  assert.ok(scan.status === 200 || scan.status === 201, scan.text);
  const selfBilled = await as(srv, director).post(`/api/v1/enrollments/${held.body.id}/invoice`, { json: {
    bill_to: { name, address: `Saint Ives ${t}\n1 Main St`, email: me.email }, due_on: due } });
  assert.equal(selfBilled.status, 201, selfBilled.text);
  const groupOff = await openOffering(srv, admin, { capacity: 5 }, { startsIn: 60 });
  const group = await me.c.post(`/api/v1/offerings/${groupOff.id}/group-registrations`, { json: {
    members: [{ email: `colleague-${t}@hospital.example`, full_name: `Colleague ${t}`, profession: 'nurse' }],
    bill_to: { name, address: `Saint Ives ${t}`, email: me.email } } });
  assert.equal(group.status, 201, group.text);
  const groupInvoice = await as(srv, director).post(`/api/v1/group-registrations/${group.body.group.id}/invoice`,
    { json: { due_on: due } });
  assert.equal(groupInvoice.status, 201, groupInvoice.text);
  const cheque = await as(srv, director).post(`/api/v1/enrollments/${done.body.id}/payments/offline`,
    { json: { method: 'cheque', amount_cents: done.body.amount_due_cents, reference: 'Cheque 12' } });
  assert.equal(cheque.status, 201, cheque.text);
  const refund = await as(srv, admin).post(`/api/v1/payments/${cheque.body.payment.id}/refunds`,
    { json: { amount_cents: 100, reason: `Goodwill for ${name}` } });
  assert.equal(refund.status, 201, refund.text);
  const x = (await me.c.get('/api/v1/me/export')).body;
  assert.deepEqual(x.badges.map((b) => [b.enrollment_id, b.code]), [[enrollment.id, badge.body.badge_code]]);
  assert.ok(x.attendance.some((a) => a.enrollment_id === enrollment.id && a.session.id === workshop.id));
  assert.deepEqual(x.invoices.map((i) => i.number).sort(),
    [selfBilled.body.invoice.number].sort(), 'the group invoice bills the member, not the coordinator');
  assert.deepEqual(x.groups.map((g) => [g.id, g.coordinator, g.member, g.members, g.bill_to?.name]),
    [[group.body.group.id, true, false, 1, name]]);
  assert.ok(x.receipts.some((r) => r.payment_id === cheque.body.payment.id && r.refund));
  assert.ok(x.refunds.some((f) => f.reason === `Goodwill for ${name}`));
  for (const table of ['check_in_nonces', 'invoices', 'enrollment_groups', 'refunds', 'outbox']) {
    assert.ok((await rowsContaining(name)).some((hit) => hit.startsWith(`${table}:`)), `${table} names the learner`);
  }
  const bearer = await as(srv, { token: me.token }).get('/api/v1/me');
  assert.equal(bearer.status, 200);
  // The search below finds what it looks for while the account lives.
  assert.ok((await rowsContaining(me.email)).some((hit) => hit.startsWith('users:')));
  assert.ok((await rowsContaining(`Welcome back ${t}`)).some((hit) => hit.startsWith('enrollments:')));

  const r = await me.c.del('/api/v1/me', { json: { password: DEFAULT_PASSWORD } });
  assert.equal(r.status, 204, r.text);
  assert.match(r.headers.get('set-cookie'), /registrar_session=;.*Max-Age=0/);

  assert.equal((await as(srv, { token: me.token }).get('/api/v1/me')).status, 401, 'signed out everywhere');

  // The paid registration was cancelled with its full refund (60 days ahead: 100 %), through the processor.
  const [e1] = await srv.sql('select status, refund_cents, note from registrar.enrollments where id = $1', [enrollment.id]);
  assert.deepEqual(e1, { status: 'cancelled', refund_cents: payment.amount_cents, note: null });
  const [p] = await srv.sql(
    'select user_id, status, amount_cents, refunded_cents, refund_status from registrar.payments where id = $1', [payment.id]);
  assert.deepEqual(p, { user_id: me.user.id, status: 'refunded', amount_cents: payment.amount_cents,
    refunded_cents: payment.amount_cents, refund_status: 'succeeded' });
  // The held seat went to the waitlist; counts are exact.
  const [e2] = await srv.sql('select status from registrar.enrollments where id = $1', [held.body.id]);
  assert.equal(e2.status, 'cancelled');
  const [w] = await srv.sql('select status from registrar.enrollments where user_id = $1 and offering_id = $2',
    [waiting.id, full.id]);
  assert.equal(w.status, 'held');
  for (const o of [off, full, past]) {
    const c = await seatCounts(srv, o.id);
    assert.equal(c.held + c.confirmed, c.seats_taken, `seats of ${o.title}`);
  }
  assert.equal((await seatCounts(srv, off.id)).seats_taken, 0);
  const [ws] = await srv.sql('select seats_taken from registrar.sessions where offering_id = $1', [off.id]);
  assert.equal(ws.seats_taken, 0, 'the workshop seat was given back');
  const [e3] = await srv.sql('select status, note from registrar.enrollments where id = $1', [done.body.id]);
  assert.deepEqual(e3, { status: 'confirmed', note: null });

  // The account row is a tombstone; nothing personal is left in any table.
  const [u] = await srv.sql(`select email, password_hash, full_name, credentials, institution, is_admin,
                               erased_at is not null as erased from registrar.users where id = $1`, [me.user.id]);
  assert.deepEqual(u, { email: `erased-${me.user.id}@invalid`, password_hash: null, full_name: 'Erased account',
    credentials: '', institution: '', is_admin: false, erased: true });
  for (const needle of [me.email, `Wilhelmina Export ${t}`, `Saint Ives ${t}`, `Welcome back ${t}`]) {
    assert.deepEqual(await rowsContaining(needle), [], `"${needle}" is still in the database`);
  }
  // Amounts, numbers and ids stay: the invoices, receipts, refund, badge and attendance.
  const [kept] = await srv.sql(`select
      (select count(*)::int from registrar.invoices where id = any($1)) as invoices,
      (select count(*)::int from registrar.refunds where id = $2) as refunds,
      (select count(*)::int from registrar.badges where enrollment_id = $3) as badges,
      (select count(*)::int from registrar.attendance where enrollment_id = $3) as attendance`,
  [[selfBilled.body.invoice.id, groupInvoice.body.invoice.id], refund.body.refund.id, enrollment.id]);
  assert.deepEqual(kept, { invoices: 2, refunds: 1, badges: 1, attendance: 1 });
  for (const table of ['auth_sessions', 'calendar_tokens', 'password_resets', 'idempotency_keys']) {
    const [{ n }] = await srv.sql(`select count(*)::int as n from registrar.${table} where user_id = $1`, [me.user.id]);
    assert.equal(n, 0, table);
  }
  // The erasure is audited with the id alone.
  const rows = await srv.sql(`select actor_id, object, detail from registrar.audit_log where action = 'privacy.erase'
                              and object = $1`, [`user:${me.user.id}`]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].actor_id, me.user.id);
  assert.equal(rows[0].detail.cancelled, 2);
  assert.equal(rows[0].detail.refunds, 1);
  // The account cannot sign in again; the email may be used for a new account.
  assert.equal((await client(srv.url).post('/api/v1/auth/sessions',
    { json: { email: me.email, password: DEFAULT_PASSWORD } })).status, 401);
  // The email may be used again for a new account.
  assert.equal((await client(srv.url).post('/api/v1/accounts', { json: { email: me.email, password: DEFAULT_PASSWORD,
    full_name: 'Someone New', profession: 'nurse' } })).status, 201);
});

test('erase: the only admin cannot be erased (409 last-admin); with another admin they can', async () => {
  const own = await startServer();
  try {
    const a = await newUser(own);
    await own.sql('update registrar.users set is_admin = true where id = $1', [a.user.id]);
    let r = await a.c.del('/api/v1/me', { json: { password: DEFAULT_PASSWORD } });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.body.type, 'https://registrar.invalid/problems/last-admin');
    assert.equal((await a.c.get('/api/v1/me')).status, 200, 'still signed in, still there');
    const b = await newUser(own);
    await own.sql('update registrar.users set is_admin = true where id = $1', [b.user.id]);
    // Both at once: exactly one of them goes, the other stays the last admin.
    const [ra, rb] = await Promise.all([
      a.c.del('/api/v1/me', { json: { password: DEFAULT_PASSWORD } }),
      b.c.del('/api/v1/me', { json: { password: DEFAULT_PASSWORD } }),
    ]);
    assert.deepEqual([ra.status, rb.status].sort(), [204, 409]);
    const admins = await own.sql('select count(*)::int as n from registrar.users where is_admin and erased_at is null');
    assert.equal(admins[0].n, 1);
  } finally {
    await own.stop();
  }
});

test('erase races a registration rush for the same offering through two processes: seats stay exact', async () => {
  const off = await openOffering(srv, admin, { capacity: 5 });
  const other = await openOffering(srv, admin, { capacity: 5 });
  const me = await newUser(srv);
  const mine = await me.c.post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(mine.body.status, 'held');
  const ls = await learners(srv, 30);
  const results = await Promise.all([
    ...ls.map((l, i) => enroll(l, off.id, srv.urls[i % 2])),
    as(srv, { token: me.token }, srv.urls[1]).del('/api/v1/me', { json: { password: DEFAULT_PASSWORD } }),
    // The erased learner's own registration racing the erasure: it is cancelled or refused, never left behind.
    as(srv, { token: me.token }, srv.urls[0]).post(`/api/v1/offerings/${other.id}/enrollments`),
  ]);
  const erase = results[ls.length];
  assert.equal(erase.status, 204, erase.text);
  for (const r of results.slice(0, ls.length)) assert.equal(r.status, 201, r.text);
  assert.ok([201, 401].includes(results[ls.length + 1].status), results[ls.length + 1].text);

  for (const o of [off, other]) {
    const c = await seatCounts(srv, o.id);
    assert.equal(c.held + c.confirmed, c.seats_taken);
    assert.ok(c.seats_taken <= c.capacity);
  }
  const c = await seatCounts(srv, off.id);
  assert.equal(c.seats_taken, 5, 'the erased learner\'s seat went to someone else');
  assert.equal(c.waitlisted, 25);
  const [{ n }] = await srv.sql(`select count(*)::int as n from registrar.enrollments where user_id = $1
                                 and status in ('applied', 'held', 'confirmed', 'waitlisted')`, [me.user.id]);
  assert.equal(n, 0, 'no live registration of the erased account');
  // However late it comes, a registration of the erased account is refused:
  // its email is no longer verified, and below that the trigger refuses it.
  await assert.rejects(srv.sql('select registrar.enroll($1, $2, null)', [me.user.id, other.id]), /email-unverified/);
  await srv.sql('update registrar.users set email_verified_at = now() where id = $1', [me.user.id]);
  await assert.rejects(srv.sql('select registrar.enroll($1, $2, null)', [me.user.id, other.id]), /unauthenticated/);
  const positions = await srv.sql(`select registrar.waitlist_position(e) as p from registrar.enrollments e
                                   where offering_id = $1 and status = 'waitlisted' order by p`, [off.id]);
  assert.deepEqual(positions.map((x) => x.p), Array.from({ length: 25 }, (_, i) => i + 1));
});

test('retention: expired sessions, old attempts, stale keys and tokens and old message bodies are purged', async () => {
  const own = await startServer({ env: { REGISTRAR_RETENTION_INTERVAL_MS: '100', REGISTRAR_SWEEP_INTERVAL_MS: '100' } });
  try {
    const live = await newUser(own);
    const idle = await newUser(own);
    const old = await newUser(own);
    await own.sql(`update registrar.auth_sessions set last_seen_at = now() - interval '31 minutes'
                   where user_id = $1`, [idle.user.id]);
    await own.sql(`update registrar.auth_sessions set created_at = now() - interval '13 hours'
                   where user_id = $1`, [old.user.id]);
    const [{ id: fresh }] = await own.sql(
      `insert into registrar.auth_failures (email, client_ip, at, pending) values ('x@example.org', '192.0.2.1', now(), false) returning id`);
    const [{ id: stale }] = await own.sql(
      `insert into registrar.auth_failures (email, client_ip, at, pending) values ('x@example.org', '192.0.2.1', now() - interval '2 days', false) returning id`);
    await own.sql(`insert into registrar.idempotency_keys (user_id, key, fingerprint, created_at, expires_at) values
                   ($1, 'old', '\\x00', now() - interval '25 hours', now() - interval '1 hour'),
                   ($1, 'new', '\\x00', now(), now() + interval '23 hours')`, [live.user.id]);
    await own.sql(`insert into registrar.password_resets (user_id, token_hash, expires_at) values
                   ($1, decode(repeat('aa', 32), 'hex'), now() - interval '1 minute'),
                   ($1, decode(repeat('bb', 32), 'hex'), now() + interval '1 hour')`, [live.user.id]);
    const [{ id: oldMail }] = await own.sql(`insert into registrar.outbox (recipient, subject, body, created_at, sent_at)
      values ('a@example.org', 'Old', 'an old body', now() - interval '40 days', now() - interval '31 days') returning id`);
    const [{ id: newMail }] = await own.sql(`insert into registrar.outbox (recipient, subject, body, created_at, sent_at)
      values ('a@example.org', 'New', 'a new body', now() - interval '2 days', now() - interval '1 day') returning id`);
    const [{ id: unsent }] = await own.sql(`insert into registrar.outbox (recipient, subject, body, created_at)
      values ('a@example.org', 'Unsent', 'an unsent body', now() - interval '40 days') returning id`);

    await eventually(async () => {
      const [{ n }] = await own.sql('select count(*)::int as n from registrar.auth_sessions where user_id = any($1)',
        [[idle.user.id, old.user.id]]);
      const [{ body }] = await own.sql('select body from registrar.outbox where id = $1', [oldMail]);
      return n === 0 && body === '';
    }, 'the retention pass', 10000);

    assert.equal((await live.c.get('/api/v1/me')).status, 200, 'a live session stays');
    assert.deepEqual((await own.sql('select id from registrar.auth_failures where id = any($1) order by id', [[fresh, stale]]))
      .map((x) => x.id), [fresh]);
    assert.deepEqual((await own.sql('select key from registrar.idempotency_keys where user_id = $1', [live.user.id]))
      .map((x) => x.key), ['new']);
    assert.deepEqual((await own.sql(`select encode(token_hash, 'hex') as h from registrar.password_resets where user_id = $1`,
      [live.user.id])).map((x) => x.h), ['bb'.repeat(32)]);
    const mail = await own.sql('select id, subject, body from registrar.outbox where id = any($1) order by id',
      [[oldMail, newMail, unsent]]);
    assert.deepEqual(mail.map((m) => [m.subject, m.body]), [['Old', ''], ['New', 'a new body'], ['Unsent', 'an unsent body']]);
    assert.ok(await metric(own, 'registrar_retention_purged_total{kind="sessions"}') >= 2);
  } finally {
    await own.stop();
  }
});

// Registrations made for others (docs/api.md "Running the centre"): by the
// office for one person (POST /offerings/{id}/enrollments/for), by a
// coordinator for a group (POST /offerings/{id}/group-registrations), all
// seats or none, raced against single registrations through two server
// processes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, randomHex } from '../lib/harness.mjs';
import { account, as, learners, openOffering, seatCounts } from '../lib/enroll.mjs';
import { outboxToken } from '../lib/accounts.mjs';

let srv, admin, director, otherDirector, learner;

const PROBLEM = 'https://registrar.invalid/problems/';
const newEmail = (p = 'p') => `${p}-${randomHex(5)}@hospital.example`;

before(async () => {
  srv = await startServer({ processes: 2 });
  [admin, director, otherDirector, learner] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { directorOf: ['pcep'] }),
    account(srv),
  ]);
});

after(async () => {
  await srv?.stop();
});

const forPath = (off) => `/api/v1/offerings/${off.id}/enrollments/for`;
const groupPath = (off) => `/api/v1/offerings/${off.id}/group-registrations`;

test('enrollments/for: a director registers a new person by email; the account is made, a set-password link sent', async () => {
  const off = await openOffering(srv, admin, { capacity: 3 });
  const email = newEmail();
  const r = await as(srv, director).post(forPath(off), {
    json: { email: ` ${email.toUpperCase()} `, full_name: 'Nadia Haddad', profession: 'nurse' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'held');
  assert.equal(r.body.price_cents, 90000, "the nurse's price");
  assert.equal(r.headers.get('location'), `/api/v1/enrollments/${r.body.id}`);
  const [u] = await srv.sql(
    'select id, full_name, profession, password_hash, email_verified_at from registrar.users where email = $1', [email]);
  assert.equal(r.body.user_id, u.id);
  assert.equal(u.full_name, 'Nadia Haddad');
  assert.equal(u.password_hash, null);
  assert.equal(u.email_verified_at, null, 'staff vouch for the registration, not the address');
  // Without a password nobody can sign in to it, whatever they try.
  const guess = await client(srv.url).post('/api/v1/auth/sessions', { json: { email, password: 'correct horse battery staple' } });
  assert.equal(guess.status, 401, guess.text);
  // The set-password link is absolute and works through the reset flow.
  const [msg] = await srv.sql(
    "select body from registrar.outbox where recipient = $1 and subject like '%choose a password%'", [email]);
  assert.match(msg.body, /https?:\/\/[^/]+\/#\/reset\?token=/);
  const token = await outboxToken(srv, email, 'reset');
  const set = await client(srv.url).post('/api/v1/auth/password-resets/confirm', {
    json: { token, new_password: 'a long enough new password' },
  });
  assert.equal(set.status, 204, set.text);
  const signIn = await client(srv.url).post('/api/v1/auth/sessions', {
    json: { email, password: 'a long enough new password' },
  });
  assert.equal(signIn.status, 201);
  const mine = await client(srv.url).get('/api/v1/me/enrollments', { token: signIn.body.token });
  assert.deepEqual(mine.body.items.map((e) => e.id), [r.body.id]);
  // Audited, and the person is told of the registration.
  const rows = await srv.sql(
    "select actor_id, offering_id from registrar.audit_log where action = 'enrollment.create_for' and object = $1",
    [`enrollment:${r.body.id}`]);
  assert.deepEqual(rows, [{ actor_id: director.id, offering_id: off.id }]);
  const [{ n }] = await srv.sql(
    "select count(*)::int as n from registrar.outbox where recipient = $1 and subject like 'You are registered%'", [email]);
  assert.equal(n, 1);
});

test('enrollments/for: an existing account by id or email; not its learner rules (unverified, 3 holds)', async () => {
  const off = await openOffering(srv, admin, { capacity: 10 });
  const [unverified] = await learners(srv, 1, { verified: false });
  const byId = await as(srv, admin).post(forPath(off), { json: { user_id: unverified.id } });
  assert.equal(byId.status, 201, byId.text);
  assert.equal(byId.body.user_id, unverified.id);
  // The learner's own attempt is refused: email-unverified is their rule.
  const own = await as(srv, unverified).post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(own.status, 403);
  // Three holds elsewhere do not stop staff.
  const holder = await account(srv);
  for (let i = 0; i < 3; i++) {
    const o = await openOffering(srv, admin, { capacity: 5 });
    assert.equal((await as(srv, holder).post(`/api/v1/offerings/${o.id}/enrollments`)).status, 201);
  }
  assert.equal((await as(srv, holder).post(`/api/v1/offerings/${off.id}/enrollments`)).status, 409);
  const fourth = await as(srv, director).post(forPath(off), { json: { email: holder.email, full_name: 'Ignored', profession: 'other' } });
  assert.equal(fourth.status, 201, fourth.text);
  assert.equal(fourth.body.user_id, holder.id);
  assert.equal(fourth.body.status, 'held');
  const [u] = await srv.sql('select full_name, profession from registrar.users where id = $1', [holder.id]);
  assert.notEqual(u.full_name, 'Ignored', 'an existing account keeps its own name');
  // Twice is already-enrolled.
  const again = await as(srv, director).post(forPath(off), { json: { user_id: holder.id } });
  assert.equal(again.status, 409);
  assert.equal(again.body.type, `${PROBLEM}already-enrolled`);
});

test('enrollments/for: seats and waitlist as for a learner; who may call; bad bodies', async () => {
  const off = await openOffering(srv, admin, { capacity: 1 });
  const [a, b] = await learners(srv, 2);
  assert.equal((await as(srv, director).post(forPath(off), { json: { user_id: a.id } })).body.status, 'held');
  const w = await as(srv, director).post(forPath(off), { json: { user_id: b.id } });
  assert.equal(w.body.status, 'waitlisted');
  assert.equal(w.body.waitlist_position, 1);
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 1, seats_taken: 1, held: 1, confirmed: 0, waitlisted: 1 });

  const c = await account(srv);
  const other = await as(srv, otherDirector).post(forPath(off), { json: { user_id: c.id } });
  assert.equal(other.status, 403);
  assert.equal(other.body.type, `${PROBLEM}forbidden`);
  assert.equal((await as(srv, learner).post(forPath(off), { json: { user_id: c.id } })).status, 403);
  assert.equal((await client(srv.url).post(forPath(off), { json: { user_id: c.id } })).status, 401);
  assert.equal((await as(srv, admin).post('/api/v1/offerings/00000000-0000-4000-8000-000000000000/enrollments/for',
    { json: { user_id: c.id } })).status, 404);
  assert.equal((await as(srv, admin).post(forPath(off), { json: { user_id: '00000000-0000-4000-8000-000000000000' } })).status, 404);
  const bad = [
    [{}, 'user_id'],
    [{ user_id: c.id, email: newEmail() }, 'email'],
    [{ email: newEmail(), full_name: 'N' }, 'profession'],
    [{ email: newEmail(), profession: 'nurse' }, 'full_name'],
    [{ user_id: c.id, full_name: 'x' }, 'full_name'],
    [{ email: 'not-an-email', full_name: 'N', profession: 'nurse' }, 'email'],
    [{ email: newEmail(), full_name: 'Bad\u0007Name', profession: 'nurse' }, 'full_name'],
    [{ email: newEmail(), full_name: 'N', profession: 'surgeon' }, 'profession'],
    [{ user_id: c.id, is_admin: true }, 'is_admin'],
  ];
  for (const [body, field] of bad) {
    const r = await as(srv, admin).post(forPath(off), { json: body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.errors[0].field, field, JSON.stringify(body));
  }
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.enrollments where offering_id = $1', [off.id]);
  assert.equal(n, 2, 'nothing changed');
  // A closed offering is closed for staff too.
  const closed = await openOffering(srv, admin, { capacity: 5, status: 'closed' });
  const r = await as(srv, admin).post(forPath(closed), { json: { user_id: c.id } });
  assert.equal(r.status, 422);
  assert.equal(r.body.type, `${PROBLEM}registration-closed`);
});

const members = (n, tag = randomHex(3)) => Array.from({ length: n }, (_, i) => ({
  email: `m${i}-${tag}@ward.example`, full_name: `Member ${i} ${tag}`, profession: i % 2 ? 'nurse' : 'physician',
}));

test('group-registrations: each member their own registration, accounts made, one amount due, bill_to kept', async () => {
  const off = await openOffering(srv, admin, { capacity: 5 });
  const coordinator = await account(srv, { profession: 'nurse' });
  const existing = await account(srv);
  const list = [...members(2), { email: existing.email, full_name: 'Whatever', profession: 'other' }];
  const bill = { name: 'Ward 4, St Elsewhere', address: '1 Main St\nBoston MA', email: 'ap@elsewhere.example' };
  const r = await as(srv, coordinator).post(groupPath(off), { json: { members: list, bill_to: bill } });
  assert.equal(r.status, 201, r.text);
  const g = r.body.group;
  assert.equal(g.enrollments.length, 3);
  assert.ok(g.enrollments.every((e) => e.status === 'held'));
  const users = await srv.sql('select id, email from registrar.users where email = any($1)', [list.map((m) => m.email)]);
  assert.deepEqual(new Set(g.enrollments.map((e) => e.user_id)), new Set(users.map((u) => u.id)));
  assert.equal(g.amount_due_cents, g.enrollments.reduce((s, e) => s + e.amount_due_cents, 0));
  assert.equal(g.amount_due_cents, 125000 + 90000 + 125000, 'each member at their profession\'s price');
  const [row] = await srv.sql('select coordinator_id, bill_to from registrar.enrollment_groups where id = $1', [g.id]);
  assert.equal(row.coordinator_id, coordinator.id);
  assert.deepEqual(row.bill_to, bill);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.enrollments where group_id = $1', [g.id]);
  assert.equal(n, 3);
  // New members got a set-password link; the existing one did not.
  assert.ok(await outboxToken(srv, list[0].email, 'reset'));
  assert.equal(await outboxToken(srv, existing.email, 'reset'), null);
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 5, seats_taken: 3, held: 3, confirmed: 0, waitlisted: 0 });
});

test('group-registrations: all seats or none; a member already registered rolls everything back', async () => {
  const off = await openOffering(srv, admin, { capacity: 3 });
  const coordinator = await account(srv);
  const tooMany = members(4);
  const r = await as(srv, coordinator).post(groupPath(off), { json: { members: tooMany } });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, `${PROBLEM}not-enough-seats`);
  assert.equal(r.body.seats_left, 3);
  assert.equal(r.body.seats_needed, 4);
  const made = await srv.sql('select id from registrar.users where email = any($1)', [tooMany.map((m) => m.email)]);
  assert.equal(made.length, 0, 'no account stays behind');
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 3, seats_taken: 0, held: 0, confirmed: 0, waitlisted: 0 });

  const already = await account(srv);
  assert.equal((await as(srv, already).post(`/api/v1/offerings/${off.id}/enrollments`)).status, 201);
  const withDup = [...members(1), { email: already.email, full_name: 'A', profession: 'nurse' }];
  const d = await as(srv, coordinator).post(groupPath(off), { json: { members: withDup } });
  assert.equal(d.status, 409);
  assert.equal(d.body.type, `${PROBLEM}already-enrolled`);
  assert.equal(d.body.email, already.email);
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 3, seats_taken: 1, held: 1, confirmed: 0, waitlisted: 0 });
  assert.equal((await srv.sql('select 1 from registrar.enrollment_groups where offering_id = $1', [off.id])).length, 0);
});

test('group-registrations: who may call and bad bodies', async () => {
  const off = await openOffering(srv, admin, { capacity: 5 });
  assert.equal((await client(srv.url).post(groupPath(off), { json: { members: members(1) } })).status, 401);
  const unverified = await account(srv, { verified: false });
  const u = await as(srv, unverified).post(groupPath(off), { json: { members: members(1) } });
  assert.equal(u.status, 403);
  assert.equal(u.body.type, `${PROBLEM}email-unverified`);
  const coordinator = await account(srv);
  const m = members(2);
  const bad = [
    [{}, 'members'],
    [{ members: [] }, 'members'],
    [{ members: members(51) }, 'members'],
    [{ members: [{ ...m[0], profession: undefined }] }, 'members[0].profession'],
    [{ members: [{ ...m[0], role: 'admin' }] }, 'members[0].role'],
    [{ members: [m[0], { ...m[1], full_name: 'x\u202ey' }] }, 'members[1].full_name'],
    [{ members: m, bill_to: 'Ward 4' }, 'bill_to'],
    [{ members: m, bill_to: { address: 'x' } }, 'bill_to.name'],
    [{ members: [m[0], { ...m[1], email: m[0].email.toUpperCase() }] }, 'members'],
  ];
  for (const [body, field] of bad) {
    const r = await as(srv, coordinator).post(groupPath(off), { json: body });
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 200)}: ${r.text}`);
    assert.equal(r.body.errors[0].field, field);
  }
  assert.equal((await as(srv, coordinator).post('/api/v1/offerings/00000000-0000-4000-8000-000000000000/group-registrations',
    { json: { members: members(1) } })).status, 404);
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 5, seats_taken: 0, held: 0, confirmed: 0, waitlisted: 0 });
});

test('group-registrations raced against single registrations through two processes: never oversold, groups whole or absent', async () => {
  const capacity = 20;
  const off = await openOffering(srv, admin, { capacity });
  const singles = await learners(srv, 16);
  const coordinators = await Promise.all(Array.from({ length: 4 }, () => account(srv)));
  const groups = coordinators.map(() => members(4));
  const calls = [
    ...singles.map((l, i) => as(srv, l, srv.urls[i % 2]).post(`/api/v1/offerings/${off.id}/enrollments`)),
    ...coordinators.map((c, i) => as(srv, c, srv.urls[(i + 1) % 2]).post(groupPath(off), { json: { members: groups[i] } })),
  ];
  const results = await Promise.all(calls);
  const singleResults = results.slice(0, singles.length);
  const groupResults = results.slice(singles.length);
  for (const r of singleResults) assert.equal(r.status, 201, r.text);
  for (const r of groupResults) assert.ok(r.status === 201 || r.status === 409, r.text);
  const seatedSingles = singleResults.filter((r) => r.body.status === 'held').length;
  const wonGroups = groupResults.filter((r) => r.status === 201);
  const counts = await seatCounts(srv, off.id);
  assert.ok(counts.seats_taken <= capacity);
  assert.equal(counts.seats_taken, counts.held + counts.confirmed);
  assert.equal(counts.held, seatedSingles + 4 * wonGroups.length);
  assert.equal(counts.waitlisted, singles.length - seatedSingles);
  // Each group is whole or absent: 4 held registrations, or no member's account at all.
  for (let i = 0; i < groups.length; i++) {
    const rows = await srv.sql(
      `select e.status from registrar.enrollments e join registrar.users u on u.id = e.user_id
       where e.offering_id = $1 and u.email = any($2)`, [off.id, groups[i].map((m) => m.email)]);
    if (groupResults[i].status === 201) {
      assert.deepEqual(rows.map((r) => r.status), ['held', 'held', 'held', 'held']);
    } else {
      assert.equal(groupResults[i].body.type, `${PROBLEM}not-enough-seats`);
      assert.equal(rows.length, 0);
    }
  }
  // A group loses only when it truly did not fit when it came.
  if (wonGroups.length < groups.length) assert.ok(capacity - counts.seats_taken < 4);
  // The waitlist places are exact: 1..n.
  const places = await srv.sql(
    `select registrar.waitlist_position(e) as p from registrar.enrollments e
     where offering_id = $1 and status = 'waitlisted' order by p`, [off.id]);
  assert.deepEqual(places.map((r) => r.p), places.map((_, i) => i + 1));
});

test('messages: one outbox message per learner of the audience, spaced at the mail rate; the director sees what was sent', async () => {
  const off = await openOffering(srv, admin, { capacity: 2 });
  const ls = await learners(srv, 4);
  for (const l of ls) assert.equal((await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).status, 201);
  // Two held, two waitlisted; confirm one of the held by hand.
  const [firstHeld] = await srv.sql(
    "select id, user_id from registrar.enrollments where offering_id = $1 and status = 'held' order by created_at limit 1", [off.id]);
  await srv.sql("update registrar.enrollments set status = 'confirmed', hold_expires_at = null where id = $1", [firstHeld.id]);
  const path = `/api/v1/offerings/${off.id}/messages`;
  const body = { subject: 'Parking at the venue', body: 'Use the garage on Elm St.\n\tLevel 2 is ours.', to: 'waitlisted' };
  const r = await as(srv, director).post(path, { json: body });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.recipients, 2);
  const rows = await srv.sql(
    `select recipient, subject, body, claimed_until from registrar.outbox where offering_message_id = $1 order by claimed_until`,
    [r.body.id]);
  assert.equal(rows.length, 2);
  const waitlisted = await srv.sql(
    `select u.email from registrar.enrollments e join registrar.users u on u.id = e.user_id
     where e.offering_id = $1 and e.status = 'waitlisted' order by u.email`, [off.id]);
  assert.deepEqual(rows.map((x) => x.recipient).sort(), waitlisted.map((x) => x.email));
  assert.ok(rows.every((x) => x.subject === body.subject && x.body.includes('Level 2 is ours.')));
  // The default rate, 60 a minute: one second apart.
  assert.equal(rows[1].claimed_until - rows[0].claimed_until, 1000);
  // A second broadcast queues after the first instead of doubling the rate.
  const all = await as(srv, admin).post(path, { json: { ...body, subject: 'Agenda', to: 'all' } });
  assert.equal(all.body.recipients, 4);
  const next = await srv.sql('select claimed_until from registrar.outbox where offering_message_id = $1 order by claimed_until', [all.body.id]);
  assert.ok(next[0].claimed_until - rows[1].claimed_until >= 1000);
  const confirmed = await as(srv, director).post(path, { json: { ...body, to: 'confirmed' } });
  assert.equal(confirmed.body.recipients, 1);
  const held = await as(srv, director).post(path, { json: { ...body, to: 'held' } });
  assert.equal(held.body.recipients, 1);
  // The list, newest first, with how many went out.
  await srv.sql('update registrar.outbox set sent_at = now() where offering_message_id = $1', [r.body.id]);
  const list = await as(srv, director).get(`${path}?limit=3`);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((m) => [m.to, m.recipients]), [['held', 1], ['confirmed', 1], ['all', 4]]);
  assert.ok(list.body.next_cursor);
  const rest = await as(srv, director).get(`${path}?limit=3&cursor=${list.body.next_cursor}`);
  assert.deepEqual(rest.body.items.map((m) => [m.id, m.to, m.recipients, m.sent]), [[r.body.id, 'waitlisted', 2, 2]]);
  assert.equal(rest.body.items[0].sender.id, director.id);
  assert.equal(rest.body.next_cursor, null);
  const audits = await srv.sql("select actor_id from registrar.audit_log where action = 'message.send' and offering_id = $1", [off.id]);
  assert.equal(audits.length, 4);
});

test('messages: who may write and read; text rules', async () => {
  const off = await openOffering(srv, admin, { capacity: 2 });
  const path = `/api/v1/offerings/${off.id}/messages`;
  const body = { subject: 'Hello', body: 'Text', to: 'all' };
  assert.equal((await client(srv.url).post(path, { json: body })).status, 401);
  for (const who of [otherDirector, learner]) {
    const w = await as(srv, who).post(path, { json: body });
    assert.equal(w.status, 403);
    assert.equal((await as(srv, who).get(path)).status, 403);
  }
  assert.equal((await as(srv, admin).post('/api/v1/offerings/00000000-0000-4000-8000-000000000000/messages', { json: body })).status, 404);
  const bad = [
    [{ ...body, subject: 'Two\nlines' }, 'subject'],
    [{ ...body, subject: 'x'.repeat(151) }, 'subject'],
    [{ ...body, body: 'bidi \u202e trick' }, 'body'],
    [{ ...body, body: 'bell \u0007' }, 'body'],
    [{ ...body, body: '' }, 'body'],
    [{ ...body, to: 'everyone' }, 'to'],
    [{ subject: 'x', body: 'y' }, 'to'],
    [{ ...body, bcc: 'x@y.org' }, 'bcc'],
  ];
  for (const [b, field] of bad) {
    const r = await as(srv, director).post(path, { json: b });
    assert.equal(r.status, 400, JSON.stringify(b));
    assert.equal(r.body.errors[0].field, field);
  }
  assert.equal((await as(srv, director).get(`${path}?cursor=zz`)).status, 400);
  assert.equal((await as(srv, director).get(`${path}?to=all`)).status, 400);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.offering_messages where offering_id = $1', [off.id]);
  assert.equal(n, 0);
});

test('waitlist: a director takes someone off (places move up) and promotes out of order, above capacity only when asked', async () => {
  const off = await openOffering(srv, admin, { capacity: 1 });
  const ls = await learners(srv, 4);
  const es = [];
  for (const l of ls) es.push((await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body);
  assert.deepEqual(es.map((e) => e.status), ['held', 'waitlisted', 'waitlisted', 'waitlisted']);

  // Who may: not the learner, not another course's director.
  assert.equal((await as(srv, ls[1]).del(`/api/v1/enrollments/${es[1].id}/waitlist`)).status, 403);
  assert.equal((await as(srv, otherDirector).del(`/api/v1/enrollments/${es[1].id}/waitlist`)).status, 404);
  assert.equal((await as(srv, learner).post(`/api/v1/enrollments/${es[1].id}/promote`, { json: { reason: 'x' } })).status, 404);
  assert.equal((await as(srv, director).del(`/api/v1/enrollments/${es[0].id}/waitlist`)).status, 409);

  // Off the list: the next ones move up.
  assert.equal((await as(srv, director).del(`/api/v1/enrollments/${es[1].id}/waitlist`)).status, 204);
  assert.equal((await as(srv, ls[1]).get(`/api/v1/enrollments/${es[1].id}`)).body.status, 'cancelled');
  assert.equal((await as(srv, ls[2]).get(`/api/v1/enrollments/${es[2].id}`)).body.waitlist_position, 1);
  assert.equal((await as(srv, ls[3]).get(`/api/v1/enrollments/${es[3].id}`)).body.waitlist_position, 2);
  assert.equal((await as(srv, director).del(`/api/v1/enrollments/${es[1].id}/waitlist`)).status, 409, 'not twice');

  // Full: promotion needs over_capacity.
  const path = `/api/v1/enrollments/${es[3].id}/promote`;
  const refused = await as(srv, director).post(path, { json: { reason: 'Speaker on day 2' } });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.type, `${PROBLEM}not-enough-seats`);
  assert.equal((await as(srv, director).post(path, { json: {} })).status, 400);
  assert.equal((await as(srv, director).post(path, { json: { reason: 'x', over_capacity: 'yes' } })).status, 400);
  const up = await as(srv, director).post(path, { json: { reason: 'Speaker on day 2', over_capacity: true } });
  assert.equal(up.status, 200, up.text);
  assert.equal(up.body.status, 'held');
  assert.ok(up.body.hold_expires_at);
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 2, seats_taken: 2, held: 2, confirmed: 0, waitlisted: 1 });
  const [row] = await srv.sql(
    "select actor_id, detail from registrar.audit_log where action = 'waitlist.promote' and object = $1", [`enrollment:${es[3].id}`]);
  assert.equal(row.actor_id, director.id);
  assert.deepEqual(row.detail, { user_id: ls[3].id, reason: 'Speaker on day 2', over_capacity: true, capacity_from: 1, capacity_to: 2 });
  assert.equal((await as(srv, ls[2]).get(`/api/v1/enrollments/${es[2].id}`)).body.waitlist_position, 1);

  // A freed seat: promotion takes it without raising the capacity.
  assert.equal((await as(srv, ls[0]).post(`/api/v1/enrollments/${es[0].id}/cancel`)).status, 200);
  // The sweep may have promoted es[2] into the freed seat already; if not, promote it.
  const cur = (await as(srv, ls[2]).get(`/api/v1/enrollments/${es[2].id}`)).body;
  if (cur.status === 'waitlisted') {
    const p = await as(srv, admin).post(`/api/v1/enrollments/${es[2].id}/promote`, { json: { reason: 'next', over_capacity: true } });
    assert.equal(p.status, 200, p.text);
  }
  const counts = await seatCounts(srv, off.id);
  assert.equal(counts.capacity, 2);
  assert.equal(counts.seats_taken, 2);
  const audits = await srv.sql("select action from registrar.audit_log where offering_id = $1 and action like 'waitlist.%' order by id", [off.id]);
  assert.deepEqual(audits.map((a) => a.action).slice(0, 2), ['waitlist.remove', 'waitlist.promote']);
});

test('roster: totals by status and profession, money, search by name and email, sort, page count and total; waitlist totals', async () => {
  const off = await openOffering(srv, admin, { capacity: 3 });
  const phys = await learners(srv, 3, { names: [undefined, 'Zed Alpha', 'Amy Zulu'] });
  const nurses = await learners(srv, 2, { profession: 'nurse' });
  const all = [...phys, ...nurses];
  const es = [];
  for (const l of all) es.push((await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body);
  // Three held, two waitlisted. Pay one in full and refund part of it, by hand.
  await srv.sql(
    `update registrar.enrollments set status = 'confirmed', hold_expires_at = null, paid_cents = amount_due_cents,
       refund_cents = 1000 where id = $1`, [es[0].id]);
  const path = `/api/v1/offerings/${off.id}/roster`;
  const r = await as(srv, director).get(`${path}?status=all&limit=2`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 5);
  assert.equal(r.body.page_count, 3);
  assert.equal(r.body.items.length, 2);
  const t = r.body.totals;
  assert.deepEqual(t.by_status, { confirmed: 1, held: 2, waitlisted: 2 });
  assert.deepEqual(t.by_profession, { physician: 3, nurse: 2 });
  assert.equal(t.paid_cents, es[0].amount_due_cents);
  assert.equal(t.refunded_cents, 1000);
  assert.equal(t.outstanding_cents, es[1].amount_due_cents + es[2].amount_due_cents);
  // Pages cover everyone once.
  const seen = [...r.body.items];
  let cursor = r.body.next_cursor;
  while (cursor) {
    const p = await as(srv, director).get(`${path}?status=all&limit=2&cursor=${cursor}`);
    assert.equal(p.status, 200);
    seen.push(...p.body.items);
    cursor = p.body.next_cursor;
  }
  assert.deepEqual(seen.map((x) => x.enrollment.id), es.map((e) => e.id));
  // Search, by name or email, any case.
  const byName = await as(srv, director).get(`${path}?status=all&q=${encodeURIComponent('amy zu')}`);
  assert.deepEqual(byName.body.items.map((x) => x.learner.id), [phys[2].id]);
  assert.equal(byName.body.total, 1);
  const byEmail = await as(srv, director).get(`${path}?status=all&q=${encodeURIComponent(nurses[1].email.toUpperCase())}`);
  assert.deepEqual(byEmail.body.items.map((x) => x.learner.id), [nurses[1].id]);
  assert.equal(byEmail.body.totals.by_status.held, 2, 'totals are the offering\'s, not the search\'s');
  // Sort by name.
  const sorted = await as(srv, director).get(`${path}?status=all&sort=name`);
  const names = sorted.body.items.map((x) => x.learner.full_name.toLowerCase());
  assert.deepEqual(names, [...names].sort());
  const byStatus = await as(srv, director).get(`${path}?status=all&sort=status`);
  assert.deepEqual(byStatus.body.items.map((x) => x.enrollment.status),
    ['confirmed', 'held', 'held', 'waitlisted', 'waitlisted']);
  // CSV with the search.
  const csv = await as(srv, director).get(`${path}?status=all&format=csv&q=${encodeURIComponent('amy zu')}`);
  assert.equal(csv.status, 200);
  assert.equal(csv.text.trim().split('\r\n').length, 2);
  assert.match(csv.text.split('\r\n')[0], /profession,credentials,institution.*attended_hours/);
  // Bad queries.
  for (const q of ['sort=age', 'q=a%0Ab', `q=${'x'.repeat(201)}`, 'cursor=zz']) {
    assert.equal((await as(srv, director).get(`${path}?${q}`)).status, 400, q);
  }
  assert.equal((await as(srv, otherDirector).get(`${path}?q=a`)).status, 403);
  // The waitlist's page count and total.
  const w = await as(srv, director).get(`/api/v1/offerings/${off.id}/waitlist?limit=1`);
  assert.equal(w.status, 200);
  assert.equal(w.body.total, 2);
  assert.equal(w.body.page_count, 2);
  assert.equal(w.body.items[0].position, 1);
});

const pay = (who, enrollmentId) => as(srv, who).post(`/api/v1/enrollments/${enrollmentId}/payments`, {
  json: { payment_token: 'tok_test_visa' }, headers: { 'idempotency-key': `k-${randomHex(8)}` } });

test('transfer to a colleague: the registration and its payment move, both are told; who may', async () => {
  const off = await openOffering(srv, admin, { capacity: 3 });
  const [a, colleague] = await learners(srv, 2);
  const e = (await as(srv, a).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
  const paid = await pay(a, e.id);
  assert.equal(paid.status, 201, paid.text);
  const path = `/api/v1/enrollments/${e.id}/transfer`;
  assert.equal((await as(srv, colleague).post(path, { json: { to_email: colleague.email } })).status, 404);
  assert.equal((await as(srv, otherDirector).post(path, { json: { to_email: colleague.email } })).status, 404);
  assert.equal((await as(srv, a).post(path, { json: { to_email: a.email } })).status, 400);
  assert.equal((await as(srv, a).post(path, { json: {} })).status, 400);
  assert.equal((await as(srv, a).post(path, { json: { to_email: colleague.email, to_offering_id: off.id } })).status, 400);
  const unknown = await as(srv, a).post(path, { json: { to_email: newEmail() } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.errors[0].field, 'full_name');

  const r = await as(srv, a).post(path, { json: { to_email: colleague.email.toUpperCase() } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, e.id);
  assert.equal(r.body.user_id, colleague.id);
  assert.equal(r.body.status, 'confirmed');
  assert.equal(r.body.paid_cents, e.amount_due_cents);
  assert.equal((await as(srv, a).get(`/api/v1/enrollments/${e.id}`)).status, 404);
  assert.equal((await as(srv, colleague).get(`/api/v1/enrollments/${e.id}`)).status, 200);
  const [p] = await srv.sql('select enrollment_id, status from registrar.payments where enrollment_id = $1', [e.id]);
  assert.equal(p.status, 'succeeded');
  for (const who of [a, colleague]) {
    const [{ n }] = await srv.sql(
      "select count(*)::int as n from registrar.outbox where recipient = $1 and subject like '%transferred%'", [who.email]);
    assert.equal(n, 1, who.email);
  }
  // A director moves it on to someone new (an account is made).
  const fresh = newEmail('new');
  const d = await as(srv, director).post(path, { json: { to_email: fresh, full_name: 'New Person', profession: 'nurse' } });
  assert.equal(d.status, 200, d.text);
  assert.ok(await outboxToken(srv, fresh, 'reset'));
  assert.deepEqual(await seatCounts(srv, off.id), { capacity: 3, seats_taken: 1, held: 0, confirmed: 1, waitlisted: 0 });
  const audits = await srv.sql("select actor_id from registrar.audit_log where action = 'enrollment.transfer' and object = $1 order by id", [`enrollment:${e.id}`]);
  assert.deepEqual(audits.map((x) => x.actor_id), [a.id, director.id]);
});

test('transfer to another offering of the course: the seat moves if free, the price difference refunded or due', async () => {
  const cheap = { prices: [{ profession: 'physician', amount_cents: 100000 }] };
  const dear = { prices: [{ profession: 'physician', amount_cents: 200000 }] };
  const from = await openOffering(srv, admin, { capacity: 1, ...dear });
  const to = await openOffering(srv, admin, { capacity: 1, ...cheap });
  const full = await openOffering(srv, admin, { capacity: 1 });
  const elsewhere = await openOffering(srv, admin, { capacity: 5 }, { slug: 'pcep' });
  const [a, b, c, waiting] = await learners(srv, 4);
  const e = (await as(srv, a).post(`/api/v1/offerings/${from.id}/enrollments`)).body;
  assert.equal((await pay(a, e.id)).status, 201);
  const w = (await as(srv, waiting).post(`/api/v1/offerings/${from.id}/enrollments`)).body;
  assert.equal(w.status, 'waitlisted');
  assert.equal((await as(srv, b).post(`/api/v1/offerings/${full.id}/enrollments`)).status, 201);
  const path = `/api/v1/enrollments/${e.id}/transfer`;

  const other = await as(srv, a).post(path, { json: { to_offering_id: elsewhere.id } });
  assert.equal(other.status, 409);
  assert.equal(other.body.type, `${PROBLEM}not-same-course`);
  const noSeat = await as(srv, a).post(path, { json: { to_offering_id: full.id } });
  assert.equal(noSeat.status, 409);
  assert.equal(noSeat.body.type, `${PROBLEM}not-enough-seats`);
  assert.equal((await as(srv, a).post(path, { json: { to_offering_id: '00000000-0000-4000-8000-000000000000' } })).status, 404);

  const r = await as(srv, a).post(path, { json: { to_offering_id: to.id } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.offering_id, to.id);
  assert.equal(r.body.price_cents, 100000);
  assert.equal(r.body.paid_cents, 100000);
  assert.equal(r.body.refund_cents, 100000);
  const [p] = await srv.sql('select refunded_cents, refund_status from registrar.payments where enrollment_id = $1', [e.id]);
  assert.deepEqual(p, { refunded_cents: 100000, refund_status: 'pending' });
  assert.equal((await seatCounts(srv, to.id)).seats_taken, 1);
  // The freed seat went to the old offering's waitlist at once.
  assert.equal((await as(srv, waiting).get(`/api/v1/enrollments/${w.id}`)).body.status, 'held');
  assert.deepEqual(await seatCounts(srv, from.id), { capacity: 1, seats_taken: 1, held: 1, confirmed: 0, waitlisted: 0 });

  // Back to the dearer one (a director does it): the difference is due.
  await srv.sql("update registrar.offerings set capacity = 2 where id = $1", [from.id]);
  const back = await as(srv, director).post(path, { json: { to_offering_id: from.id } });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.body.price_cents, 200000);
  assert.equal(back.body.amount_due_cents - back.body.paid_cents, 100000);
  assert.equal((await seatCounts(srv, to.id)).seats_taken, 0);
  // Not twice into an offering the learner holds; not once cancelled.
  const d2 = (await as(srv, c).post(`/api/v1/offerings/${to.id}/enrollments`)).body;
  assert.equal((await as(srv, c).post(`/api/v1/enrollments/${d2.id}/cancel`)).status, 200);
  const gone = await as(srv, c).post(`/api/v1/enrollments/${d2.id}/transfer`, { json: { to_offering_id: from.id } });
  assert.equal(gone.status, 409);
  assert.equal(gone.body.type, `${PROBLEM}not-transferable`);
});

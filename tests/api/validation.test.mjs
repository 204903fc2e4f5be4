// Request bodies at their limits (issue 8, items 2, 3 and 5): every
// documented field of every body, sent at its minimum, maximum, one past
// it, with the wrong type and as null. The field tables are the one check,
// so a value they accept is never refused for its shape further down (no
// layer that disagrees, as `expires_at: must be 0 to 0 characters` did),
// and a value they refuse is a 400 naming the field and changes nothing.
// Then the character rules for text that reaches a message, one test per
// kind of body, and discount codes with every documented field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { startServer, client } from '../lib/harness.mjs';
import { offeringBody, sessionBody } from '../lib/catalog.mjs';
import { account, as, learners, openOffering, PASSWORD } from '../lib/enroll.mjs';

let srv, admin, director;

before(async () => {
  srv = await startServer();
  [admin, director] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
  ]);
});

after(async () => {
  await srv?.stop();
});

const tag = () => randomBytes(4).toString('hex');
const text = (n) => 'x'.repeat(n);
// n code points of which most are two bytes or more: lengths are code points, not bytes.
const wide = (n) => (n === 0 ? '' : `${'é中'.repeat(n).slice(0, n - 1)}z`);
// A fresh address of exactly n characters (n >= 12).
const emailOf = (n) => {
  const t = tag();
  return `${t}${'a'.repeat(n - t.length - 12)}@example.org`;
};

// The messages of the field tables (fields.c): a 400 whose message is one of
// these was refused for its shape; other 400s are later, deliberate rules
// (a token the processor does not know, a wrong current password).
const TABLE_MESSAGE = /^(must |is required|is not a field|give |may hold only)/;

// [label, value, accepted, field named when refused (default: the field)]
function stringCases(field, min, max, { make = text, nullable = false } = {}) {
  const cases = [
    ['min', make(min), true],
    ['max', make(max), true],
    ['max+1', make(max + 1), false],
    ['wrong type', 12345, false],
    ['null', null, nullable],
  ];
  if (min > 0) cases.push(['min-1', make(min - 1), false]);
  return cases.map(([label, value, ok]) => ({ field, label, value, ok }));
}

function intCases(field, min, max, { nullable = false } = {}) {
  return [
    ['min', min, true], ['max', max, true], ['min-1', min - 1, false], ['max+1', max + 1, false],
    ['fraction', min + 0.5, false], ['wrong type', String(min), false], ['null', null, nullable],
  ].map(([label, value, ok]) => ({ field, label, value, ok }));
}

const one = (field, label, value, ok, named = field) => ({ field, label, value, ok, named });

// Sends base-with-the-case for every case; send(body, c) makes whatever
// state the request needs and returns the response.
async function sweep(what, cases, send) {
  for (const c of cases) {
    const r = await send(c);
    const where = `${what}: ${c.field} ${c.label} → ${r.status} ${typeof r.body === 'object' ? JSON.stringify(r.body) : r.text}`;
    assert.ok(r.status < 500, where);
    const err = r.body?.errors?.[0];
    if (c.ok) {
      // A 400 for an accepted value must be a deliberate, named rule: a
      // refusal without a field, or with a table's message, is a layer
      // that disagrees with the table.
      assert.ok(r.status !== 400 || (err !== undefined && !TABLE_MESSAGE.test(err.message)), `accepted: ${where}`);
    } else {
      assert.equal(r.status, 400, `refused: ${where}`);
      assert.equal(r.body.type, 'https://registrar.invalid/problems/invalid-request', where);
      assert.equal(err?.field, c.named ?? c.field, where);
      assert.match(err.message, TABLE_MESSAGE, where);
      assert.match(r.body.detail, new RegExp(`^${(c.named ?? c.field).replace(/[[\]]/g, '\\$&')}: `), where);
    }
  }
}

const merge = (base, c) => ({ ...base, [c.field]: c.value });

test('sign-up and PATCH /me: every field at its limits; a refused sign-up makes no account', async () => {
  const base = () => ({ email: emailOf(30), password: PASSWORD, full_name: 'Ann Fixture', profession: 'nurse' });
  const cases = [
    one('email', 'min', 'a@b', true), one('email', 'min-1', 'a@', false),
    one('email', 'max', emailOf(254), true), one('email', 'max+1', emailOf(255), false),
    one('email', 'wrong type', 12345, false), one('email', 'null', null, false),
    one('email', 'no @', 'ann.example.org', false),
    ...stringCases('password', 12, 128, { make: wide }),
    ...stringCases('full_name', 1, 200, { make: wide }),
    one('profession', 'every', 'pharmacist', true), one('profession', 'unknown', 'surgeon', false),
    one('profession', 'null', null, false), one('profession', 'wrong type', 1, false),
    ...stringCases('credentials', 0, 100, { make: wide, nullable: true }),
    ...stringCases('institution', 0, 200, { make: wide, nullable: true }),
    one('role', 'unknown', 'admin', false),
  ];
  await sweep('POST /api/v1/accounts', cases, async (c) => {
    const body = merge(base(), c);
    const r = await client(srv.url).post('/api/v1/accounts', { json: body });
    if (!c.ok && typeof body.email === 'string') {
      const rows = await srv.sql('select 1 from registrar.users where email = lower($1)', [body.email.trim()]);
      assert.equal(rows.length, 0, `no account for a refused sign-up (${c.field} ${c.label})`);
    }
    return r;
  });

  const [me] = await learners(srv, 1);
  const patch = [
    ...stringCases('full_name', 1, 200, { make: wide }),
    one('profession', 'unknown', 'surgeon', false),
    ...stringCases('credentials', 0, 100, { make: wide, nullable: true }),
    ...stringCases('institution', 0, 200, { make: wide, nullable: true }),
    one('email', 'not writable', 'x@example.org', false), one('roles', 'not writable', { admin: true }, false),
  ];
  await sweep('PATCH /api/v1/me', patch, async (c) => {
    const before = await as(srv, me).get('/api/v1/me');
    const r = await as(srv, me).patch('/api/v1/me', { json: { [c.field]: c.value } });
    if (!c.ok) assert.deepEqual((await as(srv, me).get('/api/v1/me')).body, before.body, 'unchanged');
    return r;
  });
  // What was accepted is what is stored: code points, not bytes.
  const r = await as(srv, me).patch('/api/v1/me', { json: { full_name: wide(200) } });
  assert.equal(r.status, 200);
  assert.equal([...r.body.full_name].length, 200);
});

test('sign-in, password change and resets: every field at its limits', async () => {
  // Its own server: the refused sign-ins must not spend this address's failures.
  const own = await startServer();
  try {
    await sweep('POST /api/v1/auth/sessions', [
      ...stringCases('email', 1, 320),
      ...stringCases('password', 1, 8192),
      one('remember', 'unknown', true, false),
    ], (c) => client(own.url).post('/api/v1/auth/sessions',
      { json: merge({ email: 'nobody@example.org', password: 'not the password' }, c) }));

    const [me] = await learners(own, 1);
    await sweep('POST /api/v1/me/password', [
      ...stringCases('new_password', 12, 128, { make: wide }).filter((c) => !c.ok),
      ...stringCases('current_password', 1, 8192).filter((c) => !c.ok),
    ], (c) => as(own, me).post('/api/v1/me/password',
      { json: merge({ current_password: PASSWORD, new_password: 'another long password' }, c) }));
    // The longest new password is taken whole, and is the password afterwards.
    const longest = wide(128);
    const changed = await as(own, me).post('/api/v1/me/password', { json: { current_password: PASSWORD, new_password: longest } });
    assert.equal(changed.status, 204, changed.text);
    const again = await client(own.url).post('/api/v1/auth/sessions', { json: { email: me.email, password: longest } });
    assert.equal(again.status, 201);

    await sweep('POST /api/v1/auth/password-resets', [
      ...stringCases('email', 1, 320),
    ], (c) => client(own.url).post('/api/v1/auth/password-resets', { json: merge({ email: 'x@example.org' }, c) }));

    await sweep('POST /api/v1/auth/password-resets/confirm', [
      ...stringCases('token', 1, 256),
      ...stringCases('new_password', 12, 128, { make: wide }).filter((c) => !c.ok),
    ], (c) => client(own.url).post('/api/v1/auth/password-resets/confirm',
      { json: merge({ token: 'dead-token', new_password: 'another long password' }, c) }));
  } finally {
    await own.stop();
  }
});

test('offerings: every field of the body at its limits, nested members named by their path', async () => {
  const parts = (n) => Array.from({ length: n }, (_, i) => ({
    name: `Part ${i + 1}`, starts_on: `2027-0${1 + Math.floor(i / 9)}-${String(1 + 3 * (i % 9)).padStart(2, '0')}`,
    ends_on: `2027-0${1 + Math.floor(i / 9)}-${String(2 + 3 * (i % 9)).padStart(2, '0')}`,
  }));
  const refunds = (n) => Array.from({ length: n }, (_, i) => ({ until_days_before: 100 - i, refund_percent: 100 - i }));
  const cases = [
    ...stringCases('title', 1, 200, { make: wide }),
    one('status', 'enum', 'draft', true), one('status', 'unknown', 'archived', false),
    one('starts_on', 'not a date', '2027-02-30', false), one('starts_on', 'a time', '2027-03-15T00:00:00Z', false),
    one('starts_on', 'null', null, false),
    ...stringCases('venue', 0, 300, { make: wide, nullable: true }),
    ...intCases('capacity', 0, 100000),
    ...intCases('hold_minutes', 1, 10080),
    ...intCases('approval_hold_days', 1, 365),
    one('max_credits', 'two decimals', 12.25, true), one('max_credits', 'three decimals', 12.125, false),
    one('max_credits', 'max', 9999, true), one('max_credits', 'max+1', 9999.01, false), one('max_credits', 'null', null, true),
    one('requires_application', 'bool', true, true), one('requires_application', 'wrong type', 'yes', false),
    one('registration_opens_at', 'with offset', '2026-10-01T09:00:00+02:00', true),
    one('registration_opens_at', 'no offset', '2026-10-01T09:00:00', false),
    one('registration_closes_at', 'null', null, true),
    one('timezone', 'max+1', text(65), false), one('timezone', 'wrong type', 5, false),
    one('currency', 'unknown', 'EUR', false),
    one('parts', 'max', parts(20), true), one('parts', 'max+1', parts(21), false),
    one('parts', 'min-1', [], false),
    one('parts', 'member date', [{ name: 'P1', starts_on: '2027-03-15', ends_on: '15/03/2027' }], false, 'parts[0].ends_on'),
    one('parts', 'member missing', [parts(1)[0], { name: 'P2', starts_on: '2027-04-01' }], false, 'parts[1].ends_on'),
    one('parts', 'member unknown', [{ ...parts(1)[0], room: 'A' }], false, 'parts[0].room'),
    one('prices', 'max', ['physician', 'nurse', 'physician_assistant', 'social_worker', 'chaplain', 'psychologist',
      'pharmacist', 'trainee', 'other'].map((p) => ({ profession: p, amount_cents: 1000 })), true),
    one('prices', 'member max+1', [{ profession: 'nurse', amount_cents: 100000001 }], false, 'prices[0].amount_cents'),
    one('prices', 'member enum', [{ profession: 'surgeon', amount_cents: 1 }], false, 'prices[0].profession'),
    one('cancellation_policy', 'max', refunds(20), true), one('cancellation_policy', 'max+1', refunds(21), false),
    one('cancellation_policy', 'member range', [{ until_days_before: 3651, refund_percent: 10 }], false,
      'cancellation_policy[0].until_days_before'),
    one('credit_types', 'member', [{ profession: 'nurse', credit_type: text(101) }], false, 'credit_types[0].credit_type'),
    one('seats_taken', 'server-owned', 3, false),
  ];
  await sweep('POST /api/v1/courses/{slug}/offerings', cases, (c) => {
    const body = merge(offeringBody({ title: `Limits ${tag()}` }), c);
    if (c.field === 'parts') { delete body.starts_on; delete body.ends_on; }
    return as(srv, director).post('/api/v1/courses/practical-aspects/offerings', { json: body });
  });

  const made = await as(srv, director).post('/api/v1/courses/practical-aspects/offerings',
    { json: offeringBody({ title: `Patch ${tag()}`, status: 'draft' }) });
  assert.equal(made.status, 201, made.text);
  await sweep('PATCH /api/v1/offerings/{id}', cases.filter((c) => c.field !== 'parts'), async (c) => {
    const before = (await as(srv, director).get(`/api/v1/offerings/${made.body.id}`)).body;
    const r = await as(srv, director).patch(`/api/v1/offerings/${made.body.id}`, { json: { [c.field]: c.value } });
    if (!c.ok) assert.deepEqual((await as(srv, director).get(`/api/v1/offerings/${made.body.id}`)).body, before, 'unchanged');
    return r;
  });
  // A PATCH requires nothing.
  assert.equal((await as(srv, director).patch(`/api/v1/offerings/${made.body.id}`, { json: {} })).status, 200);
});

test('sessions: every field at its limits', async () => {
  const off = await as(srv, director).post('/api/v1/courses/practical-aspects/offerings',
    { json: offeringBody({ title: `Sessions ${tag()}` }) });
  assert.equal(off.status, 201, off.text);
  let hour = 0;
  // Each accepted session gets a slot of its own, so none clashes with another.
  const base = () => {
    const h = String(8 + (hour % 10)).padStart(2, '0');
    const day = 15 + Math.floor(hour++ / 10) % 3;
    return sessionBody({ room: null, starts_at: `2027-03-${day}T${h}:00:00-04:00`, ends_at: `2027-03-${day}T${h}:30:00-04:00` });
  };
  const cases = [
    ...stringCases('title', 1, 200, { make: wide }),
    one('kind', 'enum', 'small_group', true), one('kind', 'unknown', 'lecture', false),
    ...stringCases('description', 0, 4000, { make: wide, nullable: true }),
    ...stringCases('room', 0, 100, { make: (n) => (n === 0 ? '' : `${tag()}${text(n)}`.slice(0, n)), nullable: true }),
    one('faculty', 'max', Array.from({ length: 20 }, (_, i) => `Dr ${i} ${tag()}`), true),
    one('faculty', 'max+1', Array.from({ length: 21 }, (_, i) => `Dr ${i}`), false),
    one('faculty', 'item max', [`${tag()}${text(192)}`], true),
    one('faculty', 'item max+1', [text(201)], false, 'faculty[0]'),
    one('faculty', 'item empty', ['Dr A', ' '], false, 'faculty[1]'),
    one('faculty', 'item type', [7], false, 'faculty[0]'),
    one('faculty', 'null', null, false),
    ...intCases('capacity', 1, 100000, { nullable: true }),
    one('credit_hours', 'quarter', 0.25, true), one('credit_hours', 'max', 100, true),
    one('credit_hours', 'max+1', 100.5, false), one('credit_hours', 'three decimals', 0.125, false),
    one('starts_at', 'no offset', '2027-03-15T08:00:00', false), one('ends_at', 'null', null, false),
    one('seats_left', 'server-owned', 1, false),
  ];
  await sweep('POST /api/v1/offerings/{id}/sessions', cases, (c) =>
    as(srv, director).post(`/api/v1/offerings/${off.body.id}/sessions`, { json: merge(base(), c) }));

  const s = await as(srv, director).post(`/api/v1/offerings/${off.body.id}/sessions`, { json: base() });
  assert.equal(s.status, 201, s.text);
  await sweep('PATCH /api/v1/sessions/{id}', cases.filter((c) => !['starts_at', 'ends_at'].includes(c.field)), (c) =>
    as(srv, director).patch(`/api/v1/sessions/${s.body.id}`, { json: { [c.field]: c.value } }));
});

test('enrollment bodies: discount_code, reason, note, session_ids, payment_token at their limits', async () => {
  const off = await openOffering(srv, admin, { capacity: 200 });
  const ls = await learners(srv, 60);
  let next = 0;
  const enrolled = async () => {
    const l = ls[next++];
    const r = await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`);
    assert.equal(r.status, 201, r.text);
    return { l, e: r.body };
  };

  await sweep('POST /api/v1/offerings/{id}/enrollments', [
    ...stringCases('discount_code', 1, 40, { nullable: true }).filter((c) => c.ok === false || c.label === 'null'),
    one('discount_code', 'spaces inside', 'A B', false),
    one('discount_code', 'unknown but well formed', 'A', true),
    one('seat', 'unknown', 1, false),
  ], (c) => as(srv, ls[next++]).post(`/api/v1/offerings/${off.id}/enrollments`, { json: { [c.field]: c.value } }));
  // The quote takes the same rule for the same field.
  const q = (code) => as(srv, ls[0]).get(`/api/v1/offerings/${off.id}/price?discount_code=${encodeURIComponent(code)}`);
  assert.equal((await q(text(41))).status, 400);
  assert.equal((await q('A B')).body.errors[0].field, 'discount_code');
  assert.equal((await q(text(40))).status, 422, 'well formed, unknown');

  await sweep('POST /api/v1/enrollments/{id}/cancel', stringCases('reason', 0, 2000, { make: wide, nullable: true }),
    async (c) => {
      const { l, e } = await enrolled();
      const r = await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`, { json: { reason: c.value } });
      if (!c.ok) {
        const [row] = await srv.sql('select status from registrar.enrollments where id = $1', [e.id]);
        assert.equal(row.status, 'held', 'a refused cancel cancels nothing');
      }
      return r;
    });

  const app = await openOffering(srv, admin, { capacity: 200, requires_application: true });
  const decide = (verb) => async (c) => {
    const l = ls[next++];
    const e = await as(srv, l).post(`/api/v1/offerings/${app.id}/enrollments`);
    assert.equal(e.body.status, 'applied', e.text);
    const r = await as(srv, director).post(`/api/v1/enrollments/${e.body.id}/${verb}`, { json: { note: c.value } });
    if (!c.ok) {
      const [row] = await srv.sql('select status from registrar.enrollments where id = $1', [e.body.id]);
      assert.equal(row.status, 'applied', 'a refused decision decides nothing');
    }
    return r;
  };
  const notes = stringCases('note', 0, 2000, { make: wide, nullable: true });
  await sweep('POST /api/v1/enrollments/{id}/approve', notes.filter((c) => c.label !== 'max'), decide('approve'));
  await sweep('POST /api/v1/enrollments/{id}/reject', notes.filter((c) => c.label !== 'min'), decide('reject'));

  const { l: chooser, e: chosen } = await enrolled();
  const ids = (n) => Array.from({ length: n }, () => randomUUID());
  await sweep('PUT /api/v1/enrollments/{id}/sessions', [
    one('session_ids', 'min', [], true),
    one('session_ids', 'max+1', ids(51), false),
    one('session_ids', 'not a UUID', [randomUUID(), 'x'], false, 'session_ids[1]'),
    one('session_ids', 'wrong item type', [1], false, 'session_ids[0]'),
    one('session_ids', 'wrong type', randomUUID(), false),
    one('session_ids', 'null', null, false),
  ], (c) => as(srv, chooser).put(`/api/v1/enrollments/${chosen.id}/sessions`, { json: { [c.field]: c.value } }));
  assert.equal((await as(srv, chooser).put(`/api/v1/enrollments/${chosen.id}/sessions`, { json: {} })).body.errors[0].field,
    'session_ids', 'required');

  const { l: payer, e: held } = await enrolled();
  await sweep('POST /api/v1/enrollments/{id}/payments', [
    ...stringCases('payment_token', 1, 255),
    one('card_number', 'unknown', '4242424242424242', false),
  ], (c) => as(srv, payer).post(`/api/v1/enrollments/${held.id}/payments`, {
    json: merge({ payment_token: 'tok_test_visa' }, c), headers: { 'Idempotency-Key': `k-${tag()}` },
  }));
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.payments where enrollment_id = $1', [held.id]);
  assert.equal(n, 0, 'no payment was attempted for any refused body');

  // POST /me/calendar-token takes no members.
  const feed = await as(srv, payer).post('/api/v1/me/calendar-token', { json: { url: 'https://evil.example' } });
  assert.equal(feed.status, 400);
  assert.equal(feed.body.errors[0].field, 'url');
  assert.equal((await as(srv, payer).post('/api/v1/me/calendar-token')).status, 201);
  assert.equal((await as(srv, payer).post('/api/v1/me/calendar-token', { json: {} })).status, 201);
});

test('discount codes: every documented field, the expiry enforced, the limits of each', async () => {
  const off = await openOffering(srv, admin, { capacity: 20 });
  const create = (body) => as(srv, director).post(`/api/v1/offerings/${off.id}/discount-codes`, { json: body });
  const soon = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  const past = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, '+00:00');

  // Every documented field, both kinds.
  const pct = await create({ code: 'SPRING-25', percent_off: 25, max_uses: 2, expires_at: soon });
  assert.equal(pct.status, 201, pct.text);
  assert.equal(pct.body.code, 'SPRING-25');
  assert.equal(pct.body.percent_off, 25);
  assert.equal(pct.body.max_uses, 2);
  assert.equal(Date.parse(pct.body.expires_at), Date.parse(soon));
  const amt = await create({ code: 'Fixed_500', amount_off_cents: 50000, max_uses: 1, expires_at: '2099-12-31T23:59:59-05:00' });
  assert.equal(amt.status, 201, amt.text);
  assert.equal(amt.body.amount_off_cents, 50000);
  const gone = await create({ code: 'GONE-NOW', percent_off: 50, expires_at: past });
  assert.equal(gone.status, 201, gone.text);
  const [stored] = await srv.sql(`select percent_off, max_uses, expires_at from registrar.discount_codes
    where offering_id = $1 and code = 'SPRING-25'`, [off.id]);
  assert.deepEqual([stored.percent_off, stored.max_uses, stored.expires_at.getTime()], [25, 2, Date.parse(soon)]);

  // The expiry works: a live code prices and registers; an expired one does neither.
  const [a, b, c] = await learners(srv, 3);
  const quote = (who, code) => as(srv, who).get(`/api/v1/offerings/${off.id}/price?discount_code=${code}`);
  const live = await quote(a, 'spring-25');
  assert.equal(live.status, 200, live.text);
  assert.equal(live.body.discount_cents, live.body.price_cents / 4);
  const dead = await quote(a, 'GONE-NOW');
  assert.equal(dead.status, 422);
  assert.equal(dead.body.type, 'https://registrar.invalid/problems/discount-code-invalid');
  const e = await as(srv, b).post(`/api/v1/offerings/${off.id}/enrollments`, { json: { discount_code: 'GONE-NOW' } });
  assert.equal(e.status, 422);
  const ok = await as(srv, c).post(`/api/v1/offerings/${off.id}/enrollments`, { json: { discount_code: 'Fixed_500' } });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.discount_cents, 50000);
  // Used up after max_uses.
  assert.equal((await quote(a, 'Fixed_500')).status, 422);

  // A code made before the six-character rule still prices.
  await srv.sql(`insert into registrar.discount_codes (offering_id, code, percent_off, max_uses) values ($1, 'OLD', 10, 5)`, [off.id]);
  const old = await quote(a, 'OLD');
  assert.equal(old.status, 200, old.text);
  assert.ok(old.body.discount_cents > 0);

  const body = () => ({ code: `C${tag()}`, percent_off: 10 });
  await sweep('POST /api/v1/offerings/{id}/discount-codes', [
    ...stringCases('code', 6, 40, { make: (n) => `${tag()}${text(40)}`.slice(0, n) }),
    one('code', 'characters', 'ÉTÉ-2027', false), one('code', 'spaces inside', 'SPRING 25', false),
    ...intCases('percent_off', 1, 100),
    ...intCases('max_uses', 1, 1000000),
    one('expires_at', 'with offset', '2030-01-01T00:00:00-08:00', true),
    one('expires_at', 'null', null, true),
    one('expires_at', 'a date only', '2030-01-01', false),
    one('expires_at', 'no offset', '2030-01-01T00:00:00', false),
    one('expires_at', 'wrong type', 1893456000, false),
    one('uses', 'server-owned', 0, false),
  ].filter((cs) => cs.field !== 'percent_off' || cs.label !== 'null'), (cs) => create(merge(body(), cs)));
  await sweep('POST /api/v1/offerings/{id}/discount-codes (amount)', [
    ...intCases('amount_off_cents', 1, 100000000).filter((cs) => cs.label !== 'null'),
  ], (cs) => create({ code: `A${tag()}`, ...{ [cs.field]: cs.value } }));
  // Exactly one kind of discount.
  const both = await create({ code: `B${tag()}`, percent_off: 10, amount_off_cents: 100 });
  assert.equal(both.status, 400);
  assert.equal(both.body.errors[0].field, 'amount_off_cents');
  const neither = await create({ code: `N${tag()}` });
  assert.equal(neither.status, 400);
  assert.equal(neither.body.errors[0].field, 'percent_off');
  assert.equal((await create({ code: `Z${tag()}`, percent_off: null, amount_off_cents: 100 })).status, 201);
});

// ---- characters (item 5): one test per kind of body ----

const CONTROLS = ['\u0000', '\u0007', '\u001b', '\r', '\u007f', '\u0085', '\u009b'];
const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
const refusedFor = (r, field) => r.status === 400 && r.body.errors?.[0]?.field === field;

test('characters: names in a sign-up and a profile refuse controls, line breaks and bidirectional overrides', async () => {
  const [me] = await learners(srv, 1);
  for (const [field, bad] of [['full_name', '\u202eevil'], ['full_name', 'Ann\nBcc: x@example.org'],
    ['full_name', 'Ann\tSmith'], ['credentials', 'MD\u2066'], ['institution', 'St Mary\u0007s'],
    ...CONTROLS.filter((ch) => ch !== '\u0000').map((ch) => ['full_name', `A${ch}B`]),
    ...BIDI.map((ch) => ['institution', `A${ch}B`])]) {
    const email = `${tag()}@example.org`;
    const r = await client(srv.url).post('/api/v1/accounts',
      { json: { email, password: PASSWORD, full_name: 'Ann', profession: 'nurse', [field]: bad } });
    assert.ok(refusedFor(r, field), `sign-up ${field} ${JSON.stringify(bad)}: ${r.text}`);
    assert.equal((await srv.sql('select 1 from registrar.users where email = $1', [email])).length, 0);
    const p = await as(srv, me).patch('/api/v1/me', { json: { [field]: bad } });
    assert.ok(refusedFor(p, field), `PATCH ${field} ${JSON.stringify(bad)}: ${p.text}`);
  }
  // An email with an override is no address.
  const r = await client(srv.url).post('/api/v1/accounts',
    { json: { email: `a\u202e${tag()}@example.org`, password: PASSWORD, full_name: 'Ann', profession: 'nurse' } });
  assert.ok(refusedFor(r, 'email'), r.text);
  // Right-to-left names, their marks, accents and apostrophes are fine.
  const ok = await as(srv, me).patch('/api/v1/me',
    { json: { full_name: 'שרה כהן\u200f', credentials: 'RN, MSN', institution: "Hôpital Sainte-Justine / O'Hare" } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.full_name, 'שרה כהן\u200f');
  // The JSON parser refuses NUL itself: still a 400, never a 5xx.
  const nul = await as(srv, me).patch('/api/v1/me', { raw: '{"full_name": "A\\u0000B"}', headers: { 'content-type': 'application/json' } });
  assert.equal(nul.status, 400);
});

test('characters: a cancellation reason and a director\'s note may have lines and tabs, nothing else', async () => {
  const off = await openOffering(srv, admin, { capacity: 10 });
  const app = await openOffering(srv, admin, { capacity: 10, requires_application: true });
  const ls = await learners(srv, 6);
  const enroll = async (l, o) => (await as(srv, l).post(`/api/v1/offerings/${o.id}/enrollments`)).body;

  const e0 = await enroll(ls[0], off);
  for (const bad of ['sorry\r\nbye', 'a\u202eb', 'a\u2069b', 'a\u0085b', 'a\u2028b']) {
    const r = await as(srv, ls[0]).post(`/api/v1/enrollments/${e0.id}/cancel`, { json: { reason: bad } });
    assert.ok(refusedFor(r, 'reason'), `${JSON.stringify(bad)}: ${r.text}`);
  }
  const [still] = await srv.sql('select status from registrar.enrollments where id = $1', [e0.id]);
  assert.equal(still.status, 'held');
  const cancelled = await as(srv, ls[0]).post(`/api/v1/enrollments/${e0.id}/cancel`,
    { json: { reason: 'Schedule clash.\n\tSorry — next year!' } });
  assert.equal(cancelled.status, 200, cancelled.text);

  const a1 = await enroll(ls[1], app);
  const bad = await as(srv, director).post(`/api/v1/enrollments/${a1.id}/approve`, { json: { note: 'Welcome\u202e!' } });
  assert.ok(refusedFor(bad, 'note'), bad.text);
  const a2 = await enroll(ls[2], app);
  const badReject = await as(srv, director).post(`/api/v1/enrollments/${a2.id}/reject`, { json: { note: 'No\u001b[2J' } });
  assert.ok(refusedFor(badReject, 'note'), badReject.text);
  const good = await as(srv, director).post(`/api/v1/enrollments/${a1.id}/approve`, { json: { note: 'Welcome!\nSee you in March.' } });
  assert.equal(good.status, 200, good.text);
});

test('characters: offering and session texts refuse controls and overrides, descriptions keep lines', async () => {
  for (const [field, bad] of [['title', 'Spring\u202e2027'], ['title', 'Spring\n2027'], ['venue', 'Hall\u0007'],
    ['timezone', 'America/New_York\u200b\u2066']]) {
    const r = await as(srv, director).post('/api/v1/courses/practical-aspects/offerings',
      { json: offeringBody({ title: `T ${tag()}`, [field]: bad }) });
    assert.ok(refusedFor(r, field), `${field} ${JSON.stringify(bad)}: ${r.text}`);
  }
  const part = await as(srv, director).post('/api/v1/courses/practical-aspects/offerings', {
    json: offeringBody({ title: `P ${tag()}`, starts_on: undefined, ends_on: undefined,
      parts: [{ name: 'Part\u202e1', starts_on: '2027-03-15', ends_on: '2027-03-16' }] }),
  });
  assert.ok(refusedFor(part, 'parts[0].name'), part.text);

  const off = await as(srv, director).post('/api/v1/courses/practical-aspects/offerings', { json: offeringBody({ title: `S ${tag()}` }) });
  assert.equal(off.status, 201, off.text);
  for (const [field, bad, named = field] of [['title', 'Intro\u202e'], ['room', 'Room\r1'],
    ['faculty', ['Dr A', 'Dr\u2067B'], 'faculty[1]'], ['description', 'a\u202db']]) {
    const r = await as(srv, director).post(`/api/v1/offerings/${off.body.id}/sessions`,
      { json: sessionBody({ [field]: bad }) });
    assert.ok(refusedFor(r, named), `${field} ${JSON.stringify(bad)}: ${r.text}`);
  }
  const s = await as(srv, director).post(`/api/v1/offerings/${off.body.id}/sessions`,
    { json: sessionBody({ description: 'Bring:\n\t- a case\n\t- questions' }) });
  assert.equal(s.status, 201, s.text);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.sessions where offering_id = $1', [off.body.id]);
  assert.equal(n, 1, 'only the good session was written');
});

test('query values: limit in digits only, 1..200; a cursor is what the server gave out', async () => {
  for (const [q, status] of [['limit=1', 200], ['limit=200', 200], ['limit=0', 400], ['limit=201', 400],
    ['limit=%2B5', 400], ['limit=+5', 400], ['limit=5%20', 400], ['limit=5e1', 400], ['cursor=zz', 400],
    ['cursor=abc', 400]]) {
    const r = await client(srv.url).get(`/api/v1/courses?${q}`);
    assert.equal(r.status, status, `${q}: ${r.text}`);
    if (status === 400) assert.equal(r.body.errors[0].field, q.split('=')[0]);
  }
});

// Payments (docs/api.md "Enrollment and payment", "Payments in production"),
// the cases every card processor must pass: paying a hold by processor
// token, Idempotency-Key replays (also ten at once through two processes:
// one charge), declines, expired holds, refunds by the cancellation policy,
// the signed webhook (good, bad, stale, repeated), other learners' objects.
// payments.test.mjs runs them with the built-in `test` processor,
// payments-stripe.test.mjs with Stripe (the stand-in of tests/lib).
//
// A profile says what differs between processors:
//   { name, env: async () => ({...}), onServer(srv), tokens: {visa, mastercard,
//     declined, unknown}, ref, refundRef, header, secret(srv),
//     refundEvent(ref, amountCents, id), succeededEvent(paymentId, ref, id) }
// paymentCases(profile) defines the tests and returns { srv: () => srv, ... helpers }.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import { account, as, learners, openOffering, signature, metric } from '../lib/enroll.mjs';

export function paymentCases(profile) {
let srv, admin, director;
const T = profile.tokens;

before(async () => {
  const extra = profile.env ? await profile.env() : {};
  // A long sweep interval: tests age holds without the sweeper racing them.
  srv = await startServer({ processes: 2, env: { REGISTRAR_SWEEP_INTERVAL_MS: '600000', ...extra } });
  profile.onServer?.(srv);
  [admin, director] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
  ]);
});

after(async () => {
  await srv?.stop();
});

const PROBLEM = 'https://registrar.invalid/problems/';

async function heldSeat(over = {}, opts = {}) {
  const off = await openOffering(srv, admin, { capacity: 10, ...over }, opts);
  const [l] = await learners(srv, 1);
  const e = await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(e.status, 201, e.text);
  assert.equal(e.body.status, 'held');
  return { off, l, e: e.body };
}

const pay = (who, enrollmentId, key, token = T.visa, url) =>
  as(srv, who, url).post(`/api/v1/enrollments/${enrollmentId}/payments`, {
    json: { payment_token: token }, headers: key === undefined ? {} : { 'Idempotency-Key': key },
  });

test('paying a hold: 201 {payment, enrollment confirmed}; the same key replays byte for byte', async () => {
  const { l, e } = await heldSeat();
  const before = await metric(srv, 'registrar_payments_total{status="succeeded"}');
  const r = await pay(l, e.id, 'key-1');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.payment.status, 'succeeded');
  assert.equal(r.body.payment.amount_cents, 125000);
  assert.equal(r.body.payment.currency, 'USD');
  assert.match(r.body.payment.processor_ref, profile.ref);
  assert.equal(r.body.enrollment.status, 'confirmed');
  assert.equal(r.body.enrollment.paid_cents, 125000);
  assert.equal(r.body.enrollment.hold_expires_at, null);

  const again = await pay(l, e.id, 'key-1', T.visa, srv.urls[1]);
  assert.equal(again.status, 201);
  assert.equal(again.text, r.text, 'replayed byte for byte');
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.payments where enrollment_id = $1', [e.id]);
  assert.equal(n, 1);
  assert.equal(await metric(srv, 'registrar_payments_total{status="succeeded"}'), before + 1);

  // A new key for a paid registration: 409, nothing charged.
  const dup = await pay(l, e.id, 'key-2');
  assert.equal(dup.status, 409);
  assert.equal(dup.body.type, PROBLEM + 'already-paid');
  // No card data anywhere.
  const cols = await srv.sql(`select column_name from information_schema.columns
                              where table_schema = 'registrar' and table_name = 'payments'`);
  // The brand and the last four digits are what a receipt shows (PCI DSS
  // allows keeping them); nothing else of a card.
  for (const { column_name: c } of cols) {
    if (c === 'card_brand' || c === 'card_last4') continue;
    assert.doesNotMatch(c, /card|pan|cvc|cvv|number|expiry|token/);
  }
  const got = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
  assert.equal(got.body.payments.length, 1);
  assert.equal(got.body.payments[0].id, r.body.payment.id);
});

test('ten identical payment requests at once, through two processes: one charge, ten identical answers', async () => {
  const { l, e } = await heldSeat();
  const results = await Promise.all(Array.from({ length: 10 },
    (_, i) => pay(l, e.id, 'same-key', T.mastercard, srv.urls[i % 2])));
  for (const r of results) {
    assert.equal(r.status, 201, r.text);
    assert.equal(r.text, results[0].text);
  }
  const rows = await srv.sql('select status, amount_cents from registrar.payments where enrollment_id = $1', [e.id]);
  assert.deepEqual(rows, [{ status: 'succeeded', amount_cents: 125000 }]);
  const [k] = await srv.sql('select response_status, locked_at from registrar.idempotency_keys where key = $1', ['same-key']);
  assert.equal(k.response_status, 201);
  assert.equal(k.locked_at, null);
});

test('Idempotency-Key: required; another body under the same key is 422; keys are per learner', async () => {
  const { l, e } = await heldSeat();
  const none = await pay(l, e.id, undefined);
  assert.equal(none.status, 400);
  assert.equal(none.body.errors[0].field, 'Idempotency-Key');
  const long = await pay(l, e.id, 'x'.repeat(256));
  assert.equal(long.status, 400);

  const first = await pay(l, e.id, 'k-body', T.declined);
  assert.equal(first.status, 402);
  assert.equal(first.body.type, PROBLEM + 'payment-declined');
  const other = await pay(l, e.id, 'k-body', T.visa);
  assert.equal(other.status, 422);
  assert.equal(other.body.type, PROBLEM + 'idempotency-key-reused');
  const replay = await pay(l, e.id, 'k-body', T.declined);
  assert.equal(replay.status, 402);
  assert.equal(replay.text, first.text, 'a stored decline replays too');
  assert.match(replay.headers.get('content-type'), /application\/problem\+json/);

  // Another learner may use the same key text for their own payment.
  const second = await heldSeat();
  const theirs = await pay(second.l, second.e.id, 'k-body', T.visa);
  assert.equal(theirs.status, 201, theirs.text);

  // Keys are kept 24 hours: an aged key is forgotten, the same text is a new request.
  await srv.sql(`update registrar.idempotency_keys set expires_at = now() - interval '1 second'
                 where key = 'k-body' and user_id = $1`, [l.id]);
  const fresh = await pay(l, e.id, 'k-body', T.visa);
  assert.equal(fresh.status, 201, fresh.text);
});

test('tokens: declined keeps the hold, unknown tokens and card fields are 400, never charged', async () => {
  const { l, e } = await heldSeat();
  const bad = await pay(l, e.id, 'k1', T.unknown);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'payment_token');
  const card = await as(srv, l).post(`/api/v1/enrollments/${e.id}/payments`, {
    json: { payment_token: T.visa, card_number: '4242424242424242' }, headers: { 'Idempotency-Key': 'k2' },
  });
  assert.equal(card.status, 400);
  assert.equal(card.body.errors[0].field, 'card_number');

  const declined = await pay(l, e.id, 'k3', T.declined);
  assert.equal(declined.status, 402);
  const now = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
  assert.equal(now.body.status, 'held', 'the hold stays after a decline');
  assert.equal(now.body.payments[0].status, 'declined');
  const ok = await pay(l, e.id, 'k4', T.visa);
  assert.equal(ok.status, 201);
  const rows = await srv.sql('select status from registrar.payments where enrollment_id = $1 order by created_at', [e.id]);
  assert.deepEqual(rows.map((r) => r.status), ['declined', 'succeeded']);
});

test('a hold whose time ran out cannot be paid (409 hold-expired); others\' enrollments are 404', async () => {
  const { l, e } = await heldSeat();
  await srv.sql(`update registrar.enrollments set hold_expires_at = now() - interval '1 second' where id = $1`, [e.id]);
  const r = await pay(l, e.id, 'late');
  assert.equal(r.status, 409);
  assert.equal(r.body.type, PROBLEM + 'hold-expired');
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.payments where enrollment_id = $1', [e.id]);
  assert.equal(n, 0);
  // The failed attempt did not use the key up: after the sweep it is still free.
  const [{ k }] = await srv.sql(`select count(*)::int as k from registrar.idempotency_keys where key = 'late'`);
  assert.equal(k, 0);

  const other = await heldSeat();
  const theirs = await pay(l, other.e.id, 'mine');
  assert.equal(theirs.status, 404);
  assert.equal((await pay(l, '00000000-0000-4000-8000-000000000000', 'x')).status, 404);
  // A paid learner's payment shows to them, the director and admins, not to others.
  assert.equal((await pay(other.l, other.e.id, 'p')).status, 201);
  assert.equal((await as(srv, l).get(`/api/v1/enrollments/${other.e.id}`)).status, 404);
  const dir = await as(srv, director).get(`/api/v1/enrollments/${other.e.id}`);
  assert.equal(dir.status, 200);
  assert.equal(dir.body.payments.length, 1);
});

// Cancels a paid seat of an offering starting `days` from today; returns the cancel response.
async function paidThenCancel(days, who = 'learner') {
  const { l, e } = await heldSeat({ registration_closes_at: null }, { startsIn: days });
  const p = await pay(l, e.id, `refund-${days}`);
  assert.equal(p.status, 201, p.text);
  const canceller = who === 'learner' ? l : director;
  const before = (await as(srv, l).get(`/api/v1/enrollments/${e.id}`)).body;
  const c = await as(srv, canceller).post(`/api/v1/enrollments/${e.id}/cancel`, { json: { reason: 'test' } });
  assert.equal(c.status, 200, c.text);
  return { l, e, paid: p.body.payment, c: c.body, preview: before.refund_if_cancelled_cents };
}

test('refunds follow the policy by days before the start in the offering\'s zone', async () => {
  // Policy of the test offerings: 30 days or more before: 100 %; 7 or more: 50 %; later: nothing.
  const early = await paidThenCancel(40);
  assert.equal(early.c.status, 'cancelled');
  assert.equal(early.c.refund_cents, 125000);
  assert.equal(early.preview, 125000, 'the refund was shown before cancelling');
  const [p1] = await srv.sql('select status, refunded_cents, refund_status, refund_ref from registrar.payments where id = $1',
    [early.paid.id]);
  assert.equal(p1.status, 'refunded');
  assert.equal(p1.refunded_cents, 125000);
  assert.equal(p1.refund_status, 'succeeded');
  assert.match(p1.refund_ref, profile.refundRef);
  const shown = await as(srv, early.l).get(`/api/v1/enrollments/${early.e.id}`);
  assert.equal(shown.body.payments[0].status, 'refunded');
  assert.equal(shown.body.payments[0].refunded_cents, 125000);

  const edge = await paidThenCancel(30);
  assert.equal(edge.c.refund_cents, 125000, 'exactly 30 days before still meets the 30-day rule');
  const half = await paidThenCancel(10, 'director');
  assert.equal(half.c.refund_cents, 62500);
  const late = await paidThenCancel(3);
  assert.equal(late.c.refund_cents, 0);
  const [p4] = await srv.sql('select status, refunded_cents from registrar.payments where id = $1', [late.paid.id]);
  assert.deepEqual(p4, { status: 'succeeded', refunded_cents: 0 });

  // Every refund is audited: who, which enrollment, how much.
  const audit = await srv.sql(`select actor_id, object, detail from registrar.audit_log
                               where action = 'enrollment.refund' and object = any ($1::text[]) order by id`,
  [[early, edge, half].map((x) => `enrollment:${x.e.id}`)]);
  assert.equal(audit.length, 3);
  assert.equal(audit[0].actor_id, early.l.id);
  assert.equal(audit[0].detail.refund_cents, 125000);
  assert.equal(audit[2].actor_id, director.id);
  assert.equal(audit[2].detail.refund_percent, 50);
  assert.ok(await metric(srv, 'registrar_payments_total{status="refunded"}') >= 3);
});

test('webhook: good signature applies, bad and stale are 400 bad-signature, a repeat changes nothing', async () => {
  const { l, e } = await heldSeat();
  const p = await pay(l, e.id, 'wh');
  const ref = p.body.payment.processor_ref;
  const event = profile.refundEvent(ref, 20000, `evt_${Date.now()}`);
  const body = JSON.stringify(event);
  const post = (raw, sig, url = srv.url) => client(url).post('/api/v1/payments/webhook', {
    raw, headers: { 'content-type': 'application/json', ...(sig ? { [profile.header]: sig } : {}) },
  });
  const secret = profile.secret(srv);

  const none = await post(body, null);
  assert.equal(none.status, 400);
  assert.equal(none.body.type, PROBLEM + 'bad-signature');
  const wrongSecret = await post(body, signature('not the secret', body));
  assert.equal(wrongSecret.status, 400);
  assert.equal(wrongSecret.body.type, PROBLEM + 'bad-signature');
  const tampered = await post(body.replace('20000', '125000'), signature(secret, body));
  assert.equal(tampered.status, 400);
  const stale = await post(body, signature(secret, body, Math.floor(Date.now() / 1000) - 301));
  assert.equal(stale.status, 400);
  assert.equal(stale.body.type, PROBLEM + 'bad-signature');
  assert.match(stale.body.detail, /5 minutes/);
  const [{ n: none0 }] = await srv.sql('select count(*)::int as n from registrar.webhook_events');
  assert.equal(none0, 0, 'nothing recorded from unsigned deliveries');

  const good = await post(body, signature(secret, body));
  assert.equal(good.status, 200, good.text);
  assert.deepEqual(good.body, { received: true, duplicate: false, applied: true });
  const [p1] = await srv.sql('select status, refunded_cents from registrar.payments where processor_ref = $1', [ref]);
  assert.deepEqual(p1, { status: 'refunded', refunded_cents: 20000 });

  // The same event again (another process, a new signature): recorded once, applied once.
  await srv.sql('update registrar.payments set refunded_cents = 0 where processor_ref = $1', [ref]);
  const again = await post(body, signature(secret, body), srv.urls[1]);
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { received: true, duplicate: true });
  const [p2] = await srv.sql('select refunded_cents from registrar.payments where processor_ref = $1', [ref]);
  assert.equal(p2.refunded_cents, 0, 'the repeat changed nothing');
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.webhook_events where id = $1', [event.id]);
  assert.equal(n, 1);
  const [{ a }] = await srv.sql(`select count(*)::int as a from registrar.audit_log where detail->>'event_id' = $1`, [event.id]);
  assert.equal(a, 1);

  // Signed but not an event: 400. Unknown types are recorded and ignored.
  const junk = '[1,2]';
  assert.equal((await post(junk, signature(secret, junk))).status, 400);
  const other = JSON.stringify({ id: `evt_other_${Date.now()}`, type: 'customer.created', data: {} });
  const ig = await post(other, signature(secret, other));
  assert.deepEqual(ig.body, { received: true, duplicate: false, applied: false });
});

test('a payment whose response was lost is settled by the webhook and by a repeat of its key', async () => {
  const { l, e } = await heldSeat();
  // Simulate a request that died after payment_begin: its key is locked, its payment pending.
  const [begin] = await srv.sql('select registrar.payment_begin($1, $2, $3, $4) as r', [l.id, e.id, 'lost', T.visa]);
  assert.equal(begin.r.action, 'charge');
  // The processor tells us it went through.
  const body = JSON.stringify(profile.succeededEvent(begin.r.payment_id, profile.lostRef, `evt_lost_${Date.now()}`));
  const wh = await client(srv.url).post('/api/v1/payments/webhook', {
    raw: body, headers: { 'content-type': 'application/json', [profile.header]: signature(profile.secret(srv), body) },
  });
  assert.equal(wh.status, 200, wh.text);
  assert.equal(wh.body.applied, true);
  const now = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
  assert.equal(now.body.status, 'confirmed');
  // The learner's retry with the same key gets the stored 201.
  const retry = await pay(l, e.id, 'lost');
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.body.payment.id, begin.r.payment_id);
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.payments where enrollment_id = $1', [e.id]);
  assert.equal(n, 1);
});

test('a key locked by a request that died is taken over after a minute: same payment id, one charge', async () => {
  const { l, e } = await heldSeat();
  const [begin] = await srv.sql('select registrar.payment_begin($1, $2, $3, $4) as r', [l.id, e.id, 'died', T.visa]);
  await srv.sql(`update registrar.idempotency_keys set locked_at = now() - interval '2 minutes' where key = 'died'`);
  const r = await pay(l, e.id, 'died');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.payment.id, begin.r.payment_id);
  const rows = await srv.sql('select status from registrar.payments where enrollment_id = $1', [e.id]);
  assert.deepEqual(rows, [{ status: 'succeeded' }]);
});

test('a confirmed registration that still owes money is paid by card: exactly what is owed, settling its invoice', async () => {
  // An invoice confirms the seat with everything owed; a cheque pays part.
  const { l, e } = await heldSeat();
  const inv = await as(srv, director).post(`/api/v1/enrollments/${e.id}/invoice`, { json: {
    bill_to: { name: 'Hôpital Saint-Luc', address: '1058 rue Saint-Denis', email: 'ap@hospital.example' },
    due_on: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) } });
  assert.equal(inv.status, 201, inv.text);
  const cheque = await as(srv, director).post(`/api/v1/enrollments/${e.id}/payments/offline`,
    { json: { method: 'cheque', amount_cents: 25000, reference: 'Cheque 9' } });
  assert.equal(cheque.status, 201, cheque.text);
  const [open] = await srv.sql('select status from registrar.invoices where id = $1', [inv.body.invoice.id]);
  assert.equal(open.status, 'open', 'a part payment leaves the invoice open');

  const declined = await pay(l, e.id, 'owed-0', T.declined);
  assert.equal(declined.status, 402);
  const r = await pay(l, e.id, 'owed-1');
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.payment.status, 'succeeded');
  assert.equal(r.body.payment.amount_cents, 100000, 'exactly what was still owed');
  assert.equal(r.body.enrollment.status, 'confirmed');
  assert.equal(r.body.enrollment.paid_cents, 125000);
  const [settled] = await srv.sql('select status, paid_at from registrar.invoices where id = $1', [inv.body.invoice.id]);
  assert.equal(settled.status, 'paid');
  assert.ok(settled.paid_at);
  const again = await pay(l, e.id, 'owed-1', T.visa, srv.urls[1]);
  assert.equal(again.text, r.text, 'the key replays');

  // Nothing left: a new key is 409 already-paid, nothing charged.
  const dup = await pay(l, e.id, 'owed-2');
  assert.equal(dup.status, 409);
  assert.equal(dup.body.type, PROBLEM + 'already-paid');
  const rows = await srv.sql(`select processor, status, amount_cents from registrar.payments
                              where enrollment_id = $1 order by created_at`, [e.id]);
  assert.deepEqual(rows.map((x) => [x.status, x.amount_cents]),
    [['succeeded', 25000], ['declined', 100000], ['succeeded', 100000]]);
});

test('a confirmed registration whose debt was paid another way meanwhile is not charged on a takeover', async () => {
  const { l, e } = await heldSeat();
  const inv = await as(srv, director).post(`/api/v1/enrollments/${e.id}/invoice`, { json: {
    bill_to: { name: 'Hospital', address: '1 Main St', email: 'ap@hospital.example' },
    due_on: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) } });
  assert.equal(inv.status, 201, inv.text);
  const [begin] = await srv.sql('select registrar.payment_begin($1, $2, $3, $4) as r', [l.id, e.id, 'owed-died', T.visa]);
  assert.equal(begin.r.action, 'charge');
  assert.equal(begin.r.amount_cents, 125000);
  // The institution pays while the card request is dead; its payment is
  // settled as declined first (no offline payment is taken while one is pending).
  await srv.sql(`update registrar.payments set status = 'declined' where id = $1`, [begin.r.payment_id]);
  const po = await as(srv, director).post(`/api/v1/enrollments/${e.id}/payments/offline`,
    { json: { method: 'purchase_order', amount_cents: 125000, reference: 'PO-1' } });
  assert.equal(po.status, 201, po.text);
  await srv.sql(`update registrar.payments set status = 'pending' where id = $1`, [begin.r.payment_id]);
  await srv.sql(`update registrar.idempotency_keys set locked_at = now() - interval '2 minutes' where key = 'owed-died'`);
  const r = await pay(l, e.id, 'owed-died');
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, PROBLEM + 'already-paid');
  const [p] = await srv.sql('select status from registrar.payments where id = $1', [begin.r.payment_id]);
  assert.equal(p.status, 'declined', 'no money taken');
});

return { srv: () => srv, admin: () => admin, director: () => director, heldSeat, pay, PROBLEM };
}

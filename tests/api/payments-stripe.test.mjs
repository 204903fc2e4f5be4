// Payments with Stripe (docs/api.md "Payments in production"), against the
// stand-in of tests/lib/stripe-standin.mjs: first every case the test
// processor passes (payments-cases.mjs), then what only Stripe has: the
// requests as Stripe's API wants them, declines in words, 3-D Secure,
// timeouts and 500s settled by a repeat or by the sweep, Stripe-Signature
// with rotation, refunds and disputes by webhook, no processor at all, and
// the web client's configuration and CSP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import { account, as, learners, openOffering, eventually } from '../lib/enroll.mjs';
import { startStripeStandin } from '../lib/stripe-standin.mjs';
import { paymentCases } from './payments-cases.mjs';

let stripe;

const ctx = paymentCases({
  name: 'stripe',
  env: async () => {
    stripe = await startStripeStandin();
    return stripe.serverEnv({ REGISTRAR_STRIPE_TIMEOUT: '2' });
  },
  onServer: (srv) => stripe.webhookTo(srv.url),
  tokens: { visa: 'pm_card_visa', mastercard: 'pm_card_mastercard', declined: 'pm_card_chargeDeclined', unknown: 'tok_test_amex' },
  ref: /^pi_[0-9a-f]{24}$/,
  refundRef: /^re_[0-9a-f]{24}$/,
  lostRef: 'pi_fromwebhook000000000000',
  header: 'stripe-signature',
  secret: () => stripe.webhookSecret,
  // charge.refunded carries the Charge: its payment_intent and amount_refunded.
  refundEvent: (ref, amountCents, id) => ({ id, object: 'event', type: 'charge.refunded', data: { object: {
    id: 'ch_x', object: 'charge', amount: 125000, amount_refunded: amountCents, payment_intent: ref, refunded: false } } }),
  succeededEvent: (paymentId, ref, id) => ({ id, object: 'event', type: 'payment_intent.succeeded', data: { object: {
    id: ref, object: 'payment_intent', status: 'succeeded', amount: 125000, currency: 'usd', metadata: { payment_id: paymentId } } } }),
});

after(async () => {
  await stripe?.stop();
});

const { heldSeat, pay, PROBLEM } = ctx;

test('stripe: the PaymentIntent is created and confirmed as Stripe\'s API wants it', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const from = stripe.calls.length;
  const r = await pay(l, e.id, 'shape-1');
  assert.equal(r.status, 201, r.text);
  const calls = stripe.calls.slice(from).filter((c) => c.path === '/v1/payment_intents');
  assert.equal(calls.length, 1);
  const [c] = calls;
  assert.equal(c.method, 'POST');
  assert.equal(c.stripeVersion, '2024-06-20');
  assert.equal(c.idempotencyKey, r.body.payment.id, 'our payment id is the Idempotency-Key');
  assert.deepEqual(c.params, {
    amount: '125000', currency: 'usd', payment_method: 'pm_card_visa', payment_method_types: ['card'], confirm: 'true',
    metadata: { enrollment_id: e.id, payment_id: r.body.payment.id },
  });
  const pi = stripe.intents.get(r.body.payment.processor_ref);
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount, 125000);
  const [row] = await srv.sql('select processor, pending_method_ref from registrar.payments where id = $1', [r.body.payment.id]);
  assert.deepEqual(row, { processor: 'stripe', pending_method_ref: null }, 'the PaymentMethod is forgotten once settled');
  // Test tokens are not Stripe's: refused before any call.
  const before = stripe.calls.length;
  const t = await pay(l, e.id, 'shape-2', 'tok_test_visa');
  assert.equal(t.status, 400);
  assert.equal(stripe.calls.length, before);
});

test('stripe: a decline says why, in words; an unknown PaymentMethod is 400; nothing is taken', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const d = await pay(l, e.id, 'decl-1', 'pm_card_visa_chargeDeclinedInsufficientFunds');
  assert.equal(d.status, 402, d.text);
  assert.equal(d.body.type, PROBLEM + 'payment-declined');
  assert.match(d.body.detail, /insufficient funds/);
  const g = await pay(l, e.id, 'decl-2', 'pm_card_chargeDeclined');
  assert.equal(g.status, 402);
  assert.match(g.body.detail, /declined it without a reason/);
  const u = await pay(l, e.id, 'decl-3', 'pm_card_unknown');
  assert.equal(u.status, 400, u.text);
  assert.equal(u.body.type, PROBLEM + 'invalid-request');
  const rows = await srv.sql('select status from registrar.payments where enrollment_id = $1 order by created_at', [e.id]);
  assert.deepEqual(rows.map((x) => x.status), ['declined', 'declined', 'declined']);
  const now = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
  assert.equal(now.body.status, 'held');
  assert.equal(now.body.paid_cents, 0);
});

test('stripe: 3-D Secure answers 202 with the client_secret; the webhook confirms; the key then replays 201', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const r = await pay(l, e.id, '3ds-1', 'pm_card_authenticationRequired');
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.payment.status, 'requires_action');
  const pi = stripe.intents.get(r.body.payment.processor_ref);
  assert.equal(r.body.payment.client_secret, pi.client_secret);
  assert.equal((await as(srv, l).get(`/api/v1/enrollments/${e.id}`)).body.status, 'held');
  const again = await pay(l, e.id, '3ds-1', 'pm_card_authenticationRequired', srv.urls[1]);
  assert.equal(again.status, 202);
  assert.equal(again.text, r.text, 'a repeat while waiting gets the same answer, no second intent');
  assert.equal([...stripe.intents.values()].filter((x) => x.metadata.enrollment_id === e.id).length, 1);

  const wh = await stripe.completeAuthentication(pi.id, true);
  assert.equal(wh.status, 200, wh.text);
  assert.deepEqual(wh.body, { received: true, duplicate: false, applied: true });
  const now = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
  assert.equal(now.body.status, 'confirmed');
  assert.equal(now.body.paid_cents, 125000);
  const done = await pay(l, e.id, '3ds-1', 'pm_card_authenticationRequired');
  assert.equal(done.status, 201, done.text);
  assert.equal(done.body.payment.id, r.body.payment.id);
  assert.equal(done.body.payment.status, 'succeeded');

  // Authentication failed: the payment is declined, the seat stays held.
  const other = await heldSeat();
  const f = await pay(other.l, other.e.id, '3ds-2', 'pm_card_authenticationRequired');
  assert.equal(f.status, 202);
  const fw = await stripe.completeAuthentication(f.body.payment.processor_ref, false);
  assert.equal(fw.body.applied, true);
  const [p] = await srv.sql('select status from registrar.payments where id = $1', [f.body.payment.id]);
  assert.equal(p.status, 'declined');
  const replay = await pay(other.l, other.e.id, '3ds-2', 'pm_card_authenticationRequired');
  assert.equal(replay.status, 402);
});

test('stripe: a timeout leaves the payment pending (503); a repeat of the key gets the one charge', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const r = await pay(l, e.id, 'slow-1', 'pm_standin_timeout');
  assert.equal(r.status, 503, r.text);
  assert.equal(r.body.type, PROBLEM + 'payment-unavailable');
  const [p] = await srv.sql(`select id, status, processor, pending_method_ref from registrar.payments where enrollment_id = $1`, [e.id]);
  assert.equal(p.status, 'pending');
  assert.equal(p.pending_method_ref, 'pm_standin_timeout', 'kept while pending, so the sweep can ask');
  // Stripe did charge: the repeat (same Idempotency-Key at Stripe) learns it instead of charging again.
  const again = await pay(l, e.id, 'slow-1', 'pm_standin_timeout');
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.payment.id, p.id);
  const intents = [...stripe.intents.values()].filter((x) => x.metadata.enrollment_id === e.id);
  assert.equal(intents.length, 1, 'one PaymentIntent for both attempts');
  assert.ok(stripe.calls.some((c) => c.idempotencyKey === p.id && c.replayed), 'the second call was a replay');
});

test('stripe: a 500 leaves the payment pending; the sweep asks Stripe again and settles it', async () => {
  // Its own server, sweeping often (the shared one sweeps every 10 minutes).
  const srv = await startServer({ env: stripe.serverEnv({ REGISTRAR_SWEEP_INTERVAL_MS: '100', REGISTRAR_STRIPE_TIMEOUT: '2' }) });
  try {
    const admin = await account(srv, { admin: true });
    const off = await openOffering(srv, admin, { capacity: 10 });
    const [l] = await learners(srv, 1);
    const e = (await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
    const r = await as(srv, l).post(`/api/v1/enrollments/${e.id}/payments`, {
      json: { payment_token: 'pm_standin_500' }, headers: { 'Idempotency-Key': 'outage-1' } });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.type, PROBLEM + 'payment-unavailable');
    const [p] = await srv.sql('select id, status from registrar.payments where enrollment_id = $1', [e.id]);
    assert.equal(p.status, 'pending');
    // Nobody repeats it; once it has waited 30 s the sweep asks (aged here instead of waiting).
    await srv.sql(`update registrar.payments set updated_at = now() - interval '1 minute' where id = $1`, [p.id]);
    await eventually(async () => (await srv.sql('select status from registrar.payments where id = $1', [p.id]))[0].status === 'succeeded',
      'the sweep settles the payment');
    const now = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
    assert.equal(now.body.status, 'confirmed');
    const [row] = await srv.sql('select processor_ref, pending_method_ref from registrar.payments where id = $1', [p.id]);
    assert.match(row.processor_ref, /^pi_/);
    assert.equal(row.pending_method_ref, null);
    assert.equal(stripe.intents.get(row.processor_ref).metadata.payment_id, p.id);
    // The learner's repeat now gets the settled answer.
    const again = await as(srv, l).post(`/api/v1/enrollments/${e.id}/payments`, {
      json: { payment_token: 'pm_standin_500' }, headers: { 'Idempotency-Key': 'outage-1' } });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.payment.id, p.id);
  } finally {
    await srv.stop();
  }
});

test('stripe: Stripe-Signature with several v1 values (rotation); the test scheme is refused', async () => {
  const srv = ctx.srv();
  // Two v1 members, the first from an old secret: accepted.
  const body = JSON.stringify({ id: `evt_rot_${Date.now()}`, type: 'customer.created', data: { object: {} } });
  const t = Math.floor(Date.now() / 1000);
  const good = stripe.sign(body, t).split(',')[1];
  const old = stripe.sign(body, t, 'whsec_old').split(',')[1];
  const post = (headers) => client(srv.url).post('/api/v1/payments/webhook', {
    raw: body, headers: { 'content-type': 'application/json', ...headers } });
  const ok = await post({ 'stripe-signature': `t=${t},${old},${good}` });
  assert.equal(ok.status, 200, ok.text);
  const onlyOld = await post({ 'stripe-signature': `t=${t},${old}` });
  assert.equal(onlyOld.status, 400);
  // The test processor's header and secret mean nothing with Stripe.
  const testScheme = await post({ 'registrar-signature': stripe.sign(body, t, srv.webhookSecret) });
  assert.equal(testScheme.status, 400);
  assert.match(testScheme.body.detail, /Stripe-Signature/);
});

test('stripe: a dispute writes an audit row and a message to every admin', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const p = await pay(l, e.id, 'disp-1');
  assert.equal(p.status, 201);
  const pi = p.body.payment.processor_ref;
  const admins = await srv.sql('select email from registrar.users where is_admin order by email');
  assert.ok(admins.length >= 1);
  const before = await srv.sql('select count(*)::int as n from registrar.outbox');
  const dispute = { id: `du_${Date.now()}`, object: 'dispute', amount: 125000, charge: stripe.charge(pi).id,
    currency: 'usd', payment_intent: pi, reason: 'fraudulent', status: 'warning_needs_response', metadata: {} };
  const r = await stripe.sendEvent('charge.dispute.created', dispute);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.applied, true);
  const [audit] = await srv.sql(`select object, detail, offering_id from registrar.audit_log
                                 where action = 'payment.dispute' and detail->>'event_id' = $1`, [r.event.id]);
  assert.equal(audit.object, `payment:${p.body.payment.id}`);
  assert.equal(audit.detail.reason, 'fraudulent');
  assert.equal(audit.detail.dispute_id, dispute.id);
  assert.equal(audit.offering_id, e.offering_id);
  const msgs = await srv.sql(`select recipient, body from registrar.outbox where id > (select coalesce(max(id), 0) - $1 from registrar.outbox)
                              and subject = 'A card payment is disputed' and body like $2 order by recipient`,
  [admins.length + before[0].n, `%${dispute.id}%`]);
  assert.deepEqual(msgs.map((m) => m.recipient), admins.map((a) => a.email));
  assert.match(msgs[0].body, /fraudulent/);
  assert.match(msgs[0].body, /^.*https?:\/\/.*\/#\/registrations\//m, 'an absolute link');
  // The same event again: nothing more.
  const again = await stripe.sendEvent('charge.dispute.created', dispute, { id: r.event.id });
  assert.deepEqual(again.body, { received: true, duplicate: true });
  const [{ n }] = await srv.sql(`select count(*)::int as n from registrar.audit_log where action = 'payment.dispute' and detail->>'event_id' = $1`, [r.event.id]);
  assert.equal(n, 1);
});

test('stripe: money Stripe took for a payment already given up is flagged to the admins, not kept quietly', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const r = await pay(l, e.id, 'gone-1', 'pm_standin_timeout');
  assert.equal(r.status, 503);
  const [p] = await srv.sql('select id from registrar.payments where enrollment_id = $1', [e.id]);
  // The hold ran out while Stripe said nothing, and the payment was settled without a charge.
  await srv.sql(`update registrar.enrollments set status = 'expired', hold_expires_at = now() - interval '1 hour' where id = $1`, [e.id]);
  await srv.sql(`update registrar.payments set status = 'declined' where id = $1`, [p.id]);
  const pi = [...stripe.intents.values()].find((x) => x.metadata.payment_id === p.id);
  assert.equal(pi.status, 'succeeded', 'Stripe did take the money');
  const wh = await stripe.sendEvent('payment_intent.succeeded', pi);
  assert.equal(wh.status, 200, wh.text);
  assert.equal(wh.body.applied, true);
  const [row] = await srv.sql('select status from registrar.payments where id = $1', [p.id]);
  assert.equal(row.status, 'declined', 'the seat is not confirmed after the fact');
  const [audit] = await srv.sql(`select object, detail from registrar.audit_log where action = 'payment.unmatched' and detail->>'event_id' = $1`, [wh.event.id]);
  assert.equal(audit.object, `payment:${p.id}`);
  assert.equal(audit.detail.payment_intent, pi.id);
  const msgs = await srv.sql(`select recipient from registrar.outbox where subject = 'A card payment to refund' and body like $1`, [`%${pi.id}%`]);
  const admins = await srv.sql('select email from registrar.users where is_admin');
  assert.equal(msgs.length, admins.length);
});

test('stripe: a refund made in the Dashboard arrives as charge.refunded, never beyond the amount', async () => {
  const srv = ctx.srv();
  const { l, e } = await heldSeat();
  const p = await pay(l, e.id, 'dash-1');
  const pi = p.body.payment.processor_ref;
  const part = await stripe.sendEvent('charge.refunded', { ...stripe.charge(pi), amount_refunded: 30000 });
  assert.equal(part.body.applied, true);
  const [a] = await srv.sql('select refunded_cents from registrar.payments where id = $1', [p.body.payment.id]);
  assert.equal(a.refunded_cents, 30000);
  const over = await stripe.sendEvent('charge.refunded', { ...stripe.charge(pi), amount_refunded: 999999 });
  assert.equal(over.status, 200);
  const [b] = await srv.sql('select refunded_cents from registrar.payments where id = $1', [p.body.payment.id]);
  assert.equal(b.refunded_cents, 125000);
});

test('no processor configured: payments answer 503 payment-unavailable and the log says why', async () => {
  const srv = await startServer({ env: { REGISTRAR_PAYMENT_PROCESSOR: '' } });
  try {
    const admin = await account(srv, { admin: true });
    const off = await openOffering(srv, admin, { capacity: 10 });
    const [l] = await learners(srv, 1);
    const e = (await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
    const r = await as(srv, l).post(`/api/v1/enrollments/${e.id}/payments`, {
      json: { payment_token: 'tok_test_visa' }, headers: { 'Idempotency-Key': 'none-1' } });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.type, PROBLEM + 'payment-unavailable');
    const [{ n }] = await srv.sql('select count(*)::int as n from registrar.payments');
    assert.equal(n, 0);
    assert.match(srv.logs().join('\n'), /REGISTRAR_PAYMENT_PROCESSOR is not set/);
    const cfg = await client(srv.url).get('/api/v1/config');
    assert.equal(cfg.status, 200);
    assert.equal(cfg.body.payment_processor, null);
    assert.equal(cfg.body.stripe_publishable_key, undefined);
  } finally {
    await srv.stop();
  }
});

test('GET /api/v1/config and the CSP: Stripe\'s key and js.stripe.com with Stripe only', async () => {
  const srv = ctx.srv();
  const cfg = await client(srv.url).get('/api/v1/config');
  assert.equal(cfg.status, 200);
  assert.equal(cfg.body.payment_processor, 'stripe');
  assert.equal(cfg.body.stripe_publishable_key, stripe.publishableKey);
  assert.equal(typeof cfg.body.centre.name, 'string');
  assert.ok(!JSON.stringify(cfg.body).includes(stripe.secretKey), 'the secret key never leaves the server');
  const page = await client(srv.url).get('/');
  const csp = page.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' https:\/\/js\.stripe\.com;/);
  assert.match(csp, /frame-src https:\/\/js\.stripe\.com;/);

  const plain = await startServer({ env: { REGISTRAR_CENTRE_NAME: 'Centre for Palliative Care', REGISTRAR_CENTRE_TAX_ID: 'EIN 12-3456789' } });
  try {
    const c = await client(plain.url).get('/api/v1/config');
    assert.deepEqual(c.body, { payment_processor: 'test',
      centre: { name: 'Centre for Palliative Care', address: null, tax_id: 'EIN 12-3456789' } });
    const p = await client(plain.url).get('/');
    assert.doesNotMatch(p.headers.get('content-security-policy'), /stripe/);
    assert.match(plain.logs().join('\n'), /test card processor is in use/);
  } finally {
    await plain.stop();
  }
});

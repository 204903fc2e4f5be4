// Billing (docs/api.md "Payments in production"): receipts R-<year>-<n> without
// gaps (raced through two processes), receipts and invoices as PDFs read
// back with pdftotext, offline payment and invoices by directors, refunds
// by an admin (partial, never above what was paid, raced through two
// processes), messages through the outbox, and the price fixed by the
// profession recorded at registration.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, randomHex } from '../lib/harness.mjs';
import { account, as, learners, openOffering } from '../lib/enroll.mjs';

let srv, admin, director, otherDirector;
const CENTRE = 'Centre de Soins Palliatifs';
const PROBLEM = 'https://registrar.invalid/problems/';
const YEAR = new Date().getUTCFullYear();

before(async () => {
  srv = await startServer({
    processes: 2,
    env: {
      REGISTRAR_SWEEP_INTERVAL_MS: '600000',
      REGISTRAR_CENTRE_NAME: CENTRE,
      REGISTRAR_CENTRE_ADDRESS: '1 Rue de la Paix\nMontréal QC',
      REGISTRAR_CENTRE_TAX_ID: 'TX-998877',
    },
  });
  [admin, director, otherDirector] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { directorOf: ['pcep'] }),
  ]);
});

after(async () => {
  await srv?.stop();
});

async function heldSeat({ profession = 'physician', offering } = {}) {
  const off = offering ?? await openOffering(srv, admin, { capacity: 50 });
  const [l] = await learners(srv, 1, { profession });
  const e = await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(e.status, 201, e.text);
  assert.equal(e.body.status, 'held');
  return { off, l, e: e.body };
}

let keyN = 0;
const pay = (who, enrollmentId, url) =>
  as(srv, who, url).post(`/api/v1/enrollments/${enrollmentId}/payments`, {
    json: { payment_token: 'tok_test_visa' }, headers: { 'Idempotency-Key': `billing-${++keyN}` },
  });

// GET a PDF with who's token: {status, type, text (pdftotext's), problem}.
async function pdf(who, urlPath, url = srv.url) {
  const res = await fetch(url + urlPath, { headers: who ? { authorization: `Bearer ${who.token}` } : {} });
  const type = res.headers.get('content-type') ?? '';
  const bytes = Buffer.from(await res.arrayBuffer());
  if (!type.startsWith('application/pdf')) {
    return { status: res.status, type, problem: JSON.parse(bytes.toString('utf8') || 'null') };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'billing-'));
  try {
    const file = path.join(dir, 'doc.pdf');
    writeFileSync(file, bytes);
    const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { encoding: 'utf8' });
    return { status: res.status, type, text, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function receiptNumbers() {
  return (await srv.sql(
    `select (regexp_match(number, '^R-[0-9]{4}-([0-9]+)$'))[1]::int as n from registrar.receipts
     where number like $1 order by 1`, [`R-${YEAR}-%`])).map((r) => r.n);
}

function assertGapless(ns) {
  assert.deepEqual(ns, Array.from({ length: ns.length }, (_, i) => i + 1), 'numbers are 1..N');
}

test('a card payment gets receipt R-<year>-<n>, a message, and a PDF for its learner, director and admin only', async () => {
  const { off, l, e } = await heldSeat();
  await srv.sql(`update registrar.users set full_name = 'Σοφία Παπαδοπούλου 王小明', institution = 'Hôpital Nord'
                 where id = $1`, [l.id]);
  const r = await pay(l, e.id);
  assert.equal(r.status, 201, r.text);
  const paymentId = r.body.payment.id;
  const [row] = await srv.sql('select number, amount_cents from registrar.receipts where payment_id = $1', [paymentId]);
  assert.match(row.number, new RegExp(`^R-${YEAR}-[1-9][0-9]*$`));
  assert.equal(row.amount_cents, 125000);

  const doc = await pdf(l, `/api/v1/payments/${paymentId}/receipt`);
  assert.equal(doc.status, 200);
  assert.equal(doc.type, 'application/pdf');
  assert.ok(doc.bytes.subarray(0, 5).toString() === '%PDF-');
  for (const want of [row.number, 'USD 1,250.00', 'Σοφία Παπαδοπούλου 王小明', 'Hôpital Nord', CENTRE,
    'TX-998877', 'Montréal QC', off.title, 'Card (visa ending 4242)', l.email]) {
    assert.ok(doc.text.includes(want), `the receipt shows ${want}:\n${doc.text}`);
  }
  assert.equal((await pdf(director, `/api/v1/payments/${paymentId}/receipt`, srv.urls[1])).status, 200);
  assert.equal((await pdf(admin, `/api/v1/payments/${paymentId}/receipt`)).status, 200);
  const [other] = await learners(srv, 1);
  const stranger = await pdf(other, `/api/v1/payments/${paymentId}/receipt`);
  assert.equal(stranger.status, 404);
  assert.equal(stranger.problem.type, PROBLEM + 'not-found');
  assert.equal((await pdf(otherDirector, `/api/v1/payments/${paymentId}/receipt`)).status, 404);
  assert.equal((await pdf(null, `/api/v1/payments/${paymentId}/receipt`)).status, 401);
  assert.equal((await pdf(l, '/api/v1/payments/00000000-0000-4000-8000-000000000000/receipt')).status, 404);

  const mail = await srv.sql(
    `select subject, body from registrar.outbox o join registrar.users u on u.email = o.recipient
     where u.id = $1 order by o.id`, [l.id]);
  assert.ok(mail.some((m) => m.subject.startsWith('Registration:')), 'a registration message');
  const paid = mail.find((m) => m.subject.startsWith('Payment received:'));
  assert.ok(paid, 'a payment message');
  assert.ok(paid.body.includes(row.number));
  assert.ok(paid.body.includes('visa ending 4242'), paid.body);
  assert.ok(paid.body.includes(`/api/v1/payments/${paymentId}/receipt`));
  assert.match(paid.body, /https?:\/\//, 'the link is absolute');
});

test('receipt numbers: forty payments at once through two processes give 1..N, no gap, no repeat; a rollback leaves no hole', async () => {
  const off = await openOffering(srv, admin, { capacity: 60 });
  const ls = await learners(srv, 40);
  const held = await Promise.all(ls.map((l, i) =>
    as(srv, l, srv.urls[i % 2]).post(`/api/v1/offerings/${off.id}/enrollments`)));
  held.forEach((h) => assert.equal(h.status, 201, h.text));
  const paid = await Promise.all(ls.map((l, i) => pay(l, held[i].body.id, srv.urls[(i + 1) % 2])));
  paid.forEach((p) => assert.equal(p.status, 201, p.text));
  assertGapless(await receiptNumbers());
  const [{ n }] = await srv.sql(
    `select count(*)::int as n from registrar.receipts r join registrar.payments p on p.id = r.payment_id
     join registrar.enrollments e on e.id = p.enrollment_id where e.offering_id = $1`, [off.id]);
  assert.equal(n, 40);

  // A transaction that takes a number and rolls back gives it back.
  await assert.rejects(srv.sql(`do $$ begin perform registrar.document_number_next('receipt', 'R');
                                raise exception 'rolled back'; end $$`));
  const { l, e } = await heldSeat({ offering: off });
  assert.equal((await pay(l, e.id)).status, 201);
  assertGapless(await receiptNumbers());
});

test('offline payment: a director records a cheque and a wire; the seat is confirmed; the rules and who may', async () => {
  const { l, e } = await heldSeat();
  const offline = (who, body, url) => as(srv, who, url).post(`/api/v1/enrollments/${e.id}/payments/offline`, { json: body });

  const bad = await offline(director, { method: 'bitcoin', amount_cents: 100 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].field, 'method');
  assert.equal((await offline(director, { method: 'cheque', amount_cents: 0 })).status, 400);
  assert.equal((await offline(director, { method: 'cheque', amount_cents: 100, extra: 1 })).status, 400);
  assert.equal((await offline(director, { method: 'cheque', amount_cents: 100, reference: 'a\u202eb' })).status, 400);
  const tooMuch = await offline(director, { method: 'cheque', amount_cents: 125001 });
  assert.equal(tooMuch.status, 400, tooMuch.text);
  assert.equal(tooMuch.body.errors[0].field, 'amount_cents');
  assert.equal((await offline(otherDirector, { method: 'cheque', amount_cents: 100 })).status, 404);
  assert.equal((await offline(l, { method: 'waived', amount_cents: 125000 })).status, 403);
  const [other] = await learners(srv, 1);
  assert.equal((await offline(other, { method: 'cheque', amount_cents: 100 })).status, 404);
  const [{ n: none }] = await srv.sql('select count(*)::int as n from registrar.payments where enrollment_id = $1', [e.id]);
  assert.equal(none, 0, 'nothing recorded by refused requests');

  const r = await offline(director, { method: 'cheque', amount_cents: 50000, reference: 'Cheque 1042' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.payment.status, 'succeeded');
  assert.equal(r.body.payment.amount_cents, 50000);
  assert.match(r.body.payment.receipt_number, new RegExp(`^R-${YEAR}-`));
  assert.equal(r.body.enrollment.status, 'confirmed');
  assert.equal(r.body.enrollment.paid_cents, 50000);
  assert.equal(r.body.enrollment.hold_expires_at, null);

  const doc = await pdf(l, `/api/v1/payments/${r.body.payment.id}/receipt`);
  assert.ok(doc.text.includes('Cheque'), doc.text);
  assert.ok(doc.text.includes('Cheque 1042'));
  assert.ok(doc.text.includes('USD 500.00'));

  const rest = await offline(admin, { method: 'wire', amount_cents: 75000, reference: 'WIRE-77' }, srv.urls[1]);
  assert.equal(rest.status, 201, rest.text);
  assert.equal(rest.body.enrollment.paid_cents, 125000);
  const more = await offline(director, { method: 'cheque', amount_cents: 1 });
  assert.equal(more.status, 409);
  assert.equal(more.body.type, PROBLEM + 'already-paid');

  const audit = await srv.sql(
    `select actor_id, detail from registrar.audit_log where action = 'payment.offline'
     and detail->>'enrollment_id' = $1 order by id`, [e.id]);
  assert.equal(audit.length, 2);
  assert.equal(audit[0].actor_id, director.id);
  assert.equal(audit[0].detail.method, 'cheque');
  assert.equal(audit[1].actor_id, admin.id);
});

test('an expired hold cannot be paid offline: 409 hold-expired', async () => {
  const { e } = await heldSeat();
  await srv.sql(`update registrar.enrollments set hold_expires_at = now() - interval '1 second' where id = $1`, [e.id]);
  const r = await as(srv, director).post(`/api/v1/enrollments/${e.id}/payments/offline`,
    { json: { method: 'cheque', amount_cents: 100 } });
  assert.equal(r.status, 409);
  assert.equal(r.body.type, PROBLEM + 'hold-expired');
});

test('an invoice confirms the seat with the amount owed, is a PDF INV-<year>-<n>, and a later payment settles it', async () => {
  const { l, e } = await heldSeat();
  const body = { bill_to: { name: 'Hôpital Saint-Luc', address: '1058 rue Saint-Denis\nMontréal', email: 'AP@Hospital.example' },
    due_on: new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10) };
  const invoice = (who, b = body) => as(srv, who).post(`/api/v1/enrollments/${e.id}/invoice`, { json: b });

  assert.equal((await invoice(director, { ...body, bill_to: { name: 'X' } })).status, 400);
  assert.equal((await invoice(director, { ...body, due_on: '2020-01-01' })).status, 400);
  assert.equal((await invoice(director, { ...body, bill_to: 'Hospital' })).status, 400);
  assert.equal((await invoice(otherDirector)).status, 404);
  assert.equal((await invoice(l)).status, 403);

  const r = await invoice(director);
  assert.equal(r.status, 201, r.text);
  const inv = r.body.invoice;
  assert.match(inv.number, new RegExp(`^INV-${YEAR}-[1-9][0-9]*$`));
  assert.equal(inv.amount_cents, 125000);
  assert.equal(inv.status, 'open');
  assert.equal(inv.bill_to.email, 'ap@hospital.example');
  const [en] = await srv.sql('select status, hold_expires_at, paid_cents, amount_due_cents from registrar.enrollments where id = $1', [e.id]);
  assert.equal(en.status, 'confirmed');
  assert.equal(en.hold_expires_at, null, 'a confirmed seat does not expire');
  assert.equal(en.amount_due_cents - en.paid_cents, 125000, 'still owed');
  const again = await invoice(admin);
  assert.equal(again.status, 409);
  assert.equal(again.body.type, PROBLEM + 'invoice-exists');

  const doc = await pdf(l, `/api/v1/invoices/${inv.id}`);
  assert.equal(doc.status, 200);
  for (const want of [inv.number, 'Hôpital Saint-Luc', 'USD 1250.00', CENTRE, body.due_on]) {
    assert.ok(doc.text.includes(want), `the invoice shows ${want}:\n${doc.text}`);
  }
  assert.equal((await pdf(director, `/api/v1/invoices/${inv.id}`)).status, 200);
  const [other] = await learners(srv, 1);
  assert.equal((await pdf(other, `/api/v1/invoices/${inv.id}`)).status, 404);
  assert.equal((await pdf(otherDirector, `/api/v1/invoices/${inv.id}`)).status, 404);

  const po = await as(srv, director).post(`/api/v1/enrollments/${e.id}/payments/offline`,
    { json: { method: 'purchase_order', amount_cents: 125000, reference: 'PO-5521' } });
  assert.equal(po.status, 201, po.text);
  const [settled] = await srv.sql('select status, paid_at from registrar.invoices where id = $1', [inv.id]);
  assert.equal(settled.status, 'paid');
  assert.ok(settled.paid_at);
  const [{ n }] = await srv.sql(`select count(*)::int as n from registrar.audit_log where action = 'invoice.issue'
    and object = $1`, [`invoice:${inv.id}`]);
  assert.equal(n, 1);
});

test('refunds by an admin: partial, never above what is left, with a receipt and a message; directors may not', async () => {
  const { l, e } = await heldSeat();
  const p = (await pay(l, e.id)).body.payment;
  const refund = (who, body, url) => as(srv, who, url).post(`/api/v1/payments/${p.id}/refunds`, { json: body });

  assert.equal((await refund(director, { amount_cents: 100, reason: 'x' })).status, 403);
  assert.equal((await refund(l, { amount_cents: 100, reason: 'x' })).status, 403);
  assert.equal((await refund(admin, { amount_cents: 100 })).status, 400);
  assert.equal((await refund(admin, { amount_cents: -5, reason: 'x' })).status, 400);
  const none = await as(srv, admin).post('/api/v1/payments/00000000-0000-4000-8000-000000000000/refunds',
    { json: { amount_cents: 100, reason: 'x' } });
  assert.equal(none.status, 404);

  const r = await refund(admin, { amount_cents: 20000, reason: 'Missed the first day' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.refund.status, 'succeeded');
  assert.equal(r.body.refund.amount_cents, 20000);
  assert.match(r.body.refund.receipt_number, new RegExp(`^R-${YEAR}-`));
  const over = await refund(admin, { amount_cents: 105001, reason: 'too much' });
  assert.equal(over.status, 409);
  assert.equal(over.body.type, PROBLEM + 'refund-exceeds-payment');
  const [row] = await srv.sql('select status, refunded_cents from registrar.payments where id = $1', [p.id]);
  assert.deepEqual(row, { status: 'succeeded', refunded_cents: 20000 });
  const [en] = await srv.sql('select status from registrar.enrollments where id = $1', [e.id]);
  assert.equal(en.status, 'confirmed', 'the registration stands');

  const doc = await pdf(l, `/api/v1/payments/${p.id}/receipt`);
  assert.ok(doc.text.includes('Refunds'), doc.text);
  assert.ok(doc.text.includes('USD 200.00'));
  assert.ok(doc.text.includes(r.body.refund.receipt_number));
  const mail = await srv.sql(
    `select body from registrar.outbox o join registrar.users u on u.email = o.recipient
     where u.id = $1 and subject like 'Refund:%'`, [l.id]);
  assert.equal(mail.length, 1);
  assert.ok(mail[0].body.includes('USD 200.00'));
  const audit = await srv.sql(`select actor_id, detail from registrar.audit_log where action = 'payment.refund'
    and object = $1`, [`payment:${p.id}`]);
  assert.equal(audit.length, 1);
  assert.equal(audit[0].actor_id, admin.id);

  const rest = await refund(admin, { amount_cents: 105000, reason: 'the rest' }, srv.urls[1]);
  assert.equal(rest.status, 201, rest.text);
  const [done] = await srv.sql('select status, refunded_cents from registrar.payments where id = $1', [p.id]);
  assert.deepEqual(done, { status: 'refunded', refunded_cents: 125000 });
  assert.equal((await refund(admin, { amount_cents: 1, reason: 'more' })).status, 409);
});

test('two refunds at once through two processes never exceed the payment', async () => {
  for (let round = 0; round < 3; round++) {
    const { l, e } = await heldSeat();
    const p = (await pay(l, e.id)).body.payment;
    const both = await Promise.all([0, 1].map((i) => as(srv, admin, srv.urls[i]).post(
      `/api/v1/payments/${p.id}/refunds`, { json: { amount_cents: 70000, reason: `race ${i}` } })));
    assert.deepEqual(both.map((b) => b.status).sort(), [201, 409], both.map((b) => b.text).join('\n'));
    const [row] = await srv.sql('select refunded_cents from registrar.payments where id = $1', [p.id]);
    assert.equal(row.refunded_cents, 70000);
    const [{ n }] = await srv.sql('select count(*)::int as n from registrar.refunds where payment_id = $1', [p.id]);
    assert.equal(n, 1);
  }
  assertGapless(await receiptNumbers());
});

test('the price and the roster line stay with the profession recorded at registration', async () => {
  const { off, l, e } = await heldSeat({ profession: 'nurse' });
  assert.equal(e.price_cents, 90000);
  const [{ profession }] = await srv.sql('select profession from registrar.enrollments where id = $1', [e.id]);
  assert.equal(profession, 'nurse');
  const patch = await as(srv, l).patch('/api/v1/me', { json: { profession: 'physician' } });
  assert.equal(patch.status, 200, patch.text);
  assert.equal(patch.body.profession, 'physician');

  const again = await as(srv, l).get(`/api/v1/enrollments/${e.id}`);
  assert.equal(again.body.price_cents, 90000);
  assert.equal(again.body.amount_due_cents, 90000);
  const r = await pay(l, e.id);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.payment.amount_cents, 90000, 'charged the price registered for');
  const roster = await as(srv, director).get(`/api/v1/offerings/${off.id}/roster`);
  assert.equal(roster.status, 200, roster.text);
  const line = roster.body.items.find((i) => i.enrollment.id === e.id);
  assert.equal(line.learner.profession, 'nurse');

  // A new registration (another offering) is priced for the profession now on file.
  const off2 = await openOffering(srv, admin, { capacity: 5 });
  const e2 = await as(srv, l).post(`/api/v1/offerings/${off2.id}/enrollments`);
  assert.equal(e2.status, 201, e2.text);
  assert.equal(e2.body.price_cents, 125000);
});

test('a cancellation refund gets its receipt and message; an offline payment is refunded as made', async () => {
  const { l, e } = await heldSeat();
  const p = (await pay(l, e.id)).body.payment;
  const c = await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`, { json: { reason: 'cannot come' } });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.refund_cents, 125000);
  const [rf] = await srv.sql(`select f.kind, f.status, f.amount_cents, r.number from registrar.refunds f
    join registrar.receipts r on r.refund_id = f.id where f.payment_id = $1`, [p.id]);
  assert.equal(rf.kind, 'cancellation');
  assert.equal(rf.status, 'succeeded');
  assert.equal(rf.amount_cents, 125000);
  assert.match(rf.number, new RegExp(`^R-${YEAR}-`));
  const doc = await pdf(l, `/api/v1/payments/${p.id}/receipt`);
  assert.ok(doc.text.includes(rf.number), doc.text);
  const mail = await srv.sql(`select subject from registrar.outbox o join registrar.users u on u.email = o.recipient
    where u.id = $1 and subject like 'Refund:%'`, [l.id]);
  assert.equal(mail.length, 1);

  const held = await heldSeat();
  const off = await as(srv, director).post(`/api/v1/enrollments/${held.e.id}/payments/offline`,
    { json: { method: 'wire', amount_cents: 125000, reference: 'W-1' } });
  assert.equal(off.status, 201, off.text);
  const r = await as(srv, admin).post(`/api/v1/payments/${off.body.payment.id}/refunds`,
    { json: { amount_cents: 25000, reason: 'Partial refund by wire' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.refund.status, 'succeeded');
  assert.match(r.body.refund.receipt_number, new RegExp(`^R-${YEAR}-`));
  assertGapless(await receiptNumbers());
});

test('cancelling after an admin refund refunds only the rest; cancelling an offline payment records its refund', async () => {
  const { l, e } = await heldSeat();
  const p = (await pay(l, e.id)).body.payment;
  const first = await as(srv, admin).post(`/api/v1/payments/${p.id}/refunds`, { json: { amount_cents: 20000, reason: 'goodwill' } });
  assert.equal(first.status, 201, first.text);
  const c = await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`, { json: { reason: 'cannot come' } });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.refund_cents, 105000, 'the policy\'s 100% less what was refunded already');
  const [row] = await srv.sql('select refunded_cents, refund_status from registrar.payments where id = $1', [p.id]);
  assert.deepEqual(row, { refunded_cents: 125000, refund_status: 'succeeded' });
  const refunds = await srv.sql(`select kind, amount_cents from registrar.refunds where payment_id = $1
    and status = 'succeeded' order by created_at`, [p.id]);
  assert.deepEqual(refunds, [{ kind: 'admin', amount_cents: 20000 }, { kind: 'cancellation', amount_cents: 105000 }]);

  const held = await heldSeat();
  const cheque = await as(srv, director).post(`/api/v1/enrollments/${held.e.id}/payments/offline`,
    { json: { method: 'cheque', amount_cents: 125000, reference: 'C-9' } });
  assert.equal(cheque.status, 201, cheque.text);
  const c2 = await as(srv, director).post(`/api/v1/enrollments/${held.e.id}/cancel`, { json: { reason: 'moved' } });
  assert.equal(c2.status, 200, c2.text);
  assert.equal(c2.body.refund_cents, 125000);
  const [off] = await srv.sql(`select f.kind, f.status, f.amount_cents, r.number is not null as receipt
    from registrar.refunds f left join registrar.receipts r on r.refund_id = f.id where f.payment_id = $1`,
  [cheque.body.payment.id]);
  assert.deepEqual(off, { kind: 'cancellation', status: 'succeeded', amount_cents: 125000, receipt: true });
  assertGapless(await receiptNumbers());
});

// A group of n new people (one a nurse) registered by a coordinator, billed to bill.
async function heldGroup(n = 3, bill = { name: 'Ward 4, St Elsewhere', address: '1 Main St\nBoston MA', email: 'AP@Elsewhere.example' }) {
  const off = await openOffering(srv, admin, { capacity: 20 });
  const [coordinator] = await learners(srv, 1);
  const members = Array.from({ length: n }, (_, i) => ({
    email: `member-${randomHex(5)}@elsewhere.example`, full_name: `Member ${i + 1} ${randomHex(2)}`,
    profession: i === 0 ? 'nurse' : 'physician',
  }));
  const r = await as(srv, coordinator).post(`/api/v1/offerings/${off.id}/group-registrations`,
    { json: { members, bill_to: bill } });
  assert.equal(r.status, 201, r.text);
  return { off, coordinator, members, group: r.body.group };
}
const dueOn = () => new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);

test('a group invoice: one INV number for every member, each seat confirmed with the amount owed, one line per member', async () => {
  const { coordinator, members, group } = await heldGroup(3);
  const total = group.enrollments.reduce((s, e) => s + e.amount_due_cents, 0);
  assert.equal(total, 90000 + 2 * 125000);
  const invoice = (who, json = { due_on: dueOn() }, url) =>
    as(srv, who, url).post(`/api/v1/group-registrations/${group.id}/invoice`, { json });

  // Who may: an admin or a director of the course; the coordinator and a
  // member are 403, anyone else 404; bad bodies 400; nothing changes.
  const [stranger] = await learners(srv, 1);
  assert.equal((await invoice(coordinator)).status, 403);
  assert.equal((await invoice(stranger)).status, 404);
  assert.equal((await invoice(otherDirector)).status, 404);
  assert.equal((await as(srv, director).post('/api/v1/group-registrations/00000000-0000-4000-8000-000000000000/invoice',
    { json: { due_on: dueOn() } })).status, 404);
  assert.equal((await invoice(director, { due_on: '2020-01-01' })).status, 400);
  assert.equal((await invoice(director, { due_on: dueOn(), bill_to: { name: 'X' } })).status, 400);
  assert.equal((await invoice(director, { due_on: dueOn(), extra: 1 })).status, 400);
  assert.equal((await invoice(director, {})).status, 400);
  const [{ n: none }] = await srv.sql('select count(*)::int as n from registrar.invoices where group_id = $1', [group.id]);
  assert.equal(none, 0);

  // A single invoice and a group invoice draw from the same numbers.
  const single = await heldSeat();
  const s1 = await as(srv, director).post(`/api/v1/enrollments/${single.e.id}/invoice`, { json: {
    bill_to: { name: 'Hospital', address: '1 Main St', email: 'ap@hospital.example' }, due_on: dueOn() } });
  assert.equal(s1.status, 201, s1.text);

  const r = await invoice(director, undefined, srv.urls[1]);
  assert.equal(r.status, 201, r.text);
  const inv = r.body.invoice;
  assert.match(inv.number, new RegExp(`^INV-${YEAR}-[1-9][0-9]*$`));
  const nOf = (number) => Number(number.split('-')[2]);
  assert.equal(nOf(inv.number), nOf(s1.body.invoice.number) + 1, 'numbered after the single invoice, no gap');
  assert.equal(inv.group_id, group.id);
  assert.equal(inv.enrollment_id, null);
  assert.equal(inv.amount_cents, total);
  assert.equal(inv.status, 'open');
  assert.deepEqual(inv.bill_to, { name: 'Ward 4, St Elsewhere', address: '1 Main St\nBoston MA', email: 'ap@elsewhere.example' });
  assert.equal(inv.lines.length, 3);
  assert.deepEqual(inv.lines.map((l) => l.amount_cents).sort(), [125000, 125000, 90000]);
  const seats = await srv.sql(`select status, hold_expires_at, amount_due_cents - paid_cents as owed
                               from registrar.enrollments where group_id = $1`, [group.id]);
  assert.ok(seats.every((e) => e.status === 'confirmed' && e.hold_expires_at === null && e.owed > 0), JSON.stringify(seats));

  // One open invoice: the group again, or a member on their own, is 409.
  const again = await invoice(admin);
  assert.equal(again.status, 409);
  assert.equal(again.body.type, PROBLEM + 'invoice-exists');
  const mine = await as(srv, admin).post(`/api/v1/enrollments/${group.enrollments[0].id}/invoice`, { json: {
    bill_to: { name: 'Other', address: '2 Main St', email: 'x@other.example' }, due_on: dueOn() } });
  assert.equal(mine.status, 409, mine.text);
  assert.equal(mine.body.type, PROBLEM + 'invoice-exists');

  // The PDF: the coordinator, directors and admins; one line per member.
  const doc = await pdf(coordinator, `/api/v1/invoices/${inv.id}`);
  assert.equal(doc.status, 200, JSON.stringify(doc.problem));
  for (const want of [inv.number, 'Ward 4, St Elsewhere', 'USD 3400.00', ...members.map((m) => m.full_name),
    'USD 900.00', 'USD 1,250.00']) {
    assert.ok(doc.text.includes(want), `the group invoice shows ${want}:\n${doc.text}`);
  }
  assert.equal((await pdf(director, `/api/v1/invoices/${inv.id}`)).status, 200);
  assert.equal((await pdf(stranger, `/api/v1/invoices/${inv.id}`)).status, 404);
  assert.equal((await pdf(otherDirector, `/api/v1/invoices/${inv.id}`)).status, 404);

  const [audit] = await srv.sql(`select actor_id, detail from registrar.audit_log
                                 where action = 'invoice.issue' and object = $1`, [`invoice:${inv.id}`]);
  assert.equal(audit.actor_id, director.id);
  assert.equal(audit.detail.group_id, group.id);
  assert.equal(audit.detail.members, 3);
});

test('an offline payment of a group\'s total settles every member and the group\'s invoice; anything else is refused', async () => {
  const { coordinator, group } = await heldGroup(3, { name: 'Ward 9' });
  const total = group.enrollments.reduce((s, e) => s + e.amount_due_cents, 0);
  const offline = (who, json, url) =>
    as(srv, who, url).post(`/api/v1/group-registrations/${group.id}/payments/offline`, { json });

  // The group's bill_to has no address: the invoice needs one in the body.
  const noAddress = await as(srv, director).post(`/api/v1/group-registrations/${group.id}/invoice`,
    { json: { due_on: dueOn() } });
  assert.equal(noAddress.status, 400, noAddress.text);
  assert.equal(noAddress.body.errors[0].field, 'bill_to');
  const inv = await as(srv, director).post(`/api/v1/group-registrations/${group.id}/invoice`,
    { json: { due_on: dueOn(), bill_to: { name: 'Ward 9', address: '9 Main St', email: 'ward9@elsewhere.example' } } });
  assert.equal(inv.status, 201, inv.text);

  assert.equal((await offline(coordinator, { method: 'cheque', amount_cents: total })).status, 403);
  assert.equal((await offline(otherDirector, { method: 'cheque', amount_cents: total })).status, 404);
  assert.equal((await offline(director, { method: 'bitcoin', amount_cents: total })).status, 400);
  const part = await offline(director, { method: 'cheque', amount_cents: total - 1 });
  assert.equal(part.status, 400);
  assert.equal(part.body.errors[0].field, 'amount_cents');
  const [{ n: unpaid }] = await srv.sql(`select count(*)::int as n from registrar.payments p
    join registrar.enrollments e on e.id = p.enrollment_id where e.group_id = $1`, [group.id]);
  assert.equal(unpaid, 0, 'a refused payment records nothing');

  const r = await offline(admin, { method: 'purchase_order', amount_cents: total, reference: 'PO-77' }, srv.urls[1]);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.group_id, group.id);
  assert.equal(r.body.amount_cents, total);
  assert.equal(r.body.payments.length, 3);
  assert.ok(r.body.payments.every((p) => p.status === 'succeeded' && p.reference === 'PO-77'
    && /^R-[0-9]{4}-[1-9][0-9]*$/.test(p.receipt_number)));
  assert.ok(r.body.enrollments.every((e) => e.status === 'confirmed' && e.paid_cents === e.amount_due_cents));
  const seats = await srv.sql(`select status, paid_cents, amount_due_cents from registrar.enrollments
                               where group_id = $1`, [group.id]);
  assert.ok(seats.every((e) => e.status === 'confirmed' && e.paid_cents === e.amount_due_cents));
  const [settled] = await srv.sql('select status, paid_at from registrar.invoices where id = $1', [inv.body.invoice.id]);
  assert.equal(settled.status, 'paid');
  assert.ok(settled.paid_at);
  const [{ n: audits }] = await srv.sql(`select count(*)::int as n from registrar.audit_log
    where action = 'payment.offline' and detail->>'group_id' = $1`, [group.id]);
  assert.equal(audits, 3);

  // Nothing is owed any more.
  const more = await offline(director, { method: 'cheque', amount_cents: 1 });
  assert.equal(more.status, 409);
  assert.equal(more.body.type, PROBLEM + 'already-paid');
});

test('a group invoice is settled once every member has paid, by card or otherwise', async () => {
  const { members, group } = await heldGroup(2, { name: 'Ward 2', address: '2 Main St', email: 'w2@elsewhere.example' });
  const inv = await as(srv, director).post(`/api/v1/group-registrations/${group.id}/invoice`, { json: { due_on: dueOn() } });
  assert.equal(inv.status, 201, inv.text);
  const [a, b] = group.enrollments;
  const cheque = await as(srv, director).post(`/api/v1/enrollments/${a.id}/payments/offline`,
    { json: { method: 'cheque', amount_cents: a.amount_due_cents } });
  assert.equal(cheque.status, 201, cheque.text);
  let [row] = await srv.sql('select status from registrar.invoices where id = $1', [inv.body.invoice.id]);
  assert.equal(row.status, 'open', 'one member still owes');
  // The other member pays their part by card (a confirmed seat that still owes).
  const [u] = await srv.sql('select id from registrar.users where email = $1', [members[1].email]);
  await srv.sql('update registrar.users set email_verified_at = now() where id = $1', [u.id]);
  const [begin] = await srv.sql(`select registrar.payment_begin($1, $2, 'group-card', 'tok_test_visa') as r`, [u.id, b.id]);
  assert.equal(begin.r.action, 'charge');
  assert.equal(begin.r.amount_cents, b.amount_due_cents);
  await srv.sql(`select registrar.payment_finish($1, $2, 'succeeded', 'ch_1', null)`, [u.id, begin.r.payment_id]);
  [row] = await srv.sql('select status from registrar.invoices where id = $1', [inv.body.invoice.id]);
  assert.equal(row.status, 'paid');
});

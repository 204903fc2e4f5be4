// Faults, with real processes and a real PostgreSQL: a server process
// killed with SIGKILL in the middle of a registration rush and in the middle
// of a payment, and PostgreSQL restarted in the middle of a rush. What was
// answered is what the database holds; nothing is counted twice or lost;
// what survives goes on serving without a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import { account, as, learners, openOffering, eventually, seatCounts } from '../lib/enroll.mjs';

const PROBLEM = 'https://registrar.invalid/problems/';

// stop() after process `killed` was killed: the harness reports that
// process (it did not exit 0); the survivor must have stopped cleanly.
async function stopAfterKill(srv, killed) {
  let error = null;
  try {
    await srv.stop();
  } catch (err) {
    error = err;
  }
  assert.ok(error, 'a process killed with SIGKILL cannot have exited 0');
  const text = String(error.message);
  assert.match(text, new RegExp(`process ${killed} \\(.*signal SIGKILL`));
  for (let i = 0; i < srv.urls.length; i++) {
    if (i !== killed) assert.doesNotMatch(text, new RegExp(`process ${i} \\(`), `process ${i} did not stop cleanly`);
  }
}

// A request whose connection may be cut: { status, body } or { status: null, error }.
async function attempt(promise) {
  try {
    const r = await promise;
    return { status: r.status, body: r.body, headers: r.headers, text: r.text };
  } catch (err) {
    return { status: null, error: String(err?.cause?.code ?? err?.message ?? err) };
  }
}

const enroll = (srv, who, offeringId, url) =>
  as(srv, who, url).post(`/api/v1/offerings/${offeringId}/enrollments`, { timeoutMs: 60000 });

// The database against the answers: every 201 is there exactly as
// answered, nobody twice, seats = held + confirmed <= capacity.
async function checkAnswered(srv, offeringId, answered) {
  const rows = await srv.sql(
    `select id, user_id, status, hold_expires_at from registrar.enrollments where offering_id = $1`, [offeringId]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const { learner, body } of answered) {
    const row = byId.get(body.id);
    assert.ok(row, `an answered registration (${body.status}) is not in the database`);
    assert.equal(row.user_id, learner.id);
    assert.equal(row.status, body.status, 'the database holds another status than was answered');
    if (body.status === 'held') {
      // (Answers give whole seconds.)
      assert.equal(Math.floor(new Date(row.hold_expires_at).getTime() / 1000) * 1000, Date.parse(body.hold_expires_at));
    }
  }
  const twice = await srv.sql(
    `select user_id from registrar.enrollments where offering_id = $1
       and status in ('applied', 'held', 'confirmed', 'waitlisted')
     group by user_id having count(*) > 1`, [offeringId]);
  assert.deepEqual(twice, [], 'a learner holds two registrations');
  const c = await seatCounts(srv, offeringId);
  assert.equal(c.seats_taken, c.held + c.confirmed, `seats counted twice or lost: ${JSON.stringify(c)}`);
  assert.ok(c.seats_taken <= c.capacity);
  return { rows, counts: c };
}

test('kill -9 of one of two processes in the middle of a rush: every answer is in the database as answered, the survivor goes on', async (t) => {
  const srv = await startServer({ processes: 2 });
  const killed = 0, survivor = srv.urls[1];
  try {
    const admin = await account(srv, { admin: true });
    const off = await openOffering(srv, admin, { capacity: 60 });
    const ls = await learners(srv, 240);
    // Mid-rush: the survivor's half of the learners press at once; the
    // other half come in waves of 20, each sent once the wave before has an
    // answer, and that process is killed at its 5th answer, so that the
    // kill comes while its requests are in flight and before the last
    // waves are sent, however fast its batches are.
    let answers = 0;
    let killedAt = null;
    const first = new Array(ls.length);
    const one = (i) => attempt(enroll(srv, ls[i], off.id, srv.urls[i % 2]).then((r) => {
      if (i % 2 === killed) answers += 1;
      if (answers === 5 && killedAt === null) {
        killedAt = answers;
        process.kill(srv.pids[killed], 'SIGKILL');
      }
      return r;
    })).then((r) => { first[i] = r; });
    const all = ls.flatMap((_, i) => (i % 2 === killed ? [] : [one(i)]));
    const doomed = ls.flatMap((_, i) => (i % 2 === killed ? [i] : []));
    for (let w = 0; w < doomed.length; w += 20) {
      const wave = doomed.slice(w, w + 20).map(one);
      all.push(...wave);
      await Promise.race(wave);
    }
    await Promise.all(all);
    assert.equal(killedAt, 5, 'the rush was over before the kill');
    const cut = first.filter((r) => r.status === null).length;
    assert.ok(cut > 0, 'no request was cut by the kill: it came too late to test anything');
    t.diagnostic(`${cut} of 240 requests cut by the kill`);
    for (const r of first) {
      if (r.status !== null) assert.ok(r.status === 201, `status ${r.status}: ${r.text}`);
    }
    const answered = first.flatMap((r, i) => (r.status === 201 ? [{ learner: ls[i], body: r.body }] : []));
    await checkAnswered(srv, off.id, answered);

    // Those left without an answer try again on the survivor: each either
    // registers now or learns that their registration went through.
    const unanswered = ls.filter((_, i) => first[i].status === null);
    const again = await Promise.all(unanswered.map((l) => attempt(enroll(srv, l, off.id, survivor))));
    const retried = [];
    for (const [i, r] of again.entries()) {
      assert.ok(r.status === 201 || r.status === 409, `retry: status ${r.status}: ${r.text ?? r.error}`);
      if (r.status === 409) assert.equal(r.body.type, PROBLEM + 'already-enrolled');
      else retried.push({ learner: unanswered[i], body: r.body });
    }
    const { rows, counts } = await checkAnswered(srv, off.id, [...answered, ...retried]);
    // Everybody is registered exactly once, and the seats went to 60 of them.
    assert.equal(rows.length, 240);
    assert.equal(counts.seats_taken, 60);
    assert.equal(counts.held, 60);
    assert.equal(counts.waitlisted, 180);

    // The survivor goes on serving.
    assert.equal((await client(survivor).get('/readyz')).status, 200);
    const late = await account(srv, { url: survivor });
    const r = await enroll(srv, late, off.id, survivor);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.status, 'waitlisted');
  } finally {
    await stopAfterKill(srv, killed);
  }
});

test('kill -9 in the middle of a payment: a takeover settles it, and never charges a registration cancelled or expired meanwhile; the sweep settles what nobody retries', async () => {
  const srv = await startServer({ processes: 2, env: { REGISTRAR_SWEEP_INTERVAL_MS: '200', REGISTRAR_DB_POOL: '8' } });
  const killed = 0, survivor = srv.urls[1];
  try {
    const admin = await account(srv, { admin: true });
    const off = await openOffering(srv, admin, { capacity: 10 });
    const ls = await learners(srv, 4);
    const [paid, cancelled, expiredSwept, expiredTaken] = ls;
    const regs = [];
    for (const l of ls) {
      const r = await enroll(srv, l, off.id, srv.urls[1]);
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.status, 'held');
      regs.push(r.body);
    }
    const pay = (i, url) => as(srv, ls[i], url).post(`/api/v1/enrollments/${regs[i].id}/payments`, {
      json: { payment_token: 'tok_test_slow' }, headers: { 'Idempotency-Key': `fault-${regs[i].id}` }, timeoutMs: 60000,
    });
    // Four payments at once on process 0, each charge taking seconds; it is
    // killed once all four are pending (begun, not finished).
    const inFlight = ls.map((_, i) => attempt(pay(i, srv.urls[killed])));
    await eventually(async () => {
      const [{ n }] = await srv.sql(
        "select count(*)::int as n from registrar.payments where enrollment_id = any ($1::uuid[]) and status = 'pending'",
        [regs.map((e) => e.id)]);
      return n === 4;
    }, 'four payments pending', 20000);
    process.kill(srv.pids[killed], 'SIGKILL');
    for (const r of await Promise.all(inFlight)) assert.equal(r.status, null, 'a payment was answered before the kill');
    assert.equal((await seatCounts(srv, off.id)).seats_taken, 4);

    // Within the takeover window the key is still in use: no second charge.
    const early = await pay(0, survivor);
    assert.equal(early.status, 409, early.text);
    assert.equal(early.body.type, PROBLEM + 'idempotency-key-in-use');

    // Meanwhile: one learner cancels (allowed once the payment is 5 minutes
    // old), two holds run out (one while the payment is 5 minutes old, for
    // the sweep; one just now, for a takeover).
    await srv.sql("update registrar.enrollments set payment_started_at = now() - interval '6 minutes' where id = any ($1::uuid[])",
      [[regs[1].id, regs[2].id]]);
    // (Only the one left to the sweep is made 5 minutes old as a payment too:
    // the cancelled one is left for the takeover to refuse.)
    await srv.sql("update registrar.payments set created_at = now() - interval '6 minutes' where enrollment_id = $1",
      [regs[2].id]);
    const c = await as(srv, cancelled, survivor).post(`/api/v1/enrollments/${regs[1].id}/cancel`, { json: {} });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.body.status, 'cancelled');
    await srv.sql("update registrar.enrollments set hold_expires_at = now() - interval '1 second' where id = any ($1::uuid[])",
      [[regs[2].id, regs[3].id]]);
    // The sweep expires the hold whose payment is 5 minutes old and settles that payment.
    await eventually(async () => {
      const [p] = await srv.sql('select p.status, e.status as e from registrar.payments p join registrar.enrollments e on e.id = p.enrollment_id where e.id = $1', [regs[2].id]);
      return p.status === 'declined' && p.e === 'expired';
    }, 'the sweep settling a dead payment of an expired hold');
    await eventually(() => srv.logs(1).some((l) => l.includes('sweep settled dead payments') && l.includes('"payments_settled":1')),
      'the sweep logging its settlement');
    // The takeover window passes for every key.
    await srv.sql("update registrar.idempotency_keys set locked_at = now() - interval '61 seconds' where response_status is null and payment_id is not null");

    // Still payable: the takeover charges (under the same payment id) and confirms.
    const ok = await pay(0, survivor);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.payment.status, 'succeeded');
    assert.equal(ok.body.enrollment.status, 'confirmed');
    // Cancelled meanwhile: refused, nothing charged.
    const refusedCancelled = await pay(1, survivor);
    assert.equal(refusedCancelled.status, 409, refusedCancelled.text);
    assert.equal(refusedCancelled.body.type, PROBLEM + 'not-payable');
    // Expired by the sweep: its key replays the refusal stored with the settlement.
    const refusedSwept = await pay(2, survivor);
    assert.equal(refusedSwept.status, 409, refusedSwept.text);
    assert.equal(refusedSwept.body.type, PROBLEM + 'hold-expired');
    // Hold run out, not yet swept: refused by the takeover itself.
    const refusedTaken = await pay(3, survivor);
    assert.equal(refusedTaken.status, 409, refusedTaken.text);
    assert.equal(refusedTaken.body.type, PROBLEM + 'hold-expired');

    // Each answer is final: the same key again gives the same bytes.
    for (const [i, first] of [[0, ok], [1, refusedCancelled], [2, refusedSwept], [3, refusedTaken]]) {
      const again = await pay(i, survivor);
      assert.equal(again.status, first.status);
      assert.equal(again.text, first.text);
    }

    // The database: one payment per registration, charged only where it was payable.
    const pays = await srv.sql(
      `select e.id as enrollment, e.status as e_status, e.paid_cents, e.payment_started_at, p.status, p.processor_ref, p.amount_cents
       from registrar.enrollments e join registrar.payments p on p.enrollment_id = e.id
       where e.id = any ($1::uuid[])`, [regs.map((e) => e.id)]);
    assert.equal(pays.length, 4, 'a takeover made a second payment');
    const by = new Map(pays.map((p) => [p.enrollment, p]));
    const p0 = by.get(regs[0].id);
    assert.equal(p0.status, 'succeeded');
    assert.match(p0.processor_ref, /^test_ch_/);
    assert.equal(p0.e_status, 'confirmed');
    assert.equal(p0.paid_cents, p0.amount_cents);
    for (const i of [1, 2, 3]) {
      const p = by.get(regs[i].id);
      assert.equal(p.status, 'declined', `registration ${i}`);
      assert.equal(p.processor_ref, null, `registration ${i} was charged`);
      assert.equal(p.paid_cents, 0);
      assert.equal(p.payment_started_at, null);
    }
    assert.equal(by.get(regs[1].id).e_status, 'cancelled');
    assert.equal(by.get(regs[2].id).e_status, 'expired');
    // The hold refused by the takeover is released by the sweep like any other.
    await eventually(async () => (await srv.sql('select status from registrar.enrollments where id = $1', [regs[3].id]))[0].status === 'expired',
      'the sweep expiring the refused hold');
    const [{ n }] = await srv.sql("select count(*)::int as n from registrar.payments where status = 'pending'");
    assert.equal(n, 0, 'a payment is left pending');
    const seats = await seatCounts(srv, off.id);
    assert.equal(seats.seats_taken, 1);
    assert.equal(seats.confirmed, 1);
    assert.equal(seats.held, 0);
  } finally {
    await stopAfterKill(srv, killed);
  }
});

test('PostgreSQL restarted in the middle of a rush: only 201, 409 and 503 answers, and the server recovers by itself', async (t) => {
  const srv = await startServer({ ownCluster: true });
  try {
    const admin = await account(srv, { admin: true });
    const off = await openOffering(srv, admin, { capacity: 40 });
    const ls = await learners(srv, 160);
    let answers = 0;
    let restart = null;
    const results = await Promise.all(ls.map((l) => attempt(enroll(srv, l, off.id, srv.url).then((r) => {
      answers += 1;
      if (answers === 20 && restart === null) restart = srv.restartPostgres();
      return r;
    }))));
    assert.ok(restart, 'the rush was over before the restart');
    await restart;
    const statuses = {};
    for (const r of results) {
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      assert.ok([201, 409, 503].includes(r.status), `status ${r.status}: ${r.text ?? r.error}`);
      if (r.status === 503) {
        assert.equal(r.body.type, PROBLEM + 'database-unavailable');
        assert.ok(Number(r.headers.get('retry-after')) > 0);
      }
    }
    t.diagnostic(`statuses during the restart: ${JSON.stringify(statuses)}`);
    // Recovery without restarting the server: readyz, then everyone who got no seat retries.
    await eventually(async () => (await client(srv.url).get('/readyz')).status === 200, 'readyz after the restart', 30000);
    const answered = results.flatMap((r, i) => (r.status === 201 ? [{ learner: ls[i], body: r.body }] : []));
    const retry = ls.filter((_, i) => results[i].status !== 201);
    const again = await Promise.all(retry.map((l) => attempt(enroll(srv, l, off.id, srv.url))));
    for (const [i, r] of again.entries()) {
      assert.ok(r.status === 201 || (r.status === 409 && r.body.type === PROBLEM + 'already-enrolled'),
        `after recovery: status ${r.status}: ${r.text ?? r.error}`);
      if (r.status === 201) answered.push({ learner: retry[i], body: r.body });
    }
    const { rows, counts } = await checkAnswered(srv, off.id, answered);
    assert.equal(rows.length, 160);
    assert.equal(counts.seats_taken, 40);
    assert.equal(counts.waitlisted, 120);
  } finally {
    await srv.stop();
  }
});

// After the course (docs/api.md "Rosters, attendance, credits"; issue 10 items
// 5-8): evaluation forms, evaluations and credit claims, certificates read
// back with pdftotext, the public check, transcripts, the completion view,
// the ACCME report, and the messages of the jobs thread. Attendance is
// written with SQL (its API belongs to another branch).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { startServer, client } from '../lib/harness.mjs';
import { account, as, learners, openOffering, dayIn, eventually } from '../lib/enroll.mjs';
import { sessionBody } from '../lib/catalog.mjs';

const TZ = 'America/New_York';
const NAMES = ['Zoë Ødegård', 'فاطمة الزهراء', '王小明', 'Nurse Nia', 'Absent Abe'];
const PROBLEM = (slug) => `https://registrar.invalid/problems/${slug}`;

let srv, admin, director, otherDirector, outsider, off, sessions, ls, es, tmp;

// The PDF at urlPath as bytes, its text by pdftotext and page facts by pdfinfo.
async function pdf(who, urlPath, headers = {}, url = srv.url) {
  const res = await fetch(url + urlPath, { headers: { authorization: `Bearer ${who.token}`, ...headers } });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, body: JSON.parse(bytes.toString()) };
  assert.equal(res.headers.get('content-type'), 'application/pdf');
  assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
  const file = path.join(tmp, `${Math.random().toString(16).slice(2)}.pdf`);
  writeFileSync(file, bytes);
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-']).toString();
  const info = execFileSync('pdfinfo', [file]).toString();
  return { status: 200, text, info, pages: Number(/Pages:\s+(\d+)/.exec(info)[1]) };
}

// Moves the offering, its parts and sessions 40 days back: it has ended.
async function endOffering(id) {
  await srv.sql(
    `with o as (update registrar.offerings set starts_on = starts_on - 40, ends_on = ends_on - 40,
                registration_opens_at = registration_opens_at - interval '80 days',
                registration_closes_at = registration_closes_at - interval '40 days'
                where id = $1 returning id),
          p as (update registrar.offering_parts set starts_on = starts_on - 40, ends_on = ends_on - 40
                where offering_id = $1 returning 1)
     update registrar.sessions set starts_at = starts_at - interval '40 days', ends_at = ends_at - interval '40 days'
     where offering_id = $1`, [id]);
}

const attend = (sessionIds, enrollmentId) => srv.sql(
  `insert into registrar.attendance (session_id, enrollment_id, method)
   select unnest($1::uuid[]), $2, 'manual' on conflict do nothing`, [sessionIds, enrollmentId]);

const FREE = [
  { profession: 'physician', amount_cents: 0 },
  { profession: 'nurse', amount_cents: 0 },
];

async function freeOffering(over = {}) {
  const o = await openOffering(srv, admin, { prices: FREE, max_credits: 3, ...over }, { startsIn: 20 });
  const day = dayIn(TZ, 20);
  const ss = [];
  for (const [i, hours] of [1.5, 1, 2].entries()) {
    const r = await as(srv, admin).post(`/api/v1/offerings/${o.id}/sessions`, {
      json: sessionBody({
        title: `Session ${i + 1}`, credit_hours: hours, room: `Room ${i}`,
        starts_at: `${day}T${13 + i}:00:00Z`, ends_at: `${day}T${13 + i}:50:00Z`,
      }),
    });
    assert.equal(r.status, 201, r.text);
    ss.push(r.body);
  }
  return { o, ss };
}

const evaluate = (who, enrollmentId, body) => as(srv, who).post(`/api/v1/enrollments/${enrollmentId}/evaluation`, { json: body });
const GOOD = { objectives: 5, bias: 'Yes', change: 'Ask about goals earlier.', comments: '' };

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'credits-'));
  srv = await startServer({ env: { REGISTRAR_SWEEP_INTERVAL_MS: '200', REGISTRAR_VERIFY_LIMIT: '1000000',
    REGISTRAR_PUBLIC_URL: 'https://cme.example.org' } });
  [admin, director, otherDirector, outsider] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { directorOf: ['pcep'] }),
    account(srv),
  ]);
  ({ o: off, ss: sessions } = await freeOffering());
  ls = await learners(srv, NAMES.length);
  for (const [i, l] of ls.entries()) {
    await srv.sql('update registrar.users set full_name = $1, profession = $2 where id = $3',
      [NAMES[i], i === 3 ? 'nurse' : 'physician', l.id]);
  }
  es = [];
  for (const l of ls) {
    const r = await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.status, 'confirmed', 'nothing due');
    es.push(r.body);
  }
  // Everyone but the last attended every session (4.5 hours); max_credits is 3.
  for (const e of es.slice(0, 4)) await attend(sessions.map((s) => s.id), e.id);
});

after(async () => {
  await srv?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the credit arithmetic: claimed, at most attended, quarter steps rounded down, capped', async () => {
  const cases = [
    [2, 4.5, 3, 2], [4.5, 4.5, 3, 3], [2.6, 4.5, null, 2.5], [2.99, 4.5, 21.5, 2.75], [0.2, 4.5, 3, 0],
    [4, 1.5, null, 1.5], [4, 1.3, null, 1.25], [5, 10, 3.1, 3], [0, 0, 3, 0], [1.25, 1.25, 1.25, 1.25],
  ];
  for (const [claimed, attended, max, want] of cases) {
    const [{ c }] = await srv.sql('select registrar.credits_earned($1, $2, $3)::float8 as c', [claimed, attended, max]);
    assert.equal(c, want, `claimed ${claimed}, attended ${attended}, max ${max}`);
  }
});

test('evaluation form: the default CME form, who may read it', async () => {
  const url = `/api/v1/offerings/${off.id}/evaluation-form`;
  const r = await as(srv, ls[0]).get(url);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.questions.map((q) => [q.id, q.kind, q.required]),
    [['objectives', 'rating', true], ['bias', 'choice', true], ['change', 'text', false], ['comments', 'text', false]]);
  assert.deepEqual(r.body.questions[1].choices, ['Yes', 'No', 'Unsure']);
  assert.equal((await as(srv, director).get(url)).status, 200);
  assert.equal((await as(srv, admin).get(url)).status, 200);
  assert.equal((await as(srv, outsider).get(url)).status, 403);
  assert.equal((await as(srv, otherDirector).get(url)).status, 403);
  assert.equal((await client(srv.url).get(url)).status, 401);
  assert.equal((await as(srv, admin).get('/api/v1/offerings/00000000-0000-4000-8000-000000000000/evaluation-form')).status, 404);
});

test('evaluation form: directors edit it; bad forms are 400, nothing changed', async () => {
  const { o } = await freeOffering();
  const url = `/api/v1/offerings/${o.id}/evaluation-form`;
  const q = (over = {}) => ({ id: 'pace', kind: 'rating', text: 'The pace was right.', required: true, ...over });
  for (const [who, status] of [[outsider, 403], [otherDirector, 403], [ls[0], 403]]) {
    assert.equal((await as(srv, who).put(url, { json: { questions: [q()] } })).status, status);
  }
  const bad = [
    { questions: [q(), q()] },
    { questions: [q({ kind: 'choice' })] },
    { questions: [q({ choices: ['a', 'b'] })] },
    { questions: [q({ kind: 'choice', choices: ['a', 'a'] })] },
    { questions: [q({ kind: 'essay' })] },
    { questions: [q({ text: 'bidi \u202e trick' })] },
    { questions: [q({ id: 'has space' })] },
    { questions: [] },
    { questions: [q()], role: 'admin' },
  ];
  for (const body of bad) {
    const r = await as(srv, director).put(url, { json: body });
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.type, PROBLEM('invalid-request'));
  }
  assert.equal((await as(srv, director).get(url)).body.questions.length, 4, 'still the default');
  const form = { questions: [q(), q({ id: 'venue', kind: 'choice', choices: ['Good', 'Poor'], required: false })] };
  const put = await as(srv, director).put(url, { json: form });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual((await as(srv, admin).get(url)).body, form);
});

test('before the offering ends: no evaluation (409 offering-not-ended), no certificate (409 not-completed)', async () => {
  const { o, ss } = await freeOffering();
  const e = (await as(srv, ls[0]).post(`/api/v1/offerings/${o.id}/enrollments`)).body;
  await attend(ss.map((s) => s.id), e.id);
  const r = await evaluate(ls[0], e.id, { answers: GOOD, claimed_hours: 1 });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, PROBLEM('offering-not-ended'));
  const c = await pdf(ls[0], `/api/v1/enrollments/${e.id}/certificate`);
  assert.equal(c.status, 409);
  assert.equal(c.body.type, PROBLEM('not-completed'));
  assert.equal((await srv.sql('select count(*)::int as n from registrar.evaluations where enrollment_id = $1', [e.id]))[0].n, 0);
});

test('evaluation: rules, once, the claim; certificates only after it', async () => {
  await endOffering(off.id);
  const e = es[0];
  // Not yet evaluated: no certificate.
  const early = await pdf(ls[0], `/api/v1/enrollments/${e.id}/certificate`);
  assert.equal(early.status, 409);
  assert.equal(early.body.type, PROBLEM('not-completed'));

  const cases = [
    [{ answers: GOOD, claimed_hours: 4.75 }, 422, 'claimed-hours-exceed-attended'],
    [{ answers: { ...GOOD, objectives: undefined }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.objectives'],
    [{ answers: { ...GOOD, objectives: 6 }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.objectives'],
    [{ answers: { ...GOOD, objectives: 2.5 }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.objectives'],
    [{ answers: { ...GOOD, bias: 'Maybe' }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.bias'],
    [{ answers: { ...GOOD, bias: 3 }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.bias'],
    [{ answers: { ...GOOD, extra: 'x' }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.extra'],
    [{ answers: { ...GOOD, change: 'a\u202eb' }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.change'],
    [{ answers: { ...GOOD, change: ['x'] }, claimed_hours: 1 }, 400, 'invalid-request', 'answers.change'],
    [{ answers: GOOD, claimed_hours: -1 }, 400, 'invalid-request', 'claimed_hours'],
    [{ answers: GOOD, claimed_hours: 1.001 }, 400, 'invalid-request', 'claimed_hours'],
    [{ answers: GOOD }, 400, 'invalid-request', 'claimed_hours'],
    [{ answers: 'good', claimed_hours: 1 }, 400, 'invalid-request', 'answers'],
  ];
  for (const [body, status, slug, field] of cases) {
    const r = await evaluate(ls[0], e.id, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.type, PROBLEM(slug));
    if (field) assert.equal(r.body.errors?.[0]?.field, field, r.text);
  }
  assert.equal((await evaluate(ls[1], e.id, { answers: GOOD, claimed_hours: 1 })).status, 404, 'another learner’s');
  assert.equal((await evaluate(director, e.id, { answers: GOOD, claimed_hours: 1 })).status, 404, 'only its learner');
  assert.equal((await srv.sql('select count(*)::int as n from registrar.evaluations where enrollment_id = $1', [e.id]))[0].n, 0);

  // 4.5 hours attended, 4.5 claimed, max_credits 3: 3 credits.
  const ok = await evaluate(ls[0], e.id, { answers: GOOD, claimed_hours: 4.5 });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.credits, 3);
  assert.equal(ok.body.attended_hours, 4.5);
  assert.equal(ok.body.credit_type, 'AMA PRA Category 1');
  const again = await evaluate(ls[0], e.id, { answers: GOOD, claimed_hours: 1 });
  assert.equal(again.status, 409);
  assert.equal(again.body.type, PROBLEM('already-evaluated'));

  // Twice at once: one wins.
  const both = await Promise.all([1, 2].map(() => evaluate(ls[1], es[1].id, { answers: { objectives: 3, bias: 'No' }, claimed_hours: 2.6 })));
  assert.deepEqual(both.map((r) => r.status).sort(), [201, 409]);
  assert.equal(both.find((r) => r.status === 201).body.credits, 2.5, 'quarter steps, down');

  // Nurse: her profession's credit type; absent learner: nothing to claim.
  const nurse = await evaluate(ls[3], es[3].id, { answers: { objectives: 4, bias: 'Unsure', comments: 'Long days' }, claimed_hours: 2.9 });
  assert.equal(nurse.status, 201, nurse.text);
  assert.equal(nurse.body.credit_type, 'ANCC contact hours');
  assert.equal(nurse.body.credits, 2.75);
  const absent = await evaluate(ls[4], es[4].id, { answers: GOOD, claimed_hours: 0.25 });
  assert.equal(absent.status, 422);
  assert.equal(absent.body.attended_hours, 0);
});

test('a claim of exactly the attended hours is accepted, whatever their binary form (1.1)', async () => {
  const { o, ss } = await freeOffering();
  await srv.sql('update registrar.sessions set credit_hours = 1.1 where id = $1', [ss[0].id]);
  const [l] = await learners(srv, 1);
  const e = (await as(srv, l).post(`/api/v1/offerings/${o.id}/enrollments`)).body;
  await attend([ss[0].id], e.id);
  await endOffering(o.id);
  assert.equal((await evaluate(l, e.id, { answers: GOOD, claimed_hours: 1.11 })).status, 422);
  const r = await evaluate(l, e.id, { answers: GOOD, claimed_hours: 1.1 });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.claimed_hours, 1.1);
  assert.equal(r.body.credits, 1);
});

test('an answered form keeps its questions: 409 form-answered; new questions and rewording are fine', async () => {
  const url = `/api/v1/offerings/${off.id}/evaluation-form`;
  const form = (await as(srv, director).get(url)).body;
  const without = { questions: form.questions.filter((q) => q.id !== 'objectives') };
  const r1 = await as(srv, director).put(url, { json: without });
  assert.equal(r1.status, 409, r1.text);
  assert.equal(r1.body.type, PROBLEM('form-answered'));
  const kind = { questions: form.questions.map((q) => (q.id === 'bias' ? { id: 'bias', kind: 'text', text: q.text, required: true } : q)) };
  assert.equal((await as(srv, director).put(url, { json: kind })).status, 409);
  const lost = { questions: form.questions.map((q) => (q.id === 'bias' ? { ...q, choices: ['Yes', 'No'] } : q)) };
  assert.equal((await as(srv, director).put(url, { json: lost })).status, 409);
  const grown = { questions: [...form.questions.map((q) => (q.id === 'objectives' ? { ...q, text: 'Objectives were met.' } : q)),
    { id: 'faculty', kind: 'rating', text: 'Faculty were effective.', required: false }] };
  const r2 = await as(srv, director).put(url, { json: grown });
  assert.equal(r2.status, 200, r2.text);
  assert.equal((await as(srv, admin).get(url)).body.questions.length, 5);
});

test('certificate: PDF with name in any script, credits, statements, code and URL; issued once, audited', async () => {
  const c = await pdf(ls[0], `/api/v1/enrollments/${es[0].id}/certificate`);
  assert.equal(c.status, 200);
  const [row] = await srv.sql('select verification_code, credits::float8 as credits, credit_type from registrar.certificates where enrollment_id = $1', [es[0].id]);
  assert.match(row.verification_code, /^[2-9A-HJKMNP-Z]{12}$/);
  assert.equal(row.credits, 3);
  assert.ok(c.text.includes('Zoë Ødegård'), c.text);
  assert.ok(c.text.includes('3 AMA PRA Category 1'), c.text);
  assert.ok(c.text.includes(row.verification_code));
  assert.ok(c.text.includes(`https://cme.example.org/#/verify-certificate/${row.verification_code}`), c.text);
  assert.ok(c.text.includes('Practical Aspects of Palliative Care'));
  assert.ok(c.text.includes(off.title));
  assert.ok(/Accreditation Council for Continuing Medical Education/.test(c.text.replace(/\s+/g, ' ')));
  assert.ok(/designates this live activity for a maximum of 3 AMA PRA Category 1 Credit/.test(c.text.replace(/\s+/g, ' ')));
  assert.match(c.info, /Page size:\s+595\.\d* x 841\.\d* pts/, 'A4 by default');

  const again = await pdf(director, `/api/v1/enrollments/${es[0].id}/certificate`);
  assert.equal(again.status, 200);
  assert.ok(again.text.includes(row.verification_code), 'the same code');
  assert.equal((await srv.sql('select count(*)::int as n from registrar.certificates where enrollment_id = $1', [es[0].id]))[0].n, 1);
  const audits = await srv.sql(`select actor_id from registrar.audit_log where action = 'certificate.issue' and object = $1`, [`enrollment:${es[0].id}`]);
  assert.deepEqual(audits.map((a) => a.actor_id), [ls[0].id]);

  assert.equal((await pdf(ls[1], `/api/v1/enrollments/${es[0].id}/certificate`)).status, 404, 'another learner');
  assert.equal((await pdf(otherDirector, `/api/v1/enrollments/${es[0].id}/certificate`)).status, 404, 'another course’s director');
  assert.equal((await pdf(admin, `/api/v1/enrollments/${es[0].id}/certificate`)).status, 200);

  // Arabic and Chinese names, the nurse's credit type.
  const ar = await pdf(ls[1], `/api/v1/enrollments/${es[1].id}/certificate`);
  assert.ok(ar.text.includes('فاطمة') && ar.text.includes('الزهراء'), ar.text);
  assert.ok(ar.text.includes('2.5 AMA PRA Category 1'));
  const nurse = await pdf(ls[3], `/api/v1/enrollments/${es[3].id}/certificate`);
  assert.ok(nurse.text.includes('2.75 ANCC contact hours'), nurse.text);
  const none = await pdf(ls[2], `/api/v1/enrollments/${es[2].id}/certificate`);
  assert.equal(none.status, 409, 'not evaluated');
  const ev = await evaluate(ls[2], es[2].id, { answers: { objectives: 1, bias: 'Yes', change: 'Everything' }, claimed_hours: 1 });
  assert.equal(ev.status, 201, ev.text);
  const zh = await pdf(ls[2], `/api/v1/enrollments/${es[2].id}/certificate`);
  assert.ok(zh.text.includes('王小明'), zh.text);
});

test('the learner’s export carries their evaluations and certificates, nobody else’s', async () => {
  const r = await as(srv, ls[3]).get('/api/v1/me/export');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.evaluations.map((e) => [e.enrollment_id, e.claimed_hours]), [[es[3].id, 2.9]]);
  assert.deepEqual(r.body.evaluations[0].answers, { objectives: 4, bias: 'Unsure', comments: 'Long days' });
  assert.deepEqual(r.body.certificates.map((c) => [c.enrollment_id, c.credits, c.credit_type]),
    [[es[3].id, 2.75, 'ANCC contact hours']]);
  const none = await as(srv, outsider).get('/api/v1/me/export');
  assert.deepEqual([none.body.evaluations, none.body.certificates], [[], []]);
  assert.equal(none.body.profile.email, outsider.email);
});

test('the public check of a certificate: anyone, any case; 404 otherwise', async () => {
  const [row] = await srv.sql('select verification_code from registrar.certificates where enrollment_id = $1', [es[0].id]);
  const r = await client(srv.url).get(`/api/v1/certificates/${row.verification_code}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Object.keys(r.body).sort(),
    ['course_title', 'credit_type', 'credits', 'ends_on', 'issued_at', 'learner_name', 'offering_title', 'starts_on']);
  assert.equal(r.body.learner_name, 'Zoë Ødegård');
  assert.equal(r.body.credits, 3);
  assert.equal(r.body.credit_type, 'AMA PRA Category 1');
  assert.equal((await client(srv.url).get(`/api/v1/certificates/${row.verification_code.toLowerCase()}`)).status, 200);
  for (const bad of ['ABCDEFGHJKMN', 'short', '0OIL0OIL0OIL', `${row.verification_code}X`, '%27%20or%201=1']) {
    const n = await client(srv.url).get(`/api/v1/certificates/${bad}`);
    assert.equal(n.status, 404, bad);
    assert.equal(n.body.type, PROBLEM('not-found'));
  }
});

test('directors download every certificate as one PDF, one per page', async () => {
  const all = await pdf(director, `/api/v1/offerings/${off.id}/certificates`);
  assert.equal(all.status, 200);
  assert.equal(all.pages, 4);
  for (const name of ['Zoë Ødegård', '王小明', 'Nurse Nia']) assert.ok(all.text.includes(name), name);
  assert.ok(!all.text.includes('Absent Abe'));
  assert.equal((await pdf(otherDirector, `/api/v1/offerings/${off.id}/certificates`)).status, 403);
  assert.equal((await pdf(ls[0], `/api/v1/offerings/${off.id}/certificates`)).status, 403);
  const audits = await srv.sql(`select detail from registrar.audit_log where action = 'certificates.export' and offering_id = $1`, [off.id]);
  assert.equal(audits.at(-1).detail.rows, 4);
});

test('transcript: every certificate with totals by credit type, as JSON and PDF', async () => {
  const r = await as(srv, ls[0]).get('/api/v1/me/transcript');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.items.length, 1);
  assert.deepEqual(Object.keys(r.body.items[0]).sort(), ['credit_type', 'credits', 'issued_at', 'offering', 'verification_code']);
  assert.equal(r.body.items[0].offering.id, off.id);
  assert.deepEqual(r.body.totals_by_credit_type, { 'AMA PRA Category 1': 3 });
  // A second certificate of another year adds up.
  const { o, ss } = await freeOffering({ max_credits: null });
  const e = (await as(srv, ls[0]).post(`/api/v1/offerings/${o.id}/enrollments`)).body;
  await attend([ss[0].id], e.id);
  await endOffering(o.id);
  assert.equal((await evaluate(ls[0], e.id, { answers: GOOD, claimed_hours: 1.5 })).status, 201);
  assert.equal((await pdf(ls[0], `/api/v1/enrollments/${e.id}/certificate`)).status, 200);
  const t = await as(srv, ls[0]).get('/api/v1/me/transcript');
  assert.equal(t.body.items.length, 2);
  assert.deepEqual(t.body.totals_by_credit_type, { 'AMA PRA Category 1': 4.5 });
  const p = await pdf(ls[0], '/api/v1/me/transcript', { accept: 'application/pdf' });
  assert.equal(p.status, 200);
  assert.ok(p.text.includes('Zoë Ødegård'));
  assert.ok(p.text.includes(t.body.items[0].verification_code) && p.text.includes(t.body.items[1].verification_code));
  assert.ok(p.text.includes('4.5'));
  assert.deepEqual((await as(srv, outsider).get('/api/v1/me/transcript')).body.items, []);
  assert.equal((await client(srv.url).get('/api/v1/me/transcript')).status, 401);
});

test('evaluation results: summary and CSV for directors only, audited', async () => {
  const url = `/api/v1/offerings/${off.id}/evaluations`;
  const r = await as(srv, director).get(url);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.responses.length, 4);
  assert.deepEqual(r.body.summary.objectives.counts, { 1: 1, 2: 0, 3: 1, 4: 1, 5: 1 });
  assert.equal(r.body.summary.objectives.mean, 3.25);
  assert.deepEqual(r.body.summary.bias.counts, { Yes: 2, No: 1, Unsure: 1 });
  assert.deepEqual(r.body.summary.change.texts.sort(), ['Ask about goals earlier.', 'Everything']);
  assert.deepEqual(r.body.summary.comments.texts, ['Long days']);
  const csv = await as(srv, director).get(`${url}?format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  const rows = parse(csv.text, { bom: true });
  assert.deepEqual(rows[0].slice(0, 5), ['enrollment_id', 'full_name', 'submitted_at', 'claimed_hours', 'objectives']);
  assert.equal(rows.length, 5);
  assert.equal((await as(srv, otherDirector).get(url)).status, 403);
  assert.equal((await as(srv, ls[0]).get(url)).status, 403);
  assert.equal((await as(srv, director).get(`${url}?format=xml`)).status, 400);
  assert.equal((await as(srv, director).get(`${url}?bogus=1`)).status, 400);
  assert.ok((await srv.sql(`select 1 from registrar.audit_log where action = 'evaluations.read' and offering_id = $1`, [off.id])).length > 0);
});

test('completion view: attended hours, evaluations, certificates per learner', async () => {
  const r = await as(srv, director).get(`/api/v1/offerings/${off.id}/completion`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ended, true);
  const byName = Object.fromEntries(r.body.items.map((i) => [i.learner.full_name, i]));
  assert.equal(byName['Zoë Ødegård'].attended_hours, 4.5);
  assert.equal(byName['Zoë Ødegård'].certificate_issued, true);
  assert.equal(byName['Absent Abe'].attended_hours, 0);
  assert.equal(byName['Absent Abe'].evaluated, false);
  assert.equal((await as(srv, otherDirector).get(`/api/v1/offerings/${off.id}/completion`)).status, 403);
});

test('ACCME report: the activity as PARS wants it, JSON and the CSV row', async () => {
  const url = `/api/v1/offerings/${off.id}/accme-report`;
  const r = await as(srv, director).get(url);
  assert.equal(r.status, 200, r.text);
  const a = r.body.activity;
  assert.equal(a.title, `Practical Aspects of Palliative Care: ${off.title}`);
  assert.equal(a.format, 'Course');
  assert.equal(a.credits_designated, 3);
  assert.equal(a.physician_learners, 3, 'physicians who attended');
  assert.equal(a.other_learners, 1);
  assert.equal(a.commercial_support, null, 'filled in by hand');
  const csv = await as(srv, admin).get(`${url}?format=csv`);
  assert.equal(csv.status, 200);
  const rows = parse(csv.text, { bom: true });
  assert.equal(rows.length, 2);
  assert.equal(rows[0][0], 'Activity Title');
  assert.equal(rows[1][2], `${a.starts_on.slice(5, 7)}/${a.starts_on.slice(8, 10)}/${a.starts_on.slice(0, 4)}`);
  assert.deepEqual(rows[1].slice(7, 10), ['3', '3', '1']);
  assert.equal((await as(srv, otherDirector).get(url)).status, 403);
  assert.equal((await as(srv, ls[0]).get(url)).status, 403);
  assert.equal((await as(srv, admin).get('/api/v1/offerings/00000000-0000-4000-8000-000000000000/accme-report')).status, 404);
});

test('messages: a reminder to evaluate when the offering ends, the certificate ready once evaluated; once each', async () => {
  const { o, ss } = await freeOffering();
  const [a, b] = await learners(srv, 2);
  const ea = (await as(srv, a).post(`/api/v1/offerings/${o.id}/enrollments`)).body;
  const eb = (await as(srv, b).post(`/api/v1/offerings/${o.id}/enrollments`)).body;
  await attend([ss[0].id], ea.id);
  await attend([ss[0].id], eb.id);
  const count = async (email, subject) => (await srv.sql(
    'select count(*)::int as n from registrar.outbox where recipient = $1 and subject like $2', [email, subject]))[0].n;
  assert.equal(await count(a.email, 'Please evaluate%'), 0, 'not before the end');
  await endOffering(o.id);
  await eventually(async () => (await count(a.email, 'Please evaluate%')) === 1 && (await count(b.email, 'Please evaluate%')) === 1,
    'the reminders');
  assert.equal((await evaluate(a, ea.id, { answers: GOOD, claimed_hours: 1 })).status, 201);
  await eventually(async () => (await count(a.email, 'Your certificate is ready')) === 1, 'the certificate notice');
  const [{ body }] = await srv.sql(`select body from registrar.outbox where recipient = $1 and subject = 'Your certificate is ready'`, [a.email]);
  assert.ok(body.includes(`https://cme.example.org/#/registrations/${ea.id}`), body);
  // Another run (as another process would) sends nothing more.
  const [{ n }] = await srv.sql('select registrar.credit_notices_send(1000) as n');
  assert.equal(n, 0);
  assert.equal(await count(a.email, 'Please evaluate%'), 1);
  assert.equal(await count(b.email, 'Your certificate is ready'), 0, 'not evaluated: no certificate notice');
});

test('US Letter by the centre setting; first downloads at once through two processes issue one certificate; the public check is rate-limited per address across processes', async () => {
  const other = await startServer({ processes: 2, env: { REGISTRAR_CERTIFICATE_PAPER: 'letter', REGISTRAR_VERIFY_LIMIT: '3' } });
  try {
    const dir = await account(other, { admin: true });
    const [l] = await learners(other, 1);
    const o = await openOffering(other, dir, { prices: FREE, max_credits: 2 }, { startsIn: 20 });
    const e = (await as(other, l).post(`/api/v1/offerings/${o.id}/enrollments`)).body;
    await other.sql(`update registrar.offerings set starts_on = current_date - 5, ends_on = current_date - 3,
      registration_opens_at = now() - interval '30 days', registration_closes_at = now() - interval '6 days' where id = $1`, [o.id]);
    await other.sql('update registrar.offering_parts set starts_on = current_date - 5, ends_on = current_date - 3 where offering_id = $1', [o.id]);
    const prev = srv;
    srv = other;
    try {
      assert.equal((await evaluate(l, e.id, { answers: GOOD, claimed_hours: 0 })).status, 201);
      const all = await Promise.all(Array.from({ length: 6 },
        (_, i) => pdf(i % 2 ? dir : l, `/api/v1/enrollments/${e.id}/certificate`, {}, other.urls[i % 2])));
      assert.deepEqual(all.map((x) => x.status), [200, 200, 200, 200, 200, 200]);
      const [{ n, code }] = await other.sql('select count(*)::int as n, min(verification_code) as code from registrar.certificates');
      assert.equal(n, 1, 'one certificate');
      for (const x of all) assert.ok(x.text.includes(code), 'every download shows the one code');
      const [{ audits }] = await other.sql(`select count(*)::int as audits from registrar.audit_log where action = 'certificate.issue'`);
      assert.equal(audits, 1);
      const c = all[0];
      assert.match(c.info, /Page size:\s+612 x 792 pts/);
      assert.ok(c.text.includes('0 AMA PRA Category 1'));
    } finally {
      srv = prev;
    }
    const [{ verification_code: code }] = await other.sql('select verification_code from registrar.certificates');
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await client(other.urls[i % 2]).get(`/api/v1/certificates/${code}`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await client(other.url).get('/api/v1/certificates/ZZZZZZZZZZZZ');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
  } finally {
    await other.stop();
  }
});

test('the certificate statements are offering fields: the default wording until a director sets them', async () => {
  const { o } = await freeOffering({ max_credits: 12.5 });
  assert.match(o.designation_statement, /maximum of 12\.5 AMA PRA Category 1 Credit\(s\)™/);
  assert.match(o.accreditation_statement, /ACCME/);
  const mine = 'Jointly provided by the centre and the University.\nAccredited by the ACCME.';
  const r = await as(srv, director).patch(`/api/v1/offerings/${o.id}`, { json: { accreditation_statement: mine } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accreditation_statement, mine);
  assert.equal((await as(srv, director).patch(`/api/v1/offerings/${o.id}`, { json: { designation_statement: 'x\u202ey' } })).status, 400);
  assert.equal((await as(srv, otherDirector).patch(`/api/v1/offerings/${o.id}`, { json: { designation_statement: 'Mine' } })).status, 403);
  const back = await as(srv, director).patch(`/api/v1/offerings/${o.id}`, { json: { accreditation_statement: null } });
  assert.match(back.body.accreditation_statement, /Accreditation Council/);
});

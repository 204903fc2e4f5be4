// tests/e2e/credits.test.mjs — after the course, in headless Chromium
// against the real server and a fresh database (issue 10, items 5-8 and 10).
//
// A learner with a confirmed registration of an offering that has ended
// (dates moved back with SQL; attendance written with SQL) evaluates it in
// the browser: a claim above the attended hours is refused beside the
// field, a good one is accepted, and the certificate downloaded from the
// page is a PDF whose text (pdftotext) names her and the credits. Her
// transcript lists it; anyone can check its code on the public page. A
// director reads completion (with the ACCME report), the evaluation results
// and the form editor. Every screen: clean under the CSP, axe without
// serious or critical violations, no sideways scrolling, at 1440 and 360 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { client, startServer } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, makeDirector, newAdmin, newUser } from '../lib/accounts.mjs';
import { createOffering, sessionBody } from '../lib/catalog.mjs';
import { dayIn, offeringIn } from '../lib/enroll.mjs';
import { openBrowser } from './lib/browser.mjs';
import { announced, checkWidths, go, norm, openPage, settled } from './lib/pages.mjs';

const TIMEOUT = 240_000;
let srv;
let base;
let admin;
let director;
let learner;
let off;
let enrollment;

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  admin = await newAdmin(srv);
  director = await newUser(srv, { full_name: 'Dana Director', profession: 'physician' });
  await makeDirector(admin.c, 'practical-aspects', director.user.id);
  learner = await newUser(srv, { full_name: 'Zoë Ødegård', profession: 'physician' });
  off = await createOffering(srv, admin, 'practical-aspects', offeringIn(20, {
    title: 'Autumn course', max_credits: 6,
    prices: [{ profession: 'physician', amount_cents: 0 }],
  }));
  const day = dayIn('America/New_York', 20);
  const s = await client(srv.url).post(`/api/v1/offerings/${off.id}/sessions`, {
    token: admin.token,
    json: sessionBody({ credit_hours: 2, starts_at: `${day}T13:00:00Z`, ends_at: `${day}T15:00:00Z` }),
  });
  assert.equal(s.status, 201, s.text);
  const r = await client(srv.url).post(`/api/v1/offerings/${off.id}/enrollments`, { token: learner.token, json: {} });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'confirmed');
  enrollment = r.body;
  await srv.sql(`insert into registrar.attendance (session_id, enrollment_id, method) values ($1, $2, 'manual')`,
    [s.body.id, enrollment.id]);
  await srv.sql(
    `with o as (update registrar.offerings set starts_on = starts_on - 40, ends_on = ends_on - 40,
                registration_opens_at = registration_opens_at - interval '80 days',
                registration_closes_at = registration_closes_at - interval '40 days' where id = $1 returning id),
          p as (update registrar.offering_parts set starts_on = starts_on - 40, ends_on = ends_on - 40
                where offering_id = $1 returning 1)
     update registrar.sessions set starts_at = starts_at - interval '40 days', ends_at = ends_at - interval '40 days'
     where offering_id = $1`, [off.id]);
});

after(async () => {
  await srv?.stop();
});

async function signedInBrowser(who) {
  const browser = await openBrowser();
  const page = await openPage(browser, base, '#/sign-in');
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(DEFAULT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('banner').getByRole('link', { name: who.user.full_name }).waitFor();
  await settled(page);
  return { browser, page };
}

async function arrive(page, heading) {
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  await settled(page);
}

test('a learner evaluates, claims credit, downloads the certificate; anyone verifies it', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(learner);
  try {
    await go(page, `#/registrations/${enrollment.id}`);
    await page.getByRole('link', { name: 'Evaluate and claim credit' }).click();
    await arrive(page, 'Autumn course');
    await checkWidths(page, 'evaluation');

    // Missing answers are said beside the questions, nothing sent.
    await page.getByRole('button', { name: 'Submit the evaluation' }).click();
    await announced(page, /Some answers are missing/, { assertive: true });
    await page.getByRole('group', { name: /met its stated learning objectives/ }).getByLabel('5 (strongly agree)').check();
    await page.getByRole('group', { name: /free of commercial bias/ }).getByLabel('Yes').check();
    await page.getByLabel(/What will you change/).fill('Talk about goals of care earlier.');
    await page.getByLabel('Hours you claim').fill('3');
    await page.getByRole('button', { name: 'Submit the evaluation' }).click();
    await announced(page, /at most the 2 hours/, { assertive: true });
    await checkWidths(page, 'evaluation-refused', { allowStatuses: [422] });
    assert.equal((await srv.sql('select count(*)::int as n from registrar.evaluations'))[0].n, 0);

    await page.getByLabel('Hours you claim').fill('1.9');
    await page.getByRole('button', { name: 'Submit the evaluation' }).click();
    await announced(page, /Evaluation submitted\. 1\.75 AMA PRA Category 1/);
    await checkWidths(page, 'evaluation-done', { allowStatuses: [422] });

    const [file] = await Promise.all([page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download your certificate (PDF)' }).click()]);
    assert.equal(file.suggestedFilename(), 'certificate.pdf');
    const text = execFileSync('pdftotext', ['-enc', 'UTF-8', await file.path(), '-']).toString();
    const [{ verification_code: code }] = await srv.sql('select verification_code from registrar.certificates');
    assert.ok(text.includes('Zoë Ødegård'), text);
    assert.ok(text.includes('1.75 AMA PRA Category 1'), text);
    assert.ok(text.includes(code));

    await go(page, '#/transcript');
    await arrive(page, 'Your transcript');
    assert.match(norm(await page.locator('main').innerText()), new RegExp(code));
    await checkWidths(page, 'transcript', { allowStatuses: [422] });
  } finally {
    await browser.close();
  }

  // Signed out: the public check.
  const browser2 = await openBrowser();
  try {
    const page = await openPage(browser2, base, `#/verify-certificate/${(await srv.sql('select verification_code from registrar.certificates'))[0].verification_code}`);
    await page.getByRole('heading', { name: 'This certificate is genuine' }).waitFor();
    assert.match(norm(await page.locator('main').innerText()), /Zoë Ødegård[\s\S]*1\.75 AMA PRA Category 1/);
    await checkWidths(page, 'verify-certificate');
    await page.getByLabel('Verification code').fill('ABCDEFGHJKMN');
    await page.getByRole('button', { name: 'Check' }).click();
    // Scoped to main: the live region says the same sentence.
    await page.locator('main').getByText('No certificate has this code', { exact: false }).waitFor();
    await checkWidths(page, 'verify-certificate-unknown', { allowStatuses: [404] });
  } finally {
    await browser2.close();
  }
});

test('a director sees completion, the ACCME report, the evaluation results and the form', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(director);
  try {
    await go(page, `#/offerings/${off.id}/completion`);
    await arrive(page, 'Completion: Autumn course');
    const main = norm(await page.locator('main').innerText());
    assert.match(main, /1 confirmed · 1 evaluations in · 1 certificates issued/);
    assert.match(main, /Zoë Ødegård/);
    assert.match(main, /Physician learners\s*1/);
    await checkWidths(page, 'completion');

    await page.getByRole('navigation', { name: 'Registrations of this offering' })
      .getByRole('link', { name: 'Evaluations' }).click();
    await arrive(page, 'Evaluations: Autumn course');
    assert.match(norm(await page.locator('main').innerText()), /Mean 5 of 5[\s\S]*Talk about goals of care earlier\./);
    await checkWidths(page, 'evaluations');

    await page.getByRole('navigation', { name: 'Registrations of this offering' })
      .getByRole('link', { name: 'Evaluation form' }).click();
    await arrive(page, 'Evaluation form: Autumn course');
    await page.getByRole('button', { name: 'Add a question' }).click();
    const last = page.locator('.question-editor').last();
    await last.getByLabel('Question', { exact: true }).fill('The venue suited the course.');
    await page.getByRole('button', { name: 'Save the form' }).click();
    await announced(page, /The evaluation form is saved\./);
    const form = await client(srv.url).get(`/api/v1/offerings/${off.id}/evaluation-form`, { token: director.token });
    assert.equal(form.body.questions.length, 5);
    assert.equal(form.body.questions[4].text, 'The venue suited the course.');
    await checkWidths(page, 'evaluation-form');
  } finally {
    await browser.close();
  }
});

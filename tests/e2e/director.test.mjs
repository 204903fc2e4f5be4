// tests/e2e/director.test.mjs — a course director's registration pages in
// headless Chromium against the real server and a fresh database (issue 5,
// items 9 and 10).
//
// An admin made by `registrar create-admin` creates a PCEP offering by
// application with two seats, and makes a learner its director. Four
// learners apply through the API. The director, in the browser, goes from
// the offering page to the applications, approves three (two seats held,
// the third waitlisted because the offering is full) and rejects one with
// a note; reads the roster, downloads it as CSV and checks the file's
// content with a real CSV parser (the formula guard included); shows
// everyone and downloads that; reads the waitlist in order. A learner is
// refused the director's pages. Every screen: clean under the CSP, axe
// without serious or critical violations, no sideways scrolling, at 1440
// and 360 px.
//
// REGISTRAR_E2E_SHOTS=/some/dir saves screenshots of each screen there.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { client, startServer } from '../lib/harness.mjs';
import { makeDirector, newAdmin, newUser } from '../lib/accounts.mjs';
import { createOffering } from '../lib/catalog.mjs';
import { offeringIn } from '../lib/enroll.mjs';
import {
  announced, assertClean, checkScreen, checkWidths, go, norm, openPage, settled, shot, signedInBrowser as signInAt
} from './lib/pages.mjs';

const TIMEOUT = 240_000;
// Screens checked in the dark scheme too.
const DARK = new Set(['applications-decided', 'roster', 'waitlist']);
const NAMES = ['Ada Okafor', 'Smith, Jane "JJ"', '=HYPERLINK("http://evil.example","x")', 'Rex Ruiz'];

let srv;
let base;
let admin;
let director;
let off;
let applicants; // [{ user, token, email, enrollment }], in the order they applied

const checkBoth = (page, name, opts = {}) => checkWidths(page, name, { dark: DARK.has(name), ...opts });

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  admin = await newAdmin(srv);
  director = await newUser(srv, { full_name: 'Dana Director', profession: 'physician' });
  await makeDirector(admin.c, 'pcep', director.user.id);
  off = await createOffering(srv, admin, 'pcep', offeringIn(40, {
    title: 'PCEP Spring', requires_application: true, capacity: 2,
  }));
  applicants = [];
  for (const [i, name] of NAMES.entries()) {
    const l = await newUser(srv, {
      full_name: name, profession: i === 1 ? 'nurse' : 'physician', institution: i === 0 ? 'City Hospital' : undefined,
    });
    const r = await client(srv.url).post(`/api/v1/offerings/${off.id}/enrollments`, { token: l.token, json: {} });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.status, 'applied');
    applicants.push({ ...l, enrollment: r.body });
  }
});

after(async () => {
  await srv?.stop();
});

// After a click that navigates: the new screen's h1, then nothing busy.
async function arrive(page, heading) {
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
  await settled(page);
}

const signedInBrowser = (who) => signInAt(base, who);

const statuses = async () => (await srv.sql(
  `select u.full_name, e.status, e.note from registrar.enrollments e join registrar.users u on u.id = e.user_id
   where e.offering_id = $1 order by e.created_at`, [off.id]));

// Clicks the download link and returns { name, rows (parsed), text }.
async function download(page, link) {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const text = await readFile(await file.path(), 'utf8');
  return { name: file.suggestedFilename(), text, rows: parse(text, { bom: true, columns: true }) };
}

test('a director decides applications, reads the roster, downloads it as CSV and reads the waitlist', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(director);
  try {
    // ---- from the offering page to the applications
    await go(page, `#/offerings/${off.id}`);
    const bar = page.getByRole('navigation', { name: 'Course director' });
    for (const name of ['Applications', 'Roster', 'Waitlist']) await bar.getByRole('link', { name }).waitFor();
    await bar.getByRole('link', { name: 'Applications' }).click();
    await arrive(page, 'Applications: PCEP Spring');
    assert.equal(await page.getByRole('navigation', { name: 'Registrations of this offering' })
      .getByRole('link', { name: 'Applications' }).getAttribute('aria-current'), 'page');
    const cards = page.locator('.app-card');
    assert.equal(await cards.count(), 4);
    assert.match(norm(await page.locator('.roster-count').innerText()), /4 applications awaiting a decision/);
    const ada = page.getByRole('form', { name: 'Ada Okafor' });
    assert.match(norm(await cards.first().innerText()), /Ada Okafor[\s\S]*Physician[\s\S]*City Hospital/);
    await checkBoth(page, 'applications');

    // ---- decide: two seats held, the third waitlisted, one rejected with a note
    await ada.getByLabel('Note to the applicant').fill('Welcome to PCEP!');
    await ada.getByRole('button', { name: 'Approve' }).click();
    await announced(page, /^Approved: a seat is held for Ada Okafor until .+ while they pay\.$/);
    await page.getByRole('form', { name: NAMES[1] }).getByRole('button', { name: 'Approve' }).click();
    await announced(page, /^Approved: a seat is held for Smith, Jane "JJ" until/);
    await page.getByRole('form', { name: NAMES[2] }).getByRole('button', { name: 'Approve' }).click();
    await announced(page, /^Approved, but the offering is full: .+ is on the waitlist at number 1\.$/);
    const rex = page.getByRole('form', { name: 'Rex Ruiz' });
    await rex.getByLabel('Note to the applicant').fill('This course is for practising clinicians.');
    await rex.getByRole('button', { name: 'Reject' }).click();
    await announced(page, /^Rejected: Rex Ruiz is told that the application was not accepted\.$/);
    assert.match(norm(await page.locator('.roster-count').innerText()), /All applications are decided\./);
    assert.deepEqual(await statuses(), [
      { full_name: NAMES[0], status: 'held', note: 'Welcome to PCEP!' },
      { full_name: NAMES[1], status: 'held', note: null },
      { full_name: NAMES[2], status: 'waitlisted', note: null },
      { full_name: NAMES[3], status: 'rejected', note: 'This course is for practising clinicians.' },
    ]);
    await checkBoth(page, 'applications-decided');

    // Ada pays (through the API, as she would on her own page).
    const pay = await client(srv.url).post(`/api/v1/enrollments/${applicants[0].enrollment.id}/payments`, {
      token: applicants[0].token, json: { payment_token: 'tok_test_mastercard' }, headers: { 'Idempotency-Key': 'ada-1' },
    });
    assert.equal(pay.status, 201, pay.text);
    const paid = pay.body.payment.amount_cents;

    // ---- the roster: seat holders
    await page.getByRole('navigation', { name: 'Registrations of this offering' }).getByRole('link', { name: 'Roster' }).click();
    await arrive(page, 'Roster: PCEP Spring');
    const table = page.getByRole('table', { name: 'Seat holders (confirmed and held)' });
    const rows = table.locator('tbody tr');
    assert.equal(await rows.count(), 2);
    const dollars = `$${(paid / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
    assert.match(norm(await rows.nth(0).innerText()), new RegExp(`Ada Okafor[\\s\\S]*Physician[\\s\\S]*Confirmed[\\s\\S]*\\${dollars}`));
    assert.match(norm(await rows.nth(1).innerText()), /Smith, Jane "JJ"[\s\S]*Nurse[\s\S]*Seat held — payment due/);
    assert.match(norm(await page.locator('.roster-summary').innerText()), /2 seats taken of 2 · 1 person on the waitlist\./);
    await checkBoth(page, 'roster');

    // ---- the CSV download, read back by a real CSV parser
    const csvLink = page.getByRole('link', { name: 'Download CSV' });
    assert.equal(await csvLink.getAttribute('href'), `/api/v1/offerings/${off.id}/roster?format=csv`);
    const exportsBefore = (await srv.sql(
      `select count(*)::int as n from registrar.audit_log where offering_id = $1 and action = 'roster.export'`, [off.id]))[0].n;
    const seatCsv = await download(page, csvLink);
    assert.match(seatCsv.name, /\.csv$/);
    assert.ok(seatCsv.text.startsWith('\ufeff'), 'UTF-8 with a BOM, for spreadsheets');
    assert.deepEqual(seatCsv.rows.map((r) => [r.full_name, r.status, r.profession, r.paid_cents]), [
      ['Ada Okafor', 'confirmed', 'physician', String(paid)],
      ['Smith, Jane "JJ"', 'held', 'nurse', '0'],
    ]);
    assert.equal(seatCsv.rows[0].email, applicants[0].email);
    assert.equal(seatCsv.rows[0].institution, 'City Hospital');
    assert.equal(seatCsv.rows[0].enrollment_id, applicants[0].enrollment.id);
    const audit = await srv.sql(
      `select actor_id, detail from registrar.audit_log where offering_id = $1 and action = 'roster.export' order by id`, [off.id]);
    assert.equal(audit.length, exportsBefore + 1, 'the export is audited');
    assert.equal(audit.at(-1).actor_id, director.user.id);
    assert.equal(audit.at(-1).detail.rows, 2);

    // ---- everyone, and its CSV with the formula guard
    await page.getByLabel('Show').selectOption({ label: 'Everyone' });
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.getByRole('table', { name: 'Everyone' }).waitFor();
    await settled(page);
    assert.match(page.url(), /\/roster\?status=all$/);
    assert.equal(await page.getByRole('table', { name: 'Everyone' }).locator('tbody tr').count(), 4);
    assert.match(norm(await page.getByRole('table', { name: 'Everyone' }).innerText()),
      /Rex Ruiz[\s\S]*Application not accepted/);
    assert.equal(await csvLink.getAttribute('href'), `/api/v1/offerings/${off.id}/roster?format=csv&status=all`);
    const allCsv = await download(page, csvLink);
    assert.deepEqual(allCsv.rows.map((r) => [r.full_name, r.status]), [
      ['Ada Okafor', 'confirmed'],
      ['Smith, Jane "JJ"', 'held'],
      [`'${NAMES[2]}`, 'waitlisted'],
      ['Rex Ruiz', 'rejected'],
    ]);
    await checkScreen(page, 'roster of everyone at 1440 px');
    await shot(page, 'roster-all-1440');

    // ---- the waitlist, in order
    await page.getByRole('navigation', { name: 'Registrations of this offering' }).getByRole('link', { name: 'Waitlist' }).click();
    await arrive(page, 'Waitlist: PCEP Spring');
    const waiting = page.getByRole('list', { name: 'Waitlist, in order' }).getByRole('listitem');
    assert.equal(await waiting.count(), 1);
    assert.match(norm(await waiting.first().innerText()), /^1\s+Number 1:\s+=HYPERLINK\("http:\/\/evil\.example","x"\)\s+user-/);
    await checkBoth(page, 'waitlist');
    await assertClean(page, 'the whole flow');
  } finally {
    await browser.close();
  }
});

test('a learner cannot open the director\'s pages', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(applicants[0]);
  try {
    await go(page, `#/offerings/${off.id}`);
    assert.equal(await page.getByRole('navigation', { name: 'Course director' }).count(), 0);
    for (const p of ['roster', 'applications', 'waitlist']) {
      await go(page, `#/offerings/${off.id}/${p}`);
      assert.match(norm(await page.locator('main').innerText()), /You do not have permission to do this/);
    }
    await checkScreen(page, 'roster refused to a learner');
    // The CSV link's address refuses a learner too.
    const r = await client(srv.url).get(`/api/v1/offerings/${off.id}/roster?format=csv`, { token: applicants[0].token });
    assert.equal(r.status, 403);
  } finally {
    await browser.close();
  }
});

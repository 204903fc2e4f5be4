// tests/e2e/admin.test.mjs — the Administration area (issue 11) in headless
// Chromium against the real server: an admin (made by `registrar
// create-admin`) finds a person by part of their email, opens their
// account and registrations, makes them the director of a course, and
// creates a course; the director's roster shows the offering's totals. A
// learner is refused the area. Every screen: clean under the CSP, axe
// without serious or critical violations, no sideways scrolling, at 1440
// and 360 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, randomHex, startServer } from '../lib/harness.mjs';
import { newAdmin, newUser } from '../lib/accounts.mjs';
import { createOffering } from '../lib/catalog.mjs';
import { offeringIn } from '../lib/enroll.mjs';
import { announced, checkWidths, go, norm, openPage, settled, signedInBrowser as signInAt } from './lib/pages.mjs';

const TIMEOUT = 240_000;

let srv;
let base;
let admin;
let learner;
let off;

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  admin = await newAdmin(srv);
  learner = await newUser(srv, { full_name: 'Lena Lindqvist', profession: 'nurse', institution: 'City Hospital' });
  off = await createOffering(srv, admin, 'practical-aspects', offeringIn(40, { title: 'Practical Aspects Autumn', capacity: 5 }));
  const r = await client(srv.url).post(`/api/v1/offerings/${off.id}/enrollments`, { token: learner.token, json: {} });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  await srv?.stop();
});

const signedInBrowser = (who) => signInAt(base, who);

test('an admin finds a person, sees their registrations, makes them a director, and creates a course', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(admin);
  try {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { level: 1, name: 'Administration' }).waitFor();
    await settled(page);
    await checkWidths(page, 'admin');

    await page.getByLabel('Email or name').fill(learner.email.slice(0, 10).toUpperCase());
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.getByRole('link', { name: 'Lena Lindqvist' }).click();
    await page.getByRole('heading', { level: 1, name: 'Lena Lindqvist' }).waitFor();
    await settled(page);
    assert.match(norm(await page.locator('main').innerText()), /Practical Aspects Autumn[\s\S]*held/);
    await checkWidths(page, 'admin-person');

    await page.getByLabel('Course', { exact: true }).selectOption('practical-aspects');
    await page.getByLabel('Role', { exact: true }).selectOption('grant');
    await page.getByRole('button', { name: 'Save director role' }).click();
    await page.getByText('Director of Practical Aspects of Palliative Care').waitFor();
    const [row] = await srv.sql(
      `select count(*)::int as n from registrar.course_directors d join registrar.courses c on c.id = d.course_id
       where c.slug = 'practical-aspects' and d.user_id = $1`, [learner.user.id]);
    assert.equal(row.n, 1);
    const audits = await srv.sql("select actor_id from registrar.audit_log where action = 'director.grant' and object = $1", [`user:${learner.user.id}`]);
    assert.deepEqual(audits.map((a) => a.actor_id), [admin.user.id]);

    // A course.
    await go(page, '#/admin');
    const slug = `ed-${randomHex(3)}`;
    await page.getByLabel('Address (slug)').fill(slug);
    await page.getByLabel('Title', { exact: true }).fill('Palliative Care in the Emergency Department');
    await page.getByRole('button', { name: 'Create course' }).click();
    await announced(page, /^Course created: Palliative Care in the Emergency Department\.$/);
    const [c] = await srv.sql('select title from registrar.courses where slug = $1', [slug]);
    assert.equal(c.title, 'Palliative Care in the Emergency Department');
    // Change a course's title (PATCH): the form starts from the course as it is.
    await go(page, '#/admin');
    await page.getByLabel('Course to change').selectOption('serious-illness-communication');
    assert.equal(await page.getByLabel('New title').inputValue(), 'Serious Illness Communication');
    await page.getByLabel('New title').fill('Serious Illness Communication Skills');
    await page.getByRole('button', { name: 'Save course' }).click();
    await announced(page, /^Course saved: Serious Illness Communication Skills\.$/);
    const [sic] = await srv.sql("select title from registrar.courses where slug = 'serious-illness-communication'");
    assert.equal(sic.title, 'Serious Illness Communication Skills');
    await checkWidths(page, 'admin-course-saved');
    await page.getByLabel('Address (slug)').fill(slug);
    await page.getByLabel('Title', { exact: true }).fill('Palliative Care in the Emergency Department');
    // The same slug again: the server's message, at the field or above the form.
    await page.getByRole('button', { name: 'Create course' }).click();
    await page.getByText(/already/).first().waitFor();
  } finally {
    await browser.close();
  }
});

test('the new director\'s roster shows the totals; a learner is refused the Administration area', { timeout: TIMEOUT }, async () => {
  await srv.sql(
    `insert into registrar.course_directors (course_id, user_id)
     select id, $1 from registrar.courses where slug = 'practical-aspects' on conflict do nothing`, [learner.user.id]);
  const other = await newUser(srv, { full_name: 'Omar Other' });
  const { browser, page } = await signedInBrowser(learner);
  try {
    await go(page, `#/offerings/${off.id}/roster`);
    await page.getByRole('heading', { name: 'Totals' }).waitFor();
    const totals = norm(await page.locator('.roster-totals').innerText());
    assert.match(totals, /By status[\s\S]*1/);
    assert.match(totals, /By profession[\s\S]*Nurse/i);
    assert.match(totals, /Outstanding/);
    await checkWidths(page, 'roster-totals');
    // Write to everyone registered: one outbox message per learner.
    await page.getByLabel('Recipients').selectOption('all');
    await page.getByLabel('Subject').fill('Parking at the venue');
    await page.getByLabel('Message').fill('Use the garage on Elm Street.\nLevel 2 is ours.');
    await page.getByRole('button', { name: 'Send to the learners' }).click();
    await announced(page, /^Message queued for 1 learner\.$/);
    await page.getByText(/0 of 1 message sent/).waitFor();
    const rows = await srv.sql(
      "select recipient from registrar.outbox where offering_message_id is not null and subject = 'Parking at the venue'");
    assert.deepEqual(rows.map((r) => r.recipient), [learner.email]);
    await checkWidths(page, 'roster-message-sent');
    // Register someone by telephone: an account is made, a set-password link sent.
    const phoned = `phoned-${randomHex(4)}@hospital.example`;
    await page.getByLabel('Their email address').fill(phoned);
    await page.getByLabel('Their full name').fill('Paulo Phoned');
    await page.getByLabel('Their profession').selectOption('nurse');
    await page.getByRole('button', { name: 'Register this person' }).click();
    // A registration that owes money leads straight to its payment forms.
    const next = page.locator('.roster-for');
    await next.getByText(/Paulo Phoned is registered .*Record their payment or issue an invoice now\./).waitFor();
    await checkWidths(page, 'roster-register-then-pay');
    const [made] = await srv.sql(
      `select e.status, u.password_hash from registrar.enrollments e join registrar.users u on u.id = e.user_id
       where u.email = $1 and e.offering_id = $2`, [phoned, off.id]);
    assert.equal(made.status, 'held');
    assert.equal(made.password_hash, null);
    const [link] = await srv.sql("select body from registrar.outbox where recipient = $1 and body like '%#/reset?token=%'", [phoned]);
    assert.ok(link);
    // The office records the cheque that came with the call: the seat is confirmed.
    await next.getByLabel('Method').selectOption('cheque');
    await next.getByLabel('Reference').fill('Cheque 2231');
    await next.getByRole('button', { name: 'Record payment' }).click();
    await announced(page, /^Payment of .+ recorded for Paulo Phoned\.$/);
    const row = page.locator('table.roster tr', { hasText: 'Paulo Phoned' });
    await row.getByText('Confirmed', { exact: true }).waitFor();
    const [paid] = await srv.sql(
      `select e.status, e.paid_cents, e.amount_due_cents, p.processor, p.reference from registrar.enrollments e
       join registrar.users u on u.id = e.user_id join registrar.payments p on p.enrollment_id = e.id
       where u.email = $1 and e.offering_id = $2`, [phoned, off.id]);
    assert.deepEqual(paid, { status: 'confirmed', paid_cents: paid.amount_due_cents, amount_due_cents: paid.amount_due_cents,
      processor: 'cheque', reference: 'Cheque 2231' });
  } finally {
    await browser.close();
  }
  const second = await signedInBrowser(other);
  try {
    assert.equal(await second.page.getByRole('link', { name: 'Administration' }).count(), 0);
    await go(second.page, '#/admin');
    await second.page.getByText('Only administrators of the centre can use this area.', { exact: true }).waitFor();
  } finally {
    await second.browser.close();
  }
});

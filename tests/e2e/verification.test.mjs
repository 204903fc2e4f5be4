// tests/e2e/verification.test.mjs — email verification in headless Chromium
// against the real server and a fresh database (issue 8, item 4).
//
// A new learner signs up in the browser and tries to register: the page says
// that registering needs a confirmed email address. The profile page shows
// the banner and sends the link again. The learner opens the link read from
// the real outbox (the token leaves the address bar), the address is
// confirmed, and registering then holds a seat. A used link says so. Every
// screen: clean under the CSP, axe without serious or critical violations,
// no sideways scrolling, at 1440 and 360 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, newAdmin, outboxToken, uniqueEmail } from '../lib/accounts.mjs';
import { createOffering } from '../lib/catalog.mjs';
import { offeringIn } from '../lib/enroll.mjs';
import { openBrowser } from './lib/browser.mjs';
import { announced, checkWidths, go, openPage } from './lib/pages.mjs';

const TIMEOUT = 180_000;

let srv;
let base;
let browser;
let off;

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  browser = await openBrowser();
  const admin = await newAdmin(srv);
  off = await createOffering(srv, admin, 'practical-aspects', offeringIn(60, { capacity: 10 }));
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await srv?.stop();
  }
});

test('a new learner confirms the email through the link, then registers', { timeout: TIMEOUT }, async () => {
  const email = uniqueEmail('vera');
  const page = await openPage(browser, base, '#/sign-up');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(DEFAULT_PASSWORD);
  await page.getByLabel('Full name').fill('Vera Verify');
  await page.getByLabel('Profession').selectOption({ label: 'Nurse' });
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('banner').getByRole('link', { name: 'Vera Verify' }).waitFor();

  // Registering needs a confirmed address: said before anything is tried.
  await go(page, `#/offerings/${off.id}/register`);
  await page.getByRole('main').getByText('Please confirm your email address first').waitFor();
  await announced(page, /Please confirm your email address first/, { assertive: true });
  assert.equal(await page.getByRole('button', { name: /Register/ }).count(), 0);
  await checkWidths(page, 'register, email not confirmed');
  const [{ n }] = await srv.sql(
    'select count(*)::int as n from registrar.enrollments e join registrar.users u on u.id = e.user_id where u.email = $1', [email]);
  assert.equal(n, 0);

  // The profile's banner sends the link again.
  await page.getByRole('link', { name: 'Send the link again from your profile' }).click();
  await page.getByRole('main').getByText('Your email address is not confirmed yet').waitFor();
  await checkWidths(page, 'profile, email not confirmed');
  await page.getByRole('button', { name: 'Send the link again' }).click();
  await announced(page, new RegExp(`We sent a new link to ${email.replace(/[.]/g, '\\.')}`));
  const links = await srv.sql(
    "select count(*)::int as n from registrar.outbox where recipient = $1 and subject like 'Confirm your email%'", [email]);
  assert.equal(links[0].n, 2, 'the sign-up link and the one sent again');

  // The link, as the learner's mail shows it.
  const token = await outboxToken(srv, email, 'verify');
  assert.ok(token);
  const verify = await openPage(browser, base, `#/verify?token=${token}`);
  assert.equal(new URL(verify.url()).hash, '#/verify', 'the token is taken out of the address bar');
  await verify.getByRole('main').getByText('Your email address is confirmed', { exact: true }).waitFor();
  await announced(verify, /Your email address is confirmed\. You can now register for courses\./);
  await checkWidths(verify, 'email confirmed');
  const [u] = await srv.sql('select email_verified_at from registrar.users where email = $1', [email]);
  assert.ok(u.email_verified_at);

  // The same link again: it has been used.
  const again = await openPage(browser, base, `#/verify?token=${token}`, { width: 360 });
  await again.getByRole('main').getByText('This link does not work any more').waitFor();
  await checkWidths(again, 'verification link used', { allowStatuses: [400] });

  // Now registering holds a seat; the profile has no banner any more.
  await go(verify, '#/profile');
  await verify.getByRole('button', { name: 'Edit profile' }).waitFor();
  assert.equal(await verify.getByRole('main').getByText('Your email address is not confirmed yet').count(), 0);
  await go(verify, `#/offerings/${off.id}/register`);
  await verify.getByRole('button', { name: 'Register and go to payment' }).click();
  await verify.waitForFunction(() => /^#\/registrations\/[0-9a-f-]{36}$/.test(location.hash));
  const [e] = await srv.sql(
    'select e.status from registrar.enrollments e join registrar.users u on u.id = e.user_id where u.email = $1', [email]);
  assert.equal(e.status, 'held');
});

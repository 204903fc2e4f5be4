// tests/e2e/privacy.test.mjs — "Your data" on the profile page in headless
// Chromium against the real server and a fresh database (issue 8, items 17
// and 18): "Download my data" saves the export as a file, and "Delete my
// account" asks for the password and a confirmation, erases the account
// and signs out. Each screen: clean under the CSP, axe without serious or
// critical violations, no sideways scrolling, at 1440 and 360 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer, client } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, signUp, uniqueEmail } from '../lib/accounts.mjs';
import { openBrowser } from './lib/browser.mjs';
import { announced, checkWidths, fieldError, go, openPage, settled } from './lib/pages.mjs';

const TIMEOUT = 120_000;

let srv;
let base;
let browser;

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  browser = await openBrowser();
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await srv?.stop();
  }
});

const banner = (page) => page.getByRole('banner');

async function signedInOnProfile(fullName) {
  const who = await signUp(client(srv.url), { full_name: fullName, email: uniqueEmail('privacy') });
  const page = await openPage(browser, base, '#/sign-in');
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(DEFAULT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await banner(page).getByRole('link', { name: fullName }).waitFor();
  await go(page, '#/profile');
  await page.getByRole('heading', { name: 'Your data' }).waitFor();
  return { page, who };
}

test('profile: "Download my data" saves the export of the account as a file', { timeout: TIMEOUT }, async () => {
  const { page, who } = await signedInOnProfile('Elisabeth Kubler');
  await checkWidths(page, 'profile with your data');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download my data' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /\.json$/);
  const data = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(data.profile.email, who.email);
  assert.equal(data.profile.full_name, 'Elisabeth Kubler');
  assert.deepEqual(data.enrollments, []);
  const rows = await srv.sql(`select count(*)::int as n from registrar.audit_log a join registrar.users u
                              on a.actor_id = u.id where u.email = $1 and a.action = 'privacy.export'`, [who.email]);
  assert.equal(rows[0].n, 1, 'the download was audited');
  await page.close();
});

test('profile: "Delete my account" asks for the password and a confirmation, erases, signs out', { timeout: TIMEOUT }, async () => {
  const { page, who } = await signedInOnProfile('Balfour Mount');
  await page.getByRole('link', { name: 'Delete my account' }).click();
  await settled(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Delete my account');
  await checkWidths(page, 'delete my account');

  const password = page.getByLabel('Your password');
  const confirm = page.getByLabel(/I understand/);
  const submit = page.getByRole('button', { name: 'Delete my account' });

  // Nothing filled in: both fields say what is missing, nothing is sent.
  await submit.click();
  assert.equal(await fieldError(page, password), 'Please enter your password.');
  assert.equal(await fieldError(page, confirm), 'Please confirm that you want to delete your account.');

  // A wrong password is named on its field, and the account stays.
  await password.fill('this is not my password');
  await confirm.check();
  await submit.click();
  await page.waitForFunction(() => document.querySelector('[name="password"]')?.getAttribute('aria-invalid') === 'true');
  assert.equal(await fieldError(page, password), 'This is not your current password.');
  await announced(page, /This is not your current password\./, { assertive: true });
  await checkWidths(page, 'delete my account after a wrong password', { allowStatuses: [400] });
  let [u] = await srv.sql('select erased_at from registrar.users where email = $1', [who.email]);
  assert.equal(u.erased_at, null);

  await password.fill(DEFAULT_PASSWORD);
  await submit.click();
  await page.waitForFunction(() => location.hash === '#/' || location.hash === '');
  await settled(page);
  await page.getByRole('main').getByText(/Your account has been deleted/).waitFor();
  await banner(page).getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await banner(page).getByRole('button', { name: 'Sign out' }).count(), 0);
  await checkWidths(page, 'home after deleting the account', { allowStatuses: [400] });

  [u] = await srv.sql('select count(*)::int as n from registrar.users where email = $1', [who.email]);
  assert.equal(u.n, 0, 'the email is gone from the accounts');
  const erased = await srv.sql(`select full_name from registrar.users where erased_at is not null and email like 'erased-%'`);
  assert.ok(erased.some((r) => r.full_name === 'Erased account'));
  // The cookie no longer opens anything.
  const cookies = await page.context().cookies();
  assert.equal(cookies.filter((c) => c.name === 'registrar_session').length, 0, 'the cookie was cleared');
  await page.close();
});

// tests/e2e/signin.test.mjs — accounts in headless Chromium against the real
// server: sign up, see one's name in the header, sign out, get a wrong
// password's sentence (shown next to the form and announced), sign in.
//
// Also checked from the browser's side: the session rides an HttpOnly,
// SameSite=Lax cookie that no script can read, the token is in no web
// storage, a signed-out token is dead on the server, and nothing breaks the
// page's Content-Security-Policy.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cspViolations, openBrowser } from './lib/browser.mjs';
import { startServer, client } from '../lib/harness.mjs';
import { uniqueEmail } from '../lib/accounts.mjs';

const TIMEOUT = 60_000;
const WRONG = 'The email address or password is not correct.';

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

// Waits until the router has rendered a screen with this heading.
async function screen(page, heading) {
  await page.getByRole('heading', { level: 1, name: heading }).waitFor({ timeout: 15_000 });
  await page.waitForFunction(() => !document.getElementById('main')?.hasAttribute('aria-busy'));
}

async function sessionCookie() {
  return (await browser.context.cookies()).find((c) => c.name === 'registrar_session');
}

// What scripts of the page can see: web storage and document.cookie.
async function scriptVisible(page) {
  return page.evaluate(() => JSON.stringify({
    local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie,
  }));
}

// A failed request (401 on a wrong password) is logged by Chromium itself;
// anything else in the console is the page's fault.
function pageErrors(page) {
  return {
    errors: page.problems.errors,
    console: page.problems.console.filter((m) => !/Failed to load resource: the server responded with a status of 401/.test(m)),
  };
}

test('sign up, sign out, a wrong password, sign in', { timeout: TIMEOUT }, async () => {
  const page = await browser.newPage();
  const email = uniqueEmail('browser');
  const password = 'a long and memorable passphrase';
  const account = page.locator('#account');

  await page.goto(new URL('#/sign-up', base).href);
  await screen(page, 'Create an account');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Full name').fill('Ann Browser');
  await page.getByLabel('Profession').selectOption('nurse');
  await page.getByRole('button', { name: 'Create account' }).click();

  // Signed in: the name in the header, a session cookie no script can read.
  await account.getByRole('link', { name: 'Ann Browser' }).waitFor({ timeout: 15_000 });
  const cookie = await sessionCookie();
  assert.ok(cookie, 'no registrar_session cookie after sign-up');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');
  const visible = await scriptVisible(page);
  assert.ok(!visible.includes(cookie.value), `the session token is visible to scripts: ${visible}`);
  assert.equal((await client(srv.url).get('/api/v1/me', { token: cookie.value })).status, 200);
  const [row] = await srv.sql('select full_name, profession from registrar.users where email = $1', [email]);
  assert.deepEqual(row, { full_name: 'Ann Browser', profession: 'nurse' });

  // Sign out: the header offers to sign in again; the token is dead on the server.
  await account.getByRole('button', { name: 'Sign out' }).click();
  await account.getByRole('link', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
  assert.equal(await sessionCookie(), undefined, 'the cookie outlived sign-out');
  assert.equal((await client(srv.url).get('/api/v1/me', { token: cookie.value })).status, 401);

  // A wrong password: a sentence a person understands, shown and announced.
  await page.goto(new URL('#/sign-in', base).href);
  await screen(page, 'Sign in');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('not my passphrase at all');
  await page.getByRole('main').getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('main').getByText(WRONG).waitFor({ timeout: 15_000 });
  await page.waitForFunction((text) => document.getElementById('status-assertive')?.textContent.includes(text),
    WRONG, { timeout: 5_000 });
  assert.equal(await sessionCookie(), undefined);
  assert.equal(await account.getByRole('link', { name: 'Sign in' }).count(), 1);

  // The right one.
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('main').getByRole('button', { name: 'Sign in' }).click();
  await account.getByRole('link', { name: 'Ann Browser' }).waitFor({ timeout: 15_000 });
  const again = await sessionCookie();
  assert.ok(again && again.value !== cookie.value, 'sign-in did not issue a new token');
  assert.ok(!(await scriptVisible(page)).includes(again.value));

  assert.deepEqual(pageErrors(page), { errors: [], console: [] });
  assert.deepEqual(await cspViolations(page), []);
});

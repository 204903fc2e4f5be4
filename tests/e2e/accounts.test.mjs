// tests/e2e/accounts.test.mjs — the account pages in headless Chromium
// against the real server and a fresh database (issue 3, item 7).
//
// Sign-up → sign-in → sign-out → the wrong-password message; problems shown
// as sentences next to their fields and announced; the session carried by the
// HttpOnly cookie and the CSRF token in sessionStorage, never a token in
// localStorage; the header's name after a reload and gone once the server
// ends the session; profile, password change, forgotten password and reset
// (through the real outbox); the sign-in rate limit shown with its wait.
// Every screen: clean under the CSP, axe without serious or critical
// violations, no sideways scrolling, at 360 and 1440 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, signUp, uniqueEmail } from '../lib/accounts.mjs';
import { openBrowser } from './lib/browser.mjs';
import {
  announced, assertClean, checkScreen, fieldError, go, openPage, settled,
} from './lib/pages.mjs';

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

async function signInThroughForm(page, email, password) {
  await go(page, '#/sign-in');
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

async function waitSignedIn(page, name) {
  await banner(page).getByRole('link', { name }).waitFor();
  assert.match(await banner(page).innerText(), new RegExp(`Signed in as\\s+${name}`));
}

async function waitSignedOut(page) {
  await banner(page).getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await banner(page).getByRole('button', { name: 'Sign out' }).count(), 0);
}

async function liveSessions(userId) {
  const rows = await srv.sql(
    'select count(*)::int as n from registrar.auth_sessions where user_id = $1 and revoked_at is null', [userId]);
  return rows[0].n;
}

test('sign-up → sign-in → sign-out → a wrong password is refused in words', { timeout: TIMEOUT }, async () => {
  const email = uniqueEmail('ada');
  const page = await openPage(browser, base, '#/sign-up');
  assert.equal(await page.title(), 'Create an account — Registrar');
  await waitSignedOut(page);

  // The password hint counts as you type.
  const password = page.getByLabel('Password', { exact: true });
  await password.fill('short');
  assert.match(await page.locator('.field__hint', { hasText: 'characters' }).first().innerText(),
    /5 of at least 12 characters: 7 more needed/);
  await password.fill(DEFAULT_PASSWORD);
  assert.match(await page.getByRole('main').getByText(/characters: long enough/).innerText(), /28 characters: long enough/);
  assert.match(await password.getAttribute('aria-describedby'), /hint/, 'the hint is tied to the field');

  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Full name').fill('Ada Lovelace');
  await page.getByLabel('Profession').selectOption({ label: 'Nurse' });
  await page.getByLabel('Credentials').fill('RN');
  await page.getByLabel('Institution').fill('Mercy Hospital');
  await page.getByRole('button', { name: 'Create account' }).click();

  // Signed straight in: the name is in the header, and the welcome announced.
  await waitSignedIn(page, 'Ada Lovelace');
  await announced(page, /Welcome, Ada Lovelace\. Your account is created and you are signed in\./);
  const [user] = await srv.sql('select id, profession, credentials, institution from registrar.users where email = $1', [email]);
  const { id: _id, ...stored } = user;
  assert.deepEqual(stored, { profession: 'nurse', credentials: 'RN', institution: 'Mercy Hospital' });

  // The session rides the HttpOnly cookie; the tab keeps only the CSRF token.
  const cookies = await browser.context.cookies(base);
  const session = cookies.find((c) => c.name === 'registrar_session');
  assert.ok(session, 'the session cookie is set');
  assert.equal(session.httpOnly, true, 'HttpOnly');
  assert.equal(session.sameSite, 'Lax');
  const storage = await page.evaluate(() => ({
    local: Object.fromEntries(Object.entries(localStorage)),
    session: Object.fromEntries(Object.entries(sessionStorage)),
    cookie: document.cookie,
  }));
  assert.deepEqual(Object.keys(storage.session), ['registrar.csrf_token']);
  assert.notEqual(storage.session['registrar.csrf_token'], session.value);
  for (const value of Object.values(storage.local)) {
    assert.ok(!value.includes(session.value), 'no session token in localStorage');
    assert.ok(value.length < 8, `localStorage holds no token (${JSON.stringify(storage.local)})`);
  }
  assert.ok(!storage.cookie.includes('registrar_session'), 'scripts cannot read the session cookie');

  // Sign out: the server revokes the session, the header says so.
  assert.equal(await liveSessions(user.id), 1);
  await banner(page).getByRole('button', { name: 'Sign out' }).click();
  await settled(page);
  await waitSignedOut(page);
  assert.equal(new URL(page.url()).hash, '#/sign-in');
  await page.getByRole('main').getByText('You are signed out.', { exact: true }).waitFor();
  await announced(page, /You are signed out\./);
  assert.equal(await liveSessions(user.id), 0, 'sign-out revoked the session');
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), [], 'the CSRF token is gone');

  // Sign in again through the form.
  await signInThroughForm(page, email, DEFAULT_PASSWORD);
  await waitSignedIn(page, 'Ada Lovelace');
  await announced(page, /Welcome back, Ada Lovelace\. You are signed in\./);
  assert.equal(new URL(page.url()).hash, '#/', 'back to the courses');
  await banner(page).getByRole('button', { name: 'Sign out' }).click();
  await waitSignedOut(page);

  // A wrong password: one sentence, shown on the form, announced, focused.
  await signInThroughForm(page, email, 'not the right password');
  const summary = page.locator('.form-summary');
  await summary.waitFor({ state: 'visible' });
  assert.match(await summary.innerText(), /The email address or password is not correct\./);
  const said = await announced(page, /The email address or password is not correct\./, { assertive: true });
  assert.doesNotMatch(said, /401|invalid-credentials/, 'no codes, only words');
  assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('form-summary')), true,
    'focus moves to the problem');
  assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the wrong password is cleared');
  await waitSignedOut(page);
  await checkScreen(page, 'sign-in with a wrong password at 1440 px', { allowStatuses: [401] });
  await page.setViewportSize({ width: 360, height: 800 });
  await checkScreen(page, 'sign-in with a wrong password at 360 px', { allowStatuses: [401] });
  await page.close();
});

test('sign-up problems are sentences next to their fields, at 360 px', { timeout: TIMEOUT }, async () => {
  const taken = await signUp(client(srv.url), { email: uniqueEmail('taken') });
  const page = await openPage(browser, base, '#/sign-up', { width: 360 });
  await checkScreen(page, 'sign-up at 360 px');

  await page.getByRole('button', { name: 'Create account' }).click();
  const email = page.getByLabel('Email address');
  assert.equal(await fieldError(page, email), 'Please enter your email address.');
  assert.equal(await fieldError(page, page.getByLabel('Password', { exact: true })), 'Please enter a password.');
  assert.equal(await fieldError(page, page.getByLabel('Full name')), 'Please enter your full name.');
  assert.equal(await fieldError(page, page.getByLabel('Profession')), 'Please choose your profession.');
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  await announced(page, /There are 4 problems\. Please enter your email address\./, { assertive: true });
  assert.equal(await page.evaluate(() => document.activeElement?.name), 'email', 'focus on the first field in error');
  await checkScreen(page, 'sign-up with problems at 360 px');

  // Fixing a field clears its error; the server's own answers land on their field.
  await email.fill(taken.email.toUpperCase());
  assert.equal(await fieldError(page, email), null);
  await page.getByLabel('Password', { exact: true }).fill('twelve chars');
  await page.getByLabel('Full name').fill('Grace Hopper');
  await page.getByLabel('Profession').selectOption('physician');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForFunction(() => document.querySelector('[name="email"]')?.getAttribute('aria-invalid') === 'true');
  assert.equal(await fieldError(page, email),
    'An account with this email address already exists. Try signing in, or reset your password.');
  await announced(page, /already exists/, { assertive: true });

  // A password over 128 characters is refused before it is sent.
  await email.fill(uniqueEmail('long'));
  await page.getByLabel('Password', { exact: true }).fill('x'.repeat(129));
  assert.match(await page.getByRole('main').getByText(/too many \(at most 128\)/).innerText(), /129 characters: 1 too many/);
  await page.getByRole('button', { name: 'Create account' }).click();
  assert.equal(await fieldError(page, page.getByLabel('Password', { exact: true })),
    'Password must be at most 128 characters; it has 129.');
  await checkScreen(page, 'sign-up, email taken, at 360 px', { allowStatuses: [409] });
  await page.close();
});

test('the header follows the session: a reload keeps it, a revoked session ends it', { timeout: TIMEOUT }, async () => {
  const who = await signUp(client(srv.url), { full_name: 'Mary Seacole', email: uniqueEmail('mary') });
  const page = await openPage(browser, base, '#/');
  await signInThroughForm(page, who.email, DEFAULT_PASSWORD);
  await waitSignedIn(page, 'Mary Seacole');

  await page.reload();
  await settled(page);
  await waitSignedIn(page, 'Mary Seacole'); // GET /api/v1/me on load

  // A new tab of the same browser shares the cookie and finds the name too.
  const other = await openPage(browser, base, '#/');
  await waitSignedIn(other, 'Mary Seacole');
  // ...and learns the session's CSRF token, so it can change things too.
  const status = await other.evaluate(async () => {
    const csrf = sessionStorage.getItem('registrar.csrf_token');
    const r = await fetch('/api/v1/me', {
      method: 'PATCH', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf ?? '' },
      body: JSON.stringify({ institution: 'Second tab' }),
    });
    return r.status;
  });
  assert.equal(status, 200, 'an unsafe request from a second tab');
  await other.close();

  await srv.sql(
    `update registrar.auth_sessions set revoked_at = now()
     where user_id = (select id from registrar.users where email = $1)`, [who.email]);
  await page.reload();
  await settled(page);
  await waitSignedOut(page);
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), []);

  // Pages that need a session say so and offer to sign in, returning after.
  await go(page, '#/profile');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Your profile');
  const signIn = page.getByRole('main').getByRole('link', { name: 'Sign in' });
  assert.equal(await signIn.getAttribute('href'), '#/sign-in?next=%2Fprofile');
  await signIn.click();
  await settled(page);
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(DEFAULT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForFunction(() => location.hash === '#/profile');
  await settled(page);
  await page.getByText(who.email, { exact: true }).waitFor();
  await assertClean(page, 'header after a revoked session', { allowStatuses: [401] });
  await page.close();
});

test('profile: view, edit, and change the password', { timeout: TIMEOUT }, async () => {
  const who = await signUp(client(srv.url), { full_name: 'Cicely Saunders', profession: 'physician', email: uniqueEmail('cicely') });
  const page = await openPage(browser, base, '#/', { width: 360 });
  await signInThroughForm(page, who.email, DEFAULT_PASSWORD);
  await waitSignedIn(page, 'Cicely Saunders');

  await banner(page).getByRole('link', { name: 'Cicely Saunders' }).click();
  await settled(page);
  const details = page.locator('dl.details');
  await details.waitFor();
  const text = await details.innerText();
  assert.match(text, /Full name\s+Cicely Saunders/);
  assert.match(text, new RegExp(`Email address\\s+${who.email.replace(/[.]/g, '\\.')}`));
  assert.match(text, /Profession\s+Physician/);
  assert.match(text, /Role\s+Learner/);
  await checkScreen(page, 'profile at 360 px');

  await page.getByRole('button', { name: 'Edit profile' }).click();
  await page.getByRole('heading', { name: 'Edit your profile' }).waitFor();
  await checkScreen(page, 'profile editor at 360 px');
  await page.getByLabel('Full name').fill('');
  await page.getByRole('button', { name: 'Save profile' }).click();
  assert.equal(await fieldError(page, page.getByLabel('Full name')), 'Please enter your full name.');
  await page.getByLabel('Full name').fill('Dame Cicely Saunders');
  await page.getByLabel('Profession').selectOption({ label: 'Chaplain' });
  await page.getByLabel('Institution').fill("St Christopher's Hospice");
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByRole('main').getByText('Your profile is saved.', { exact: true }).waitFor();
  await announced(page, /Your profile is saved\./);
  await waitSignedIn(page, 'Dame Cicely Saunders');
  assert.match(await details.innerText(), /Profession\s+Chaplain[\s\S]*Institution\s+St Christopher's Hospice/);
  const [row] = await srv.sql('select full_name, profession, institution from registrar.users where email = $1', [who.email]);
  assert.deepEqual(row, { full_name: 'Dame Cicely Saunders', profession: 'chaplain', institution: "St Christopher's Hospice" });

  // Change password: the wrong current password is named on its field.
  await page.getByRole('link', { name: 'Change password' }).click();
  await settled(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Change password');
  await checkScreen(page, 'change password at 360 px');
  const fresh = 'a brand new passphrase here';
  await page.getByLabel('Current password').fill('this is not it at all');
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByLabel('Repeat the new password').fill(fresh);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForFunction(() => document.querySelector('[name="current_password"]')?.getAttribute('aria-invalid') === 'true');
  assert.equal(await fieldError(page, page.getByLabel('Current password')), 'This is not your current password.');
  await announced(page, /This is not your current password\./, { assertive: true });

  await page.getByLabel('Current password').fill(DEFAULT_PASSWORD);
  await page.getByLabel('Repeat the new password').fill(`${fresh}!`);
  await page.getByRole('button', { name: 'Change password' }).click();
  assert.equal(await fieldError(page, page.getByLabel('Repeat the new password')),
    'The two passwords are not the same. Please type the new password again.');
  await page.getByLabel('Repeat the new password').fill(fresh);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.waitForFunction(() => location.hash === '#/profile');
  await page.getByRole('main').getByText(/Your password is changed\./).waitFor();
  await checkScreen(page, 'profile after a password change', { allowStatuses: [400] });

  // The new password works, the old one does not.
  await banner(page).getByRole('button', { name: 'Sign out' }).click();
  await waitSignedOut(page);
  const c = client(srv.url);
  assert.equal((await c.post('/api/v1/auth/sessions', { json: { email: who.email, password: DEFAULT_PASSWORD } })).status, 401);
  await signInThroughForm(page, who.email, fresh);
  await waitSignedIn(page, 'Dame Cicely Saunders');
  await page.close();
});

test('forgotten password: the same answer for everyone, and the emailed link resets it', { timeout: TIMEOUT }, async () => {
  const who = await signUp(client(srv.url), { full_name: 'Elisabeth Kübler-Ross', email: uniqueEmail('ekr') });
  const page = await openPage(browser, base, '#/sign-in', { width: 1440 });
  await page.getByRole('link', { name: 'Forgotten your password?' }).click();
  await settled(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Forgotten password');
  await checkScreen(page, 'forgotten password at 1440 px');

  const answers = [];
  for (const email of [uniqueEmail('nobody'), who.email]) {
    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    const said = await announced(page, new RegExp(`If an account exists for ${email.replace(/[.]/g, '\\.')}`));
    answers.push(said.replace(email, 'EMAIL'));
  }
  assert.equal(answers[0], answers[1], 'an unknown and a known address get the same answer');
  assert.match(answers[0], /If an account exists for EMAIL, we have sent a link to reset its password\./);
  await page.setViewportSize({ width: 360, height: 800 });
  await checkScreen(page, 'forgotten password, sent, at 360 px');

  const [message] = await srv.sql("select body from registrar.outbox where recipient = $1 and subject like 'Reset%'", [who.email]);
  const link = /\/#\/reset\?token=([^\s]+)/.exec(message.body);
  assert.ok(link, `the outbox message carries a reset link: ${message.body}`);
  const reset = await openPage(browser, base, `#/reset?token=${link[1]}`, { width: 360 });
  assert.equal(new URL(reset.url()).hash, '#/reset', 'the token is taken out of the address bar');
  await checkScreen(reset, 'reset at 360 px');
  const fresh = 'on death and dying 1969';
  await reset.getByLabel('New password', { exact: true }).fill('too short');
  await reset.getByRole('button', { name: 'Save new password' }).click();
  assert.equal(await fieldError(reset, reset.getByLabel('New password', { exact: true })),
    'New password must be at least 12 characters; it has 9.');
  await reset.getByLabel('New password', { exact: true }).fill(fresh);
  await reset.getByLabel('Repeat the new password').fill(fresh);
  await reset.getByRole('button', { name: 'Save new password' }).click();
  await reset.waitForFunction(() => location.hash === '#/sign-in');
  await reset.getByRole('main').getByText('Your password is changed. Please sign in with your new password.').waitFor();
  await signInThroughForm(reset, who.email, fresh);
  await waitSignedIn(reset, 'Elisabeth Kübler-Ross');
  await reset.close();

  // The link works once.
  const again = await openPage(browser, base, `#/reset?token=${link[1]}`, { width: 1440 });
  await again.getByLabel('New password', { exact: true }).fill('yet another passphrase');
  await again.getByLabel('Repeat the new password').fill('yet another passphrase');
  await again.getByRole('button', { name: 'Save new password' }).click();
  await again.locator('.form-summary').waitFor({ state: 'visible' });
  assert.match(await again.locator('.form-summary').innerText(), /This link is invalid or has expired\. Please request a new one\./);
  await again.getByRole('link', { name: 'Ask for a new reset link' }).waitFor();
  await checkScreen(again, 'reset with a used link', { allowStatuses: [400] });
  await again.close();
  await page.close();
});

test('too many failed sign-ins: the form says how long to wait', { timeout: TIMEOUT }, async () => {
  // A server of its own: the failures count against 127.0.0.1 for the whole database.
  const own = await startServer();
  try {
    const c = client(own.url);
    const who = await signUp(c, { email: uniqueEmail('limited') });
    // Ten failures from one address (five for each of two other accounts:
    // past five, an account only slows down) stop that address for a while.
    for (const decoy of [uniqueEmail('decoy'), uniqueEmail('decoy')]) {
      for (let i = 0; i < 5; i++) {
        const r = await c.post('/api/v1/auth/sessions', { json: { email: decoy, password: `wrong password ${i}` } });
        assert.equal(r.status, 401);
      }
    }
    const last = await c.post('/api/v1/auth/sessions', { json: { email: who.email, password: DEFAULT_PASSWORD } });
    assert.equal(last.status, 429);
    const retry = Number(last.headers.get('retry-after'));
    assert.ok(retry > 60, `Retry-After ${retry}`);

    const page = await openPage(browser, new URL('/', own.url).href, '#/sign-in', { width: 360 });
    await page.getByLabel('Email address').fill(who.email);
    await page.getByLabel('Password', { exact: true }).fill(DEFAULT_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.locator('.form-summary').waitFor({ state: 'visible' });
    const minutes = Math.ceil(retry / 60);
    const expected = `Too many attempts. Please wait and try again in about ${minutes} minutes.`;
    assert.match(await page.locator('.form-summary').innerText(), new RegExp(expected.replace(/[.]/g, '\\.')));
    await announced(page, /Too many attempts\. Please wait and try again in about \d+ minutes\./, { assertive: true });
    await checkScreen(page, 'sign-in rate limited at 360 px', { allowStatuses: [429] });
    await page.close();
  } finally {
    await own.stop();
  }
});

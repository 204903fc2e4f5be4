// tests/e2e/lib/pages.mjs — what every browser test of a screen checks:
// the screen rendered, ran clean (no uncaught exception, no console error
// other than the HTTP errors the test provoked on purpose, no CSP
// violation), passes axe-core's WCAG 2 A/AA rules without a serious or
// critical violation, and never scrolls sideways.
//
//   const page = await openPage(browser, base, '#/sign-in', { width: 360 });
//   await checkScreen(page, 'sign-in at 360 px', { allowStatuses: [401] });

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PASSWORD } from '../../lib/common.mjs';
import { cspViolations, describeViolations, openBrowser, runAxe } from './browser.mjs';

// Screenshots go to $REGISTRAR_E2E_SHOTS when it is set (for a person to look at).
const SHOTS = process.env.REGISTRAR_E2E_SHOTS || null;

export async function shot(page, name) {
  if (!SHOTS) return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// checkScreen at 1440 and 360 px (and first in the dark scheme when dark),
// with a screenshot of each; leaves the page light and 1440 px wide.
export async function checkWidths(page, name, { dark = false, ...opts } = {}) {
  if (dark) {
    await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    await checkScreen(page, `${name} in the dark scheme`, opts);
    await shot(page, `${name}-dark`);
    await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  }
  await checkScreen(page, `${name} at 1440 px`, opts);
  await shot(page, `${name}-1440`);
  await page.setViewportSize({ width: 360, height: 800 });
  await checkScreen(page, `${name} at 360 px`, opts);
  await shot(page, `${name}-360`);
  await page.setViewportSize({ width: 1440, height: 900 });
}

// Waits until the router has rendered a screen (it clears aria-busy on <main>
// and every screen has an h1); on timeout, says what the page showed.
export async function settled(page, { timeout = 15_000 } = {}) {
  try {
    await page.waitForFunction(() => {
      const main = document.getElementById('main');
      return main && !main.hasAttribute('aria-busy') && main.querySelector('h1');
    }, null, { timeout });
  } catch (err) {
    const shown = await page.evaluate(() => document.getElementById('main')?.innerText).catch(() => '?');
    const csp = await cspViolations(page).catch(() => []);
    throw new Error(`the screen did not render: main shows ${JSON.stringify(shown)}; ` +
      `problems ${JSON.stringify(page.problems)}; CSP violations ${JSON.stringify(csp)}`, { cause: err });
  }
}

// A new page at `hash` (e.g. '#/sign-in'), at the given width.
export async function openPage(browser, base, hash, { width = 1440, height = 900, colorScheme = 'light' } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height });
  await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
  const response = await page.goto(new URL(`/${hash}`, base).href);
  assert.ok([200, 304].includes(response.status()), `the shell is served (${response.status()})`);
  await settled(page);
  return page;
}

// Same-document navigation to another screen of an open page.
export async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await settled(page);
}

// Chromium logs every failed fetch as a console error ("Failed to load
// resource: the server responded with a status of 409 (Conflict)"): the
// statuses a test provoked on purpose are allowed, nothing else.
export async function assertClean(page, what, { allowStatuses = [] } = {}) {
  assert.deepEqual(page.problems.errors, [], `${what}: no uncaught exceptions`);
  const unexpected = page.problems.console.filter((text) => {
    const m = /the server responded with a status of (\d{3})/.exec(text);
    return !(m && allowStatuses.includes(Number(m[1])));
  });
  assert.deepEqual(unexpected, [], `${what}: no console errors`);
  assert.deepEqual(await cspViolations(page), [], `${what}: no CSP violations`);
}

export async function assertAccessible(page, what) {
  const violations = await runAxe(page);
  assert.equal(violations.length, 0,
    `${what}: axe found serious or critical WCAG 2 A/AA violations:\n${describeViolations(violations)}`);
}

export async function assertNoSidewaysScroll(page, what) {
  const [scrollWidth, clientWidth] = await page.evaluate(
    () => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scrollWidth <= clientWidth, `${what}: the page is ${scrollWidth} px wide in a ${clientWidth} px viewport`);
}

// All of the above for the screen as it is now.
export async function checkScreen(page, what, opts = {}) {
  await assertNoSidewaysScroll(page, what);
  await assertAccessible(page, what);
  await assertClean(page, what, opts);
}

// Intl writes thin and narrow no-break spaces ('8:30\u2009–\u20099:30\u202fAM'):
// compare text with plain spaces.
export function norm(text) {
  return String(text ?? '').replace(/[\u2009\u202f\u00a0]/g, ' ');
}

// Resolves with the text of the assertive (role=alert) or polite (role=status)
// live region once it matches `pattern`.
export async function announced(page, pattern, { assertive = false, timeout = 20_000 } = {}) {
  const id = assertive ? 'status-assertive' : 'status-polite';
  await page.waitForFunction(([i, src, flags]) => new RegExp(src, flags).test(
    (document.getElementById(i)?.textContent ?? '').replace(/[\u2009\u202f\u00a0]/g, ' ')),
  [id, pattern.source, pattern.flags], { timeout });
  return norm(await page.evaluate((i) => document.getElementById(i).textContent, id));
}

// The error shown next to a field (its aria-describedby error element), or null.
export async function fieldError(page, locator) {
  return locator.evaluate((el) => {
    const ids = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
    const err = ids.map((i) => document.getElementById(i)).find((n) => n?.classList.contains('field__error'));
    return err && !err.hidden ? err.textContent.replace(/^Error: /, '') : null;
  }).then((t) => (t === null ? null : norm(t)));
}

// A browser of its own (its own cookies) signed in as who ({email, user:
// {full_name}}) through the sign-in screen at base, in timezoneId when
// given; → { browser, page }, the page settled on the screen after sign-in.
export async function signedInBrowser(base, who, { timezoneId, password = PASSWORD } = {}) {
  const browser = await openBrowser(timezoneId ? { timezoneId } : {});
  const page = await openPage(browser, base, '#/sign-in');
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('banner').getByRole('link', { name: who.user.full_name }).waitFor();
  await settled(page);
  return { browser, page };
}

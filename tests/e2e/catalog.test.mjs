// tests/e2e/catalog.test.mjs — the web client's catalog in headless Chromium
// against the real server and a fresh database (tests/lib/harness.mjs).
//
// The page must show the four seeded courses, run under the server's CSP
// without a single violation or console error, pass axe-core's WCAG 2 A/AA
// rules with no serious or critical violation at 360 px and 1440 px, never
// scroll sideways at 360 px, and be usable from the keyboard alone.
//
// REGISTRAR_E2E_BASE_URL=http://127.0.0.1:8080 runs the same checks against
// a server that is already running (for example `scripts/dev run`) instead
// of starting one.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cspViolations, describeViolations, openBrowser, runAxe } from './lib/browser.mjs';

const COURSES = [
  ['pcep', 'Palliative Care Education and Practice'],
  ['practical-aspects', 'Practical Aspects of Palliative Care'],
  ['hospitalists-intensivists', 'Palliative Care for Hospitalists and Intensivists'],
  ['serious-illness-communication', 'Serious Illness Communication'],
];
const WIDTHS = [360, 1440];
const TIMEOUT = 60_000;

let srv = null;
let base;
let browser;

before(async () => {
  if (process.env.REGISTRAR_E2E_BASE_URL) {
    base = new URL('/', process.env.REGISTRAR_E2E_BASE_URL).href;
  } else {
    const { startServer } = await import('../lib/harness.mjs');
    srv = await startServer();
    base = new URL('/', srv.url).href;
  }
  browser = await openBrowser();
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await srv?.stop();
  }
});

// Opens `hash` at the given width and waits until the screen has finished
// loading (the router clears aria-busy on <main> when it has).
async function open(hash, { width = 1440, colorScheme = 'light' } = {}) {
  const page = await browser.newPage();
  await page.setViewportSize({ width, height: 900 });
  await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
  const response = await page.goto(new URL(hash, base).href);
  assert.ok([200, 304].includes(response.status()), `the shell is served (${response.status()})`);
  await settled(page);
  return { page, response };
}

// Waits until the router has rendered a screen; on timeout, says what the
// page showed and what went wrong in it.
async function settled(page) {
  try {
    await page.waitForFunction(() => {
      const main = document.getElementById('main');
      return main && !main.hasAttribute('aria-busy') && main.querySelector('h1');
    }, null, { timeout: 15_000 });
  } catch (err) {
    const shown = await page.evaluate(() => document.getElementById('main')?.innerText).catch(() => '?');
    const csp = await cspViolations(page).catch(() => []);
    throw new Error(`the screen did not render: main shows ${JSON.stringify(shown)}; ` +
      `problems ${JSON.stringify(page.problems)}; CSP violations ${JSON.stringify(csp)}`, { cause: err });
  }
}

async function assertClean(page, what) {
  assert.deepEqual(page.problems.errors, [], `${what}: no uncaught exceptions`);
  assert.deepEqual(page.problems.console, [], `${what}: no console errors`);
  assert.deepEqual(await cspViolations(page), [], `${what}: no CSP violations`);
}

async function assertAccessible(page, what) {
  const violations = await runAxe(page);
  assert.equal(violations.length, 0,
    `${what}: axe found serious or critical WCAG 2 A/AA violations:\n${describeViolations(violations)}`);
}

async function assertNoSidewaysScroll(page, what) {
  const [scrollWidth, clientWidth] = await page.evaluate(
    () => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scrollWidth <= clientWidth,
    `${what}: the page is ${scrollWidth} px wide in a ${clientWidth} px viewport`);
}

async function apiJson(path) {
  const res = await fetch(new URL(path, base));
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

test('the shell is served under a CSP without inline scripts or styles', { timeout: TIMEOUT }, async () => {
  const { page, response } = await open('/');
  const headers = response.headers();
  assert.match(headers['content-type'] ?? '', /^text\/html/);
  const csp = headers['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/, 'CSP present');
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, 'no unsafe-inline or unsafe-eval');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  // Nothing inline for the CSP to have to block.
  const inline = await page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => !s.src).length,
    styleAttrs: document.querySelectorAll('[style]').length,
    handlers: [...document.querySelectorAll('*')]
      .filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
  }));
  assert.deepEqual(inline, { scripts: 0, styleAttrs: 0, handlers: 0 });
  await assertClean(page, 'catalog');
  // A reload revalidates the cached files (304): the page must still run
  // under its own policy.
  await page.reload();
  await settled(page);
  await page.getByRole('link', { name: COURSES[0][1], exact: true }).waitFor();
  await assertClean(page, 'catalog after a reload');
  await page.close();
});

for (const width of WIDTHS) {
  test(`at ${width} px the four courses are listed, clean and accessible`, { timeout: TIMEOUT }, async () => {
    const { page } = await open('/', { width });
    const what = `catalog at ${width} px`;
    for (const [slug, title] of COURSES) {
      const link = page.getByRole('link', { name: title, exact: true });
      await link.waitFor({ state: 'visible' });
      assert.equal(await link.getAttribute('href'), `#/courses/${slug}`, `${title} links to its page`);
    }
    assert.equal(await page.locator('.course-list > li').count(), COURSES.length, 'exactly four courses');
    assert.equal(await page.title(), 'Courses — Registrar');
    // Landmarks and the names in the header.
    for (const role of ['banner', 'navigation', 'main', 'contentinfo']) {
      assert.ok(await page.getByRole(role).first().isVisible(), `${role} landmark present`);
    }
    assert.match(await page.getByRole('banner').innerText(), /Registrar/);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Courses');
    // The status region told screen-reader users the list arrived.
    await page.waitForFunction(
      () => /4 courses loaded/.test(document.getElementById('status-polite')?.textContent ?? ''));
    await assertNoSidewaysScroll(page, what);
    await assertClean(page, what);
    await assertAccessible(page, what);
    assert.deepEqual(await cspViolations(page), [], `${what}: no CSP violations during the audit`);
    await page.close();
  });
}

test('the dark colour scheme is accessible too', { timeout: TIMEOUT }, async () => {
  const { page } = await open('/', { width: 360, colorScheme: 'dark' });
  await page.getByRole('link', { name: COURSES[0][1], exact: true }).waitFor();
  await assertAccessible(page, 'catalog in dark scheme');
  await assertClean(page, 'catalog in dark scheme');
  await page.close();
});

test('the keyboard alone reaches a course and opens it', { timeout: TIMEOUT }, async () => {
  const { page } = await open('/');
  await page.getByRole('link', { name: COURSES[0][1], exact: true }).waitFor();

  // The first Tab stop is the skip link, and it leads into <main>.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()),
    'Skip to main content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main', 'skip link focuses main');
  assert.equal(new URL(page.url()).hash, '', 'the skip link leaves the address alone');

  // From there, Tab reaches the first course link (the API's order) before
  // anything else.
  const first = await page.locator('.course-list a').first().getAttribute('href');
  const [slug, title] = COURSES.find(([s]) => `#/courses/${s}` === first) ?? [];
  assert.ok(slug, `the first link ${first} is one of the four courses`);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => ({
    href: document.activeElement?.getAttribute('href'),
    text: document.activeElement?.textContent?.trim(),
    visibleFocus: document.activeElement?.matches(':focus-visible'),
  }));
  assert.deepEqual(focused, { href: first, text: title, visibleFocus: true },
    'the first Tab in main lands, visibly, on the first course');

  // Enter opens the course; focus moves to its heading.
  await page.keyboard.press('Enter');
  await page.waitForFunction((t) => document.activeElement?.tagName === 'H1'
    && document.activeElement.textContent.trim() === t, title);
  assert.equal(new URL(page.url()).hash, `#/courses/${slug}`);
  assert.equal(await page.title(), `${title} — Registrar`);
  await assertClean(page, 'keyboard navigation');
  await page.close();
});

test('a course page shows the course and its dates or "No dates announced yet"', { timeout: TIMEOUT }, async () => {
  for (const [slug, title] of COURSES) {
    const course = await apiJson(`/api/v1/courses/${slug}`);
    const { page } = await open(`/#/courses/${slug}`, { width: 360 });
    const what = `course ${slug} at 360 px`;
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), title);
    if (course.summary) await page.getByText(course.summary, { exact: true }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Dates and registration' }).waitFor();
    const offerings = course.offerings ?? [];
    if (offerings.length === 0) {
      await page.getByText('No dates announced yet', { exact: true }).waitFor();
    } else {
      assert.equal(await page.locator('.offering-list > li').count(), offerings.length,
        `${what}: one entry per offering`);
    }
    await assertNoSidewaysScroll(page, what);
    await assertClean(page, what);
    if (slug === 'pcep') await assertAccessible(page, what);
    await page.close();
  }
});

test('api.js turns problems into sentences and sends the CSRF token, not a session token', { timeout: TIMEOUT }, async () => {
  const { page } = await open('/');
  const sent = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname.startsWith('/api/v1/')) sent.push({ method: req.method(), headers: req.headers() });
  });
  const out = await page.evaluate(async () => {
    const api = await import('/js/api.js');
    const result = {};
    try {
      await api.courses.get('no-such-course');
      result.notFound = 'resolved';
    } catch (e) {
      result.notFound = { isApiError: e instanceof api.ApiError, status: e.status, slug: e.slug, message: e.message };
    }
    api.setCsrfToken('csrf-test-value');
    result.storage = { session: Object.keys(sessionStorage), local: Object.keys(localStorage) };
    try {
      await api.request('DELETE', '/auth/sessions/current');
      result.unsafe = 'resolved';
    } catch (e) {
      result.unsafe = { isApiError: e instanceof api.ApiError, status: e.status, slug: e.slug, message: e.message };
    }
    // A 401 says there is no session: the tab forgets its CSRF token too.
    result.afterUnauthenticated = { session: Object.keys(sessionStorage), local: Object.keys(localStorage) };
    api.clearCsrfToken();
    return result;
  });
  assert.deepEqual(out.notFound, {
    isApiError: true,
    status: 404,
    slug: 'not-found',
    message: 'We could not find what you were looking for. It may have been moved or removed.',
  });
  // Not signed in, so the server refuses the sign-out; what matters is what was sent.
  assert.equal(out.unsafe.isApiError, true);
  assert.ok(out.unsafe.status >= 400 && out.unsafe.message.length > 20, JSON.stringify(out.unsafe));
  const del = sent.find((r) => r.method === 'DELETE');
  assert.ok(del, 'the DELETE was sent');
  assert.equal(del.headers['x-csrf-token'], 'csrf-test-value');
  assert.equal(del.headers.authorization, undefined, 'no bearer token from the browser');
  const get = sent.find((r) => r.method === 'GET');
  assert.equal(get.headers['x-csrf-token'], undefined, 'no CSRF token on safe methods');
  assert.deepEqual(out.storage, { session: ['registrar.csrf_token'], local: [] });
  assert.equal(out.unsafe.slug, 'unauthenticated');
  assert.deepEqual(out.afterUnauthenticated, { session: [], local: [] });
  assert.deepEqual(page.problems.errors, []);
  assert.deepEqual(await cspViolations(page), []);
  await page.close();
});

test('an unknown course says so in words', { timeout: TIMEOUT }, async () => {
  const { page } = await open('/#/courses/no-such-course');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Course not found');
  await page.getByRole('link', { name: 'See all courses' }).waitFor();
  // The browser itself logs the 404 of the API call; nothing else may fail.
  assert.deepEqual(page.problems.errors, []);
  assert.ok(page.problems.console.every((t) => /404/.test(t)), page.problems.console.join('\n'));
  assert.deepEqual(await cspViolations(page), []);
  await page.close();
});

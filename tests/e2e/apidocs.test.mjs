// tests/e2e/apidocs.test.mjs — /api/docs: the API reference rendered from the
// server's OpenAPI document by Swagger UI (web/vendor/, from the pinned
// swagger-ui-dist), in headless Chromium against the real server.
//
// The page must load under its own CSP (scripts from 'self' only; inline
// styles are the one relaxation, and only on this page) without a single
// violation or script error, and show the document's routes.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cspViolations, openBrowser } from './lib/browser.mjs';
import { startServer } from '../lib/harness.mjs';

const TIMEOUT = 60_000;

let srv;
let browser;

before(async () => {
  srv = await startServer();
  browser = await openBrowser();
});

after(async () => {
  try {
    await browser?.close();
  } finally {
    await srv?.stop();
  }
});

test('/api/docs renders the OpenAPI document: its routes, under a CSP without inline scripts', { timeout: TIMEOUT }, async () => {
  const doc = await (await fetch(new URL('/api/v1/openapi.json', srv.url))).json();
  const page = await browser.newPage();
  const response = await page.goto(new URL('/api/docs', srv.url).href);
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers['content-type'] ?? '', /^text\/html/);
  const csp = headers['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self';/, 'scripts from the server only');
  assert.doesNotMatch(csp, /script-src[^;]*unsafe/, 'no unsafe-inline or unsafe-eval for scripts');

  // Swagger UI lists one block per operation, by tag.
  await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
  const shown = await page.$$eval('.opblock', (blocks) => blocks.map((b) => {
    const method = b.querySelector('.opblock-summary-method')?.textContent.trim().toLowerCase();
    const p = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ??
      b.querySelector('.opblock-summary-path')?.textContent.trim();
    return `${method} ${p}`;
  }));
  const expected = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of ['get', 'put', 'post', 'patch', 'delete']) if (item[m]) expected.push(`${m} ${p.replace(/\u200b/g, '')}`);
  }
  const seen = new Set(shown.map((s) => s.replace(/\u200b/g, '')));
  const missing = expected.filter((e) => !seen.has(e));
  assert.deepEqual(missing, [], 'every route of the document is on the page');
  for (const t of doc.tags) {
    assert.ok(await page.locator('.opblock-tag', { hasText: t.name }).count() > 0, `tag ${t.name} shown`);
  }
  assert.ok(await page.getByText('Registrar API').count() > 0, 'the document title is shown');

  assert.deepEqual(await cspViolations(page), [], 'no CSP violation');
  assert.deepEqual(page.problems.errors, [], 'no script error');

  // The main client's pages keep their stricter policy.
  const shell = await fetch(new URL('/', srv.url));
  assert.doesNotMatch(shell.headers.get('content-security-policy') ?? '', /unsafe-inline/);
  await page.close();
});

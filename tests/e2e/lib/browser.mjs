// tests/e2e/lib/browser.mjs — headless Chromium for the browser tests.
//
// openBrowser() starts Debian's /usr/bin/chromium through playwright-core in
// a fresh temporary profile (removed again by close()), with every page
// reporting console errors, uncaught exceptions and Content-Security-Policy
// violations, so that a test can assert the page ran clean.
// runAxe(page) runs axe-core in the page and returns its violations.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.REGISTRAR_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// Installed before any page script runs (through the DevTools protocol, so
// the CSP does not apply to it): records every CSP violation the page meets.
function recordCspViolations() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push({
      directive: e.effectiveDirective || e.violatedDirective,
      blocked: e.blockedURI,
      source: e.sourceFile,
      line: e.lineNumber,
      sample: e.sample,
    });
  });
}

// options: viewport, and timezoneId / locale for the browser's own zone and
// language (to show that pages do not depend on them).
export async function openBrowser({ viewport = { width: 1440, height: 900 }, timezoneId, locale } = {}) {
  const profile = await mkdtemp(path.join(tmpdir(), 'registrar-e2e-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport,
      reducedMotion: 'reduce',
      ...(timezoneId ? { timezoneId } : {}),
      ...(locale ? { locale } : {}),
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  await context.addInitScript(recordCspViolations);
  // The persistent context opens with one blank page; tests make their own.
  for (const p of context.pages()) await p.close();

  return {
    context,
    // A new page whose problems are collected in `page.problems`:
    // { console: [text], errors: [message] }.
    async newPage() {
      const page = await context.newPage();
      const problems = { console: [], errors: [] };
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.console.push(msg.text());
      });
      page.on('pageerror', (err) => problems.errors.push(String(err?.message ?? err)));
      page.problems = problems;
      return page;
    },
    async close() {
      try {
        await context.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}

// The CSP violations recorded in the page so far.
export async function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations ?? []);
}

let axeSource = null;

// Runs axe-core against the whole document. axe is evaluated through the
// DevTools protocol (page.evaluate), which the page's CSP does not govern,
// so the page keeps its real CSP and nothing about it is relaxed for the
// audit. Returns the violations whose impact is in `impacts`.
export async function runAxe(page, {
  tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'],
  impacts = ['serious', 'critical'],
} = {}) {
  if (axeSource === null) axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  const hasAxe = await page.evaluate(() => typeof window.axe === 'object');
  if (!hasAxe) await page.evaluate(axeSource);
  const result = await page.evaluate(async (values) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary}`),
    }));
  }, tags);
  return result.filter((v) => impacts.includes(v.impact));
}

// A readable list of axe violations for assertion messages.
export function describeViolations(violations) {
  return violations
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).join('\n    ')}`)
    .join('\n');
}

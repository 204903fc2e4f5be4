// tests/lib/common.mjs — the small helpers every kind of test shares (they
// were copied between test files before issue 11): the test accounts'
// password, waiting, polling until something holds, and problem types.

import assert from 'node:assert/strict';

// The password of every account the test factories make.
export const PASSWORD = 'correct horse battery staple';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until fn() returns a truthy value (polling every 50 ms) and returns
// it, or fails saying what was awaited and what fn last returned.
export async function eventually(fn, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(50);
  }
  assert.fail(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

// The `type` of a problem with this slug (docs/api.md "Errors").
export function problemType(slug) {
  return `https://registrar.invalid/problems/${slug}`;
}

// status.js — announcements for screen readers.
//
// index.html holds two live regions: a polite one (role=status) for progress
// ("Loading courses…", "4 courses") and an assertive one (role=alert) for
// errors. The text is cleared first and set on the next frame, so that the
// same message twice in a row is announced twice.

const regions = {
  polite: () => document.getElementById('status-polite'),
  assertive: () => document.getElementById('status-assertive'),
};

let pending = 0;

export function announce(message, { assertive = false } = {}) {
  const region = (assertive ? regions.assertive : regions.polite)();
  if (region === null) return;
  const other = (assertive ? regions.polite : regions.assertive)();
  const ticket = ++pending;
  region.textContent = '';
  if (other !== null) other.textContent = '';
  requestAnimationFrame(() => {
    if (ticket === pending) region.textContent = message;
  });
}

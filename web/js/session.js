// session.js — who is signed in, as far as this tab knows.
//
// The session itself is the HttpOnly cookie, which no script can read; this
// module keeps the `user` the server last returned (GET /api/v1/me at load,
// the body of sign-in, of PATCH /me) and tells the shell when it changes.
// A 401 from any request means the session ended: the user becomes null.
//
//   import * as session from './session.js';
//   await session.ready();            // the first GET /me has answered
//   session.user()                    // user object of docs/api.md, or null
//   session.canDirect('pcep')         // admin, or a director of the course
//   session.onChange((user) => ...)   // after sign-in, sign-out, expiry

import { events, maybeSignedIn, me } from './api.js';

let current = null;
const changes = new EventTarget();
let first = null;

function set(user) {
  const before = current;
  current = user ?? null;
  if (before !== current) changes.dispatchEvent(new Event('change'));
}

// GET /me, unless this browser has no sign-in to speak of (no request, so no
// 401 in the console of someone who never signed in). Network and server
// failures leave the user unknown (null) rather than failing the page.
export async function refresh() {
  if (!maybeSignedIn()) {
    set(null);
    return null;
  }
  try {
    set(await me.get());
  } catch (err) {
    if (err?.slug !== 'unauthenticated') console.warn('registrar: could not check the session', err?.message);
    set(null);
  }
  return current;
}

// Resolves once the first refresh has answered (started on first call).
export function ready() {
  if (first === null) first = refresh();
  return first;
}

export function user() {
  return current;
}

export function setUser(user) {
  set(user);
}

export function isAdmin() {
  return current?.roles?.admin === true;
}

// May the signed-in user write this course's offerings and schedules?
export function canDirect(courseSlug) {
  if (current === null) return false;
  if (isAdmin()) return true;
  const of = current.roles?.director_of;
  return Array.isArray(of) && of.includes(courseSlug);
}

export function onChange(listener) {
  changes.addEventListener('change', () => listener(current));
}

events.addEventListener('unauthenticated', () => set(null));

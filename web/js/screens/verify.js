// screens/verify.js — #/verify?token=... : the link of the email that
// confirms a learner's address (sent at sign-up, and again on request from
// the profile page). Registering needs a confirmed address.
//
// As on the reset page, the token is read once and taken out of the address
// bar; it goes to the server only in the body of
// POST /auth/email-verifications/confirm. Also exports the profile page's
// banner for an address not confirmed yet, with "Send the link again".

import { auth, me } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { pageHeading } from '../ui.js';

let heldToken = null;

// The banner of an unconfirmed address: what it means, and a button that
// sends a new link (202 whatever happens, so the answer names no outcome
// but "sent").
export function verifyBanner(user) {
  const send = h('button', { type: 'button', class: 'button button--secondary button--small' }, 'Send the link again');
  const note = h('p', { class: 'verify-banner__note', role: 'status' });
  send.addEventListener('click', async () => {
    send.disabled = true;
    send.textContent = 'Sending…';
    try {
      await me.requestEmailVerification();
      note.textContent = `We sent a new link to ${user.email}. It works for one day.`;
      announce(note.textContent);
    } catch (err) {
      note.textContent = err.message;
      announce(err.message, { assertive: true });
    } finally {
      send.disabled = false;
      send.textContent = 'Send the link again';
    }
  });
  return h('div', { class: 'panel panel--error verify-banner', 'aria-labelledby': 'verify-banner-title', role: 'region' },
    h('p', { class: 'panel__title', id: 'verify-banner-title' }, 'Your email address is not confirmed yet'),
    h('p', {}, `Registering for a course needs a confirmed email address. Open the link we emailed to ${user.email}.`),
    h('p', {}, send),
    note);
}

export async function render(ctx) {
  const { root, query, signal } = ctx;
  ctx.setTitle('Confirm your email address');
  const fromUrl = query.get('token');
  if (fromUrl) {
    heldToken = fromUrl;
    history.replaceState(history.state, '', '#/verify');
  }
  const token = heldToken;
  const body = h('div', { class: 'narrow' }, pageHeading('Confirm your email address'));
  replaceChildren(root, body);

  const failed = (title, text) => {
    body.append(h('div', { class: 'panel panel--error' },
      h('p', { class: 'panel__title' }, title),
      h('p', {}, text)),
    h('p', {}, h('a', { href: session.user() ? '#/profile' : '#/sign-in?next=%2Fprofile' },
      'Ask for a new link on your profile page')));
    announce(`Confirm your email address. ${title}. ${text}`, { assertive: true });
  };

  if (!token) {
    failed('This link is incomplete', 'Open the link from the email again, or ask for a new one.');
    return;
  }
  try {
    await auth.confirmEmail(token, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    if (err.slug === 'invalid-token') {
      failed('This link does not work any more', 'It may have been used already, or be older than a day.');
    } else {
      failed('Your email address could not be confirmed', err.message);
    }
    return;
  }
  heldToken = null;
  // The signed-in tab learns at once that registering is open to it.
  if (session.user()) await session.refresh();
  body.append(h('div', { class: 'panel panel--success' },
    h('p', { class: 'panel__title' }, 'Your email address is confirmed'),
    h('p', {}, 'You can now register for courses.')),
  h('p', {}, h('a', { class: 'button', href: '#/' }, 'See all courses')));
  announce('Your email address is confirmed. You can now register for courses.');
}

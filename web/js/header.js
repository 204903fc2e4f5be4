// header.js — the account corner of the site header: the signed-in
// learner's name (a link to their profile) and "Sign out", or links to
// sign in and to create an account.

import { auth } from './api.js';
import { h, replaceChildren } from './dom.js';
import * as session from './session.js';
import { announce } from './status.js';
import { flash } from './ui.js';

const box = () => document.getElementById('account');

async function signOut(button) {
  button.disabled = true;
  button.textContent = 'Signing out…';
  try {
    await auth.signOut();
  } catch (err) {
    // The server kept the session (the tab lost its CSRF token, or the
    // network failed): say so rather than pretend.
    button.disabled = false;
    button.textContent = 'Sign out';
    announce(`You could not be signed out. ${err.message}`, { assertive: true });
    return;
  }
  session.setUser(null);
  flash('You are signed out.');
  if (location.hash === '#/sign-in') window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = '#/sign-in';
}

export function renderAccount(user) {
  const el = box();
  if (el === null) return;
  if (user) {
    const out = h('button', { type: 'button', class: 'account__signout' }, 'Sign out');
    out.addEventListener('click', () => { signOut(out); });
    replaceChildren(el,
      h('p', { class: 'account__who' },
        h('span', { class: 'account__label' }, 'Signed in as '),
        h('a', { class: 'account__name', href: '#/profile' }, user.full_name || user.email)),
      out);
  } else {
    replaceChildren(el,
      h('a', { class: 'account__link', href: '#/sign-in' }, 'Sign in'),
      h('a', { class: 'account__link account__link--strong', href: '#/sign-up' }, 'Create account'));
  }
  el.hidden = false;
}

export function startAccount() {
  session.onChange(renderAccount);
  renderAccount(session.user());
}

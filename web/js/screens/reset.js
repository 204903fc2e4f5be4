// screens/reset.js — #/reset?token=... : choose a new password with the
// link from the reset email.
//
// The token is read once and taken out of the address bar (so it is not
// left in the history or on screen); it goes to the server only in the
// body of POST /auth/password-resets/confirm. A reset signs out every
// session of the account, so the learner signs in afterwards.

import { auth } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field, livePasswordHint, passwordProblem, revealToggle } from '../forms.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { flash } from '../ui.js';

let heldToken = null;

export async function render(ctx) {
  const { root, query } = ctx;
  ctx.setTitle('Choose a new password');
  const fromUrl = query.get('token');
  if (fromUrl) {
    heldToken = fromUrl;
    history.replaceState(history.state, '', '#/reset');
  }
  const token = heldToken;

  const heading = h('div', { class: 'page-heading' },
    h('h1', { tabindex: '-1', id: 'reset-heading' }, 'Choose a new password'));
  if (!token) {
    replaceChildren(root,
      h('div', { class: 'narrow' }, heading,
        h('div', { class: 'panel panel--error' },
          h('p', { class: 'panel__title' }, 'This link is incomplete'),
          h('p', {}, 'Open the link from the reset email again, or ask for a new one.')),
        h('p', {}, h('a', { href: '#/forgot-password' }, 'Ask for a new reset link'))));
    announce('Choose a new password. This link is incomplete.', { assertive: true });
    return;
  }

  const form = new Form({ labelledBy: 'reset-heading', submitText: 'Save new password', busyText: 'Saving…' });
  const password = form.add(field({
    name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', required: true,
  }));
  livePasswordHint(password);
  revealToggle(password);
  const repeat = form.add(field({
    name: 'repeat', label: 'Repeat the new password', type: 'password', autocomplete: 'new-password', required: true,
  }), { apiName: null });
  const help = h('div');

  form.onSubmit(async () => {
    const errors = [];
    const pw = passwordProblem('New password', password.value);
    if (pw) errors.push({ field: password, message: pw });
    else if (repeat.value !== password.value) {
      errors.push({ field: repeat, message: 'The two passwords are not the same. Please type the new password again.' });
    }
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    try {
      await auth.confirmReset(token, password.value);
    } catch (err) {
      if (err.slug === 'invalid-token') {
        form.showErrors([{ field: null, message: err.message }]);
        replaceChildren(help, h('p', {}, h('a', { href: '#/forgot-password' }, 'Ask for a new reset link')));
      } else {
        form.showProblem(err);
      }
      return;
    }
    heldToken = null;
    // Every session of the account has ended, this tab's too.
    auth.forget();
    session.setUser(null);
    flash('Your password is changed. Please sign in with your new password.');
    ctx.navigate('/sign-in');
  });

  replaceChildren(root,
    h('div', { class: 'narrow' }, heading,
      h('p', {}, 'Choose a password you do not use anywhere else.'),
      form.el,
      help));
  announce('Choose a new password.');
}

// screens/forgot.js — #/forgot-password : ask for a reset link.
//
// The answer is always the same sentence, whether or not an account uses
// the address (the server answers 202 either way), so the page cannot be
// used to find out who has an account.

import { auth } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import { announce } from '../status.js';

export async function render(ctx) {
  const { root } = ctx;
  ctx.setTitle('Forgotten password');

  const form = new Form({ labelledBy: 'forgot-heading', submitText: 'Send me a link', busyText: 'Sending…' });
  const email = form.add(field({
    name: 'email', label: 'Email address', type: 'email', autocomplete: 'email', required: true,
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  }));
  const outcome = h('div', { class: 'outcome' });

  form.onSubmit(async () => {
    if (!email.text) {
      form.showErrors([{ field: email, message: 'Please enter your email address.' }]);
      return;
    }
    form.clearErrors();
    try {
      await auth.requestReset(email.text);
    } catch (err) {
      form.showProblem(err);
      return;
    }
    const sentence = `If an account exists for ${email.text}, we have sent a link to reset its password. ` +
      'The link works once, for one hour.';
    replaceChildren(outcome,
      h('div', { class: 'panel panel--success' },
        h('p', { class: 'panel__title' }, 'Check your email'),
        h('p', {}, sentence),
        h('p', {}, 'Nothing arrived? Check your spam folder, or ask for another link.')));
    announce(sentence);
  });

  replaceChildren(root,
    h('div', { class: 'narrow' },
      h('div', { class: 'page-heading' }, h('h1', { tabindex: '-1', id: 'forgot-heading' }, 'Forgotten password')),
      h('p', {}, 'Enter the email address of your account and we will send you a link to choose a new password.'),
      form.el,
      outcome,
      h('p', {}, h('a', { href: '#/sign-in' }, 'Back to sign in'))));
  announce('Forgotten password.');
}

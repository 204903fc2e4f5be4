// screens/signin.js — #/sign-in[?next=/path] : email and password.
//
// A wrong password and an unknown email get the same sentence (the server
// does not say which); too many failures say how long to wait. On success
// the CSRF token is kept for this tab (api.js) and the learner goes on to
// `next`, or to the courses.

import { auth } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field, revealToggle } from '../forms.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { flash } from '../ui.js';

// Only paths inside the client: '/offerings/x', never '//host' or 'http:'.
export function safeNext(query) {
  const next = query.get('next');
  return next && /^\/(?!\/)[^\s]*$/.test(next) && !next.startsWith('/sign-') ? next : '/';
}

export async function render(ctx) {
  const { root, query } = ctx;
  ctx.setTitle('Sign in');
  const next = safeNext(query);
  const user = session.user();

  const form = new Form({ labelledBy: 'signin-heading', submitText: 'Sign in', busyText: 'Signing in…' });
  const email = form.add(field({
    name: 'email', label: 'Email address', type: 'email', autocomplete: 'username', required: true,
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  }));
  const password = form.add(field({
    name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true,
  }));
  revealToggle(password);

  form.onSubmit(async () => {
    const errors = [];
    if (!email.text) errors.push({ field: email, message: 'Please enter your email address.' });
    if (password.value === '') errors.push({ field: password, message: 'Please enter your password.' });
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    let signedIn;
    try {
      signedIn = await auth.signIn({ email: email.text, password: password.value });
    } catch (err) {
      // invalid-credentials and rate-limited concern the pair, not one field.
      form.showProblem(err);
      if (err.slug === 'invalid-credentials') password.value = '';
      return;
    }
    session.setUser(signedIn);
    flash(`Welcome back, ${signedIn.full_name}. You are signed in.`);
    ctx.navigate(next);
  });

  replaceChildren(root,
    h('div', { class: 'narrow' },
      h('div', { class: 'page-heading' }, h('h1', { tabindex: '-1', id: 'signin-heading' }, 'Sign in')),
      user
        ? h('p', { class: 'notice' }, `You are signed in as ${user.full_name}. Signing in again replaces that session in this tab.`)
        : null,
      form.el,
      h('ul', { class: 'link-list' },
        h('li', {}, h('a', { href: '#/forgot-password' }, 'Forgotten your password?')),
        h('li', {}, 'New here? ', h('a', { href: '#/sign-up' }, 'Create an account')))));
  announce('Sign in.');
}

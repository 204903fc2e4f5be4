// screens/signup.js — #/sign-up[?next=/path] : a new learner account.
//
// Email, a password of 12 to 128 characters (the hint counts as you type),
// full name, profession from the fixed list, and optional credentials and
// institution. The account is signed in straight away.

import { auth } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field, livePasswordHint, passwordProblem, revealToggle } from '../forms.js';
import { PROFESSION_VALUES, professionName } from '../format.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { flash } from '../ui.js';
import { safeNext } from './signin.js';

export const PROFESSION_OPTIONS = PROFESSION_VALUES.map((v) => [v, professionName(v)]);

export async function render(ctx) {
  const { root, query } = ctx;
  ctx.setTitle('Create an account');
  const next = safeNext(query);

  const form = new Form({ labelledBy: 'signup-heading', submitText: 'Create account', busyText: 'Creating your account…' });
  const email = form.add(field({
    name: 'email', label: 'Email address', type: 'email', autocomplete: 'email', required: true,
    hint: 'We send registration confirmations and password reset links here.',
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  }));
  const password = form.add(field({
    name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', required: true,
  }));
  livePasswordHint(password);
  revealToggle(password);
  const fullName = form.add(field({
    name: 'full_name', label: 'Full name', autocomplete: 'name', required: true,
    hint: 'As it should appear on your certificates.',
  }));
  const profession = form.add(field({
    name: 'profession', label: 'Profession', type: 'select', required: true,
    placeholderOption: 'Choose your profession', options: PROFESSION_OPTIONS,
    hint: 'Prices and the credit you earn depend on it.',
  }));
  const credentials = form.add(field({
    name: 'credentials', label: 'Credentials', optional: true, autocomplete: 'honorific-suffix',
    hint: 'For example MD, RN, MSW, BCC.',
  }));
  const institution = form.add(field({
    name: 'institution', label: 'Institution', optional: true, autocomplete: 'organization',
  }));

  form.onSubmit(async () => {
    const errors = [];
    if (!email.text) errors.push({ field: email, message: 'Please enter your email address.' });
    else if (!/^[^\s@]+@[^\s@]+$/.test(email.text)) {
      errors.push({ field: email, message: 'Email address must be an email address, such as name@example.org.' });
    }
    const pw = passwordProblem('Password', password.value);
    if (pw) errors.push({ field: password, message: pw });
    if (!fullName.text) errors.push({ field: fullName, message: 'Please enter your full name.' });
    if (!profession.value) errors.push({ field: profession, message: 'Please choose your profession.' });
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    const body = {
      email: email.text,
      password: password.value,
      full_name: fullName.text,
      profession: profession.value,
    };
    if (credentials.text) body.credentials = credentials.text;
    if (institution.text) body.institution = institution.text;
    try {
      await auth.signUp(body);
    } catch (err) {
      if (err.slug === 'email-taken') {
        form.showErrors([{ field: email, message: err.message }]);
      } else {
        form.showProblem(err);
      }
      return;
    }
    let user;
    try {
      user = await auth.signIn({ email: body.email, password: body.password });
    } catch (err) {
      // The account exists; only the sign-in failed (busy, rate limited).
      flash(`Your account is created, but we could not sign you in: ${err.message}`);
      ctx.navigate('/sign-in');
      return;
    }
    session.setUser(user);
    flash(`Welcome, ${user.full_name}. Your account is created and you are signed in.`);
    ctx.navigate(next);
  });

  replaceChildren(root,
    h('div', { class: 'narrow' },
      h('div', { class: 'page-heading' }, h('h1', { tabindex: '-1', id: 'signup-heading' }, 'Create an account')),
      h('p', {}, 'One account for every course of the centre: register, pay, and get your certificates.'),
      form.el,
      h('p', {}, 'Already have an account? ', h('a', { href: '#/sign-in' }, 'Sign in'))));
  announce('Create an account.');
}

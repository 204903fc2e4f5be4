// screens/password.js — #/profile/password : change the password.
// The server signs out every other session of the account; this one stays.

import { me } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field, livePasswordHint, passwordProblem, revealToggle } from '../forms.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { breadcrumbs, flash, signInRequired } from '../ui.js';

export async function render(ctx) {
  const { root } = ctx;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Change password', path: '/profile/password', text: 'Please sign in to change your password.' });
    return;
  }
  ctx.setTitle('Change password');

  const form = new Form({ labelledBy: 'password-heading', submitText: 'Change password', busyText: 'Changing…' });
  const current = form.add(field({
    name: 'current_password', label: 'Current password', type: 'password', autocomplete: 'current-password', required: true,
  }));
  const fresh = form.add(field({
    name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', required: true,
  }));
  livePasswordHint(fresh);
  revealToggle(fresh);
  const repeat = form.add(field({
    name: 'repeat', label: 'Repeat the new password', type: 'password', autocomplete: 'new-password', required: true,
  }), { apiName: null });

  form.onSubmit(async () => {
    const errors = [];
    if (current.value === '') errors.push({ field: current, message: 'Please enter your current password.' });
    const pw = passwordProblem('New password', fresh.value);
    if (pw) errors.push({ field: fresh, message: pw });
    else if (repeat.value !== fresh.value) {
      errors.push({ field: repeat, message: 'The two passwords are not the same. Please type the new password again.' });
    }
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    try {
      await me.changePassword(current.value, fresh.value);
    } catch (err) {
      form.showProblem(err);
      if (err.fieldErrors?.some((e) => e.field === 'current_password')) current.value = '';
      return;
    }
    flash('Your password is changed. You are still signed in here; any other devices have been signed out.');
    ctx.navigate('/profile');
  });

  replaceChildren(root,
    h('div', { class: 'narrow' },
      breadcrumbs([['Your profile', '#/profile'], ['Change password', null]]),
      h('div', { class: 'page-heading' }, h('h1', { tabindex: '-1', id: 'password-heading' }, 'Change password')),
      h('p', {}, 'Changing your password signs you out everywhere else.'),
      form.el));
  announce('Change password.');
}

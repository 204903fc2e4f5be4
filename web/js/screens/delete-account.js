// screens/delete-account.js — #/profile/delete : erase the account for good.
// Asks for the password and an explicit confirmation; the server cancels
// upcoming registrations (refunds by each offering's policy), overwrites the
// account's personal data and ends every session, so this tab signs out.

import { auth, me } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { breadcrumbs, flash, signInRequired } from '../ui.js';

export async function render(ctx) {
  const { root } = ctx;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Delete my account', path: '/profile/delete', text: 'Please sign in to delete your account.' });
    return;
  }
  ctx.setTitle('Delete my account');

  const form = new Form({ labelledBy: 'delete-heading', submitText: 'Delete my account', busyText: 'Deleting…' });
  form.submit.classList.add('button--danger');
  const password = form.add(field({
    name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', required: true,
  }));
  const confirm = form.add(field({
    name: 'confirm', label: 'I understand that my account and my upcoming registrations will be deleted, and that this cannot be undone.',
    type: 'checkbox', required: true,
  }), { apiName: null });

  form.onSubmit(async () => {
    const errors = [];
    if (password.value === '') errors.push({ field: password, message: 'Please enter your password.' });
    if (!confirm.value) errors.push({ field: confirm, message: 'Please confirm that you want to delete your account.' });
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    try {
      await me.erase(password.value);
    } catch (err) {
      form.showProblem(err);
      if (err.fieldErrors?.some((e) => e.field === 'password')) password.value = '';
      return;
    }
    auth.forget();
    session.setUser(null);
    flash('Your account has been deleted and you are signed out.');
    ctx.navigate('/');
  });

  replaceChildren(root,
    h('div', { class: 'narrow' },
      breadcrumbs([['Your profile', '#/profile'], ['Delete my account', null]]),
      h('div', { class: 'page-heading' }, h('h1', { tabindex: '-1', id: 'delete-heading' }, 'Delete my account')),
      h('p', {}, 'Deleting your account cancels your upcoming registrations (refunds follow each course\u2019s ',
        'cancellation policy), removes your name, email address and other details from the system, and signs you out everywhere.'),
      h('p', {}, 'Records the centre must keep for its accounts, such as payments, stay without your name. ',
        h('a', { href: me.exportUrl(), download: 'registrar-my-data.json' }, 'Download your data'), ' first if you want a copy.'),
      form.el));
  announce('Delete my account.');
}

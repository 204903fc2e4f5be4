// screens/profile.js — #/profile : the signed-in learner's details, and a
// form to change them (full name, profession, credentials, institution).
// The email address is the account's name and is not changed here.
// "Your data": download everything held about you (GET /me/export), or
// delete the account (#/profile/delete).

import { courses, listAll, me } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import { professionName } from '../format.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { pageHeading, showError, showLoading, signInRequired, successNotice } from '../ui.js';
import { verifyBanner } from './verify.js';
import { PROFESSION_OPTIONS } from './signup.js';

function row(term, value) {
  return [h('dt', {}, term), h('dd', {}, value === null || value === undefined || value === '' ? '—' : value)];
}

function rolesText(user, titles) {
  const parts = [];
  if (user.roles?.admin) parts.push('Administrator');
  const of = user.roles?.director_of ?? [];
  if (of.length) parts.push(`Course director of ${of.map((s) => titles.get(s) ?? s).join(', ')}`);
  return parts.length ? parts.join('; ') : 'Learner';
}

export async function render(ctx) {
  const { root, signal } = ctx;
  let user = session.user();
  if (user === null) {
    signInRequired(root, ctx, { title: 'Your profile', path: '/profile', text: 'Please sign in to see your profile.' });
    return;
  }
  ctx.setTitle('Your profile');
  const body = h('div', { class: 'profile' });
  replaceChildren(root, h('div', { class: 'narrow' }, pageHeading('Your profile'), body));

  showLoading(body, 'Loading your profile…');
  let titles = new Map();
  try {
    const [fresh, list] = await Promise.all([
      me.get({ signal }),
      (user.roles?.director_of ?? []).length ? listAll(courses.list, { signal }) : Promise.resolve([]),
    ]);
    user = fresh;
    session.setUser(user);
    titles = new Map(list.map((c) => [c.slug, c.title]));
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    if (err.slug === 'unauthenticated') {
      signInRequired(root, ctx, { title: 'Your profile', path: '/profile', text: err.message });
      return;
    }
    showError(body, err, { heading: 'Your profile could not be loaded', onRetry: () => ctx.rerender() });
    return;
  }

  const view = (notice = null) => {
    const edit = h('button', { type: 'button', class: 'button' }, 'Edit profile');
    edit.addEventListener('click', () => editor());
    replaceChildren(body,
      notice ? successNotice(notice) : null,
      user.email_verified === false ? verifyBanner(user) : null,
      h('dl', { class: 'details details--card' },
        row('Full name', user.full_name),
        row('Email address', user.email),
        row('Profession', professionName(user.profession)),
        row('Credentials', user.credentials),
        row('Institution', user.institution),
        row('Role', rolesText(user, titles))),
      h('div', { class: 'button-row' },
        edit,
        h('a', { class: 'button button--secondary', href: '#/profile/password' }, 'Change password')),
      h('section', { class: 'profile__data', 'aria-labelledby': 'profile-data-heading' },
        h('h2', { id: 'profile-data-heading' }, 'Your data'),
        h('p', {}, 'Download a copy of everything the centre holds about you: your profile, ',
          'registrations, payments, messages sent to you and the record of changes to your account.'),
        h('div', { class: 'button-row' },
          h('a', { class: 'button button--secondary', href: me.exportUrl(), download: 'registrar-my-data.json' },
            'Download my data'),
          h('a', { class: 'button button--danger', href: '#/profile/delete' }, 'Delete my account'))));
    return edit;
  };

  const editor = () => {
    const cancel = h('button', { type: 'button', class: 'button button--secondary' }, 'Cancel');
    const form = new Form({ labelledBy: 'profile-edit-heading', submitText: 'Save profile', busyText: 'Saving…', secondary: [cancel] });
    const fullName = form.add(field({ name: 'full_name', label: 'Full name', autocomplete: 'name', required: true, value: user.full_name }));
    const profession = form.add(field({
      name: 'profession', label: 'Profession', type: 'select', required: true, options: PROFESSION_OPTIONS, value: user.profession,
    }));
    const credentials = form.add(field({
      name: 'credentials', label: 'Credentials', optional: true, value: user.credentials,
      hint: 'For example MD, RN, MSW, BCC.',
    }));
    const institution = form.add(field({ name: 'institution', label: 'Institution', optional: true, autocomplete: 'organization', value: user.institution }));
    cancel.addEventListener('click', () => { view().focus(); announce('Editing cancelled.'); });
    form.onSubmit(async () => {
      if (!fullName.text) {
        form.showErrors([{ field: fullName, message: 'Please enter your full name.' }]);
        return;
      }
      form.clearErrors();
      try {
        user = await me.update({
          full_name: fullName.text,
          profession: profession.value,
          credentials: credentials.text ?? '',
          institution: institution.text ?? '',
        });
      } catch (err) {
        form.showProblem(err);
        return;
      }
      session.setUser(user);
      view('Your profile is saved.').focus();
      announce('Your profile is saved.');
    });
    replaceChildren(body,
      h('h2', { id: 'profile-edit-heading' }, 'Edit your profile'),
      h('p', { class: 'notice' }, `Email address: ${user.email} (it cannot be changed here).`),
      form.el);
    fullName.focus();
    announce('Edit your profile.');
  };

  view();
  announce('Your profile.');
}

// screens/admin.js — #/admin : the Administration area (admins only).
//   Find a person by email or name; #/admin/users/:id shows their account
//   and registrations, makes or unmakes them an admin, and grants or
//   revokes a course's director role. A form creates a course.
// Every change is audited by the server; the last admin cannot be unmade
// (the server answers 409 last-admin, shown as its message).

import { admin, courses, listAll } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import { formatDate, formatMoney, professionName } from '../format.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { notAllowed, pageHeading, showError, showLoading, signInRequired, successNotice } from '../ui.js';

const TITLE = 'Administration';

function guard(root, ctx) {
  const user = session.user();
  if (user === null) {
    signInRequired(root, ctx, { title: TITLE, path: '/admin', text: 'Please sign in as an administrator.' });
    return false;
  }
  if (!user.roles?.admin) {
    notAllowed(root, ctx, { title: TITLE, text: 'Only administrators of the centre can use this area.' });
    return false;
  }
  return true;
}

function peopleSearch(ctx) {
  const results = h('div', { class: 'admin-results', 'aria-live': 'polite' });
  const form = new Form({ labelledBy: 'admin-find-heading', submitText: 'Find', busyText: 'Finding…' });
  const q = form.add(field({
    name: 'q', label: 'Email or name', type: 'search', value: ctx.query.get('q') ?? '',
    hint: 'Part of an email address or of a name, in any case.', attrs: { spellcheck: 'false' },
  }));
  const show = async (text) => {
    showLoading(results, 'Finding people…');
    const page = await admin.users({ q: text, limit: 50, signal: ctx.signal });
    const items = page.items ?? [];
    announce(items.length === 0 ? 'Nobody found.' : `${items.length}${page.next_cursor ? '+' : ''} found.`);
    if (items.length === 0) {
      replaceChildren(results, h('p', {}, 'Nobody matches. Try part of the email address.'));
      return;
    }
    replaceChildren(results,
      h('ul', { class: 'admin-people' }, items.map((u) => h('li', {},
        h('a', { href: `#/admin/users/${encodeURIComponent(u.id)}` }, u.full_name),
        ` — ${u.email}`,
        u.roles?.admin ? ' (administrator)' : '',
        (u.roles?.director_of ?? []).length ? ` (director of ${u.roles.director_of.join(', ')})` : ''))),
      page.next_cursor ? h('p', {}, 'More people match: narrow the search.') : null);
  };
  form.onSubmit(async () => {
    form.clearErrors();
    await show(q.text);
  });
  return { el: h('section', { 'aria-labelledby': 'admin-find-heading' },
    h('h2', { id: 'admin-find-heading' }, 'Find a person'), form.el, results), show };
}

function courseCreator() {
  const outcome = h('div', { 'aria-live': 'polite' });
  const form = new Form({ labelledBy: 'admin-course-heading', submitText: 'Create course', busyText: 'Creating…' });
  const slug = form.add(field({ name: 'slug', label: 'Address (slug)', required: true,
    hint: 'Lower-case words joined by hyphens, as palliative-care-ed. It cannot change later.',
    attrs: { spellcheck: 'false', autocapitalize: 'none' } }));
  const title = form.add(field({ name: 'title', label: 'Title', required: true }));
  const credit = form.add(field({ name: 'credit_type', label: 'Credit type', required: true, value: 'AMA PRA Category 1' }));
  const summary = form.add(field({ name: 'summary', label: 'Summary', type: 'textarea', optional: true }));
  form.onSubmit(async () => {
    form.clearErrors();
    const fields = { slug: slug.text, title: title.text, credit_type: credit.text, summary: summary.text ?? '' };
    const made = await admin.createCourse(fields);
    replaceChildren(outcome, successNotice(`Course created: ${made.title}.`),
      h('p', {}, h('a', { href: `#/courses/${encodeURIComponent(made.slug)}` }, `Open ${made.title}`)));
    announce(`Course created: ${made.title}.`);
  });
  return h('section', { 'aria-labelledby': 'admin-course-heading' },
    h('h2', { id: 'admin-course-heading' }, 'New course'), form.el, outcome);
}

// PATCH /courses/{slug}: the title, summary and credit type of a course.
function courseEditor(list) {
  const outcome = h('div', { 'aria-live': 'polite' });
  const form = new Form({ labelledBy: 'admin-edit-heading', submitText: 'Save course', busyText: 'Saving…' });
  const which = form.add(field({ name: 'course', label: 'Course to change', type: 'select', required: true,
    options: list.map((c) => [c.slug, c.title]) }), { apiName: 'slug' });
  const title = form.add(field({ name: 'title', label: 'New title', required: true }));
  const credit = form.add(field({ name: 'credit_type', label: 'New credit type', required: true }));
  const summary = form.add(field({ name: 'summary', label: 'New summary', type: 'textarea', optional: true }));
  const fill = () => {
    const c = list.find((x) => x.slug === which.input.value);
    title.input.value = c?.title ?? '';
    credit.input.value = c?.credit_type ?? '';
    summary.input.value = c?.summary ?? '';
  };
  which.input.addEventListener('change', fill);
  fill();
  form.onSubmit(async () => {
    form.clearErrors();
    const saved = await admin.updateCourse(which.input.value,
      { title: title.text, credit_type: credit.text, summary: summary.text ?? '' });
    const c = list.find((x) => x.slug === saved.slug);
    if (c) Object.assign(c, saved);
    replaceChildren(outcome, successNotice(`Course saved: ${saved.title}.`));
    announce(`Course saved: ${saved.title}.`);
  });
  return h('section', { 'aria-labelledby': 'admin-edit-heading' },
    h('h2', { id: 'admin-edit-heading' }, 'Change a course'), form.el, outcome);
}

async function renderPerson(ctx, root, id) {
  const body = h('div');
  replaceChildren(root, h('div', { class: 'narrow' },
    h('p', {}, h('a', { href: '#/admin' }, 'Back to Administration')), body));
  showLoading(body, 'Loading the account…');
  let user;
  let list;
  try {
    [user, list] = await Promise.all([admin.user(id, { signal: ctx.signal }), listAll(courses.list, { signal: ctx.signal })]);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    showError(body, err, { heading: 'The account could not be loaded', onRetry: () => ctx.rerender() });
    return;
  }
  ctx.setTitle(`${user.full_name} — ${TITLE}`);
  const notice = h('div', { 'aria-live': 'polite' });
  const directs = new Set(user.roles?.director_of ?? []);

  const adminButton = h('button', { type: 'button', class: 'button button--secondary' },
    user.roles?.admin ? 'Remove administrator role' : 'Make administrator');
  adminButton.addEventListener('click', async () => {
    adminButton.disabled = true;
    try {
      await admin.setAdmin(user.id, !user.roles?.admin);
      ctx.rerender();
    } catch (err) {
      adminButton.disabled = false;
      replaceChildren(notice, h('p', { class: 'panel panel--error', role: 'alert' }, err.message));
    }
  });

  const roleForm = new Form({ labelledBy: 'admin-director-heading', submitText: 'Save director role', busyText: 'Saving…' });
  const course = roleForm.add(field({ name: 'course', label: 'Course', type: 'select', required: true,
    options: list.map((c) => [c.slug, c.title]) }));
  const grant = roleForm.add(field({ name: 'grant', label: 'Role', type: 'select', required: true,
    options: [['grant', 'Director of this course'], ['revoke', 'Not a director of this course']] }));
  roleForm.onSubmit(async () => {
    roleForm.clearErrors();
    await admin.setDirector(course.input.value, user.id, grant.input.value === 'grant');
    ctx.rerender();
  });

  const enrollments = user.enrollments ?? [];
  replaceChildren(body,
    pageHeading(user.full_name, { eyebrow: TITLE }),
    notice,
    h('dl', { class: 'details details--card' },
      h('dt', {}, 'Email address'), h('dd', {}, user.email),
      h('dt', {}, 'Email verified'), h('dd', {}, user.email_verified ? 'Yes' : 'No'),
      h('dt', {}, 'Profession'), h('dd', {}, professionName(user.profession)),
      h('dt', {}, 'Institution'), h('dd', {}, user.institution || '—'),
      h('dt', {}, 'Roles'), h('dd', {}, [user.roles?.admin ? 'Administrator' : null,
        ...[...directs].map((s) => `Director of ${list.find((c) => c.slug === s)?.title ?? s}`)]
        .filter(Boolean).join('; ') || 'Learner')),
    h('div', { class: 'button-row' }, adminButton),
    h('section', { 'aria-labelledby': 'admin-director-heading' },
      h('h2', { id: 'admin-director-heading' }, 'Course director role'), roleForm.el),
    h('section', { 'aria-labelledby': 'admin-regs-heading' },
      h('h2', { id: 'admin-regs-heading' }, 'Registrations'),
      enrollments.length === 0 ? h('p', {}, 'No registrations.') :
        h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'admin-regs-heading', tabindex: '0' },
          h('table', { class: 'table' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Offering'), h('th', { scope: 'col' }, 'Status'),
              h('th', { scope: 'col' }, 'Due'), h('th', { scope: 'col' }, 'Registered'))),
            h('tbody', {}, enrollments.map((e) => h('tr', {},
              h('td', {}, h('a', { href: `#/offerings/${encodeURIComponent(e.offering_id)}` }, e.offering_title)),
              h('td', {}, e.status),
              h('td', {}, formatMoney(e.amount_due_cents - (e.paid_cents ?? 0), e.currency)),
              h('td', {}, formatDate(String(e.created_at).slice(0, 10))))))))));
}

export async function render(ctx) {
  const { root, params } = ctx;
  await session.ready();
  if (!guard(root, ctx)) return;
  ctx.setTitle(TITLE);
  if (params.id) {
    await renderPerson(ctx, root, params.id);
    return;
  }
  const search = peopleSearch(ctx);
  let list = [];
  try {
    list = await listAll(courses.list, { signal: ctx.signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
  }
  replaceChildren(root, h('div', { class: 'narrow' }, pageHeading(TITLE), search.el, courseCreator(),
    list.length ? courseEditor(list) : null));
  if (ctx.query.get('q')) await search.show(ctx.query.get('q'));
}

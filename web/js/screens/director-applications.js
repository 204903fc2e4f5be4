// screens/director-applications.js — #/offerings/:id/applications : the
// applications awaiting a decision (roster?status=applied), oldest first.
// For each, who applied and a note to them, then Approve (a seat is held for
// approval_hold_days, or the applicant is waitlisted when the offering is
// full) or Reject. The note goes to the applicant with the decision.

import { enrollments, rosters } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import { formatInstant, plural, professionName } from '../format.js';
import { directorPage, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { emptyState, showLoading } from '../ui.js';

function outcome(e, o, name) {
  switch (e.status) {
    case 'held':
      return `Approved: a seat is held for ${name} until ${formatInstant(e.hold_expires_at, o.timezone)} while they pay.`;
    case 'confirmed':
      return `Approved: ${name} is registered (nothing is due).`;
    case 'waitlisted':
      return `Approved, but the offering is full: ${name} is on the waitlist at number ${e.waitlist_position ?? '?'}.`;
    case 'rejected':
      return `Rejected: ${name} is told that the application was not accepted.`;
    default:
      return `${name}: ${e.status}.`;
  }
}

function card(item, o, { signal, onDecided }) {
  const e = item.enrollment;
  const u = item.learner;
  const name = u.full_name || u.email;
  const headingId = `app-${e.id}`;
  const note = field({
    name: 'note', label: 'Note to the applicant', type: 'textarea', optional: true,
    hint: 'Sent with your decision.', attrs: { maxlength: '2000' },
  });
  const reject = h('button', { type: 'button', class: 'button button--secondary' }, 'Reject');
  const form = new Form({ labelledBy: headingId, submitText: 'Approve', busyText: 'Approving…', secondary: [reject] });
  form.add(note);
  const li = h('li', { class: 'app-card', 'data-enrollment-id': e.id });

  const decide = async (approve) => {
    form.clearErrors();
    form.setBusy(true);
    reject.disabled = true;
    if (!approve) reject.textContent = 'Rejecting…';
    try {
      const done = approve
        ? await enrollments.approve(e.id, { note: note.text, signal })
        : await enrollments.reject(e.id, { note: note.text, signal });
      const text = outcome(done, o, name);
      replaceChildren(li,
        h('h3', { class: 'app-card__title', id: headingId, tabindex: '-1' }, name),
        h('div', { class: `panel ${done.status === 'rejected' ? 'panel--note' : 'panel--success'}` }, h('p', {}, text)));
      li.querySelector('h3').focus();
      announce(text);
      onDecided?.();
    } catch (err) {
      if (err?.name === 'AbortError') return;
      form.showProblem(err);
    } finally {
      form.setBusy(false);
      reject.disabled = false;
      reject.textContent = 'Reject';
    }
  };
  form.onSubmit(() => decide(true));
  reject.addEventListener('click', () => { if (!form.busy) decide(false); });

  replaceChildren(li,
    h('h3', { class: 'app-card__title', id: headingId }, name),
    h('dl', { class: 'details' },
      h('dt', {}, 'Email'), h('dd', {}, u.email),
      h('dt', {}, 'Profession'), h('dd', {}, [professionName(u.profession), u.credentials].filter(Boolean).join(', ')),
      u.institution ? [h('dt', {}, 'Institution'), h('dd', {}, u.institution)] : null,
      h('dt', {}, 'Applied'), h('dd', {}, formatInstant(e.created_at, o.timezone))),
    form.el);
  return li;
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'applications', heading: 'Applications' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  const intro = h('p', {}, o.requires_application
    ? `Approving holds a seat for the applicant for ${plural(o.approval_hold_days ?? 14, 'day', 'days')} while they pay; ` +
      'when the offering is full they go on the waitlist instead.'
    : 'This offering does not require an application: learners register directly.');
  const listBox = h('div');
  replaceChildren(body, intro, listBox);
  showLoading(listBox, 'Loading the applications…');

  let items = [];
  try {
    let cursor = null;
    for (let i = 0; i < 20; i += 1) {
      const res = await rosters.get(o.id, { status: 'applied', limit: 200, cursor, signal });
      items.push(...res.items);
      cursor = res.next_cursor;
      if (!cursor) break;
    }
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, listBox, err, 'applications');
    return;
  }
  if (items.length === 0) {
    replaceChildren(listBox, emptyState('No applications to decide', 'New applications appear here.'));
    announce(`Applications for ${page.title}: none awaiting a decision.`);
    return;
  }
  let open = items.length;
  const count = h('p', { class: 'roster-count' });
  const paint = () => {
    count.textContent = open === 0 ? 'All applications are decided.'
      : `${plural(open, 'application', 'applications')} awaiting a decision.`;
  };
  paint();
  const list = h('ul', { class: 'app-list' }, items.map((x) => card(x, o, {
    signal,
    onDecided: () => { open -= 1; paint(); },
  })));
  items = null;
  replaceChildren(listBox, count, list);
  announce(`Applications for ${page.title}: ${count.textContent}`);
}

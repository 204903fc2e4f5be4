// screens/waitlist.js — #/offerings/:id/waitlist : an offering's waitlist
// in order (GET …/waitlist), for its directors and admins. The first person
// waiting gets the next seat that opens, automatically. Each row can be
// taken off the waitlist (DELETE …/waitlist) or given a seat now, out of
// order, with a reason (POST …/promote); when no seat is free the director
// may say "even above capacity" (over_capacity).

import { enrollments, rosters } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import { statusLabel } from '../enrollment-view.js';
import { formatInstant, plural, professionName } from '../format.js';
import { directorPage, learnerLines, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { emptyState, flash, showLoading } from '../ui.js';

// The row's controls: off the waitlist, or a seat now with a reason.
function controls(x, ctx) {
  const u = x.learner;
  const who = u.full_name || u.email;
  const id = x.enrollment.id;
  const remove = h('button', { type: 'button', class: 'button button--secondary button--small' },
    'Take off the waitlist', h('span', { class: 'visually-hidden' }, `: ${who}`));
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await enrollments.removeFromWaitlist(id, { signal: ctx.signal });
      flash(`${who} is off the waitlist.`);
      ctx.rerender();
    } catch (err) {
      if (err?.name === 'AbortError') return;
      announce(`${who} could not be taken off the waitlist. ${err.message}`, { assertive: true });
      remove.disabled = false;
    }
  });
  const form = new Form({ label: `Give a seat now to ${who}`, submitText: 'Give a seat now', busyText: 'Giving a seat…',
    className: 'form--inline wait-item__promote' });
  const reason = form.add(field({ name: 'reason', label: 'Reason', labelSuffix: `for giving ${who} a seat`, required: true,
    hint: 'Kept in the audit log.', attrs: { maxlength: '500' } }));
  const over = form.add(field({ name: 'over_capacity', label: 'Even above capacity', type: 'checkbox',
    hint: 'No seat is free: this raises the offering’s capacity by one.' }));
  over.wrap.hidden = true;
  form.onSubmit(async () => {
    form.clearErrors();
    if (!reason.text) {
      form.showErrors([{ field: reason, message: 'Please give a reason for giving this seat out of order.' }]);
      return;
    }
    try {
      const e = await enrollments.promote(id, { reason: reason.text, overCapacity: !over.wrap.hidden && over.value, signal: ctx.signal });
      flash(`${who} has a seat now (${statusLabel(e).toLowerCase()}).`);
      ctx.rerender();
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err.slug === 'not-enough-seats' && over.wrap.hidden) {
        over.wrap.hidden = false;
        form.showErrors([{ field: over, message: 'No seat is free. Tick “Even above capacity” to give one anyway, then press Give a seat now again.' }]);
        return;
      }
      throw err;
    }
  });
  return h('div', { class: 'wait-item__actions' }, h('p', {}, remove), form.el);
}

function itemOf(x, o, ctx) {
  const u = x.learner;
  return h('li', { class: 'wait-item', 'data-enrollment-id': x.enrollment.id },
    h('span', { class: 'wait-item__position', 'aria-hidden': 'true' }, String(x.position)),
    h('div', { class: 'wait-item__body' },
      h('p', { class: 'learner' },
        h('span', { class: 'visually-hidden' }, `Number ${x.position}: `), learnerLines(u)),
      h('p', { class: 'wait-item__meta' },
        [professionName(u.profession), u.credentials, u.institution].filter(Boolean).join(' · '),
        h('br'), `Waiting since ${formatInstant(x.enrollment.created_at, o.timezone)}`),
      controls(x, ctx)));
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'waitlist', heading: 'Waitlist' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  const listBox = h('div');
  replaceChildren(body,
    h('p', {}, 'When a seat opens (a cancellation, an expired hold, a larger capacity), it is held at once for the ',
      'first person on this list, who is emailed and has the usual time to pay.'),
    listBox);
  showLoading(listBox, 'Loading the waitlist…');
  let first;
  try {
    first = await rosters.waitlist(o.id, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, listBox, err, 'waitlist');
    return;
  }
  if (first.items.length === 0) {
    replaceChildren(listBox, emptyState('Nobody is waiting', 'The waitlist of this offering is empty.'));
    announce(`Waitlist of ${page.title}: nobody is waiting.`);
    return;
  }
  const list = h('ol', { class: 'wait-list', 'aria-label': 'Waitlist, in order' }, first.items.map((x) => itemOf(x, o, ctx)));
  let cursor = first.next_cursor;
  const more = h('button', { type: 'button', class: 'button button--secondary' }, 'Show more');
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const next = await rosters.waitlist(o.id, { cursor, signal });
      list.append(...next.items.map((x) => itemOf(x, o, ctx)));
      cursor = next.next_cursor;
      more.hidden = !cursor;
      announce(`${plural(next.items.length, 'more person', 'more people')} shown.`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      announce(`More could not be loaded. ${err.message}`, { assertive: true });
    } finally {
      more.disabled = false;
    }
  });
  replaceChildren(listBox, list, h('p', {}, more));
  announce(`Waitlist of ${page.title}: ${plural(first.items.length, 'person', 'people')}${cursor ? ' shown, more below' : ''}.`);
}

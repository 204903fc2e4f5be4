// screens/my-registrations.js — #/registrations : the learner's
// registrations, current ones first (applied, held, confirmed, waitlisted),
// then past and cancelled ones. Each links to its page (payment, workshops,
// receipt) and current ones can be cancelled here, the refund shown first.

import { enrollments, listAll } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatDateRange, formatMoney, plural } from '../format.js';
import {
  ACTIVE, cancelControl, cancelledSentence, holdCountdown, statusBadge,
} from '../enrollment-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import {
  emptyState, flash, pageHeading, showError, showLoading, signInRequired,
} from '../ui.js';

function item(e, ctx) {
  const o = e.offering ?? {};
  const title = o.title || 'Offering';
  const href = `#/registrations/${encodeURIComponent(e.id)}`;
  const money = e.paid_cents > 0
    ? `Paid ${formatMoney(e.paid_cents, e.currency)}`
    : e.amount_due_cents > 0 ? `Amount due ${formatMoney(e.amount_due_cents, e.currency)}` : 'Nothing due';
  const action = e.status === 'held'
    ? h('a', { class: 'button button--small', href, 'aria-label': `Pay for ${title}` }, 'Pay now')
    : h('a', { class: 'button button--small button--secondary', href, 'aria-label': `Details of ${title}` }, 'Details');
  const countdown = e.status === 'held' && e.hold_expires_at
    ? holdCountdown(e, { timeZone: o.timezone, signal: ctx.signal }).el
    : null;
  return h('li', { class: 'reg-card', 'data-enrollment-id': e.id },
    h('div', { class: 'reg-card__head' },
      h('h3', { class: 'reg-card__title' }, h('a', { href }, title)),
      statusBadge(e)),
    h('p', { class: 'reg-card__meta' },
      [formatDateRange(o.starts_on, o.ends_on), o.venue, e.status === 'cancelled' && e.refund_cents > 0
        ? `Refunded ${formatMoney(e.refund_cents, e.currency)}` : money].filter(Boolean).join(' · ')),
    countdown,
    h('div', { class: 'reg-card__actions' },
      action,
      e.paid_cents > 0
        ? h('a', { class: 'button button--small button--secondary', href, 'aria-label': `Receipts for ${title}` }, 'Receipts')
        : null,
      ACTIVE.has(e.status)
        ? cancelControl(e, {
          signal: ctx.signal,
          title,
          onCancelled: (done, refund) => {
            flash(cancelledSentence(done, refund));
            ctx.rerender();
          },
        })
        : null));
}

export async function render(ctx) {
  const { root, signal } = ctx;
  if (session.user() === null) {
    signInRequired(root, ctx, {
      title: 'My registrations', path: '/registrations', text: 'Please sign in to see your registrations.',
    });
    return;
  }
  ctx.setTitle('My registrations');
  const body = h('div', { class: 'my-registrations' });
  replaceChildren(root, pageHeading('My registrations'), body);
  showLoading(body, 'Loading your registrations…');
  let list;
  try {
    list = await listAll((opts) => enrollments.mine(opts), { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    if (err.slug === 'unauthenticated') {
      signInRequired(root, ctx, { title: 'My registrations', path: '/registrations', text: err.message });
      return;
    }
    showError(body, err, { heading: 'Your registrations could not be loaded', onRetry: () => ctx.rerender() });
    return;
  }
  const current = list.filter((e) => ACTIVE.has(e.status))
    .sort((a, b) => String(a.offering?.starts_on).localeCompare(String(b.offering?.starts_on)));
  const past = list.filter((e) => !ACTIVE.has(e.status));
  if (list.length === 0) {
    replaceChildren(body,
      emptyState('No registrations yet', 'When you register for a course, it appears here.'),
      h('p', { class: 'section' }, h('a', { class: 'button', href: '#/' }, 'See the courses')));
    announce('My registrations. You have no registrations yet.');
    return;
  }
  replaceChildren(body,
    h('section', { class: 'section section--tight', 'aria-labelledby': 'current-heading' },
      h('h2', { id: 'current-heading' }, 'Current'),
      current.length
        ? h('ul', { class: 'reg-list' }, current.map((e) => item(e, ctx)))
        : h('p', {}, 'You have no current registrations. ', h('a', { href: '#/' }, 'See the courses'), '.')),
    past.length
      ? h('section', { class: 'section', 'aria-labelledby': 'past-heading' },
        h('h2', { id: 'past-heading' }, 'Past and cancelled'),
        h('ul', { class: 'reg-list' }, past.map((e) => item(e, ctx))))
      : null);
  announce(`My registrations. ${plural(current.length, 'current registration', 'current registrations')}.`);
}

// screens/registration.js — #/registrations/:id : one of the learner's
// registrations. What it shows follows the status: a held seat has its
// countdown and the payment form; a confirmed one its confirmation, the
// receipt, the workshops chosen and the calendar link; a waitlisted one its
// place; an application that it is under review. Active registrations can
// be cancelled, with the refund shown before the learner confirms.

import { credits, enrollments, listAll, offerings, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import {
  formatDateRange, formatInstant, formatMoney, plural,
} from '../format.js';
import {
  ACTIVE, cancelControl, cancelledSentence, holdCountdown, statusBadge, statusExplanation,
} from '../enrollment-view.js';
import { badgeSection } from '../badge-view.js';
import { transferSection } from '../transfer-view.js';
import { paymentForm } from '../payment-form.js';
import { sessionWhen } from '../schedule-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import {
  breadcrumbs, downloadButton, flash, pageHeading, showError, showLoading, signInRequired,
} from '../ui.js';

const CHOOSABLE = new Set(['workshop', 'small_group']);

function row(term, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', {}, term), h('dd', {}, value)];
}

function moneyRows(e) {
  const m = (c) => formatMoney(c, e.currency);
  return [
    row('Price', m(e.price_cents)),
    e.discount_cents > 0 ? row('Discount', `− ${m(e.discount_cents)}`) : null,
    row('Amount due', m(e.amount_due_cents)),
    e.paid_cents > 0 ? row('Paid', m(e.paid_cents)) : null,
    e.refund_cents > 0 ? row('Refunded', m(e.refund_cents)) : null,
  ];
}

const PAYMENT_STATUS = { succeeded: 'Paid', declined: 'Declined', refunded: 'Refunded', pending: 'Processing' };

function paymentsTable(e) {
  const list = Array.isArray(e.payments) ? e.payments : [];
  if (list.length === 0) return null;
  return h('section', { class: 'section', 'aria-labelledby': 'payments-heading' },
    h('h2', { id: 'payments-heading', tabindex: '-1' }, 'Payments'),
    h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'payments-heading', tabindex: '0' },
      h('table', { class: 'table payments' },
        h('caption', { class: 'visually-hidden' }, 'Payments for this registration'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Date'),
          h('th', { scope: 'col' }, 'Amount'),
          h('th', { scope: 'col' }, 'Result'),
          h('th', { scope: 'col' }, 'Reference'),
          h('th', { scope: 'col' }, 'Receipt'))),
        h('tbody', {}, list.map((p) => h('tr', {},
          h('td', {}, formatInstant(p.created_at, e.offering?.timezone)),
          h('td', {}, formatMoney(p.amount_cents, p.currency)),
          h('td', {}, PAYMENT_STATUS[p.status] ?? p.status,
            p.refunded_cents > 0 ? ` (${formatMoney(p.refunded_cents, p.currency)} refunded)` : ''),
          h('td', { class: 'mono' }, p.processor_ref || '—'),
          h('td', {}, ['succeeded', 'refunded'].includes(p.status)
            ? h('a', { href: `/api/v1/payments/${encodeURIComponent(p.id)}/receipt`, target: '_blank', rel: 'noopener',
              'aria-label': `Receipt (PDF) for the payment of ${formatMoney(p.amount_cents, p.currency)}` }, 'Receipt (PDF)')
            : '—')))))));
}

function workshopsSection(e, o, choosable) {
  if (choosable.length === 0 || !['held', 'confirmed'].includes(e.status)) return null;
  const chosen = choosable.filter((s) => (e.session_ids ?? []).includes(s.id));
  const href = `#/registrations/${encodeURIComponent(e.id)}/workshops`;
  return h('section', { class: 'section', 'aria-labelledby': 'workshops-heading' },
    h('h2', { id: 'workshops-heading' }, 'Workshops'),
    chosen.length
      ? h('ul', { class: 'plain-list' }, chosen.map((s) => h('li', {},
        h('span', { class: 'label' }, s.title), ` — ${sessionWhen(s, o)}`)))
      : h('p', {}, `This offering has ${plural(choosable.length, 'workshop or small group', 'workshops and small groups')} ` +
        'to choose from. You have not chosen any yet.'),
    h('p', {}, h('a', { class: 'button button--secondary', href },
      chosen.length ? 'Change workshops' : 'Choose workshops')));
}

// After the course: the evaluation, then the certificate.
function afterCourse(e) {
  if (e.status !== 'confirmed') return null;
  const id = encodeURIComponent(e.id);
  return h('section', { class: 'section', 'aria-labelledby': 'after-heading' },
    h('h2', { id: 'after-heading' }, 'After the course'),
    h('p', {}, 'When the course has ended, evaluate it and claim your hours; your certificate is then ready to download.'),
    h('p', { class: 'button-row button-row--tight' },
      h('a', { class: 'button button--secondary button--small', href: `#/registrations/${id}/evaluation` }, 'Evaluate and claim credit'),
      downloadButton('Download your certificate (PDF)', 'certificate.pdf', () => credits.certificatePdf(e.id), { small: true }),
      h('a', { href: '#/transcript' }, 'Your transcript')));
}

function confirmation(e, o) {
  if (e.status !== 'confirmed') return null;
  return h('div', { class: 'panel panel--confirmed' },
    h('h2', { class: 'panel__title' }, 'You are registered'),
    h('p', {}, `Your place at ${o.title} (${formatDateRange(o.starts_on, o.ends_on)}${o.venue ? `, ${o.venue}` : ''}) is confirmed.`),
    e.paid_cents > 0 ? h('p', {}, `We received your payment of ${formatMoney(e.paid_cents, e.currency)}.`) : null,
    h('p', { class: 'button-row button-row--tight' },
      h('a', { class: 'button button--secondary button--small', href: offerings.calendarUrl(o.id), download: 'schedule.ics' },
        'Add the schedule to your calendar'),
      h('a', { href: `#/offerings/${encodeURIComponent(o.id)}` }, 'See the schedule')));
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const path = `/registrations/${params.id}`;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Your registration', path, text: 'Please sign in to see your registration.' });
    return;
  }
  ctx.setTitle('Your registration');
  const body = h('div', { class: 'registration' });
  const trail = [['My registrations', '#/registrations']];
  replaceChildren(root, body);
  replaceChildren(body, breadcrumbs([...trail, ['Registration', null]]), pageHeading('Your registration'));
  showLoading(body.appendChild(h('div')), 'Loading your registration…');

  let e;
  let list = [];
  try {
    e = await enrollments.get(params.id, { signal });
    list = await listAll((opts) => sessionsApi.list(e.offering_id, opts), { signal }).catch((err) => {
      if (err?.name === 'AbortError') throw err;
      return []; // the registration stands without its workshops
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    if (err.slug === 'unauthenticated') {
      signInRequired(root, ctx, { title: 'Your registration', path, text: err.message });
      return;
    }
    replaceChildren(body, breadcrumbs([...trail, ['Registration', null]]), pageHeading('Your registration'));
    if (err.slug === 'not-found' || err.slug === 'invalid-request') {
      body.append(h('p', {}, 'We could not find this registration among yours.'),
        h('p', {}, h('a', { href: '#/registrations' }, 'See all your registrations')));
      announce('Registration not found.', { assertive: true });
      return;
    }
    showError(body.appendChild(h('div')), err, {
      heading: 'Your registration could not be loaded', onRetry: () => ctx.rerender(),
    });
    return;
  }

  const o = e.offering ?? { id: e.offering_id, title: 'Offering', timezone: 'UTC' };
  const title = o.title || 'Offering';
  ctx.setTitle(`Your registration: ${title}`);
  const choosable = list.filter((s) => CHOOSABLE.has(s.kind));

  let paySection = null;
  if (e.status === 'held') {
    let pay = null;
    const expired = () => {
      pay?.disable('The hold on your seat has run out, so this registration can no longer be paid. ' +
        'The seat is released within a minute; you can then register again if seats are left.');
    };
    const countdown = holdCountdown(e, { timeZone: o.timezone, signal, onExpire: expired });
    pay = paymentForm(e, {
      signal,
      onPaid: (res) => {
        const paid = res?.payment?.amount_cents;
        flash(paid
          ? `Payment received: ${formatMoney(paid, res.payment.currency)}. Your registration is confirmed.`
          : 'This registration is paid and confirmed.');
        ctx.rerender();
      },
      onExpired: expired,
    });
    paySection = [countdown.el, pay.el];
    if (Date.parse(e.hold_expires_at) <= Date.now()) expired();
  }

  const cancel = ACTIVE.has(e.status)
    ? h('section', { class: 'section', 'aria-labelledby': 'cancel-heading' },
      h('h2', { id: 'cancel-heading' }, 'Cancel'),
      cancelControl(e, {
        signal,
        onCancelled: (done, refund) => {
          flash(cancelledSentence(done, refund));
          ctx.rerender();
        },
      }))
    : null;

  const transfer = transferSection(e, {
    signal,
    onDone: (sentence, after, kind) => {
      flash(sentence);
      // A registration given away is no longer its learner's to see.
      if (kind === 'colleague' && after.user_id !== session.user()?.id && e.user_id === session.user()?.id) {
        ctx.navigate('/registrations');
      } else {
        ctx.rerender();
      }
    },
  });

  replaceChildren(body,
    breadcrumbs([...trail, [title, null]]),
    pageHeading(title, { eyebrow: 'Your registration' }),
    statusBadge(e),
    e.status === 'confirmed' ? null : h('p', { class: 'registration__explain' }, statusExplanation(e)),
    e.note ? h('div', { class: 'panel panel--note' },
      h('p', { class: 'panel__title' }, 'Note from the course director'), h('p', {}, e.note)) : null,
    confirmation(e, o),
    paySection,
    h('section', { class: 'section section--tight', 'aria-labelledby': 'details-heading' },
      h('h2', { id: 'details-heading', class: 'visually-hidden' }, 'Details'),
      h('dl', { class: 'details details--card' },
        row('Dates', formatDateRange(o.starts_on, o.ends_on)),
        row('Venue', o.venue),
        moneyRows(e),
        row('Registered', formatInstant(e.created_at, o.timezone)))),
    workshopsSection(e, o, choosable),
    badgeSection(e, list, o, signal),
    afterCourse(e),
    paymentsTable(e),
    transfer,
    cancel,
    h('p', { class: 'section' }, h('a', { href: `#/offerings/${encodeURIComponent(o.id)}` }, 'The offering’s page'),
      ' · ', h('a', { href: '#/registrations' }, 'All your registrations')));
  announce(`Your registration for ${title}: ${statusBadge(e).textContent}.`);
}

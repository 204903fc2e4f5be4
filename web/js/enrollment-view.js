// enrollment-view.js — the pieces the registration screens share: an
// enrollment's status in words, the hold countdown, the cancel control that
// shows the refund before it asks, the entry points on the offering page and
// the directors' sub-navigation.
//
//   statusBadge(e)                      <p class="badge …">Seat held — payment due</p>
//   holdCountdown(e, { signal, onExpire }) → { el }  ticks every second
//   cancelControl(e, { signal, onCancelled })      → Node
//   registerCallout(o, user)            the offering page's "Register" box
//   directorLinks(o)                    [<a>Applications</a>, …] for the director bar
//   directorNav(o, current)             the directors' sub-navigation

import { enrollments } from './api.js';
import { h, replaceChildren } from './dom.js';
import { formatDateRange, formatInstant, formatMoney, plural } from './format.js';
import { announce } from './status.js';

// Statuses a learner can still cancel (and that count as "registered").
export const ACTIVE = new Set(['applied', 'held', 'confirmed', 'waitlisted']);

const STATUS = {
  applied: 'Application under review',
  held: 'Seat held — payment due',
  confirmed: 'Confirmed',
  waitlisted: 'On the waitlist',
  rejected: 'Application not accepted',
  cancelled: 'Cancelled',
  expired: 'Hold expired',
};

export function statusLabel(e) {
  if (e.status === 'waitlisted' && typeof e.waitlist_position === 'number') {
    return `On the waitlist — number ${e.waitlist_position}`;
  }
  return STATUS[e.status] ?? e.status;
}

export function statusBadge(e) {
  return h('p', { class: `badge badge--reg badge--reg-${e.status}` }, statusLabel(e));
}

// What the status means for the learner, in a sentence or two.
export function statusExplanation(e) {
  switch (e.status) {
    case 'applied':
      return 'A course director is reviewing your application. We will email you when they have decided.';
    case 'held':
      return 'Pay before the hold runs out to confirm your registration; until then nobody else can take this seat.';
    case 'confirmed':
      return 'Your registration is confirmed. We look forward to seeing you.';
    case 'waitlisted':
      return `The offering is full, so you are on its waitlist${typeof e.waitlist_position === 'number'
        ? ` at number ${e.waitlist_position}` : ''}. When a seat opens it is held for you, and we email you.`;
    case 'rejected':
      return 'We are sorry: your application was not accepted.';
    case 'cancelled':
      return e.refund_cents > 0
        ? `This registration is cancelled. ${formatMoney(e.refund_cents, e.currency)} is refunded to your card.`
        : 'This registration is cancelled.';
    case 'expired':
      return 'The hold on your seat ran out before payment, so the seat was released. You can register again if seats are left.';
    default:
      return '';
  }
}

// "2 hours 5 minutes", "12 minutes 5 seconds", "3 days 4 hours".
export function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (days > 0) return `${plural(days, 'day', 'days')}${hours ? ` ${plural(hours, 'hour', 'hours')}` : ''}`;
  if (hours > 0) return `${plural(hours, 'hour', 'hours')}${minutes ? ` ${plural(minutes, 'minute', 'minutes')}` : ''}`;
  if (minutes > 0) return `${plural(minutes, 'minute', 'minutes')} ${plural(seconds, 'second', 'seconds')}`;
  return plural(seconds, 'second', 'seconds');
}

// The hold's countdown: "Your seat is held until March 1, 2027 at 4:35 PM EST:
// 29 minutes 12 seconds left." It repaints every second but is not a live
// region (a screen reader would hear it every second); instead it announces
// the moments that matter: 5 minutes left, 1 minute left, expired. Stops when
// `signal` aborts (the learner left the screen). onExpire runs once.
export function holdCountdown(e, { timeZone, signal, onExpire = null } = {}) {
  const until = Date.parse(e.hold_expires_at ?? '');
  const left = h('strong', { class: 'countdown__left' });
  const el = h('div', { class: 'countdown', 'data-hold-expires-at': e.hold_expires_at ?? '' },
    h('p', { class: 'countdown__text' },
      'Your seat is held until ',
      h('time', { datetime: e.hold_expires_at ?? '' }, formatInstant(e.hold_expires_at, timeZone)),
      ': ', left, '.'));
  if (Number.isNaN(until)) return { el };
  const warned = new Set();
  let timer = null;
  const tick = () => {
    const ms = until - Date.now();
    if (ms <= 0) {
      left.textContent = 'the hold has run out';
      el.classList.add('countdown--expired');
      clearInterval(timer);
      if (!warned.has('expired')) {
        warned.add('expired');
        announce('The hold on your seat has run out.', { assertive: true });
        onExpire?.();
      }
      return;
    }
    left.textContent = `${formatDuration(ms)} left`;
    el.classList.toggle('countdown--urgent', ms <= 5 * 60_000);
    for (const [mark, text] of [[60_000, '1 minute'], [5 * 60_000, '5 minutes']]) {
      // Only crossings seen on this screen: no warning on arrival.
      if (ms <= mark && !warned.has(mark) && warned.has('seen')) {
        warned.add(mark);
        announce(`Less than ${text} left to pay before the hold on your seat runs out.`, { assertive: true });
      }
      if (ms <= mark) warned.add(mark);
    }
    warned.add('seen');
  };
  tick();
  timer = setInterval(tick, 1000);
  signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
  return { el };
}

// What cancelling now would mean, from refund_if_cancelled_cents.
export function refundSentence(e) {
  const refund = e.refund_if_cancelled_cents ?? 0;
  const paid = e.paid_cents ?? 0;
  if (e.status === 'confirmed' && paid > 0) {
    if (refund >= paid) return `You paid ${formatMoney(paid, e.currency)}. Cancelling today refunds all of it to your card.`;
    if (refund > 0) {
      const pct = Math.round((refund * 100) / paid);
      return `You paid ${formatMoney(paid, e.currency)}. By the cancellation policy, cancelling today refunds ` +
        `${pct}% of it: ${formatMoney(refund, e.currency)} goes back to your card.`;
    }
    return `You paid ${formatMoney(paid, e.currency)}. By the cancellation policy, cancelling today refunds nothing.`;
  }
  if (e.status === 'held') return 'Nothing has been paid, so there is nothing to refund. Your seat goes to the next person.';
  if (e.status === 'waitlisted') return 'Nothing has been paid. You leave the waitlist.';
  if (e.status === 'applied') return 'Nothing has been paid. Your application is withdrawn.';
  return 'Nothing has been paid, so there is nothing to refund.';
}

let seq = 0;

// "Cancel registration": fetches the enrollment afresh (the refund depends on
// today's date), shows what cancelling would refund, and only then offers
// the button that cancels. onCancelled(enrollment, refundCents) afterwards.
export function cancelControl(e, { signal, onCancelled, title = null } = {}) {
  seq += 1;
  const id = `cancel-${seq}`;
  const box = h('div', { class: 'cancel' });
  const start = h('button', {
    type: 'button',
    class: 'button button--secondary button--small',
    'aria-label': title ? `Cancel registration for ${title}` : null,
  }, 'Cancel registration');

  const idle = () => {
    replaceChildren(box, start);
  };

  const fail = (err, retryButton) => {
    const msg = h('p', { class: 'field__error', id: `${id}-error` }, err.message);
    replaceChildren(box, msg, retryButton ?? start);
    announce(`The registration was not cancelled. ${err.message}`, { assertive: true });
  };

  start.addEventListener('click', async () => {
    start.disabled = true;
    start.textContent = 'Checking the refund…';
    let fresh;
    try {
      fresh = await enrollments.get(e.id, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') return;
      start.disabled = false;
      start.textContent = 'Cancel registration';
      fail(err);
      return;
    }
    start.disabled = false;
    start.textContent = 'Cancel registration';
    if (!ACTIVE.has(fresh.status)) {
      onCancelled?.(fresh, fresh.refund_cents ?? 0);
      return;
    }
    const sentence = refundSentence(fresh);
    const yes = h('button', { type: 'button', class: 'button button--danger button--small' }, 'Yes, cancel my registration');
    const no = h('button', { type: 'button', class: 'button button--secondary button--small' }, 'Keep my registration');
    const question = h('div', {
      class: 'cancel__confirm', role: 'group', 'aria-labelledby': `${id}-q`, 'aria-describedby': `${id}-refund`,
    },
    h('p', { class: 'cancel__question', id: `${id}-q`, tabindex: '-1' },
      title ? `Cancel your registration for ${title}?` : 'Cancel this registration?'),
    h('p', { class: 'cancel__refund', id: `${id}-refund` }, sentence),
    h('div', { class: 'button-row button-row--tight' }, yes, no));
    replaceChildren(box, question);
    question.querySelector('.cancel__question').focus();
    announce(`Cancel this registration? ${sentence}`);
    no.addEventListener('click', () => {
      idle();
      start.focus();
      announce('Your registration is unchanged.');
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      no.disabled = true;
      yes.textContent = 'Cancelling…';
      try {
        const done = await enrollments.cancel(e.id, { signal });
        onCancelled?.(done, done.refund_cents ?? 0);
      } catch (err) {
        if (err?.name === 'AbortError') return;
        yes.disabled = false;
        no.disabled = false;
        yes.textContent = 'Yes, cancel my registration';
        const msg = h('p', { class: 'field__error' }, err.message);
        question.append(msg);
        announce(`The registration was not cancelled. ${err.message}`, { assertive: true });
      }
    });
  });
  idle();
  return box;
}

// The sentence announced after a cancellation.
export function cancelledSentence(e, refundCents) {
  return refundCents > 0
    ? `Your registration is cancelled. ${formatMoney(refundCents, e.currency)} is refunded to your card.`
    : 'Your registration is cancelled.';
}

// Is registration open now (status and window)?
export function registrationOpen(o) {
  const now = Date.now();
  if (o.status !== 'open') return false;
  if (o.registration_opens_at && Date.parse(o.registration_opens_at) > now) return false;
  if (o.registration_closes_at && Date.parse(o.registration_closes_at) <= now) return false;
  return true;
}

export function registerHref(offeringId) {
  return `#/offerings/${encodeURIComponent(offeringId)}/register`;
}

// The offering page's call to action: "Register", "Apply", "Join the
// waitlist", or why not. `user` null: sign in first, then come back.
export function registerCallout(o, user) {
  if (!o || o.status === 'draft' || o.status === 'cancelled') return null;
  const open = registrationOpen(o);
  let action = 'Register';
  let text = 'Register online: you see your price first, and your seat is held while you pay.';
  if (o.requires_application) {
    action = 'Apply';
    text = 'Admission is by application: apply online, and a course director reviews your application.';
  } else if (typeof o.seats_left === 'number' && o.seats_left <= 0) {
    action = 'Join the waitlist';
    text = 'This offering is full. Join the waitlist: when a seat opens, it is held for the first person waiting.';
  }
  let button = null;
  if (!open) {
    text = o.registration_opens_at && Date.parse(o.registration_opens_at) > Date.now()
      ? `Registration opens ${formatInstant(o.registration_opens_at, o.timezone)}.`
      : 'Registration for this offering is closed.';
  } else {
    // Signed out, the register page asks to sign in or sign up, and comes back.
    button = h('a', { class: 'button', href: registerHref(o.id) }, action);
    if (!user) text = `${text} You need an account, and to be signed in.`;
  }
  return h('section', { class: 'register-callout', 'aria-labelledby': 'register-callout-heading' },
    h('h2', { id: 'register-callout-heading', class: 'register-callout__title' }, 'Registration'),
    h('p', {}, text),
    button ? h('p', { class: 'button-row button-row--tight' }, button,
      user ? h('a', { href: '#/registrations' }, 'My registrations') : null) : null);
}

const DIRECTOR_PAGES = [
  ['applications', 'Applications'],
  ['roster', 'Roster'],
  ['waitlist', 'Waitlist'],
  ['attendance', 'Attendance'],
  ['completion', 'Completion'],
  ['evaluations', 'Evaluations'],
  ['evaluation-form', 'Evaluation form'],
];

// Links for the offering page's director bar.
export function directorLinks(o) {
  return DIRECTOR_PAGES
    .filter(([page]) => page !== 'applications' || o.requires_application)
    .map(([page, label]) => h('a', {
      class: 'button button--small button--secondary',
      href: `#/offerings/${encodeURIComponent(o.id)}/${page}`,
    }, label));
}

// The directors' sub-navigation between an offering's applications, roster
// and waitlist, with the current page marked.
export function directorNav(o, current) {
  return h('nav', { class: 'subnav', 'aria-label': 'Registrations of this offering' },
    h('ul', { class: 'subnav__list' },
      DIRECTOR_PAGES.map(([page, label]) => h('li', {},
        h('a', {
          class: 'subnav__link',
          href: `#/offerings/${encodeURIComponent(o.id)}/${page}`,
          'aria-current': page === current ? 'page' : null,
        }, label))),
      h('li', {}, h('a', { class: 'subnav__link', href: `#/offerings/${encodeURIComponent(o.id)}` }, 'Offering page'))));
}

// 'March 15 – 17, 2027 · Conference Center'
export function offeringLine(o) {
  return [formatDateRange(o.starts_on, o.ends_on), o.venue].filter(Boolean).join(' · ');
}

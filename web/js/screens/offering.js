// screens/offering.js — #/offerings/:id : one offering of a course.
//
// Its dates and parts (PCEP's Part 1 and Part 2), venue, seats left, the
// registration window, the price for the signed-in learner's profession
// (every profession's otherwise), credit, the cancellation policy, and the
// schedule day by day in the offering's time zone with an "Add to calendar"
// link to the offering's iCalendar file. Directors of the course and admins
// get links to edit the offering and its schedule.

import { courses, listAll, offerings, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import {
  formatDate, formatDateRange, formatInstant, formatMoney, offeringStatusLabel, plural,
  professionLabel, professionName, todayIn, zoneName,
} from '../format.js';
import { scheduleDays } from '../schedule-view.js';
import { directorLinks, registerCallout } from '../enrollment-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { breadcrumbs, emptyState, pageHeading, showError, showLoading, signInHref } from '../ui.js';

function detailRow(term, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', {}, term), h('dd', {}, value)];
}

function seatsText(o) {
  if (typeof o.seats_left !== 'number') return null;
  if (o.status === 'cancelled') return null;
  if (o.seats_left > 0) return `${plural(o.seats_left, 'seat', 'seats')} left of ${o.capacity}`;
  return o.waitlist_length > 0
    ? `Full — ${plural(o.waitlist_length, 'person', 'people')} on the waitlist`
    : 'Full — you can join the waitlist';
}

function windowText(o) {
  const opens = o.registration_opens_at;
  const closes = o.registration_closes_at;
  const now = Date.now();
  if (o.status === 'cancelled') return 'This offering is cancelled.';
  if (opens && Date.parse(opens) > now) {
    return `Opens ${formatInstant(opens, o.timezone)}${closes ? `, closes ${formatInstant(closes, o.timezone)}` : ''}`;
  }
  if (closes && Date.parse(closes) <= now) return `Closed ${formatInstant(closes, o.timezone)}`;
  if (closes) return `${o.status === 'open' ? 'Open until' : 'Closes'} ${formatInstant(closes, o.timezone)}`;
  return o.status === 'open' ? 'Open' : null;
}

function partsList(o) {
  const parts = Array.isArray(o.parts) ? o.parts : [];
  if (parts.length < 2) return null;
  return h('ul', { class: 'offering__parts' },
    parts.map((p) => h('li', {}, h('span', { class: 'label' }, `${p.name}: `), formatDateRange(p.starts_on, p.ends_on))));
}

// Is the early price in force today, in the offering's zone?
function earlyNow(p, o) {
  return p.early_amount_cents !== null && p.early_amount_cents !== undefined && p.early_until
    && todayIn(o.timezone) <= p.early_until;
}

function priceCell(p, o) {
  return formatMoney(p.amount_cents, o.currency);
}

function earlyCell(p, o) {
  if (p.early_amount_cents === null || p.early_amount_cents === undefined || !p.early_until) return '—';
  const text = `${formatMoney(p.early_amount_cents, o.currency)} until ${formatDate(p.early_until)}`;
  return earlyNow(p, o) ? text : `${text} (ended)`;
}

function pricesTable(o, caption) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Profession'),
        h('th', { scope: 'col' }, 'Price'),
        h('th', { scope: 'col' }, 'Early price'))),
      h('tbody', {}, o.prices.map((p) => h('tr', {},
        h('th', { scope: 'row' }, professionLabel(p.profession)),
        h('td', {}, priceCell(p, o)),
        h('td', {}, earlyCell(p, o)))))));
}

function yourPrice(o, user) {
  const p = o.prices.find((x) => x.profession === user.profession);
  const who = professionName(user.profession).toLowerCase();
  if (!p) {
    return h('p', { class: 'price price--none' },
      `This offering lists no price for your profession (${who}). Please contact the course office before registering.`);
  }
  if (earlyNow(p, o)) {
    return h('p', { class: 'price' },
      `As a ${who}, you pay `, h('strong', { class: 'price__amount' }, formatMoney(p.early_amount_cents, o.currency)),
      ` if you register by ${formatDate(p.early_until)} (early price); ${formatMoney(p.amount_cents, o.currency)} after that.`);
  }
  return h('p', { class: 'price' },
    `As a ${who}, you pay `, h('strong', { class: 'price__amount' }, formatMoney(p.amount_cents, o.currency)), '.');
}

function priceSection(o, user) {
  const prices = Array.isArray(o.prices) ? o.prices : [];
  let content;
  if (prices.length === 0) {
    content = h('p', {}, 'Prices have not been announced yet.');
  } else if (user) {
    content = [
      yourPrice(o, user),
      h('details', { class: 'disclosure' },
        h('summary', {}, 'Prices for every profession'),
        pricesTable(o, 'Prices by profession'))];
  } else {
    content = [
      pricesTable(o, 'Prices by profession'),
      h('p', { class: 'notice' },
        h('a', { href: signInHref(`/offerings/${o.id}`) }, 'Sign in'),
        ' to see the price for your profession.')];
  }
  return h('section', { class: 'section', 'aria-labelledby': 'price-heading' },
    h('h2', { id: 'price-heading' }, 'Price'), content);
}

function creditText(o, user) {
  const types = Array.isArray(o.credit_types) ? o.credit_types : [];
  const max = o.max_credits !== null && o.max_credits !== undefined ? ` — at most ${o.max_credits}` : '';
  if (user) {
    const t = types.find((x) => x.profession === user.profession);
    if (t) return `${t.credit_type} for ${professionLabel(user.profession).toLowerCase()}${max}`;
  }
  if (types.length === 0) return max ? `At most ${o.max_credits}` : null;
  // Group professions by the credit they earn: 'AMA PRA Category 1 (physicians); participation (…)'.
  const byType = new Map();
  for (const t of types) {
    if (!byType.has(t.credit_type)) byType.set(t.credit_type, []);
    byType.get(t.credit_type).push(professionLabel(t.profession).toLowerCase());
  }
  return h('ul', { class: 'plain-list' },
    [...byType].map(([type, who]) => h('li', {}, `${type}: ${who.join(', ')}`)),
    max ? h('li', {}, `At most ${o.max_credits} credits`) : null);
}

function cancellationSection(o) {
  const rules = Array.isArray(o.cancellation_policy) ? o.cancellation_policy : [];
  const items = rules.slice().sort((a, b) => b.until_days_before - a.until_days_before)
    .map((r) => h('li', {}, r.until_days_before === 0
      ? `Cancel by the first day: ${r.refund_percent}% refund`
      : `Cancel ${plural(r.until_days_before, 'day', 'days')} or more before the start: ${r.refund_percent}% refund`));
  return h('section', { class: 'section', 'aria-labelledby': 'cancel-heading' },
    h('h2', { id: 'cancel-heading' }, 'Cancellation and refunds'),
    items.length
      ? [h('ul', { class: 'plain-list' }, items), h('p', { class: 'notice' }, 'Later cancellations are not refunded.')]
      : h('p', {}, 'Cancellations are not refunded.'));
}

function scheduleSection(o, list) {
  const zone = zoneName(o.timezone, o.starts_on ? `${o.starts_on}T12:00:00Z` : null);
  const ics = h('a', {
    class: 'button button--secondary',
    href: offerings.calendarUrl(o.id),
    download: `${(o.title || 'schedule').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase() || 'schedule'}.ics`,
    'aria-describedby': 'ics-hint',
  }, 'Add to calendar');
  return h('section', { class: 'section', 'aria-labelledby': 'schedule-heading' },
    h('div', { class: 'section-head' },
      h('h2', { id: 'schedule-heading' }, 'Schedule'),
      list.length ? ics : null),
    list.length
      ? h('p', { class: 'notice', id: 'ics-hint' },
        `Times are ${zone} (${o.timezone}), where the course takes place. `,
        '"Add to calendar" downloads the schedule as an iCalendar file for Outlook, Apple Calendar or Google Calendar.')
      : null,
    list.length
      ? scheduleDays(list, o)
      : emptyState('No schedule yet', 'The schedule of this offering has not been published yet. Please check back soon.'));
}

function directorBar(o) {
  return h('nav', { class: 'director-bar', 'aria-label': 'Course director' },
    h('p', { class: 'director-bar__label' }, 'You direct this course'),
    h('a', { class: 'button button--small', href: `#/offerings/${encodeURIComponent(o.id)}/edit` }, 'Edit offering'),
    h('a', { class: 'button button--small button--secondary', href: `#/offerings/${encodeURIComponent(o.id)}/schedule` }, 'Edit schedule'),
    directorLinks(o));
}

function offeringView(o, course, list, user) {
  const title = o.title || course?.title || 'Offering';
  const courseTitle = course?.title ?? o.course_slug;
  const courseHref = `#/courses/${encodeURIComponent(o.course_slug)}`;
  return [
    breadcrumbs([['Courses', '#/'], [courseTitle, courseHref], [title, null]]),
    pageHeading(title, { eyebrow: courseTitle }),
    h('p', { class: `badge badge--${o.status}` }, offeringStatusLabel(o.status)),
    session.canDirect(o.course_slug) ? directorBar(o) : null,
    h('dl', { class: 'details details--card' },
      detailRow('Dates', formatDateRange(o.starts_on, o.ends_on)),
      detailRow('Parts', partsList(o)),
      detailRow('Venue', o.venue),
      detailRow('Time zone', `${zoneName(o.timezone, o.starts_on ? `${o.starts_on}T12:00:00Z` : null)} (${o.timezone})`),
      detailRow('Seats', seatsText(o)),
      detailRow('Registration', windowText(o)),
      o.requires_application
        ? detailRow('Admission', 'By application: a course director reviews each application.')
        : null,
      detailRow('Credit', creditText(o, user))),
    registerCallout(o, user),
    priceSection(o, user),
    scheduleSection(o, list),
    cancellationSection(o),
  ];
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  ctx.setTitle('Offering');
  const body = h('div', { class: 'offering-page' });
  replaceChildren(root, body);

  const load = async () => {
    replaceChildren(body, breadcrumbs([['Courses', '#/'], ['Offering', null]]));
    const status = body.appendChild(h('div'));
    showLoading(status, 'Loading the offering…');
    let o;
    let list;
    try {
      [o, list] = await Promise.all([
        offerings.get(params.id, { signal }),
        listAll((opts) => sessionsApi.list(params.id, opts), { signal }),
      ]);
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err?.slug === 'not-found' || (err?.status === 400 && err?.slug === 'invalid-request')) {
        ctx.setTitle('Offering not found');
        replaceChildren(body,
          breadcrumbs([['Courses', '#/'], ['Offering not found', null]]),
          pageHeading('Offering not found'),
          h('p', {}, 'We could not find this offering. It may have been withdrawn, or it is not published yet.'),
          h('p', {}, h('a', { href: '#/' }, 'See all courses')));
        announce('Offering not found.', { assertive: true });
        return;
      }
      replaceChildren(body, breadcrumbs([['Courses', '#/'], ['Offering', null]]), pageHeading('Offering'));
      showError(body.appendChild(h('div')), err, {
        heading: 'This offering could not be loaded',
        onRetry: () => { load().catch(() => {}); },
      });
      return;
    }
    let course = null;
    try {
      course = await courses.get(o.course_slug, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      course = null; // the page stands without the course's title
    }
    const title = o.title || course?.title || 'Offering';
    ctx.setTitle(title);
    replaceChildren(body, offeringView(o, course, list, session.user()));
    announce(`${title}. ${list.length ? `Schedule of ${plural(list.length, 'session', 'sessions')}.` : 'No schedule yet.'}`);
  };
  await load();
}

// screens/course.js — #/courses/:slug : one course, its directors and its
// offerings (dates, venue, registration status), or "No dates announced yet".

import { courses } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { announce } from '../status.js';
import {
  formatDateRange, formatInstant, offeringStatusLabel, plural,
} from '../format.js';
import * as session from '../session.js';
import { breadcrumbs, emptyState, pageHeading, showError, showLoading } from '../ui.js';

function detailRow(term, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', {}, term), h('dd', {}, value)];
}

function seatsText(offering) {
  if (offering.status !== 'open' || typeof offering.seats_left !== 'number') return null;
  if (offering.seats_left > 0) return plural(offering.seats_left, 'seat left', 'seats left');
  return offering.waitlist_length > 0
    ? `Full — ${plural(offering.waitlist_length, 'person', 'people')} on the waitlist`
    : 'Full — you can join the waitlist';
}

// When registration opens or closes, if the summary says and it matters now.
function windowText(offering) {
  const now = Date.now();
  const opens = offering.registration_opens_at ? Date.parse(offering.registration_opens_at) : NaN;
  const closes = offering.registration_closes_at ? Date.parse(offering.registration_closes_at) : NaN;
  if (!Number.isNaN(opens) && opens > now) {
    return `Registration opens ${formatInstant(offering.registration_opens_at, offering.timezone)}`;
  }
  if (offering.status === 'open' && !Number.isNaN(closes) && closes > now) {
    return `Registration closes ${formatInstant(offering.registration_closes_at, offering.timezone)}`;
  }
  return null;
}

function partsList(parts) {
  if (!Array.isArray(parts) || parts.length < 2) return null;
  return h('ul', { class: 'offering__parts' },
    parts.map((p) => h('li', {},
      h('span', { class: 'label' }, `${p.name}: `), formatDateRange(p.starts_on, p.ends_on))));
}

function offeringItem(offering, course) {
  const title = offering.title || course.title;
  const dates = formatDateRange(offering.starts_on, offering.ends_on);
  const status = offering.status ?? null;
  return h('li', { class: 'offering' },
    h('div', { class: 'offering__head' },
      h('h3', { class: 'offering__title' },
        h('a', { href: `#/offerings/${encodeURIComponent(offering.id)}` }, title)),
      status ? h('p', { class: `badge badge--${status}` }, offeringStatusLabel(status)) : null),
    h('dl', { class: 'details' },
      detailRow('Dates', dates),
      detailRow('Parts', partsList(offering.parts)),
      detailRow('Venue', offering.venue),
      detailRow('Seats', seatsText(offering)),
      detailRow('Registration', windowText(offering)),
      offering.requires_application
        ? detailRow('Admission', 'By application: a course director reviews each application.')
        : null),
    h('p', { class: 'offering__more' },
      h('a', { href: `#/offerings/${encodeURIComponent(offering.id)}`, 'aria-label': `Schedule, prices and details of ${title}` },
        'Schedule, prices and details')));
}

function offeringsSection(course) {
  const offerings = Array.isArray(course.offerings) ? course.offerings : [];
  // Current and coming offerings first, soonest first; past ones after them,
  // most recent first.
  const today = new Date().toISOString().slice(0, 10);
  const ended = (o) => String(o.ends_on || o.starts_on) < today;
  const visible = offerings.slice().sort((a, b) => {
    if (ended(a) !== ended(b)) return ended(a) ? 1 : -1;
    const order = String(a.starts_on).localeCompare(String(b.starts_on));
    return ended(a) ? -order : order;
  });
  const director = session.canDirect(course.slug)
    ? h('p', { class: 'director-bar' },
      h('span', { class: 'director-bar__label' }, 'You direct this course'),
      h('a', { class: 'button button--small', href: `#/courses/${encodeURIComponent(course.slug)}/offerings/new` }, 'New offering'))
    : null;
  return h('section', { class: 'section', 'aria-labelledby': 'offerings-heading' },
    h('h2', { id: 'offerings-heading' }, 'Dates and registration'),
    director,
    visible.length === 0
      ? emptyState('No dates announced yet',
        'The next dates for this course have not been announced. Please check back soon.')
      : h('ul', { class: 'offering-list' }, visible.map((o) => offeringItem(o, course))));
}

function courseView(course) {
  const directors = (course.directors ?? []).map((d) => d.full_name).filter(Boolean);
  return [
    breadcrumbs([['Courses', '#/'], [course.title, null]]),
    pageHeading(course.title),
    course.summary ? h('p', { class: 'lead' }, course.summary) : null,
    h('dl', { class: 'details details--course' },
      detailRow(directors.length === 1 ? 'Course director' : 'Course directors',
        directors.length ? directors.join(', ') : null),
      detailRow('Credit', course.credit_type)),
    offeringsSection(course),
  ];
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  ctx.setTitle('Course');
  const body = h('div', { class: 'course' });
  replaceChildren(root, body);

  const load = async () => {
    replaceChildren(body, breadcrumbs([['Courses', '#/'], ['Course', null]]));
    const status = body.appendChild(h('div'));
    showLoading(status, 'Loading course…');
    let course;
    try {
      course = await courses.get(params.slug, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err?.slug === 'not-found') {
        ctx.setTitle('Course not found');
        replaceChildren(body,
          breadcrumbs([['Courses', '#/'], ['Course not found', null]]),
          pageHeading('Course not found'),
          h('p', {}, 'We could not find this course. It may have been renamed or withdrawn.'),
          h('p', {}, h('a', { href: '#/' }, 'See all courses')));
        announce('Course not found.', { assertive: true });
        return;
      }
      replaceChildren(body, breadcrumbs([['Courses', '#/'], ['Course', null]]), pageHeading('Course'));
      showError(body.appendChild(h('div')), err, {
        heading: 'This course could not be loaded',
        onRetry: () => { load().catch(() => {}); },
      });
      return;
    }
    ctx.setTitle(course.title);
    replaceChildren(body, courseView(course));
    const n = Array.isArray(course.offerings) ? course.offerings.length : 0;
    announce(`${course.title}. ${n === 0 ? 'No dates announced yet.' : `${plural(n, 'offering', 'offerings')}.`}`);
  };
  await load();
}

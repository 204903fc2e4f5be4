// schedule-view.js — an offering's schedule, day by day, in the offering's
// time zone (shared by the offering page and the directors' editor).
//
//   scheduleDays(sessions, offering, { actions: (s) => Node | null })
//     → <div class="schedule"> with one <section> per day (h3), each a list
//       of sessions (h4 titles) in time order.

import { h } from './dom.js';
import {
  dayIn, formatDateRange, formatHours, formatLongDate, formatTimeRange, plural, sessionKindLabel,
} from './format.js';

// The part ('Part 1') a calendar day belongs to, when there are several.
export function partOf(day, offering) {
  const parts = Array.isArray(offering.parts) ? offering.parts : [];
  if (parts.length < 2) return null;
  return parts.find((p) => p.starts_on <= day && day <= p.ends_on) ?? null;
}

// The parts in words: 'Part 1 (March 15 – 19, 2027) or Part 2 (June 7 – 10, 2027)'.
export function partsInWords(offering) {
  const parts = Array.isArray(offering.parts) && offering.parts.length
    ? offering.parts
    : [{ name: '', starts_on: offering.starts_on, ends_on: offering.ends_on }];
  return parts.map((p) => (parts.length > 1
    ? `${p.name} (${formatDateRange(p.starts_on, p.ends_on)})`
    : formatDateRange(p.starts_on, p.ends_on))).join(' or ');
}

export function sessionWhen(s, offering) {
  return `${formatLongDate(dayIn(s.starts_at, offering.timezone))}, ${formatTimeRange(s.starts_at, s.ends_at, offering.timezone)}`;
}

function seatsLine(s) {
  if (typeof s.capacity !== 'number') return null;
  if (typeof s.seats_left !== 'number') return `Limited to ${s.capacity} people`;
  return s.seats_left > 0
    ? `Limited to ${s.capacity} people: ${plural(s.seats_left, 'place', 'places')} left`
    : `Limited to ${s.capacity} people: full`;
}

function sessionItem(s, offering, actions) {
  const meta = [sessionKindLabel(s.kind)];
  if (s.room) meta.push(s.room);
  if (Number(s.credit_hours) > 0) meta.push(`${formatHours(s.credit_hours)} of credit`);
  const faculty = Array.isArray(s.faculty) ? s.faculty.filter(Boolean) : [];
  const extra = actions ? actions(s) : null;
  return h('li', { class: `session session--${s.kind}`, 'data-session-id': s.id },
    h('p', { class: 'session__time' }, formatTimeRange(s.starts_at, s.ends_at, offering.timezone)),
    h('div', { class: 'session__body' },
      h('h4', { class: 'session__title' }, s.title),
      h('p', { class: 'session__meta' }, meta.join(' · ')),
      faculty.length
        ? h('p', { class: 'session__faculty' }, h('span', { class: 'label' }, 'Faculty: '), faculty.join(', '))
        : null,
      seatsLine(s) ? h('p', { class: 'session__seats' }, seatsLine(s)) : null,
      s.description ? h('p', { class: 'session__description' }, s.description) : null,
      extra ? h('div', { class: 'session__actions' }, extra) : null));
}

export function scheduleDays(sessions, offering, { actions = null } = {}) {
  const days = new Map();
  const ordered = sessions.slice().sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  for (const s of ordered) {
    const day = dayIn(s.starts_at, offering.timezone);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(s);
  }
  return h('div', { class: 'schedule' },
    [...days].map(([day, list]) => {
      const part = partOf(day, offering);
      const id = `day-${day}`;
      return h('section', { class: 'schedule-day', 'aria-labelledby': id },
        h('h3', { class: 'schedule-day__title', id },
          part ? h('span', { class: 'schedule-day__part' }, `${part.name} · `) : null,
          formatLongDate(day)),
        h('ol', { class: 'session-list' }, list.map((s) => sessionItem(s, offering, actions))));
    }));
}

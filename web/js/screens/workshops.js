// screens/workshops.js — #/registrations/:id/workshops : the workshop
// picker. The offering's workshops and small groups, day by day in the
// offering's time zone, each a checkbox with its time, room and places
// left. Two choices at the same time are pointed out as soon as both are
// ticked; a full session cannot be ticked and says so. Saving sends the
// whole choice (PUT /enrollments/{id}/sessions); the server's word is final:
// a clash (409 schedule-conflict) or a session that filled up meanwhile
// (409 session-full) is shown next to the sessions concerned.

import { enrollments, listAll, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import {
  dayIn, formatHours, formatLongDate, formatTimeRange, plural, sessionKindLabel,
} from '../format.js';
import { partOf } from '../schedule-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import {
  breadcrumbs, emptyState, flash, pageHeading, showError, showLoading, signInRequired,
} from '../ui.js';

const CHOOSABLE = new Set(['workshop', 'small_group']);

const overlaps = (a, b) => Date.parse(a.starts_at) < Date.parse(b.ends_at)
  && Date.parse(b.starts_at) < Date.parse(a.ends_at);

const quoted = (s) => `“${s.title}”`;

function placesText(s, chosen) {
  if (typeof s.capacity !== 'number') return 'No limit on places';
  if (typeof s.seats_left !== 'number') return `Limited to ${s.capacity} people`;
  if (s.seats_left > 0) return `${plural(s.seats_left, 'place', 'places')} left of ${s.capacity}`;
  return chosen ? 'Full — your place is kept' : 'Full — no places left';
}

function hintText(s, o, chosen) {
  const parts = [formatTimeRange(s.starts_at, s.ends_at, o.timezone), sessionKindLabel(s.kind)];
  if (s.room) parts.push(s.room);
  if (Number(s.credit_hours) > 0) parts.push(`${formatHours(s.credit_hours)} of credit`);
  parts.push(placesText(s, chosen));
  return parts.join(' · ');
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const path = `/registrations/${params.id}/workshops`;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Choose workshops', path, text: 'Please sign in to choose your workshops.' });
    return;
  }
  ctx.setTitle('Choose workshops');
  const back = `#/registrations/${encodeURIComponent(params.id)}`;
  const trail = [['My registrations', '#/registrations']];
  replaceChildren(root, breadcrumbs([...trail, ['Workshops', null]]), pageHeading('Choose workshops'));
  const status = root.appendChild(h('div'));
  showLoading(status, 'Loading the workshops…');

  let e;
  let list;
  try {
    e = await enrollments.get(params.id, { signal });
    list = await listAll((opts) => sessionsApi.list(e.offering_id, opts), { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    if (err.slug === 'unauthenticated') {
      signInRequired(root, ctx, { title: 'Choose workshops', path, text: err.message });
      return;
    }
    showError(status, err, {
      heading: err.slug === 'not-found' ? 'Registration not found' : 'The workshops could not be loaded',
      onRetry: err.slug === 'not-found' ? null : () => ctx.rerender(),
    });
    return;
  }
  const o = e.offering ?? { id: e.offering_id, title: 'Offering', timezone: 'UTC' };
  const title = o.title || 'Offering';
  ctx.setTitle(`Choose workshops: ${title}`);
  const head = [
    breadcrumbs([...trail, [title, back], ['Workshops', null]]),
    pageHeading('Choose workshops', { eyebrow: title }),
  ];

  if (!['held', 'confirmed'].includes(e.status)) {
    replaceChildren(root, head,
      h('p', {}, 'Workshops are chosen once your seat is held or your registration is confirmed.'),
      h('p', {}, h('a', { href: back }, 'Back to your registration')));
    announce('Choose workshops. Workshops are chosen once your seat is held or your registration is confirmed.');
    return;
  }
  const choosable = list.filter((s) => CHOOSABLE.has(s.kind))
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  if (choosable.length === 0) {
    replaceChildren(root, head,
      emptyState('No workshops to choose', 'This offering has no workshops or small groups to choose from.'),
      h('p', {}, h('a', { href: back }, 'Back to your registration')));
    announce('Choose workshops. This offering has no workshops to choose from.');
    return;
  }

  const had = new Set(e.session_ids ?? []);
  const form = new Form({ labelledBy: 'workshops-form-heading', submitText: 'Save my choice', busyText: 'Saving…',
    secondary: [h('a', { href: back }, 'Cancel')] });
  const items = new Map(); // session id → { s, f }
  const days = new Map();
  for (const s of choosable) {
    const day = dayIn(s.starts_at, o.timezone);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(s);
  }
  const groups = [...days].map(([day, ss]) => {
    const part = partOf(day, o);
    const legend = `${part ? `${part.name} · ` : ''}${formatLongDate(day)}`;
    const box = h('div', { class: 'workshop-day__list' });
    for (const s of ss) {
      const chosen = had.has(s.id);
      const f = field({
        name: '', label: s.title, type: 'checkbox', hint: hintText(s, o, chosen),
        className: 'workshop', attrs: { value: s.id, 'data-session-id': s.id },
      });
      f.value = chosen;
      if (!chosen && s.capacity !== null && s.seats_left === 0) {
        f.input.disabled = true;
        f.wrap.classList.add('workshop--full');
      }
      if (s.description) f.wrap.append(h('p', { class: 'workshop__description' }, s.description));
      form.add(f, { apiName: null, container: box });
      items.set(s.id, { s, f });
    }
    return h('fieldset', { class: 'fieldset workshop-day' },
      h('legend', { class: 'fieldset__legend' }, legend), box);
  });

  const counter = h('p', { class: 'workshops__count', 'aria-live': 'polite' });
  const checked = () => [...items.values()].filter(({ f }) => f.value);
  const count = () => {
    const n = checked().length;
    counter.textContent = n === 0 ? 'No sessions chosen.' : `${plural(n, 'session', 'sessions')} chosen.`;
  };

  // Clashes among the ticked sessions, as errors next to each of them.
  const clashes = () => {
    const on = checked();
    const out = [];
    for (const a of on) {
      const others = on.filter((b) => b !== a && overlaps(a.s, b.s));
      if (others.length) {
        out.push({
          field: a.f,
          message: `At the same time as ${others.map((b) => quoted(b.s)).join(' and ')}: choose one of them.`,
        });
      }
    }
    return out;
  };

  for (const { s, f } of items.values()) {
    f.input.addEventListener('change', () => {
      count();
      for (const { f: g } of items.values()) if (g.error && g.error.startsWith('At the same time')) g.setError(null);
      const found = clashes();
      for (const c of found) c.field.setError(c.message);
      const mine = found.find((c) => c.field === f);
      if (f.value && mine) announce(`${s.title}: ${mine.message}`, { assertive: true });
    });
  }

  const byIds = (ids) => (Array.isArray(ids) ? ids : []).map((id) => items.get(id)).filter(Boolean);

  form.onSubmit(async () => {
    const found = clashes();
    if (found.length) {
      form.showErrors(found);
      return;
    }
    form.clearErrors();
    const ids = checked().map(({ s }) => s.id);
    try {
      await enrollments.setSessions(e.id, ids, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      const p = err.problem ?? {};
      if (err.slug === 'schedule-conflict') {
        const hit = byIds(p.conflicts);
        form.showErrors(hit.length
          ? hit.map(({ f }) => ({ field: f, message: `${f.label} takes place at the same time as another of your choices: choose one of them.` }))
          : [{ field: null, message: 'Two of your choices take place at the same time: choose one of them.' }]);
        return;
      }
      if (err.slug === 'session-full') {
        const hit = byIds(p.sessions);
        for (const { s, f } of hit) {
          s.seats_left = 0;
          f.setHint(hintText(s, o, false));
          f.wrap.classList.add('workshop--full');
        }
        form.showErrors(hit.length
          ? hit.map(({ f }) => ({ field: f, message: `${f.label} has just filled up: untick it and choose another session.` }))
          : [{ field: null, message: err.message }]);
        return;
      }
      if (err.slug === 'unknown-session') {
        const hit = byIds(p.sessions);
        form.showErrors(hit.length
          ? hit.map(({ f }) => ({ field: f, message: `${f.label} can no longer be chosen (it may have been cancelled). Please untick it.` }))
          : [{ field: null, message: err.message }]);
        return;
      }
      throw err;
    }
    flash(ids.length
      ? `Your choice is saved: ${plural(ids.length, 'session', 'sessions')}.`
      : 'Your choice is saved: no workshops.');
    ctx.navigate(`/registrations/${e.id}`);
  });

  count();
  form.body.append(counter, ...groups);
  replaceChildren(root, head,
    h('h2', { id: 'workshops-form-heading', class: 'visually-hidden' }, 'Workshops and small groups'),
    h('p', { class: 'lead' },
      'Tick the workshops and small groups you want to attend. Sessions at the same time cannot both be chosen, ',
      'and places are limited: your place in a session is kept once you save. ',
      `Times are in the offering’s time zone (${o.timezone}).`),
    form.el);
  // Clashes saved before (not possible through the server, but shown if so).
  for (const c of clashes()) c.field.setError(c.message);
  announce(`Choose workshops for ${title}. ${plural(choosable.length, 'session', 'sessions')} to choose from.`);
}

// screens/schedule-edit.js — #/offerings/:id/schedule : directors and
// admins build an offering's schedule.
//
// One form adds a session or, after "Edit", changes one: title, kind, the
// day and start and end times as wall-clock times in the offering's time
// zone (sent as RFC 3339 with that zone's offset), room, faculty (one name
// a line), capacity and credit hours. Beside it, the schedule day by day,
// each session with Edit and Delete. The database refuses clashes (same
// room, or a faculty member in two places, 409 schedule-conflict) and days
// outside the offering's parts (422 outside-offering); both come back on
// the form in words, naming the sessions it clashes with.

import { courses, listAll, offerings, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import {
  SESSION_KIND_VALUES, formatHours, fromZonedFields, plural, sessionKindLabel, toZonedFields, zoneName,
} from '../format.js';
import { partsInWords, scheduleDays, sessionWhen } from '../schedule-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import {
  breadcrumbs, emptyState, notAllowed, pageHeading, showError, showLoading, signInRequired,
} from '../ui.js';

const same = (a, b) => String(a ?? '').trim().toLowerCase() === String(b ?? '').trim().toLowerCase();

function facultyNames(text) {
  return String(text ?? '').split(/\n|;/).map((s) => s.trim()).filter(Boolean);
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const path = `/offerings/${params.id}/schedule`;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Edit schedule', path, text: 'Please sign in as a director of this course to build its schedule.' });
    return;
  }
  ctx.setTitle('Edit schedule');
  const page = h('div', { class: 'editor' });
  replaceChildren(root, page);
  showLoading(page, 'Loading the schedule…');

  let offering;
  let list;
  let course;
  try {
    [offering, list] = await Promise.all([
      offerings.get(params.id, { signal }),
      listAll((opts) => sessionsApi.list(params.id, opts), { signal }),
    ]);
    course = await courses.get(offering.course_slug, { signal }).catch((err) => {
      if (err?.name === 'AbortError') throw err;
      return { slug: offering.course_slug, title: offering.course_slug };
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    replaceChildren(page, pageHeading('Edit schedule'));
    showError(page.appendChild(h('div')), err, { heading: 'The schedule could not be loaded', onRetry: () => ctx.rerender() });
    return;
  }
  const offeringHref = `#/offerings/${encodeURIComponent(offering.id)}`;
  if (!session.canDirect(offering.course_slug)) {
    notAllowed(root, ctx, {
      title: 'Edit schedule',
      text: `Only the directors of ${course.title} and administrators can change its schedule.`,
      back: ['Back to the offering', offeringHref],
    });
    return;
  }

  const zone = offering.timezone;
  const zoneText = `${zoneName(zone, `${offering.starts_on}T12:00:00Z`)} (${zone})`;
  let editing = null; // the session being changed, or null when adding

  // ---- the form ----
  const formHeading = h('h2', { id: 'session-form-heading' }, 'Add a session');
  const cancelEdit = h('button', { type: 'button', class: 'button button--secondary' }, 'Cancel editing');
  cancelEdit.hidden = true;
  const form = new Form({ labelledBy: 'session-form-heading', submitText: 'Add session', busyText: 'Saving…', secondary: [cancelEdit] });
  const title = form.add(field({ name: 'title', label: 'Title', required: true }));
  const kind = form.add(field({
    name: 'kind', label: 'Kind', type: 'select', value: 'plenary',
    options: SESSION_KIND_VALUES.map((k) => [k, sessionKindLabel(k)]),
  }));
  const when = h('fieldset', { class: 'row row--when' },
    h('legend', { class: 'row__legend' }, 'When'),
    h('p', { class: 'field__hint', id: 'when-hint' }, `In ${zoneText}. Days: ${partsInWords(offering)}.`));
  const whenGrid = h('div', { class: 'row__grid' });
  when.append(whenGrid);
  form.body.append(when);
  const day = form.add(field({
    name: 'day', label: 'Day', type: 'date', required: true,
    attrs: { min: offering.starts_on, max: offering.ends_on }, describedBy: ['when-hint'],
  }), { apiName: 'day', container: whenGrid });
  const start = form.add(field({ name: 'starts_at', label: 'Starts', type: 'time', required: true, attrs: { step: 300 }, describedBy: ['when-hint'] }), { container: whenGrid });
  const end = form.add(field({ name: 'ends_at', label: 'Ends', type: 'time', required: true, attrs: { step: 300 }, describedBy: ['when-hint'] }), { container: whenGrid });
  const roomsId = `rooms-${offering.id}`;
  const rooms = h('datalist', { id: roomsId });
  const room = form.add(field({ name: 'room', label: 'Room', optional: true, attrs: { list: roomsId, autocomplete: 'off' } }));
  room.wrap.append(rooms);
  const faculty = form.add(field({
    name: 'faculty', label: 'Faculty', type: 'textarea', optional: true,
    hint: 'One name a line. A faculty member cannot be in two sessions at once, in any offering.',
  }));
  const capacity = form.add(field({
    name: 'capacity', label: 'Capacity', type: 'number', optional: true,
    attrs: { min: 1, step: 1, inputmode: 'numeric' }, hint: 'For workshops and small groups. Empty: no limit.',
  }));
  const credit = form.add(field({
    name: 'credit_hours', label: 'Credit hours', type: 'number', value: '0',
    attrs: { min: 0, max: 100, step: 0.25, inputmode: 'decimal' },
  }));
  const description = form.add(field({ name: 'description', label: 'Description', type: 'textarea', optional: true }));

  const formBox = h('section', { class: 'editor__form', 'aria-labelledby': 'session-form-heading' }, formHeading, form.el);

  // ---- the list ----
  const listBox = h('div');
  const listSection = h('section', { class: 'editor__list', 'aria-labelledby': 'sessions-heading' },
    h('h2', { id: 'sessions-heading', tabindex: '-1' }, 'Sessions'), listBox);

  const fillRooms = () => {
    const names = [...new Set(list.map((s) => s.room).filter(Boolean))].sort();
    replaceChildren(rooms, names.map((n) => h('option', { value: n })));
  };

  const resetForm = ({ keepDay = false } = {}) => {
    editing = null;
    form.clearErrors();
    formHeading.textContent = 'Add a session';
    form.submitText = 'Add session';
    form.submit.textContent = 'Add session';
    cancelEdit.hidden = true;
    title.value = '';
    faculty.value = '';
    description.value = '';
    capacity.value = '';
    credit.value = '0';
    if (!keepDay) {
      day.value = '';
      kind.value = 'plenary';
      room.value = '';
      start.value = '';
    }
    end.value = '';
  };

  const startEdit = (s) => {
    editing = s;
    form.clearErrors();
    const a = toZonedFields(s.starts_at, zone);
    const b = toZonedFields(s.ends_at, zone);
    title.value = s.title;
    kind.value = s.kind;
    day.value = a?.date ?? '';
    start.value = a?.time ?? '';
    end.value = b?.time ?? '';
    room.value = s.room ?? '';
    faculty.value = (s.faculty ?? []).join('\n');
    capacity.value = s.capacity ?? '';
    credit.value = s.credit_hours ?? 0;
    description.value = s.description ?? '';
    formHeading.textContent = `Edit “${s.title}”`;
    form.submitText = 'Save session';
    form.submit.textContent = 'Save session';
    cancelEdit.hidden = false;
    title.focus();
    announce(`Editing “${s.title}”.`);
  };

  cancelEdit.addEventListener('click', () => {
    const s = editing;
    resetForm();
    announce('Editing cancelled.');
    listBox.querySelector(`[data-session-id="${s?.id}"] .session__edit`)?.focus();
  });

  const refresh = async () => {
    list = await listAll((opts) => sessionsApi.list(offering.id, opts));
    paint();
  };

  const confirmDelete = (s, actions) => {
    const yes = h('button', { type: 'button', class: 'button button--small button--danger' }, `Yes, delete “${s.title}”`);
    const keep = h('button', { type: 'button', class: 'button button--small button--secondary' }, 'Keep it');
    const question = h('p', { class: 'session__confirm' }, 'Delete this session? Learners’ calendars will show it as cancelled.');
    replaceChildren(actions, question, yes, keep);
    yes.focus();
    announce(`Delete “${s.title}”? Learners’ calendars will show it as cancelled.`);
    keep.addEventListener('click', () => {
      paint();
      listBox.querySelector(`[data-session-id="${s.id}"] .session__delete`)?.focus();
    });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await sessionsApi.remove(s.id);
      } catch (err) {
        yes.disabled = false;
        replaceChildren(actions, h('p', { class: 'field__error' }, err.message), keep);
        announce(`“${s.title}” could not be deleted. ${err.message}`, { assertive: true });
        return;
      }
      if (editing?.id === s.id) resetForm();
      try { await refresh(); } catch (err) { announce(err.message, { assertive: true }); }
      listSection.querySelector('#sessions-heading')?.focus();
      announce(`“${s.title}” is deleted.`);
    });
  };

  const actionsFor = (s) => {
    const box = h('div', { class: 'button-row button-row--tight' });
    const edit = h('button', { type: 'button', class: 'button button--small button--secondary session__edit', 'aria-label': `Edit “${s.title}”` }, 'Edit');
    const del = h('button', { type: 'button', class: 'button button--small button--quiet session__delete', 'aria-label': `Delete “${s.title}”` }, 'Delete');
    edit.addEventListener('click', () => startEdit(s));
    del.addEventListener('click', () => confirmDelete(s, box));
    box.append(edit, del);
    return box;
  };

  const paint = () => {
    fillRooms();
    const hours = list.reduce((n, s) => n + (Number(s.credit_hours) || 0), 0);
    replaceChildren(listBox,
      list.length
        ? [h('p', { class: 'notice' }, `${plural(list.length, 'session', 'sessions')}, ${formatHours(hours)} of credit in all. Times in ${zoneText}.`),
          scheduleDays(list, offering, { actions: actionsFor })]
        : emptyState('No sessions yet', 'Add the first session with the form.'));
  };

  // ---- problems in words ----
  const conflictErrors = (err, body) => {
    const ids = Array.isArray(err.problem?.conflicts) ? err.problem.conflicts : [];
    const names = facultyNames(faculty.value);
    const described = [];
    let roomClash = null;
    const facultyClash = new Map(); // name → titles
    let elsewhere = 0;
    // The server describes every clashing session (conflict_sessions), also
    // those of other offerings, which this page's list does not hold.
    const others = Array.isArray(err.problem?.conflict_sessions) ? err.problem.conflict_sessions : [];
    for (const id of ids) {
      const s = list.find((x) => x.id === id) ?? others.find((x) => x.id === id);
      if (!s) { elsewhere += 1; continue; }
      if (s.offering_id && s.offering_id !== offering.id) {
        const shared = (s.faculty ?? []).filter((f) => names.some((n) => same(n, f)));
        for (const f of shared) facultyClash.set(f, [...(facultyClash.get(f) ?? []), `${s.title}” of “${s.offering_title}`]);
        described.push(`“${s.title}” of “${s.offering_title}”` +
          (shared.length ? `, with the same faculty member${shared.length > 1 ? 's' : ''} (${shared.join(', ')})` : ''));
        continue;
      }
      const reasons = [];
      if (body.room && same(s.room, body.room)) {
        reasons.push(`in the same room (${s.room})`);
        roomClash = roomClash ?? s;
      }
      const shared = (s.faculty ?? []).filter((f) => names.some((n) => same(n, f)));
      if (shared.length) {
        reasons.push(`with the same faculty member${shared.length > 1 ? 's' : ''} (${shared.join(', ')})`);
        for (const f of shared) facultyClash.set(f, [...(facultyClash.get(f) ?? []), s.title]);
      }
      described.push(`“${s.title}” (${sessionWhen(s, offering)})${reasons.length ? `, ${reasons.join(' and ')}` : ''}`);
    }
    if (elsewhere) {
      described.push(elsewhere === 1
        ? 'a session of another offering with the same faculty member'
        : `${elsewhere} sessions of other offerings with the same faculty members`);
    }
    const errors = [{
      field: null,
      message: described.length
        ? `This session clashes with ${described.join('; ')}. Choose another time, room or faculty member.`
        : err.message,
    }];
    if (roomClash) errors.push({ field: room, message: `${roomClash.room} is already in use then, by “${roomClash.title}”.` });
    for (const [name, titles] of facultyClash) {
      errors.push({ field: faculty, message: `${name} is already teaching then, in “${titles.join('” and “')}”.` });
    }
    if (elsewhere && facultyClash.size === 0 && names.length) {
      errors.push({ field: faculty, message: 'A faculty member named here is teaching in another offering at that time.' });
    }
    return errors;
  };

  form.onSubmit(async () => {
    const errors = [];
    if (!title.text) errors.push({ field: title, message: 'Please enter a title.' });
    if (!day.value) errors.push({ field: day, message: 'Please enter the day of the session.' });
    if (!start.value) errors.push({ field: start, message: 'Please enter the time the session starts.' });
    if (!end.value) errors.push({ field: end, message: 'Please enter the time the session ends.' });
    else if (start.value && end.value <= start.value) errors.push({ field: end, message: 'The end must be after the start.' });
    let cap = null;
    if (capacity.text) {
      cap = /^\d+$/.test(capacity.text) ? Number(capacity.text) : NaN;
      if (!(cap >= 1)) errors.push({ field: capacity, message: 'Capacity must be a whole number of places, at least 1, or empty for no limit.' });
    }
    const hours = credit.text === null ? 0 : Number(credit.text);
    if (!Number.isFinite(hours) || hours < 0 || hours > 100 || Math.round(hours * 100) !== hours * 100) {
      errors.push({ field: credit, message: 'Credit hours must be a number from 0 to 100, such as 1.5.' });
    }
    const startsAt = day.value && start.value ? fromZonedFields(day.value, start.value, zone) : null;
    const endsAt = day.value && end.value ? fromZonedFields(day.value, end.value, zone) : null;
    if (errors.length === 0 && (!startsAt || !endsAt)) errors.push({ field: day, message: 'Day must be a date.' });
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    const body = {
      title: title.text,
      kind: kind.value,
      starts_at: startsAt,
      ends_at: endsAt,
      room: room.text,
      faculty: facultyNames(faculty.value),
      capacity: cap,
      credit_hours: hours,
      description: description.text,
    };
    const was = editing;
    let saved;
    try {
      saved = was ? await sessionsApi.update(was.id, body) : await sessionsApi.create(offering.id, body);
    } catch (err) {
      if (err.slug === 'schedule-conflict') {
        form.showErrors(conflictErrors(err, body));
      } else if (err.slug === 'outside-offering') {
        form.showErrors([{
          field: day,
          message: `This day is outside the offering. A session must fall within ${partsInWords(offering)}, in ${zoneText}.`,
        }]);
      } else if (err.slug === 'capacity-below-taken') {
        form.showErrors([{ field: capacity, message: err.detail || err.message }]);
      } else if (err.slug === 'not-found' && was) {
        form.showErrors([{ field: null, message: `“${was.title}” no longer exists: someone may have deleted it. The list is refreshed.` }]);
        resetForm({ keepDay: true });
        refresh().catch(() => {});
      } else {
        form.showProblem(err);
      }
      return;
    }
    resetForm({ keepDay: !was });
    if (!was) {
      // The day, kind and room stay; the next session usually starts when this one ends.
      start.value = toZonedFields(saved.ends_at, zone)?.time ?? '';
    }
    try { await refresh(); } catch (err) { announce(err.message, { assertive: true }); }
    const message = was ? `“${saved.title}” is saved.` : `“${saved.title}” is added on ${sessionWhen(saved, offering)}.`;
    announce(message);
    if (was) listBox.querySelector(`[data-session-id="${saved.id}"] .session__edit`)?.focus();
    else title.focus();
  });

  const heading = `Schedule of “${offering.title}”`;
  ctx.setTitle(heading);
  replaceChildren(page,
    breadcrumbs([['Courses', '#/'], [course.title, `#/courses/${encodeURIComponent(course.slug)}`],
      [offering.title, offeringHref], ['Schedule', null]]),
    h('div', { class: 'page-heading' },
      h('p', { class: 'page-heading__eyebrow' }, course.title),
      h('h1', { tabindex: '-1' }, heading)),
    h('p', { class: 'lead' },
      `Sessions are entered and shown in ${zoneText}, the offering’s time zone. `,
      h('a', { href: offeringHref }, 'See the offering page'), ' as learners see it.'),
    h('div', { class: 'editor__grid' }, formBox, listSection));
  paint();
  announce(`${heading}. ${plural(list.length, 'session', 'sessions')}.`);
}

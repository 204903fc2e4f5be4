// screens/attendance.js — #/offerings/:id/attendance?session=… : who
// attended a session, for its directors: a grid of the confirmed learners
// with a "Present" box each (marked or unmarked at once), everyone or the
// chosen ones marked in one request, the room code for self check-in, and
// links to the door's check-in screen and the printable badge sheet.

import { attendance, listAll, rosters, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatInstant, formatTimeRange, plural } from '../format.js';
import { directorPage, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { emptyState, showLoading } from '../ui.js';

const METHOD = { manual: 'marked by hand', badge: 'badge scanned', session_code: 'room code' };

function roomCodePanel(sessionId, signal) {
  const code = h('p', { class: 'room-code__code', 'aria-live': 'polite' });
  const until = h('p', { class: 'room-code__until' });
  const button = h('button', { type: 'button', class: 'button button--secondary' }, 'Show the room code');
  let timer = null;
  const load = async () => {
    try {
      const r = await attendance.roomCode(sessionId, { signal });
      code.textContent = r.code;
      until.textContent = `Changes at ${new Date(r.expires_at).toLocaleTimeString()}.`;
      clearTimeout(timer);
      timer = setTimeout(load, Math.max(1000, Date.parse(r.expires_at) - Date.now() + 500));
    } catch (err) {
      if (err?.name === 'AbortError') return;
      code.textContent = '';
      until.textContent = err.message;
    }
  };
  button.addEventListener('click', () => {
    button.hidden = true;
    load();
  });
  signal.addEventListener('abort', () => clearTimeout(timer));
  return h('section', { class: 'section room-code', 'aria-labelledby': 'room-code-heading' },
    h('h2', { id: 'room-code-heading' }, 'Self check-in'),
    h('p', {}, 'Show this code in the room: learners type it under "My registration" during the session ',
      '(from 30 minutes before to 30 minutes after). It changes every minute.'),
    h('p', {}, button), code, until);
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'attendance', heading: 'Attendance' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  const status = body.appendChild(h('div'));
  showLoading(status, 'Loading the sessions and the roster…');
  let list;
  let people;
  try {
    list = (await listAll((opts) => sessionsApi.list(o.id, opts), { signal })).filter((s) => s.kind !== 'break');
    people = await listAll((opts) => rosters.get(o.id, { ...opts, status: 'confirmed' }), { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, body, err, 'attendance');
    return;
  }
  const sheet = h('p', {}, h('a', { href: attendance.badgeSheetUrl(o.id) }, 'Badge sheet (PDF, to print)'));
  if (list.length === 0) {
    replaceChildren(body, emptyState('No sessions', 'This offering has no sessions yet.'), sheet);
    return;
  }
  const wanted = ctx.query.get('session');
  const current = list.find((s) => s.id === wanted) ?? list[0];
  const picker = h('select', { id: 'attendance-session', name: 'session' },
    list.map((s) => h('option', { value: s.id, selected: s.id === current.id ? '' : null },
      `${s.title} (${formatTimeRange(s.starts_at, s.ends_at, o.timezone)})`)));
  picker.addEventListener('change', () => ctx.navigate(`/offerings/${encodeURIComponent(o.id)}/attendance?session=${encodeURIComponent(picker.value)}`));

  let present;
  try {
    present = new Map((await attendance.list(current.id, { signal })).items.map((x) => [x.enrollment_id, x]));
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, body, err, 'attendance');
    return;
  }
  const count = h('p', { class: 'roster-count', 'aria-live': 'polite' });
  const recount = () => {
    count.textContent = `${present.size} of ${plural(people.length, 'confirmed learner', 'confirmed learners')} present.`;
  };

  const boxes = [];
  const rows = people.map((x) => {
    const id = x.enrollment.id;
    const name = x.learner.full_name || x.learner.email;
    const box = h('input', { type: 'checkbox', id: `present-${id}`, 'data-enrollment-id': id });
    box.checked = present.has(id);
    const how = h('span', { class: 'attendance__how' });
    const describe = () => {
      const a = present.get(id);
      how.textContent = a ? `${METHOD[a.method] ?? a.method}, ${formatInstant(a.checked_in_at, o.timezone)}` : '';
    };
    describe();
    box.addEventListener('change', async () => {
      box.disabled = true;
      try {
        if (box.checked) await attendance.mark(current.id, id, { signal });
        else await attendance.unmark(current.id, id, { signal });
        if (box.checked) present.set(id, { method: 'manual', checked_in_at: new Date().toISOString() });
        else present.delete(id);
        describe();
        recount();
        announce(`${name}: ${box.checked ? 'present' : 'not present'}.`);
      } catch (err) {
        if (err?.name === 'AbortError') return;
        box.checked = !box.checked;
        announce(`${name}: not changed. ${err.message}`, { assertive: true });
      } finally {
        box.disabled = false;
      }
    });
    boxes.push([box, id]);
    return h('tr', {},
      h('td', {}, box),
      h('th', { scope: 'row' }, h('label', { for: `present-${id}` }, name)),
      h('td', {}, how));
  });

  const setAll = async (value) => {
    const ids = boxes.filter(([b]) => b.checked !== value).map(([, id]) => id);
    if (ids.length === 0) {
      announce(value ? 'Everyone is already marked present.' : 'Nobody is marked present.');
      return;
    }
    try {
      const r = await attendance.setMany(current.id, ids, value, { signal });
      announce(`${plural(r.changed, 'learner', 'learners')} marked ${value ? 'present' : 'absent'}.`);
      ctx.rerender();
    } catch (err) {
      if (err?.name === 'AbortError') return;
      announce(`Nothing changed. ${err.message}`, { assertive: true });
    }
  };
  const allIn = h('button', { type: 'button', class: 'button button--secondary' }, 'Mark everyone present');
  const allOut = h('button', { type: 'button', class: 'button button--secondary' }, 'Mark everyone absent');
  allIn.addEventListener('click', () => setAll(true));
  allOut.addEventListener('click', () => setAll(false));
  recount();

  replaceChildren(body,
    h('div', { class: 'field' }, h('label', { for: 'attendance-session' }, 'Session'), picker),
    h('p', { class: 'button-row' },
      h('a', { class: 'button', href: `#/offerings/${encodeURIComponent(o.id)}/check-in?session=${encodeURIComponent(current.id)}` },
        'Door check-in'),
      h('a', { class: 'button button--secondary', href: attendance.badgeSheetUrl(o.id) }, 'Badge sheet (PDF)')),
    count,
    people.length === 0
      ? emptyState('No confirmed registrations', 'Learners appear here once their registration is confirmed.')
      : h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Attendance grid', tabindex: '0' },
        h('table', { class: 'table attendance-grid' },
          h('caption', { class: 'visually-hidden' }, `Attendance at ${current.title}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Present'), h('th', { scope: 'col' }, 'Learner'),
            h('th', { scope: 'col' }, 'How'))),
          h('tbody', {}, rows))),
    people.length === 0 ? null : h('p', { class: 'button-row' }, allIn, allOut),
    roomCodePanel(current.id, signal));
  announce(`Attendance at ${current.title}: ${count.textContent}`);
}

// badge-view.js — on "My registration" of a confirmed registration: the
// badge (its QR code, shown at the door) and the self check-in field for
// the room code a director shows during a session.
//
//   badgeSection(e, sessions, o, signal) → <section> (fills itself in)

import { attendance } from './api.js';
import { h, replaceChildren } from './dom.js';
import { formatTimeRange } from './format.js';
import { announce } from './status.js';

// The QR code as an image: the server's SVG through a data: URL (the CSP
// allows data: images), never as markup in the page.
function qrImage(svg) {
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return h('img', {
    class: 'badge__qr', src: `data:image/svg+xml;base64,${btoa(bin)}`,
    alt: 'QR code of your badge', width: '200', height: '200',
  });
}

function checkInForm(e, list, o, signal) {
  const open = list.filter((s) => s.kind !== 'break');
  if (open.length === 0) return null;
  const picker = h('select', { id: 'self-session', name: 'session_id' },
    open.map((s) => h('option', { value: s.id }, `${s.title} (${formatTimeRange(s.starts_at, s.ends_at, o.timezone)})`)));
  const now = Date.now();
  const live = open.find((s) => Date.parse(s.starts_at) - 1800000 <= now && now <= Date.parse(s.ends_at) + 1800000);
  if (live) picker.value = live.id;
  const code = h('input', {
    id: 'self-code', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6',
    pattern: '[0-9]{6}', 'aria-describedby': 'self-code-hint',
  });
  const out = h('div', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'form', 'aria-label': 'Check in with the room code', novalidate: '' },
    h('div', { class: 'field' }, h('label', { for: 'self-session' }, 'Session'), picker),
    h('div', { class: 'field' }, h('label', { for: 'self-code' }, 'Room code'),
      h('p', { class: 'field__hint', id: 'self-code-hint' }, 'The 6 digits shown in the room.'), code),
    h('p', { class: 'button-row' }, h('button', { type: 'submit', class: 'button' }, 'Check in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await attendance.selfCheckIn(e.id, picker.value, code.value.trim(), { signal });
      const text = r.already ? 'You were already checked in to this session.' : 'You are checked in. Thank you.';
      replaceChildren(out, h('p', { class: 'panel panel--confirmed' }, text));
      announce(text);
      code.value = '';
    } catch (err) {
      if (err?.name === 'AbortError') return;
      replaceChildren(out, h('p', { class: 'panel panel--error' }, err.message));
      announce(err.message, { assertive: true });
    }
  });
  return h('div', {}, form, out);
}

export function badgeSection(e, list, o, signal) {
  if (e.status !== 'confirmed') return null;
  const badge = h('div', { class: 'badge' });
  attendance.badge(e.id, { signal }).then((b) => {
    replaceChildren(badge, qrImage(b.qr_svg),
      h('p', {}, 'Badge code: ', h('code', { class: 'badge__code' }, b.badge_code)));
  }).catch((err) => {
    if (err?.name === 'AbortError') return;
    replaceChildren(badge, h('p', {}, `Your badge could not be loaded. ${err.message}`));
  });
  return h('section', { class: 'section', 'aria-labelledby': 'badge-heading' },
    h('h2', { id: 'badge-heading' }, 'Badge and check-in'),
    h('p', {}, 'Show this code at the door of each session, on paper or on this screen.'),
    badge,
    checkInForm(e, list, o, signal));
}

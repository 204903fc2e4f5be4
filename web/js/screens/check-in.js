// screens/check-in.js — #/offerings/:id/check-in?session=… : the door of a
// session, for its directors. A badge's QR code is read with the device
// camera (the browser's BarcodeDetector, where there is one) or its code is
// typed; the answer comes at once: the learner's name, or why not.
//
// It keeps working when the venue's network does not: every scan is first
// stored in IndexedDB (checkin-queue.js) with a nonce, then sent; a scan
// the network did not carry stays queued and is sent again when the
// browser is back online (and every few seconds), and the server answers a
// nonce it has seen with its first answer, so nothing is recorded twice.

import { attendance, listAll, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatTimeRange, plural } from '../format.js';
import { directorPage, listFailed } from '../director-page.js';
import * as queue from '../checkin-queue.js';
import { announce } from '../status.js';
import { emptyState } from '../ui.js';

const RETRY_MS = 5000;

const REASONS = {
  unknown: 'Not registered: no registration has this badge.',
  cancelled: 'Not confirmed: this registration was cancelled.',
  'other-offering': 'Wrong course: this badge is for another offering.',
};

function refusal(err) {
  const reason = err.problem?.reason;
  if (reason && REASONS[reason]) {
    const who = err.problem?.learner?.full_name;
    return who ? `${who}: ${REASONS[reason]}` : REASONS[reason];
  }
  return err.message;
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'check-in', heading: 'Door check-in' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  let list;
  try {
    list = (await listAll((opts) => sessionsApi.list(o.id, opts), { signal })).filter((s) => s.kind !== 'break');
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, body, err, 'sessions');
    return;
  }
  if (list.length === 0) {
    replaceChildren(body, emptyState('No sessions', 'This offering has no sessions to check in to yet.'));
    return;
  }
  const wanted = ctx.query.get('session');
  const current = list.find((s) => s.id === wanted) ?? list[0];

  const picker = h('select', { id: 'checkin-session', name: 'session' },
    list.map((s) => h('option', { value: s.id, selected: s.id === current.id ? '' : null },
      `${s.title} (${formatTimeRange(s.starts_at, s.ends_at, o.timezone)})`)));
  picker.addEventListener('change', () => ctx.navigate(`/offerings/${encodeURIComponent(o.id)}/check-in?session=${encodeURIComponent(picker.value)}`));

  const input = h('input', {
    id: 'badge-code', name: 'badge_code', autocomplete: 'off', autocapitalize: 'characters',
    spellcheck: 'false', maxlength: '64', required: '',
  });
  const result = h('div', { class: 'checkin-result', role: 'status', 'aria-live': 'polite' });
  const queued = h('p', { class: 'checkin-queued', id: 'checkin-queued' });
  const log = h('ol', { class: 'checkin-log', 'aria-label': 'Scans at this door, newest first' });
  const form = h('form', { class: 'form checkin-form', 'aria-label': 'Check in a badge', novalidate: '' },
    h('div', { class: 'field' },
      h('label', { for: 'badge-code' }, 'Badge code'),
      h('p', { class: 'field__hint', id: 'badge-code-hint' }, 'Scan the QR code, or type the 16 characters under it.'),
      input),
    h('p', { class: 'button-row' }, h('button', { type: 'submit', class: 'button' }, 'Check in')));
  input.setAttribute('aria-describedby', 'badge-code-hint');

  const show = (kind, text) => {
    replaceChildren(result, h('p', { class: `panel panel--${kind}` }, text));
    log.prepend(h('li', { class: `checkin-log__item checkin-log__item--${kind}` }, text));
    announce(text, { assertive: kind === 'error' });
  };

  const updateQueued = async () => {
    const n = (await queue.pending(current.id)).length;
    queued.textContent = n === 0 ? '' : `${plural(n, 'scan', 'scans')} waiting for the network; they are sent when it returns.`;
  };

  // Sends one stored scan. true: answered (recorded or refused); false: the
  // network did not carry it (it stays queued).
  const send = async (scan) => {
    try {
      const r = await attendance.checkIn(scan.session_id, scan.badge_code, scan.nonce);
      await queue.remove(scan.nonce);
      const name = r.learner?.full_name ?? 'Learner';
      show(r.already ? 'note' : 'confirmed', r.already ? `${name}: already checked in.` : `Welcome, ${name}: checked in.`);
      return true;
    } catch (err) {
      if (err?.slug === 'network' || err?.slug === 'database-unavailable' || err?.slug === 'overloaded') return false;
      await queue.remove(scan.nonce);
      show('error', refusal(err));
      return true;
    }
  };

  let flushing = false;
  const flush = async () => {
    if (flushing || signal.aborted) return;
    flushing = true;
    try {
      for (const scan of await queue.pending(current.id)) {
        if (!(await send(scan))) break;
      }
    } finally {
      flushing = false;
      await updateQueued();
    }
  };

  const submit = async (code) => {
    const badge = code.trim().toUpperCase();
    if (badge === '') {
      show('error', 'Type or scan a badge code first.');
      return;
    }
    const scan = { nonce: crypto.randomUUID(), session_id: current.id, badge_code: badge };
    await queue.enqueue(scan);
    if (flushing || !(await send(scan))) {
      show('note', `Saved offline: ${badge} will be checked in when the network returns.`);
    }
    await updateQueued();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const code = input.value;
    input.value = '';
    input.focus();
    await submit(code);
  });

  // The camera, where the browser can read QR codes.
  let camera = null;
  if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) {
    const video = h('video', { class: 'checkin-video', muted: '', playsinline: '', 'aria-label': 'Camera view' });
    video.hidden = true;
    const button = h('button', { type: 'button', class: 'button button--secondary' }, 'Scan with the camera');
    let stream = null;
    let last = '';
    const stop = () => {
      stream?.getTracks().forEach((t) => t.stop());
      stream = null;
      video.hidden = true;
      button.textContent = 'Scan with the camera';
    };
    button.addEventListener('click', async () => {
      if (stream) {
        stop();
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      } catch {
        show('error', 'The camera could not be opened. Type the badge code instead.');
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      button.textContent = 'Stop the camera';
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      const tick = async () => {
        if (!stream || signal.aborted) return;
        try {
          const codes = await detector.detect(video);
          const value = codes[0]?.rawValue;
          if (value && value !== last) {
            last = value;
            await submit(value);
            setTimeout(() => { last = ''; }, 3000);
          }
        } catch { /* a frame that could not be read */ }
        setTimeout(tick, 250);
      };
      tick();
    });
    signal.addEventListener('abort', stop);
    camera = h('div', { class: 'checkin-camera' }, h('p', {}, button), video);
  }

  replaceChildren(body,
    h('div', { class: 'field' }, h('label', { for: 'checkin-session' }, 'Session'), picker),
    camera,
    form,
    result,
    queued,
    h('h2', {}, 'Scans'),
    log,
    h('p', {}, h('a', { href: `#/offerings/${encodeURIComponent(o.id)}/attendance?session=${encodeURIComponent(current.id)}` },
      'Attendance of this session')));

  window.addEventListener('online', flush);
  const timer = setInterval(flush, RETRY_MS);
  signal.addEventListener('abort', () => {
    window.removeEventListener('online', flush);
    clearInterval(timer);
  });
  await flush();
  input.focus();
  announce(`Door check-in for ${current.title}: ready.`);
}

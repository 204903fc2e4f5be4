// screens/roster.js — #/offerings/:id/roster[?status=…] : an offering's
// roster for its directors and admins, a page of 50 at a time, filtered by
// status (seat holders by default), with a link that downloads the same
// list as CSV (GET …/roster?format=csv: the server sends it as an
// attachment). Every read and export is audited by the server.

import { enrollments, rosters } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import { formatInstant, formatMoney, plural, professionName } from '../format.js';
import { statusLabel } from '../enrollment-view.js';
import { directorPage, learnerLines, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { emptyState, flash, showLoading } from '../ui.js';
import { PROFESSION_OPTIONS } from './signup.js';

const FILTERS = [
  ['', 'Seat holders (confirmed and held)'],
  ['confirmed', 'Confirmed'],
  ['held', 'Held, awaiting payment'],
  ['waitlisted', 'On the waitlist'],
  ['applied', 'Applications awaiting a decision'],
  ['cancelled,expired,rejected', 'Cancelled, expired or not accepted'],
  ['all', 'Everyone'],
];

// The offering's totals (issue 11): heads by status and by profession, and
// the money paid, refunded and still owed, whatever the filter shows.
function totalsBox(totals, currency, first) {
  if (!totals) return null;
  const list = (obj, label) => Object.entries(obj ?? {}).sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${label(k)}: ${n}`).join(', ') || '—';
  return h('section', { class: 'roster-totals', 'aria-labelledby': 'roster-totals-heading' },
    h('h2', { id: 'roster-totals-heading' }, 'Totals'),
    h('dl', { class: 'details details--card' },
      h('dt', {}, 'Matching this view'), h('dd', {}, `${plural(first.total ?? 0, 'registration', 'registrations')}` +
        `${first.page_count > 1 ? ` on ${first.page_count} pages` : ''}`),
      h('dt', {}, 'By status'), h('dd', {}, list(totals.by_status, (s) => statusLabel({ status: s }))),
      h('dt', {}, 'By profession'), h('dd', {}, list(totals.by_profession, (p) => professionName(p))),
      h('dt', {}, 'Paid'), h('dd', {}, formatMoney(totals.paid_cents, currency)),
      h('dt', {}, 'Refunded'), h('dd', {}, formatMoney(totals.refunded_cents, currency)),
      h('dt', {}, 'Outstanding'), h('dd', {}, formatMoney(totals.outstanding_cents, currency))));
}

// Registering someone by telephone (issue 11): an account is made for an
// email without one, and a set-password message goes out. A registration
// that owes money leads straight to recording its offline payment or
// issuing its invoice (the row's own forms, moneyForms); then the roster
// is drawn again.
function registerForBox(o, ctx) {
  const form = new Form({ labelledBy: 'roster-for-heading', submitText: 'Register this person', busyText: 'Registering…' });
  const email = form.add(field({ name: 'email', label: 'Their email address', type: 'email', required: true,
    attrs: { spellcheck: 'false', autocapitalize: 'none' } }));
  const name = form.add(field({ name: 'full_name', label: 'Their full name', required: true,
    hint: 'Used only when they have no account yet.' }));
  const profession = form.add(field({ name: 'profession', label: 'Their profession', type: 'select', required: true,
    options: PROFESSION_OPTIONS }));
  form.onSubmit(async () => {
    form.clearErrors();
    const e = await rosters.registerFor(o.id, { email: email.text, full_name: name.text, profession: profession.input.value });
    const who = name.text || email.text;
    const money = moneyForms(e, who, () => ctx.rerender());
    if (money === null) {
      announce(`Registered: ${statusLabel(e)}.`);
      ctx.rerender();
      return;
    }
    money.open = true;
    const again = h('button', { type: 'button', class: 'button button--secondary' }, 'Register someone else');
    again.addEventListener('click', () => ctx.rerender());
    const next = h('p', { id: 'roster-for-next', tabindex: '-1' },
      `${who} is registered (${statusLabel(e).toLowerCase()}), owing ${formatMoney(e.amount_due_cents - e.paid_cents, e.currency)}. ` +
      'Record their payment or issue an invoice now.');
    replaceChildren(section, heading, next, money, h('p', {}, again));
    announce(`Registered: ${statusLabel(e)}. Record their payment or issue an invoice now.`);
    next.focus();
  });
  const heading = h('h2', { id: 'roster-for-heading' }, 'Register someone');
  const section = h('section', { class: 'roster-for', 'aria-labelledby': 'roster-for-heading' }, heading, form.el);
  return section;
}

const AUDIENCES = [['all', 'Everyone registered'], ['confirmed', 'Confirmed learners'],
  ['held', 'Learners with a seat held'], ['waitlisted', 'The waitlist']];

// Messages to the roster (issue 11): one email per learner, sent at the
// server's mail rate; below, what was sent so far.
function messagesBox(o, signal) {
  const sentList = h('div', { 'aria-live': 'polite' });
  const form = new Form({ labelledBy: 'roster-message-heading', submitText: 'Send to the learners', busyText: 'Queueing…' });
  const to = form.add(field({ name: 'to', label: 'Recipients', type: 'select', required: true, options: AUDIENCES }));
  const subject = form.add(field({ name: 'subject', label: 'Subject', required: true }));
  const body = form.add(field({ name: 'body', label: 'Message', type: 'textarea', required: true }));
  const paintSent = async () => {
    const page = await rosters.messages(o.id, { limit: 20, signal });
    replaceChildren(sentList, (page.items ?? []).length === 0 ? h('p', {}, 'No messages sent yet.') :
      h('ul', { class: 'roster-messages' }, page.items.map((m) => h('li', {},
        h('strong', {}, m.subject), ` — to ${AUDIENCES.find(([v]) => v === m.to)?.[1] ?? m.to}: `,
        `${m.sent} of ${plural(m.recipients, 'message', 'messages')} sent, ${formatInstant(m.created_at, o.timezone)}`))));
  };
  form.onSubmit(async () => {
    form.clearErrors();
    const r = await rosters.sendMessage(o.id, { to: to.input.value, subject: subject.text, body: body.text });
    announce(`Message queued for ${plural(r.recipients, 'learner', 'learners')}.`);
    subject.input.value = '';
    body.input.value = '';
    await paintSent();
  });
  paintSent().catch(() => replaceChildren(sentList, h('p', {}, 'The messages sent could not be loaded.')));
  return h('section', { class: 'roster-message', 'aria-labelledby': 'roster-message-heading' },
    h('h2', { id: 'roster-message-heading' }, 'Write to the learners'), form.el,
    h('h3', {}, 'Sent'), sentList);
}

const METHODS = [
  ['cheque', 'Cheque'],
  ['wire', 'Wire transfer'],
  ['purchase_order', 'Purchase order'],
  ['waived', 'Waived'],
];

// "1,250.00" or "1250" → 125000; NaN when it is not an amount.
function centsOf(text) {
  const t = String(text).replace(/,/g, '').trim();
  return /^\d+(\.\d{1,2})?$/.test(t) ? Math.round(Number(t) * 100) : NaN;
}

// "Record payment" and "Issue invoice" for a seat that still owes money.
function moneyForms(e, who, onDone) {
  const owed = e.amount_due_cents - e.paid_cents;
  if (!['held', 'confirmed'].includes(e.status) || owed <= 0) return null;
  const pay = new Form({ label: `Record a payment for ${who}`, submitText: 'Record payment', busyText: 'Recording…' });
  const method = pay.add(field({ name: 'method', label: 'Method', type: 'select', options: METHODS }));
  const amount = pay.add(field({ name: 'amount_cents', label: 'Amount', value: (owed / 100).toFixed(2),
    hint: `Still owed: ${formatMoney(owed, e.currency)}`, attrs: { inputmode: 'decimal' } }));
  const reference = pay.add(field({ name: 'reference', label: 'Reference', optional: true,
    hint: 'Cheque number, wire reference or purchase order' }));
  pay.onSubmit(async () => {
    const cents = centsOf(amount.value);
    if (Number.isNaN(cents) || cents <= 0) {
      pay.showErrors([{ field: amount, message: 'Enter the amount, such as 1250.00.' }]);
      return;
    }
    const r = await enrollments.recordOffline(e.id, { method: method.value, amountCents: cents, reference: reference.value.trim() });
    // Shown and announced once the roster is drawn again (an announcement
    // made now would be replaced by the roster's own).
    flash(`Payment of ${formatMoney(r.payment.amount_cents, r.payment.currency)} recorded for ${who}.`);
    onDone();
  });

  const inv = new Form({ label: `Issue an invoice for ${who}`, submitText: 'Issue invoice', busyText: 'Issuing…' });
  inv.add(field({ name: 'bill_to.name', label: 'Bill to (institution)', required: true }));
  inv.add(field({ name: 'bill_to.address', label: 'Address', type: 'textarea', required: true }));
  inv.add(field({ name: 'bill_to.email', label: 'Accounts email', type: 'email', required: true }));
  inv.add(field({ name: 'due_on', label: 'Due on', type: 'date', required: true }));
  inv.onSubmit(async () => {
    const v = (n) => inv.fields.get(n).value.trim();
    const r = await enrollments.invoice(e.id, {
      billTo: { name: v('bill_to.name'), address: v('bill_to.address'), email: v('bill_to.email') },
      dueOn: v('due_on'),
    });
    announce(`Invoice ${r.invoice.number} issued for ${who}; the seat is confirmed.`);
    inv.el.replaceWith(h('p', {}, `Invoice ${r.invoice.number} issued. `,
      h('a', { href: enrollments.invoiceUrl(r.invoice.id), target: '_blank', rel: 'noopener' },
        `Open invoice ${r.invoice.number} (PDF)`)));
  });
  return h('details', { class: 'money-forms' },
    h('summary', {}, 'Record payment or issue invoice'),
    h('h3', {}, 'Record payment'), pay.el,
    h('h3', {}, 'Issue invoice'), inv.el);
}

function rowOf(item, o, onDone) {
  const e = item.enrollment;
  const u = item.learner;
  const sessions = Array.isArray(item.sessions) ? item.sessions : [];
  return h('tr', { 'data-enrollment-id': e.id },
    h('th', { scope: 'row' }, h('span', { class: 'learner' }, learnerLines(u))),
    h('td', {}, [professionName(u.profession), u.credentials].filter(Boolean).join(', '),
      u.institution ? h('span', { class: 'learner__email' }, u.institution) : null),
    h('td', {}, statusLabel(e)),
    h('td', { class: 'num' }, e.paid_cents > 0 ? formatMoney(e.paid_cents, e.currency) : '—',
      moneyForms(e, u.full_name || u.email, onDone)),
    h('td', {}, sessions.length ? sessions.map((s) => s.title).join('; ') : '—'),
    h('td', {}, formatInstant(e.created_at, o.timezone)));
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'roster', heading: 'Roster' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal, query } = ctx;
  const statusParam = FILTERS.some(([v]) => v === (query.get('status') ?? '')) ? (query.get('status') ?? '') : '';
  const filterLabel = FILTERS.find(([v]) => v === statusParam)[1];

  const form = new Form({ label: 'Filter the roster', submitText: 'Show', busyText: 'Loading…', className: 'filter-form' });
  const show = form.add(field({ name: 'status', label: 'Show', type: 'select', options: FILTERS }));
  show.value = statusParam;
  form.onSubmit(async () => {
    const v = show.value;
    ctx.navigate(`/offerings/${o.id}/roster${v ? `?status=${encodeURIComponent(v)}` : ''}`);
  });

  const csv = h('a', {
    class: 'button button--secondary',
    href: rosters.csvUrl(o.id, { status: statusParam || null }),
    download: `roster-${o.id}.csv`,
    'aria-describedby': 'csv-hint',
  }, 'Download CSV');
  const tools = h('div', { class: 'roster-tools' },
    form.el,
    h('div', { class: 'roster-tools__csv' }, csv,
      h('p', { class: 'field__hint', id: 'csv-hint' },
        `The list shown (${filterLabel.toLowerCase()}) as a spreadsheet file (CSV, UTF-8), all rows at once.`)));
  const summary = h('p', { class: 'roster-summary' },
    `${plural(o.seats_taken ?? 0, 'seat', 'seats')} taken of ${o.capacity}`,
    o.waitlist_length > 0 ? ` · ${plural(o.waitlist_length, 'person', 'people')} on the waitlist` : '',
    '.');
  const listBox = h('div');
  replaceChildren(body, summary, tools, listBox);
  showLoading(listBox, 'Loading the roster…');

  const reload = () => ctx.rerender();
  let first;
  try {
    first = await rosters.get(o.id, { status: statusParam || null, signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, listBox, err, 'roster');
    return;
  }
  if (first.items.length === 0) {
    replaceChildren(listBox, emptyState('Nobody here yet', `No registrations match “${filterLabel}”.`));
    announce(`Roster of ${page.title}: nobody matches ${filterLabel}.`);
    return;
  }
  const tbody = h('tbody', {}, first.items.map((x) => rowOf(x, o, reload)));
  const shown = h('p', { class: 'roster-count', 'aria-live': 'polite' });
  let cursor = first.next_cursor;
  let count = first.items.length;
  const more = h('button', { type: 'button', class: 'button button--secondary' }, 'Show more');
  const paint = () => {
    shown.textContent = `Showing ${plural(count, 'registration', 'registrations')}${cursor ? '; there are more' : ''}.`;
    more.hidden = !cursor;
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    more.textContent = 'Loading…';
    try {
      const next = await rosters.get(o.id, { status: statusParam || null, cursor, signal });
      tbody.append(...next.items.map((x) => rowOf(x, o, reload)));
      cursor = next.next_cursor;
      count += next.items.length;
      paint();
    } catch (err) {
      if (err?.name === 'AbortError') return;
      announce(`More rows could not be loaded. ${err.message}`, { assertive: true });
    } finally {
      more.disabled = false;
      more.textContent = 'Show more';
    }
  });
  paint();
  replaceChildren(listBox,
    h('div', { class: 'table-wrap table-wrap--wide', role: 'region', 'aria-labelledby': 'roster-caption', tabindex: '0' },
      h('table', { class: 'table roster' },
        h('caption', { id: 'roster-caption' }, `${filterLabel}`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Learner'),
          h('th', { scope: 'col' }, 'Profession'),
          h('th', { scope: 'col' }, 'Status'),
          h('th', { scope: 'col' }, 'Paid'),
          h('th', { scope: 'col' }, 'Workshops'),
          h('th', { scope: 'col' }, 'Registered'))),
        tbody)),
    shown,
    h('p', {}, more),
    totalsBox(first.totals, o.currency ?? 'USD', first),
    messagesBox(o, signal),
    registerForBox(o, ctx));
  announce(`Roster of ${page.title}: ${shown.textContent}`);
}

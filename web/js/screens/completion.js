// screens/completion.js — #/offerings/:id/completion : for directors, who
// has attended how many hours, evaluated and been issued a certificate
// (GET …/completion); every certificate as one PDF; the ACCME activity
// report (GET …/accme-report) and its CSV row.

import { credits } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { directorPage, listFailed } from '../director-page.js';
import { formatDateRange } from '../format.js';
import { announce } from '../status.js';
import { emptyState, showLoading } from '../ui.js';

const yes = (b) => (b ? 'Yes' : 'No');

function accmeSection(a) {
  const missing = (v) => (v === null || v === undefined ? 'to fill in by hand' : String(v));
  const rows = [
    ['Title', a.title], ['Format', a.format], ['Dates', formatDateRange(a.starts_on, a.ends_on)],
    ['Venue', a.venue || '—'], ['City', missing(a.city)], ['State', missing(a.state)], ['Country', missing(a.country)],
    ['AMA PRA Category 1 credits designated', String(a.credits_designated)],
    ['Physician learners', String(a.physician_learners)], ['Other learners', String(a.other_learners)],
    ['Commercial support', a.commercial_support === null ? 'to fill in by hand' : yes(a.commercial_support)],
  ];
  return h('section', { class: 'section', 'aria-labelledby': 'accme-heading' },
    h('h2', { id: 'accme-heading' }, 'ACCME activity report'),
    h('dl', { class: 'details details--card' },
      rows.map(([k, v]) => h('div', { class: 'details__row' }, h('dt', {}, k), h('dd', {}, v)))),
    h('p', {}, h('a', { class: 'button button--secondary', href: credits.accmeCsvUrl(a.id ?? ''), download: 'accme.csv' },
      'Download the PARS row (CSV)')));
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'completion', heading: 'Completion' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  showLoading(body, 'Loading completion…');
  let c;
  let accme;
  try {
    [c, accme] = await Promise.all([credits.completion(o.id, { signal }), credits.accme(o.id, { signal })]);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, body, err, 'completion');
    return;
  }
  const evaluated = c.items.filter((i) => i.evaluated).length;
  const issued = c.items.filter((i) => i.certificate_issued).length;
  const table = c.items.length === 0
    ? emptyState('No confirmed learners', 'Learners appear here once their registration is confirmed.')
    : h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'completion-caption', tabindex: '0' },
      h('table', { class: 'table' },
        h('caption', { id: 'completion-caption' }, 'Confirmed learners'),
        h('thead', {}, h('tr', {}, ['Learner', 'Attended hours', 'Evaluation in', 'Claimed hours', 'Certificate']
          .map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, c.items.map((i) => h('tr', { 'data-enrollment-id': i.enrollment_id },
          h('th', { scope: 'row' }, i.learner.full_name),
          h('td', {}, String(i.attended_hours)),
          h('td', {}, yes(i.evaluated)),
          h('td', {}, i.claimed_hours === null ? '—' : String(i.claimed_hours)),
          h('td', {}, i.certificate_issued ? `Issued: ${i.credits} credits` : 'Not yet'))))));
  const link = accme.activity;
  replaceChildren(body,
    h('p', {}, c.ended ? 'This offering has ended: learners can evaluate it and download their certificates.'
      : 'This offering has not ended yet: evaluations and certificates open when its last session ends.'),
    h('p', {}, `${c.items.length} confirmed · ${evaluated} evaluations in · ${issued} certificates issued`),
    table,
    h('p', { class: 'button-row' },
      h('a', { class: 'button button--secondary', href: credits.certificatesUrl(o.id), download: 'certificates.pdf' },
        'Download every certificate (PDF)')),
    accmeSection({ ...link, id: o.id }));
  announce(`Completion: ${c.items.length} confirmed, ${evaluated} evaluations, ${issued} certificates.`);
}

// screens/evaluations.js — #/offerings/:id/evaluations : for directors, the
// evaluation results: per question the mean and counts, or the texts
// (GET …/evaluations), and the responses as CSV.

import { credits } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { directorPage, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { emptyState, showLoading } from '../ui.js';

function summaryOf(q, s) {
  if (!s) return h('p', {}, 'No answers.');
  if (q.kind === 'text') {
    return s.texts.length === 0 ? h('p', {}, 'No answers.') : h('ul', { class: 'texts' }, s.texts.map((t) => h('li', {}, t)));
  }
  const counts = Object.entries(s.counts ?? {});
  return h('div', {},
    q.kind === 'rating' ? h('p', {}, `Mean ${s.mean ?? '—'} of 5`) : null,
    h('ul', {}, counts.map(([k, n]) => h('li', {}, `${k}: ${n}`))));
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'evaluations', heading: 'Evaluations' });
  if (page === null) return;
  const { offering: o, body } = page;
  showLoading(body, 'Loading the evaluations…');
  let r;
  try {
    r = await credits.evaluations(o.id, { signal: ctx.signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, body, err, 'evaluations');
    return;
  }
  if (r.responses.length === 0) {
    replaceChildren(body, emptyState('No evaluation yet', 'Evaluations arrive once the offering has ended.'));
    announce('Evaluations: none yet.');
    return;
  }
  replaceChildren(body,
    h('p', {}, `${r.responses.length} responses.`),
    r.questions.map((q) => h('section', { class: 'section', 'aria-labelledby': `eq-${q.id}` },
      h('h2', { id: `eq-${q.id}` }, q.text), summaryOf(q, r.summary[q.id]))),
    h('p', {}, h('a', { class: 'button button--secondary', href: credits.evaluationsCsvUrl(o.id), download: 'evaluations.csv' },
      'Download the responses (CSV)')));
  announce(`Evaluations: ${r.responses.length} responses.`);
}

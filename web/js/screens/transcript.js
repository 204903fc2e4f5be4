// screens/transcript.js — #/transcript : every certificate of the learner
// with totals by credit type (GET /me/transcript), and the printable PDF.

import { credits } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatDateRange } from '../format.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { emptyState, pageHeading, showError, showLoading, signInRequired } from '../ui.js';

export async function render(ctx) {
  const { root, signal } = ctx;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Transcript', path: '/transcript', text: 'Please sign in to see your certificates.' });
    return;
  }
  ctx.setTitle('Transcript');
  replaceChildren(root, pageHeading('Your transcript'));
  const box = root.appendChild(h('div'));
  showLoading(box, 'Loading your certificates…');
  let t;
  try {
    t = await credits.transcript({ signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    showError(box, err, { heading: 'Your transcript could not be loaded', onRetry: () => ctx.rerender() });
    return;
  }
  if (t.items.length === 0) {
    replaceChildren(box, emptyState('No certificate yet',
      'Certificates appear here once a course has ended and you have submitted its evaluation.'));
    announce('Your transcript: no certificate yet.');
    return;
  }
  const download = h('button', { type: 'button', class: 'button button--secondary' }, 'Download the transcript (PDF)');
  download.addEventListener('click', async () => {
    download.disabled = true;
    try {
      const blob = await credits.transcriptPdf({ signal });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'transcript.pdf' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      announce(err.message, { assertive: true });
    } finally {
      download.disabled = false;
    }
  });
  replaceChildren(box,
    h('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'transcript-caption', tabindex: '0' },
      h('table', { class: 'table' },
        h('caption', { id: 'transcript-caption' }, 'Your certificates, newest first'),
        h('thead', {}, h('tr', {}, ['Course', 'Dates', 'Credits', 'Verification code', 'Certificate'].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, t.items.map((i) => h('tr', {},
          h('td', {}, `${i.offering.course_title}: ${i.offering.title}`),
          h('td', {}, formatDateRange(i.offering.starts_on, i.offering.ends_on)),
          h('td', {}, `${i.credits} ${i.credit_type}`),
          h('td', {}, h('code', {}, i.verification_code)),
          h('td', {}, h('a', { href: `#/verify-certificate/${encodeURIComponent(i.verification_code)}` }, 'Check'))))))),
    h('h2', {}, 'Totals'),
    h('ul', {}, Object.entries(t.totals_by_credit_type).map(([type, n]) => h('li', {}, `${n} ${type}`))),
    h('p', {}, download));
  announce(`Your transcript: ${t.items.length} certificates.`);
}

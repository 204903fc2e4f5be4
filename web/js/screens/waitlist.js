// screens/waitlist.js — #/offerings/:id/waitlist : an offering's waitlist
// in order (GET …/waitlist), for its directors and admins. The first person
// waiting gets the next seat that opens, automatically.

import { rosters } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatInstant, plural, professionName } from '../format.js';
import { directorPage, learnerLines, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { emptyState, showLoading } from '../ui.js';

function itemOf(x, o) {
  const u = x.learner;
  return h('li', { class: 'wait-item', 'data-enrollment-id': x.enrollment.id },
    h('span', { class: 'wait-item__position', 'aria-hidden': 'true' }, String(x.position)),
    h('div', { class: 'wait-item__body' },
      h('p', { class: 'learner' },
        h('span', { class: 'visually-hidden' }, `Number ${x.position}: `), learnerLines(u)),
      h('p', { class: 'wait-item__meta' },
        [professionName(u.profession), u.credentials, u.institution].filter(Boolean).join(' · '),
        h('br'), `Waiting since ${formatInstant(x.enrollment.created_at, o.timezone)}`)));
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'waitlist', heading: 'Waitlist' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  const listBox = h('div');
  replaceChildren(body,
    h('p', {}, 'When a seat opens (a cancellation, an expired hold, a larger capacity), it is held at once for the ',
      'first person on this list, who is emailed and has the usual time to pay.'),
    listBox);
  showLoading(listBox, 'Loading the waitlist…');
  let first;
  try {
    first = await rosters.waitlist(o.id, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, listBox, err, 'waitlist');
    return;
  }
  if (first.items.length === 0) {
    replaceChildren(listBox, emptyState('Nobody is waiting', 'The waitlist of this offering is empty.'));
    announce(`Waitlist of ${page.title}: nobody is waiting.`);
    return;
  }
  const list = h('ol', { class: 'wait-list', 'aria-label': 'Waitlist, in order' }, first.items.map((x) => itemOf(x, o)));
  let cursor = first.next_cursor;
  const more = h('button', { type: 'button', class: 'button button--secondary' }, 'Show more');
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const next = await rosters.waitlist(o.id, { cursor, signal });
      list.append(...next.items.map((x) => itemOf(x, o)));
      cursor = next.next_cursor;
      more.hidden = !cursor;
      announce(`${plural(next.items.length, 'more person', 'more people')} shown.`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      announce(`More could not be loaded. ${err.message}`, { assertive: true });
    } finally {
      more.disabled = false;
    }
  });
  replaceChildren(listBox, list, h('p', {}, more));
  announce(`Waitlist of ${page.title}: ${plural(first.items.length, 'person', 'people')}${cursor ? ' shown, more below' : ''}.`);
}

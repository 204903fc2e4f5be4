// screens/verify-certificate.js — #/verify-certificate/:code : the public
// check of a printed certificate (GET /certificates/{code}), and a box to
// type a code.

import { credits } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatDateRange, formatLongDate } from '../format.js';
import { announce } from '../status.js';
import { pageHeading, showLoading } from '../ui.js';

function codeForm(ctx, value) {
  const input = h('input', { id: 'verify-code', name: 'code', value: value ?? '', autocomplete: 'off',
    spellcheck: 'false', maxlength: '12', 'aria-describedby': 'verify-code-hint' });
  const form = h('form', { class: 'form form--inline' },
    h('div', { class: 'field' },
      h('label', { class: 'field__label', for: 'verify-code' }, 'Verification code'),
      h('p', { class: 'field__hint', id: 'verify-code-hint' }, 'The 12 characters printed on the certificate.'),
      input),
    h('p', { class: 'button-row' }, h('button', { type: 'submit', class: 'button' }, 'Check')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = input.value.replace(/[\s-]/g, '').toUpperCase();
    if (code) ctx.navigate(`/verify-certificate/${encodeURIComponent(code)}`);
  });
  return form;
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  ctx.setTitle('Check a certificate');
  const code = params.code ?? '';
  replaceChildren(root, pageHeading('Check a certificate'));
  const box = root.appendChild(h('div', { class: 'section' }));
  if (code) {
    showLoading(box, 'Checking…');
    try {
      const c = await credits.verify(code, { signal });
      replaceChildren(box, h('div', { class: 'panel panel--confirmed' },
        h('h2', { class: 'panel__title' }, 'This certificate is genuine'),
        h('dl', { class: 'details' },
          ...[['Learner', c.learner_name], ['Course', c.course_title], ['Offering', c.offering_title],
            ['Dates', formatDateRange(c.starts_on, c.ends_on)], ['Credits', `${c.credits} ${c.credit_type}`],
            ['Issued', formatLongDate(c.issued_at.slice(0, 10))]]
            .map(([k, v]) => h('div', { class: 'details__row' }, h('dt', {}, k), h('dd', {}, v))))));
      announce(`This certificate is genuine: ${c.learner_name}, ${c.course_title}.`);
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      const text = err.slug === 'not-found'
        ? 'No certificate has this code. Check the code as printed (letters and digits, no 0, O, 1, I or L).'
        : err.message;
      replaceChildren(box, h('div', { class: 'panel panel--error' },
        h('p', { class: 'panel__title' }, 'Not confirmed'), h('p', {}, text)));
      announce(text, { assertive: true });
    }
  }
  root.append(codeForm(ctx, code));
}

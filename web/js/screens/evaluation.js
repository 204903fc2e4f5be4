// screens/evaluation.js — #/registrations/:id/evaluation : after the course,
// the learner evaluates it once and claims their hours
// (POST /enrollments/{id}/evaluation), then downloads the certificate.

import { credits, enrollments } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { formatDateRange } from '../format.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import { breadcrumbs, downloadButton, pageHeading, showError, showLoading, signInRequired } from '../ui.js';

let counter = 0;
const uid = (p) => `${p}-${++counter}`;

// One question as a fieldset (rating, choice) or a labelled text area.
function questionControl(q) {
  const id = uid(`q-${q.id}`);
  const error = h('p', { class: 'field__error', id: `${id}-error` });
  const suffix = q.required ? null : h('span', { class: 'field__optional' }, ' (optional)');
  if (q.kind === 'text') {
    const input = h('textarea', { id, name: q.id, rows: '3', maxlength: '4000', 'aria-describedby': `${id}-error` });
    return {
      q, error,
      el: h('div', { class: 'field' }, h('label', { class: 'field__label', for: id }, q.text, suffix), input, error),
      value: () => input.value.trim() || null,
      focus: () => input.focus(),
    };
  }
  const options = q.kind === 'rating'
    ? [1, 2, 3, 4, 5].map((n) => [String(n), n === 1 ? '1 (strongly disagree)' : n === 5 ? '5 (strongly agree)' : String(n)])
    : q.choices.map((c) => [c, c]);
  const radios = options.map(([value, label]) => {
    const rid = uid(id);
    return h('label', { class: 'choice', for: rid },
      h('input', { type: 'radio', id: rid, name: id, value, required: q.required }), ' ', label);
  });
  return {
    q, error,
    el: h('fieldset', { class: 'field fieldset', 'aria-describedby': `${id}-error` },
      h('legend', { class: 'field__label' }, q.text, suffix), h('div', { class: 'choices' }, radios), error),
    value: () => {
      const checked = radios.map((r) => r.querySelector('input')).find((i) => i.checked);
      if (!checked) return null;
      return q.kind === 'rating' ? Number(checked.value) : checked.value;
    },
    focus: () => radios[0].querySelector('input').focus(),
  };
}

function certificatePanel(e) {
  return h('div', { class: 'panel panel--confirmed' },
    h('h2', { class: 'panel__title' }, 'Your certificate'),
    h('p', {}, 'Thank you for your evaluation. Your certificate is ready.'),
    h('p', {}, downloadButton('Download your certificate (PDF)', 'certificate.pdf', () => credits.certificatePdf(e.id))),
    h('p', {}, h('a', { href: '#/transcript' }, 'See all your certificates')));
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const path = `/registrations/${params.id}/evaluation`;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: 'Evaluation', path, text: 'Please sign in to evaluate your course.' });
    return;
  }
  ctx.setTitle('Evaluation');
  replaceChildren(root, pageHeading('Evaluation'));
  showLoading(root.appendChild(h('div')), 'Loading the evaluation…');
  let e;
  let form;
  try {
    e = await enrollments.get(params.id, { signal });
    form = await credits.form(e.offering_id, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    replaceChildren(root, pageHeading('Evaluation'));
    showError(root.appendChild(h('div')), err, { heading: 'The evaluation could not be loaded', onRetry: () => ctx.rerender() });
    return;
  }
  const o = e.offering ?? { title: 'Offering' };
  const title = o.title || 'Offering';
  ctx.setTitle(`Evaluation: ${title}`);
  const trail = breadcrumbs([['My registrations', '#/registrations'],
    [title, `#/registrations/${encodeURIComponent(e.id)}`], ['Evaluation', null]]);
  const controls = form.questions.map(questionControl);
  const hoursId = uid('hours');
  const hours = h('input', {
    id: hoursId, name: 'claimed_hours', type: 'number', min: '0', step: '0.25', required: true, inputmode: 'decimal',
    'aria-describedby': `${hoursId}-hint ${hoursId}-error`,
  });
  const hoursError = h('p', { class: 'field__error', id: `${hoursId}-error` });
  const formError = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Submit the evaluation');
  const el = h('form', { class: 'form', novalidate: true },
    controls.map((c) => c.el),
    h('div', { class: 'field' },
      h('label', { class: 'field__label', for: hoursId }, 'Hours you claim'),
      h('p', { class: 'field__hint', id: `${hoursId}-hint` },
        'The hours you actually took part in, in quarter hours. At most the hours of the sessions you attended.'),
      hours, hoursError),
    formError,
    h('p', { class: 'button-row' }, submit));
  const box = h('div');
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const c of [...controls.map((x) => x.error), hoursError]) c.textContent = '';
    formError.replaceChildren();
    const answers = {};
    let first = null;
    for (const c of controls) {
      const v = c.value();
      if (v === null && c.q.required) {
        c.error.textContent = 'Please answer this question.';
        first ??= c.focus;
      }
      if (v !== null) answers[c.q.id] = v;
    }
    const claimed = Number(hours.value);
    if (hours.value === '' || !Number.isFinite(claimed) || claimed < 0) {
      hoursError.textContent = 'Please enter the hours you claim, for example 6.5.';
      first ??= () => hours.focus();
    }
    if (first) {
      first();
      announce('Some answers are missing. Please check the form.', { assertive: true });
      return;
    }
    submit.disabled = true;
    try {
      const res = await credits.evaluate(e.id, answers, claimed, { signal });
      replaceChildren(box, h('p', {}, `You claimed ${res.claimed_hours} hours: ${res.credits} ${res.credit_type}.`),
        certificatePanel(e));
      announce(`Evaluation submitted. ${res.credits} ${res.credit_type}. Your certificate is ready.`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      if (err.slug === 'already-evaluated') {
        replaceChildren(box, certificatePanel(e));
      } else if (err.slug === 'claimed-hours-exceed-attended') {
        hoursError.textContent = err.message;
        hours.focus();
      } else {
        formError.replaceChildren(h('p', { class: 'panel panel--error' }, err.message));
      }
      announce(err.message, { assertive: true });
    } finally {
      submit.disabled = false;
    }
  });
  replaceChildren(box, h('p', {}, 'Your answers help the course team improve the course; they are read by its directors.'), el);
  replaceChildren(root, trail, pageHeading(title, { eyebrow: 'Evaluation' }),
    h('p', {}, formatDateRange(o.starts_on, o.ends_on)), box);
  announce(`Evaluation of ${title}: ${form.questions.length} questions.`);
}

// screens/evaluation-form-edit.js — #/offerings/:id/evaluation-form : for
// directors, the offering's evaluation form (PUT …/evaluation-form). Each
// question: its text, kind, whether required, and choices (one a line).
// Once answers are in, answered questions can be reworded but not removed.

import { credits } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { directorPage, listFailed } from '../director-page.js';
import { announce } from '../status.js';
import { showLoading } from '../ui.js';

const KINDS = [['rating', 'Rating (1 to 5)'], ['choice', 'One of several choices'], ['text', 'Free text']];
let counter = 0;

function questionEditor(q, onRemove) {
  const n = ++counter;
  const text = h('input', { id: `qe-text-${n}`, value: q.text, maxlength: '500', required: true });
  const kind = h('select', { id: `qe-kind-${n}` }, KINDS.map(([v, l]) => h('option', { value: v, selected: v === q.kind }, l)));
  const required = h('input', { type: 'checkbox', id: `qe-req-${n}`, checked: q.required });
  const choices = h('textarea', { id: `qe-choices-${n}`, rows: '3' });
  choices.value = (q.choices ?? []).join('\n');
  const choicesField = h('div', { class: 'field' },
    h('label', { class: 'field__label', for: `qe-choices-${n}` }, 'Choices, one per line'), choices);
  const sync = () => { choicesField.hidden = kind.value !== 'choice'; };
  kind.addEventListener('change', sync);
  sync();
  const remove = h('button', { type: 'button', class: 'button button--small button--secondary' }, `Remove question ${n}`);
  const el = h('fieldset', { class: 'fieldset question-editor' },
    h('legend', {}, `Question (${q.id})`),
    h('div', { class: 'field' }, h('label', { class: 'field__label', for: `qe-text-${n}` }, 'Question'), text),
    h('div', { class: 'field' }, h('label', { class: 'field__label', for: `qe-kind-${n}` }, 'Kind of answer'), kind),
    h('div', { class: 'field field__check' }, required, h('label', { for: `qe-req-${n}` }, 'Required')),
    choicesField, h('p', {}, remove));
  remove.addEventListener('click', () => onRemove(el));
  return {
    el,
    value: () => ({
      id: q.id, kind: kind.value, text: text.value.trim(), required: required.checked,
      ...(kind.value === 'choice' ? { choices: choices.value.split('\n').map((c) => c.trim()).filter(Boolean) } : {}),
    }),
  };
}

export async function render(ctx) {
  const page = await directorPage(ctx, { page: 'evaluation-form', heading: 'Evaluation form' });
  if (page === null) return;
  const { offering: o, body } = page;
  const { signal } = ctx;
  showLoading(body, 'Loading the form…');
  let form;
  try {
    form = await credits.form(o.id, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    listFailed(ctx, body, err, 'evaluation form');
    return;
  }
  let editors = [];
  const list = h('div');
  const removeEditor = (el) => {
    editors = editors.filter((e) => e.el !== el);
    el.remove();
    announce('Question removed. Save to keep the change.');
  };
  for (const q of form.questions) {
    const e = questionEditor(q, removeEditor);
    editors.push(e);
    list.append(e.el);
  }
  const add = h('button', { type: 'button', class: 'button button--secondary' }, 'Add a question');
  add.addEventListener('click', () => {
    const e = questionEditor({ id: `q${Date.now().toString(36)}`, kind: 'rating', text: '', required: false }, removeEditor);
    editors.push(e);
    list.append(e.el);
    e.el.querySelector('input')?.focus();
  });
  const message = h('div', { role: 'status' });
  const save = h('button', { type: 'submit', class: 'button' }, 'Save the form');
  const el = h('form', { class: 'form' }, list, h('p', { class: 'button-row' }, add, save), message);
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      await credits.saveForm(o.id, editors.map((e) => e.value()), { signal });
      message.replaceChildren(h('p', { class: 'panel panel--confirmed' }, 'The form is saved.'));
      announce('The evaluation form is saved.');
    } catch (err) {
      if (err?.name === 'AbortError') return;
      const fields = err.fieldErrors?.map((f) => `${f.field}: ${f.message}`).join('; ');
      message.replaceChildren(h('p', { class: 'panel panel--error' }, err.message, fields ? ` (${fields})` : ''));
      announce(err.message, { assertive: true });
    } finally {
      save.disabled = false;
    }
  });
  replaceChildren(body,
    h('p', {}, 'Learners answer this form after the offering ends. A new offering starts from the centre’s CME form. ',
      'Once answers are in, answered questions can be reworded or gain choices, but not be removed or change kind.'),
    el);
  announce(`Evaluation form: ${form.questions.length} questions.`);
}

// forms.js — labelled fields, errors next to them, and forms that say
// what went wrong.
//
// A Field is a label, an optional hint, the control and a slot for its
// error, tied together with ids (for, aria-describedby) so that a screen
// reader reads the label, the hint and the error with the control. A Form
// owns fields by the name the API gives them ("email", "parts[1].ends_on"),
// shows an ApiError's field errors next to their fields as sentences and
// the rest in a box at the top of the form, announces it all through the
// assertive live region, and moves focus to the first field in error.
//
//   const form = new Form({ labelledBy: 'signin-heading', submitText: 'Sign in', busyText: 'Signing in…' });
//   const email = form.add(field({ name: 'email', label: 'Email address', type: 'email', autocomplete: 'email' }));
//   form.onSubmit(async () => { ... throw or form.showProblem(err) ... });
//   root.append(form.el);

import { fieldSentence } from './api.js';
import { h } from './dom.js';
import { announce } from './status.js';

let seq = 0;

// A unique id for this page: uid('email') → 'email-7'.
export function uid(prefix = 'f') {
  seq += 1;
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '-')}-${seq}`;
}

export class Field {
  // spec: { name, label, type, value, required, optional, hint, autocomplete,
  //         options: [[value, text]], placeholderOption, attrs, labelHidden }
  constructor(spec) {
    const {
      name, label, type = 'text', value = '', required = false, optional = false, hint = null,
      autocomplete = null, options = [], placeholderOption = null, attrs = {}, className = '',
      labelSuffix = null, describedBy = [],
    } = spec;
    this.describedBy = describedBy; // ids of hints shared with other fields
    this.name = name;
    // labelSuffix: words only screen readers need ('for nurses' after a
    // column's 'Price'); error sentences use the whole name.
    this.label = labelSuffix ? `${label} ${labelSuffix}` : label;
    this.type = type;
    const id = uid(name || 'field');
    this.id = id;
    this.hintEl = h('p', { class: 'field__hint', id: `${id}-hint` }, hint ?? '');
    this.hintEl.hidden = !hint;
    this.errorEl = h('p', { class: 'field__error', id: `${id}-error` });
    this.errorEl.hidden = true;

    const common = { id, name, required: required || null, autocomplete, ...attrs };
    if (type === 'select') {
      this.input = h('select', common,
        placeholderOption !== null ? h('option', { value: '' }, placeholderOption) : null,
        options.map(([v, text]) => h('option', { value: v }, text)));
    } else if (type === 'textarea') {
      this.input = h('textarea', { rows: 3, ...common });
    } else {
      this.input = h('input', { type, ...common });
    }
    this.labelEl = h('label', { class: 'field__label', for: id }, label,
      labelSuffix ? h('span', { class: 'visually-hidden' }, ` ${labelSuffix}`) : null,
      optional ? h('span', { class: 'field__optional' }, ' (optional)') : null);
    if (type === 'checkbox') {
      this.wrap = h('div', { class: `field field--checkbox ${className}`.trim() },
        h('div', { class: 'field__check' }, this.input, this.labelEl), this.hintEl, this.errorEl);
    } else {
      this.wrap = h('div', { class: `field ${className}`.trim() },
        this.labelEl, this.hintEl, this.errorEl, this.input);
    }
    this.value = value;
    this.describe();
  }

  describe() {
    const ids = [...this.describedBy];
    if (!this.hintEl.hidden) ids.push(this.hintEl.id);
    if (!this.errorEl.hidden) ids.push(this.errorEl.id);
    if (ids.length) this.input.setAttribute('aria-describedby', ids.join(' '));
    else this.input.removeAttribute('aria-describedby');
  }

  get value() {
    if (this.type === 'checkbox') return this.input.checked;
    return this.input.value;
  }

  set value(v) {
    if (this.type === 'checkbox') this.input.checked = Boolean(v);
    else this.input.value = v === null || v === undefined ? '' : String(v);
  }

  // The value trimmed, or null when empty (for optional API fields).
  get text() {
    const v = String(this.input.value ?? '').trim();
    return v === '' ? null : v;
  }

  setHint(text) {
    this.hintEl.textContent = text ?? '';
    this.hintEl.hidden = !text;
    this.describe();
  }

  setError(sentence) {
    this.errorEl.replaceChildren();
    if (sentence) {
      this.errorEl.append(h('span', { class: 'visually-hidden' }, 'Error: '), sentence);
      this.errorEl.hidden = false;
      this.input.setAttribute('aria-invalid', 'true');
      this.wrap.classList.add('field--invalid');
    } else {
      this.errorEl.hidden = true;
      this.input.removeAttribute('aria-invalid');
      this.wrap.classList.remove('field--invalid');
    }
    this.describe();
  }

  get error() {
    return this.errorEl.hidden ? null : this.errorEl.textContent.replace(/^Error: /, '');
  }

  focus() {
    this.input.focus();
  }
}

export function field(spec) {
  return new Field(spec);
}

export class Form {
  // opts: { labelledBy (id of the heading naming the form), submitText,
  //         busyText, className, secondary: [Node] (beside the submit) }
  constructor({ labelledBy = null, label = null, submitText = 'Save', busyText = 'Saving…',
    className = '', secondary = [] } = {}) {
    this.fields = new Map();
    this.all = new Set();
    this.submitText = submitText;
    this.busyText = busyText;
    this.busy = false;
    this.summaryList = h('ul', { class: 'form-summary__list' });
    this.summary = h('div', { class: 'form-summary', tabindex: '-1' },
      h('p', { class: 'form-summary__title' }, 'There is a problem'),
      this.summaryList);
    this.summary.hidden = true;
    this.body = h('div', { class: 'form__body' });
    this.submit = h('button', { type: 'submit', class: 'button' }, submitText);
    this.actions = h('div', { class: 'form-actions' }, this.submit, secondary);
    this.el = h('form', {
      class: `form ${className}`.trim(),
      novalidate: true,
      'aria-labelledby': labelledBy,
      'aria-label': labelledBy ? null : label,
    }, this.summary, this.body, this.actions);
  }

  // Registers a field under its API name (default: field.name) and, unless
  // `container` is false, appends it to the form's body or to `container`.
  add(f, { apiName = f.name, container = this.body } = {}) {
    if (apiName) this.fields.set(apiName, f);
    this.all.add(f);
    if (container) container.append(f.wrap);
    f.input.addEventListener('input', () => { if (f.error) f.setError(null); });
    return f;
  }

  // The field the API means by `name`, or by its closest enclosing name
  // ("prices[2].amount_cents" → "prices[2]" → "prices").
  fieldFor(name) {
    let n = name;
    while (n) {
      if (this.fields.has(n)) return this.fields.get(n);
      const cut = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
      if (cut <= 0) break;
      n = n.slice(0, cut);
    }
    // A parent name ("parts[1]") means its first field.
    for (const [key, f] of this.fields) {
      if (key.startsWith(`${name}.`) || key.startsWith(`${name}[`)) return f;
    }
    return null;
  }

  // Binds API names to fields for rows that come and go (parts, prices):
  // drops every name under `prefix` ('parts'), then adds the given ones.
  bindRows(prefix, entries) {
    for (const key of [...this.fields.keys()]) {
      if (key.startsWith(`${prefix}[`)) this.fields.delete(key);
    }
    for (const [apiName, f] of entries) this.fields.set(apiName, f);
  }

  // Forgets a field whose row was removed.
  remove(f) {
    this.all.delete(f);
    for (const [key, g] of this.fields) if (g === f) this.fields.delete(key);
  }

  clearErrors() {
    for (const f of this.all) f.setError(null);
    this.summary.hidden = true;
    this.summaryList.replaceChildren();
  }

  // errors: [{ field: Field|null, message: sentence }]; those without a
  // field go to the box at the top. Announces everything once and moves
  // focus to the first field in error (or to the box).
  showErrors(errors, { focus = true } = {}) {
    this.clearErrors();
    const general = [];
    const seen = new Set();
    let first = null;
    for (const { field: f, message } of errors) {
      if (!message || seen.has(message)) continue;
      seen.add(message);
      if (f) {
        if (!f.error) f.setError(message);
        first = first ?? f;
      } else {
        general.push(message);
      }
    }
    if (general.length) {
      this.summaryList.replaceChildren(...general.map((m) => h('li', {}, m)));
      this.summary.hidden = false;
    }
    const all = [...seen];
    if (all.length) announce(all.length === 1 ? all[0] : `There are ${all.length} problems. ${all.join(' ')}`, { assertive: true });
    if (focus) {
      if (general.length) this.summary.focus();
      else if (first) first.focus();
    }
  }

  // Shows an ApiError: its field errors next to their fields (as sentences
  // built with the fields' labels), its message in the box when no field
  // error explains it. `extra`: more [{field, message}] to show with it.
  showProblem(err, { extra = [], labels = {} } = {}) {
    const errors = [...extra];
    for (const fe of err?.fieldErrors ?? []) {
      const f = this.fieldFor(fe.field);
      const label = f?.label ?? labels[fe.field] ?? fe.field;
      errors.push({ field: f, message: fieldSentence(label, fe.message) });
    }
    if (errors.length === 0) {
      errors.unshift({ field: null, message: err?.message || 'Something went wrong. Please try again.' });
    }
    this.showErrors(errors);
  }

  // Runs handler on submit, one at a time, with the button saying so.
  onSubmit(handler) {
    this.el.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (this.busy) return;
      this.setBusy(true);
      try {
        await handler(event);
      } catch (err) {
        if (err?.name === 'AbortError') return;
        this.showProblem(err);
      } finally {
        this.setBusy(false);
      }
    });
  }

  setBusy(busy) {
    this.busy = busy;
    this.submit.textContent = busy ? this.busyText : this.submitText;
    if (busy) this.el.setAttribute('aria-busy', 'true');
    else this.el.removeAttribute('aria-busy');
  }
}

// Password rules of docs/api.md: 12 to 128 characters, counted as characters
// (code points), not bytes.
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

export function passwordLength(text) {
  return [...String(text ?? '')].length;
}

export function passwordProblem(label, text) {
  const n = passwordLength(text);
  if (n === 0) return `Please enter a ${label.toLowerCase()}.`;
  if (n < PASSWORD_MIN) return `${label} must be at least ${PASSWORD_MIN} characters; it has ${n}.`;
  if (n > PASSWORD_MAX) return `${label} must be at most ${PASSWORD_MAX} characters; it has ${n}.`;
  return null;
}

// Keeps a password field's hint up to date as the person types, and tells
// screen-reader users (politely) only when the state changes.
export function livePasswordHint(f) {
  let state = null;
  const update = () => {
    const n = passwordLength(f.input.value);
    let text;
    let next;
    if (n === 0) {
      text = `Use ${PASSWORD_MIN} to ${PASSWORD_MAX} characters. A few unrelated words make a strong password that is easy to remember.`;
      next = 'empty';
    } else if (n < PASSWORD_MIN) {
      const more = PASSWORD_MIN - n;
      text = `${n} of at least ${PASSWORD_MIN} characters: ${more} more needed.`;
      next = 'short';
    } else if (n > PASSWORD_MAX) {
      text = `${n} characters: ${n - PASSWORD_MAX} too many (at most ${PASSWORD_MAX}).`;
      next = 'long';
    } else {
      text = `${n} characters: long enough.`;
      next = 'ok';
    }
    f.setHint(text);
    if (state !== null && next !== state && next !== 'empty') {
      announce(next === 'ok' ? 'Password is long enough.' : next === 'long' ? 'Password is too long.' : 'Password is too short.');
    }
    state = next;
  };
  f.input.addEventListener('input', update);
  update();
}

// A show/hide toggle for a password field (a real button with a pressed state).
export function revealToggle(f) {
  const button = h('button', { type: 'button', class: 'button button--small button--secondary field__reveal', 'aria-pressed': 'false', 'aria-controls': f.id },
    'Show password');
  button.addEventListener('click', () => {
    const show = f.input.type === 'password';
    f.input.type = show ? 'text' : 'password';
    button.setAttribute('aria-pressed', String(show));
  });
  f.wrap.append(button);
  return button;
}

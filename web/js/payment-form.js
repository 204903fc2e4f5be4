// payment-form.js — paying a held seat.
//
// The card itself is never typed into our page. A real card processor gives
// the page a widget of its own (its fields live in its frame) that turns the
// card into a one-time token; the page sends only that token. The built-in
// `test` processor of API.md has no widget, so cardWidget() stands in for
// one: the learner picks a test card and it yields the processor's token
// (tok_test_visa, tok_test_mastercard, tok_test_declined). Swapping in a real
// processor means replacing cardWidget() with its widget; nothing else here
// changes.
//
// Every payment attempt gets an Idempotency-Key (a random UUID), made once
// and sent again unchanged when the attempt is retried because its outcome
// is unknown (the network failed, the processor did not answer): the server
// then replays the first answer instead of charging twice. A new card, or an
// attempt with a definite answer (declined, say), starts a new key.
//
//   const pay = paymentForm(enrollment, { signal, onPaid: ({ payment, enrollment }) => … ,
//                                         onExpired: () => … });
//   section.append(pay.el);

import { enrollments } from './api.js';
import { h } from './dom.js';
import { Form, uid } from './forms.js';
import { formatMoney } from './format.js';
import { announce } from './status.js';

// A UUID (version 4) for the Idempotency-Key. crypto.randomUUID needs a
// secure context; getRandomValues does not.
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') {
    try { return crypto.randomUUID(); } catch { /* not a secure context */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((n) => n.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const TEST_CARDS = [
  ['tok_test_visa', 'Visa test card', 'Always approved.'],
  ['tok_test_mastercard', 'Mastercard test card', 'Always approved.'],
  ['tok_test_declined', 'A declined card', 'The bank declines it: try this to see what happens.'],
];

// The stand-in for the processor's card widget: a group of radio buttons
// that behaves like a forms.js Field (setError, error, focus, wrap, input) so
// that a Form can show its error next to it. tokenize() resolves with the
// processor's token, as a real widget's would, or with null when no card is
// chosen.
export function cardWidget() {
  const id = uid('card');
  const errorEl = h('p', { class: 'field__error', id: `${id}-error` });
  errorEl.hidden = true;
  const hint = h('p', { class: 'field__hint card-widget__hint', id: `${id}-hint` },
    'Test mode: no real card is charged, and no card number is ever asked for on this page.');
  const radios = TEST_CARDS.map(([token, label, note], i) => {
    const rid = `${id}-${i}`;
    const input = h('input', { type: 'radio', name: `${id}-card`, value: token, id: rid, 'aria-describedby': `${rid}-note` });
    return {
      input,
      el: h('div', { class: 'card-widget__option' },
        input,
        h('label', { for: rid }, h('span', { class: 'card-widget__label' }, label),
          h('span', { class: 'card-widget__note', id: `${rid}-note` }, note))),
    };
  });
  const fieldset = h('fieldset', { class: 'card-widget', 'aria-describedby': `${id}-hint` },
    h('legend', { class: 'card-widget__legend' }, 'Card'),
    h('p', { class: 'card-widget__brand', 'aria-hidden': 'true' }, 'Secured by the card processor'),
    hint,
    errorEl,
    h('div', { class: 'card-widget__options' }, radios.map((r) => r.el)));

  const widget = {
    name: 'payment_token',
    label: 'Card',
    wrap: fieldset,
    // Form.add listens for 'input' here to clear the error.
    input: fieldset,
    errorEl,
    get error() {
      return errorEl.hidden ? null : errorEl.textContent.replace(/^Error: /, '');
    },
    setError(sentence) {
      errorEl.replaceChildren();
      if (sentence) {
        errorEl.append(h('span', { class: 'visually-hidden' }, 'Error: '), sentence);
        errorEl.hidden = false;
        fieldset.classList.add('card-widget--invalid');
        fieldset.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
      } else {
        errorEl.hidden = true;
        fieldset.classList.remove('card-widget--invalid');
        fieldset.setAttribute('aria-describedby', `${id}-hint`);
      }
    },
    focus() {
      (radios.find((r) => r.input.checked) ?? radios[0]).input.focus();
    },
    async tokenize() {
      return radios.find((r) => r.input.checked)?.input.value ?? null;
    },
  };
  return widget;
}

// An answer that leaves the charge's outcome unknown: retry with the same key.
function outcomeUnknown(err) {
  return err?.slug === 'network' || err?.slug === 'idempotency-key-in-use' || (err?.status ?? 0) >= 500;
}

export function paymentForm(e, { signal, onPaid, onExpired } = {}) {
  const due = Math.max(0, (e.amount_due_cents ?? 0) - (e.paid_cents ?? 0));
  const amount = formatMoney(due, e.currency);
  const form = new Form({
    labelledBy: 'pay-heading',
    submitText: `Pay ${amount}`,
    busyText: 'Paying…',
    className: 'pay-form',
  });
  const card = form.add(cardWidget());
  // The attempt in flight or whose outcome is unknown: { key, token }.
  let attempt = null;

  form.onSubmit(async () => {
    form.clearErrors();
    const token = await card.tokenize();
    if (token === null) {
      form.showErrors([{ field: card, message: 'Please choose a card to pay with.' }]);
      return;
    }
    if (attempt === null || attempt.token !== token) attempt = { key: newIdempotencyKey(), token };
    announce(`Paying ${amount}…`);
    let res;
    try {
      res = await enrollments.pay(e.id, token, attempt.key, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (!outcomeUnknown(err)) attempt = null;
      if (err.slug === 'already-paid') {
        // Paid meanwhile (another tab, or an attempt whose answer was lost).
        onPaid?.(null);
        return;
      }
      const extra = outcomeUnknown(err)
        ? ' If money was taken, paying again with the same card will not charge you twice.'
        : '';
      form.showErrors([{
        field: err.slug === 'payment-declined' ? card : null,
        message: `${err.message}${extra}`,
      }]);
      if (err.slug === 'hold-expired') onExpired?.();
      return;
    }
    attempt = null;
    onPaid?.(res);
  });

  const el = h('section', { class: 'pay', 'aria-labelledby': 'pay-heading' },
    h('h2', { id: 'pay-heading' }, `Pay ${amount}`),
    h('p', {},
      'Your card details go to our card processor, which gives us a one-time token for this payment. ',
      'Registrar never sees or stores your card number.'),
    form.el);
  return {
    el,
    disable(reason) {
      form.submit.disabled = true;
      for (const input of el.querySelectorAll('input')) input.disabled = true;
      el.append(h('p', { class: 'notice notice--error' }, reason));
    },
  };
}

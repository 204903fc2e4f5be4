// payment-form.js — paying a held seat.
//
// The card itself is never typed into our page. The server says which card
// processor it uses (GET /api/v1/config):
//   - `stripe`: Stripe Elements, loaded from https://js.stripe.com/v3 only
//     then (the page's CSP admits that origin for scripts and frames only
//     with Stripe), mounts its card field in Stripe's own frame and turns the
//     card into a PaymentMethod (pm_...), which is all the page sends. A card
//     that needs its holder's authentication (3-D Secure) answers 202 with a
//     client_secret: stripe.handleNextAction shows the bank's challenge, and
//     the page then asks again with the same Idempotency-Key until Stripe's
//     webhook has settled the payment.
//   - `test`: cardWidget() stands in for a processor's widget: the learner
//     picks a test card and it yields the test processor's token
//     (tok_test_visa, tok_test_mastercard, tok_test_declined).
//   - none: the form says card payments are not available.
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

import { enrollments, site } from './api.js';
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

// Stripe.js, loaded once, only when the server uses Stripe.
let stripeScript = null;
function loadStripe() {
  stripeScript ??= new Promise((resolve, reject) => {
    const script = h('script', { src: 'https://js.stripe.com/v3' });
    script.addEventListener('load', () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('Stripe.js did not start'))));
    script.addEventListener('error', () => { stripeScript = null; reject(new Error('Stripe.js could not be loaded')); });
    document.head.append(script);
  });
  return stripeScript;
}

// Stripe Elements' card field, shaped like cardWidget() (a forms.js Field).
// tokenize() resolves with a PaymentMethod id, or null with the error shown.
export function stripeWidget(publishableKey) {
  const id = uid('card');
  const errorEl = h('p', { class: 'field__error', id: `${id}-error` });
  errorEl.hidden = true;
  const mount = h('div', { class: 'stripe-card', id: `${id}-mount` });
  const label = h('label', { class: 'field__label', for: `${id}-mount` }, 'Card');
  const wrap = h('div', { class: 'field card-widget card-widget--stripe' }, label,
    h('p', { class: 'field__hint', id: `${id}-hint` }, 'Your card goes straight to Stripe, our card processor.'),
    errorEl, mount);
  let stripe = null;
  let cardElement = null;
  const ready = loadStripe().then((Stripe) => {
    stripe = Stripe(publishableKey);
    cardElement = stripe.elements().create('card');
    cardElement.mount(mount);
    cardElement.on('change', (ev) => widget.setError(ev.error ? ev.error.message : null));
  });
  const widget = {
    name: 'payment_token',
    label: 'Card',
    wrap,
    input: wrap,
    errorEl,
    ready,
    get error() {
      return errorEl.hidden ? null : errorEl.textContent.replace(/^Error: /, '');
    },
    setError(sentence) {
      errorEl.replaceChildren();
      errorEl.hidden = !sentence;
      if (sentence) errorEl.append(h('span', { class: 'visually-hidden' }, 'Error: '), sentence);
      wrap.classList.toggle('card-widget--invalid', Boolean(sentence));
    },
    focus() {
      cardElement?.focus();
    },
    async tokenize() {
      await ready;
      const { paymentMethod, error } = await stripe.createPaymentMethod({ type: 'card', card: cardElement });
      if (error) {
        widget.setError(error.message);
        return null;
      }
      return paymentMethod.id;
    },
    // 3-D Secure: shows the bank's challenge; resolves true when the card holder passed it.
    async authenticate(clientSecret) {
      await ready;
      const { error } = await stripe.handleNextAction({ clientSecret });
      if (error) widget.setError(error.message);
      return !error;
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
  // The card field follows the server's processor; until it is known, the form waits.
  let card = null;
  const slot = h('div', { class: 'pay-form__card' });
  form.body.prepend(slot);
  const chosen = site.config().then((cfg) => {
    if (cfg.payment_processor === 'stripe' && cfg.stripe_publishable_key) {
      card = form.add(stripeWidget(cfg.stripe_publishable_key), { container: slot });
    } else if (cfg.payment_processor === 'test') {
      card = form.add(cardWidget(), { container: slot });
    } else {
      form.submit.disabled = true;
      slot.append(h('p', { class: 'notice notice--error' },
        'Card payments are not available at the moment. Your seat stays held until the time shown; please try again later.'));
      return;
    }
  });
  // The attempt in flight or whose outcome is unknown: { key, token }.
  let attempt = null;

  // 202: the bank wants the card holder; then the same key again until the webhook has settled it.
  async function authenticated(res) {
    if (!(await card.authenticate(res.payment.client_secret))) {
      attempt = null;
      return null;
    }
    announce('Authenticated. Confirming the payment…');
    for (let i = 0; i < 20; i++) {
      const again = await enrollments.pay(e.id, attempt.token, attempt.key, { signal });
      if (again?.payment?.status !== 'requires_action') return again;
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw Object.assign(new Error('The bank accepted the card; the payment is still being confirmed. Check back in a minute.'),
      { slug: 'network' });
  }

  form.onSubmit(async () => {
    form.clearErrors();
    await chosen;
    if (card === null) return;
    const token = await card.tokenize();
    if (token === null) {
      if (!card.error) form.showErrors([{ field: card, message: 'Please choose a card to pay with.' }]);
      return;
    }
    if (attempt === null || attempt.token !== token) attempt = { key: newIdempotencyKey(), token };
    announce(`Paying ${amount}…`);
    let res;
    try {
      res = await enrollments.pay(e.id, token, attempt.key, { signal });
      if (res?.payment?.status === 'requires_action') {
        res = await authenticated(res);
        if (res === null) return;
      }
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

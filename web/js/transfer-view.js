// transfer-view.js — the "Transfer" section of a registration's page
// (issue 11): give the registration to a colleague by email (the payment
// follows), or move it to another open offering of the same course (the
// price becomes that offering's: a difference is due or refunded). Both
// call POST /enrollments/{id}/transfer; the answer says what happened to
// the money.

import { enrollments, listAll, offerings } from './api.js';
import { h } from './dom.js';
import { Form, field } from './forms.js';
import { formatDateRange, formatMoney } from './format.js';
import { ACTIVE, registrationOpen } from './enrollment-view.js';
import { PROFESSION_OPTIONS } from './screens/signup.js';

// What a move to another offering did to the money, as a sentence.
export function transferMoneySentence(before, after) {
  const m = (c) => formatMoney(c, after.currency);
  const refund = (after.refund_cents ?? 0) - (before.refund_cents ?? 0);
  const due = after.amount_due_cents - after.paid_cents;
  if (refund > 0) return `The new price is ${m(after.amount_due_cents)}: ${m(refund)} will be refunded.`;
  if (due > 0) return `The new price is ${m(after.amount_due_cents)}: ${m(due)} is now due.`;
  return `The new price is ${m(after.amount_due_cents)}: nothing more is due.`;
}

// e: the enrollment (with `offering`); onDone(sentence, answer, kind) after a
// transfer ('colleague' or 'offering'). → the section, or null when the
// registration is no longer live.
export function transferSection(e, { signal, onDone }) {
  if (!ACTIVE.has(e.status)) return null;
  const o = e.offering ?? { id: e.offering_id };

  const toColleague = new Form({ labelledBy: 'transfer-colleague-heading', submitText: 'Transfer to this colleague',
    busyText: 'Transferring…' });
  const email = toColleague.add(field({ name: 'to_email', label: 'Colleague’s email address', type: 'email', required: true,
    attrs: { spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' } }));
  const fullName = toColleague.add(field({ name: 'full_name', label: 'Colleague’s full name', optional: true,
    hint: 'Needed only when they have no account yet: one is made and they are emailed a link to set a password.',
    attrs: { autocomplete: 'off' } }));
  const profession = toColleague.add(field({ name: 'profession', label: 'Colleague’s profession', type: 'select', optional: true,
    placeholderOption: 'Choose (only when they have no account)', options: PROFESSION_OPTIONS }));
  toColleague.onSubmit(async () => {
    toColleague.clearErrors();
    if (!email.text) {
      toColleague.showErrors([{ field: email, message: 'Please enter your colleague’s email address.' }]);
      return;
    }
    const body = { to_email: email.text };
    if (fullName.text) body.full_name = fullName.text;
    if (profession.input.value) body.profession = profession.input.value;
    const after = await enrollments.transfer(e.id, body, { signal });
    onDone(`This registration now belongs to ${email.text}, and its payment goes with it. Both of you are told by email.`,
      after, 'colleague');
  });

  const offeringBox = h('div', {}, h('p', {}, 'Looking for other offerings of this course…'));
  const section = h('section', { class: 'section transfer', 'aria-labelledby': 'transfer-heading' },
    h('h2', { id: 'transfer-heading' }, 'Transfer'),
    h('p', {}, 'Someone else can take this place, or it can move to another date of the same course.'),
    h('h3', { id: 'transfer-colleague-heading' }, 'To a colleague'),
    toColleague.el,
    h('h3', { id: 'transfer-offering-heading' }, 'To another offering of this course'),
    offeringBox);

  (async () => {
    let others = [];
    try {
      const all = o.course_slug ? await listAll((opts) => offerings.list({ course: o.course_slug, ...opts }), { signal }) : [];
      others = all.filter((x) => x.id !== o.id && registrationOpen(x));
    } catch (err) {
      if (err?.name === 'AbortError') return;
      offeringBox.replaceChildren(h('p', {}, `The other offerings could not be loaded. ${err.message}`));
      return;
    }
    if (others.length === 0) {
      offeringBox.replaceChildren(h('p', {}, 'No other offering of this course is open for registration.'));
      return;
    }
    const toOffering = new Form({ labelledBy: 'transfer-offering-heading', submitText: 'Move to this offering',
      busyText: 'Moving…' });
    const target = toOffering.add(field({ name: 'to_offering_id', label: 'Offering', type: 'select', required: true,
      placeholderOption: 'Choose an offering',
      options: others.map((x) => [x.id, `${x.title} (${formatDateRange(x.starts_on, x.ends_on)})`]),
      hint: 'The price becomes that offering’s: a higher one leaves the difference to pay, of a lower one the difference is refunded.' }));
    toOffering.onSubmit(async () => {
      toOffering.clearErrors();
      if (!target.input.value) {
        toOffering.showErrors([{ field: target, message: 'Please choose the offering to move to.' }]);
        return;
      }
      const chosen = others.find((x) => x.id === target.input.value);
      let after;
      try {
        after = await enrollments.transfer(e.id, { to_offering_id: target.input.value }, { signal });
      } catch (err) {
        if (err?.name === 'AbortError') throw err;
        if (err.slug === 'not-enough-seats') {
          toOffering.showErrors([{ field: target, message: `${chosen?.title ?? 'That offering'} has no seat free, so this seat cannot move there.` }]);
          return;
        }
        throw err;
      }
      onDone(`Moved to ${chosen?.title ?? 'the other offering'}. ${transferMoneySentence(e, after)}`, after, 'offering');
    });
    offeringBox.replaceChildren(toOffering.el);
  })();
  return section;
}

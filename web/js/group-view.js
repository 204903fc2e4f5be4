// group-view.js — "Register a group" on an offering's register page
// (issue 11): a coordinator names colleagues (email, full name,
// profession; rows added and removed), optionally who is billed, and
// registers them all at once with POST /offerings/{id}/group-registrations.
// All seats or none: 409 not-enough-seats says how many seats are left.
// The answer lists each member's own registration and what the group owes.

import { enrollments } from './api.js';
import { h, replaceChildren } from './dom.js';
import { Form, field } from './forms.js';
import { formatMoney, plural } from './format.js';
import { statusLabel } from './enrollment-view.js';
import { PROFESSION_OPTIONS } from './screens/signup.js';
import { announce } from './status.js';

const MAX_MEMBERS = 50;

function answerView(group, members) {
  const list = Array.isArray(group.enrollments) ? group.enrollments : [];
  return h('div', { class: 'panel panel--success group-answer', id: 'group-answer', tabindex: '-1' },
    h('h3', { class: 'panel__title' }, `${plural(list.length, 'member', 'members')} registered`),
    h('ul', { class: 'plain-list' }, list.map((e, i) => h('li', { 'data-enrollment-id': e.id },
      h('span', { class: 'label' }, members[i]?.full_name ?? ''), ` (${members[i]?.email ?? ''}): `,
      `${statusLabel(e).toLowerCase()}, ${formatMoney(e.amount_due_cents, e.currency ?? group.currency)} due`))),
    h('p', {}, `The group owes ${formatMoney(group.amount_due_cents, group.currency)} in all`,
      group.bill_to?.name ? `, billed to ${group.bill_to.name}.` : '.',
      ' Each member is emailed their own registration; those without an account get a link to set a password.'));
}

// o: the offering; → the section.
export function groupSection(o, { signal }) {
  const form = new Form({ labelledBy: 'group-heading', submitText: 'Register the group', busyText: 'Registering the group…' });
  const rowsBox = h('ol', { class: 'group-members', 'aria-label': 'Members of the group' });
  const rows = [];

  const renumber = () => {
    rows.forEach((r, i) => {
      r.legend.textContent = `Member ${i + 1}`;
      r.remove.replaceChildren('Remove', h('span', { class: 'visually-hidden' }, ` member ${i + 1}`));
      r.remove.disabled = rows.length === 1;
      for (const f of [r.email, r.name, r.profession]) {
        f.labelEl.lastChild.textContent = ` of member ${i + 1}`;
        f.label = `${f.baseLabel} of member ${i + 1}`;
      }
    });
    form.bindRows('members', rows.flatMap((r, i) => [
      [`members[${i}].email`, r.email], [`members[${i}].full_name`, r.name], [`members[${i}].profession`, r.profession]]));
    add.disabled = rows.length >= MAX_MEMBERS;
  };

  const addRow = () => {
    const email = field({ name: 'email', label: 'Email address', type: 'email', required: true, labelSuffix: 'of member',
      attrs: { spellcheck: 'false', autocapitalize: 'none', autocomplete: 'off' } });
    const name = field({ name: 'full_name', label: 'Full name', required: true, labelSuffix: 'of member', attrs: { autocomplete: 'off' } });
    const profession = field({ name: 'profession', label: 'Profession', type: 'select', required: true, labelSuffix: 'of member',
      placeholderOption: 'Choose', options: PROFESSION_OPTIONS });
    const legend = h('legend', {});
    const remove = h('button', { type: 'button', class: 'button button--secondary button--small' });
    const fs = h('fieldset', { class: 'group-member' }, legend);
    const li = h('li', {}, fs);
    const r = { li, legend, remove, email, name, profession };
    email.baseLabel = 'Email address';
    name.baseLabel = 'Full name';
    profession.baseLabel = 'Profession';
    for (const f of [email, name, profession]) form.add(f, { apiName: null, container: fs });
    fs.append(h('p', {}, remove));
    remove.addEventListener('click', () => {
      const i = rows.indexOf(r);
      if (i < 0 || rows.length === 1) return;
      rows.splice(i, 1);
      for (const f of [email, name, profession]) form.remove(f);
      li.remove();
      renumber();
      announce(`Member ${i + 1} removed; ${plural(rows.length, 'member', 'members')} left.`);
      rows[Math.min(i, rows.length - 1)].email.focus();
    });
    rows.push(r);
    rowsBox.append(li);
    return r;
  };

  const add = h('button', { type: 'button', class: 'button button--secondary button--small' }, 'Add a member');
  add.addEventListener('click', () => {
    const r = addRow();
    renumber();
    announce(`Member ${rows.length} added.`);
    r.email.focus();
  });

  const billBox = h('fieldset', { class: 'group-bill-to' }, h('legend', {}, 'Bill to (optional)'),
    h('p', { class: 'field__hint' }, 'The institution that pays for the group, when it is not you: the invoice goes to it.'));
  const billName = form.add(field({ name: 'bill_to.name', label: 'Name of who is billed', optional: true }), { container: billBox });
  const billAddress = form.add(field({ name: 'bill_to.address', label: 'Billing address', type: 'textarea', optional: true }),
    { container: billBox });
  const billEmail = form.add(field({ name: 'bill_to.email', label: 'Billing email address', type: 'email', optional: true,
    attrs: { spellcheck: 'false', autocapitalize: 'none' } }), { container: billBox });
  form.fields.set('bill_to', billName);

  addRow();
  renumber();
  form.body.append(rowsBox, h('p', {}, add), billBox);

  const answer = h('div', { 'aria-live': 'off' });
  form.onSubmit(async () => {
    form.clearErrors();
    const members = rows.map((r) => ({ email: r.email.text ?? '', full_name: r.name.text ?? '', profession: r.profession.input.value }));
    const body = { members };
    if (billName.text || billAddress.text || billEmail.text) {
      body.bill_to = { name: billName.text ?? '' };
      if (billAddress.text) body.bill_to.address = billAddress.text;
      if (billEmail.text) body.bill_to.email = billEmail.text;
    }
    let res;
    try {
      res = await enrollments.registerGroup(o.id, body, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err.slug === 'not-enough-seats') {
        const left = err.problem?.seats_left;
        const needed = err.problem?.seats_needed ?? members.length;
        form.showErrors([{ field: null, message: Number.isInteger(left)
          ? `Not enough seats: this offering has ${plural(left, 'seat', 'seats')} left and the group needs ${needed}. ` +
            'Nobody was registered: a group gets all its seats or none. Remove members, or register them one by one to the waitlist.'
          : err.message }]);
        return;
      }
      if (err.slug === 'already-enrolled' && err.problem?.email) {
        const r = rows.find((x) => (x.email.text ?? '').toLowerCase() === String(err.problem.email).toLowerCase());
        form.showErrors([{ field: r?.email ?? null,
          message: `${err.problem.email} is already registered for this offering. Remove them from the group, then try again.` }]);
        return;
      }
      throw err;
    }
    const again = h('button', { type: 'button', class: 'button button--secondary' }, 'Register another group');
    again.addEventListener('click', () => {
      for (const r of rows.splice(1)) {
        for (const f of [r.email, r.name, r.profession]) form.remove(f);
        r.li.remove();
      }
      for (const f of form.all) f.value = '';
      renumber();
      replaceChildren(answer);
      form.el.hidden = false;
      rows[0].email.focus();
    });
    // The members are registered: the same form again would only be refused.
    form.el.hidden = true;
    replaceChildren(answer, answerView(res.group, members), h('p', {}, again));
    answer.firstChild.focus();
    announce(`Group registered: ${plural(res.group.enrollments.length, 'member', 'members')}. ` +
      `The group owes ${formatMoney(res.group.amount_due_cents, res.group.currency)}.`);
  });

  return h('section', { class: 'section', 'aria-labelledby': 'group-heading' },
    h('h2', { id: 'group-heading' }, 'Register a group'),
    h('p', {}, 'Register colleagues at once, each under their own name: they each get their own registration, badge and ' +
      'certificate. The group gets all its seats or none.'),
    form.el, answer);
}

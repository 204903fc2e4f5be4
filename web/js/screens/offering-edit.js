// screens/offering-edit.js — #/courses/:slug/offerings/new and
// #/offerings/:id/edit : directors and admins create and change an
// offering, every field of docs/api.md's `offering`:
//   title, status, venue, requires_application; the time zone and the
//   parts (one or more stretches of days: PCEP's Part 1 and Part 2);
//   capacity, the registration window (in the offering's zone), hold
//   minutes, approval hold days; prices by profession with an early price
//   and its last day; credit types by profession and the maximum credits;
//   the cancellation policy.
// The whole offering is sent each time (POST, or PATCH with every field).
// Problems come back next to their fields, in words.

import { courses, listAll, offerings, sessions as sessionsApi } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import {
  OFFERING_STATUS_VALUES, PROFESSION_VALUES, fromZonedFields, isTimeZone, offeringStatusLabel,
  professionLabel, timeZoneNames, toZonedFields,
} from '../format.js';
import { sessionWhen } from '../schedule-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import {
  breadcrumbs, flash, notAllowed, pageHeading, showError, showLoading, signInRequired,
} from '../ui.js';

const DEFAULT_ZONE = 'America/New_York';
const DEFAULT_CREDIT = {
  physician: 'AMA PRA Category 1',
  nurse: 'ANCC contact hours',
};

// '1,250.00' or '$1250' → 125000 cents; '' → null; anything else → NaN.
export function parseDollars(text) {
  const t = String(text ?? '').trim().replace(/^\$/, '').replace(/,/g, '');
  if (t === '') return null;
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return NaN;
  return Math.round(Number(t) * 100);
}

function dollars(cents) {
  if (cents === null || cents === undefined) return '';
  return (cents / 100).toFixed(2);
}

function wholeNumber(text) {
  const t = String(text ?? '').trim();
  if (t === '') return null;
  return /^\d+$/.test(t) ? Number(t) : NaN;
}

function fieldset(legend, ...children) {
  return h('fieldset', { class: 'fieldset' }, h('legend', { class: 'fieldset__legend' }, legend), children);
}

// datetime-local value ('2026-10-01T09:00') ↔ RFC 3339 in the offering's zone.
function toLocalInput(text, zone) {
  const z = text ? toZonedFields(text, zone) : null;
  return z ? `${z.date}T${z.time}` : '';
}

function fromLocalInput(value, zone) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(value ?? '');
  return m ? fromZonedFields(m[1], m[2], zone) : null;
}

function buildForm(ctx, { course, offering }) {
  const creating = offering === null;
  const o = offering ?? {
    title: '', status: 'draft', venue: '', requires_application: false, timezone: DEFAULT_ZONE,
    parts: [{ name: 'Course days', starts_on: '', ends_on: '' }], capacity: '',
    registration_opens_at: null, registration_closes_at: null, hold_minutes: 30, approval_hold_days: 14,
    prices: [], credit_types: PROFESSION_VALUES.map((p) => ({ profession: p, credit_type: DEFAULT_CREDIT[p] ?? 'participation' })),
    max_credits: null, cancellation_policy: [], currency: 'USD',
  };
  const cancelHref = creating ? `#/courses/${encodeURIComponent(course.slug)}` : `#/offerings/${encodeURIComponent(o.id)}`;
  const form = new Form({
    labelledBy: 'offering-form-heading',
    submitText: creating ? 'Create offering' : 'Save offering',
    busyText: 'Saving…',
    secondary: [h('a', { class: 'button button--secondary', href: cancelHref }, 'Cancel')],
  });

  // About
  const about = fieldset('About the offering');
  const title = form.add(field({ name: 'title', label: 'Title', required: true, value: o.title, hint: 'For example “PCEP 2027” or “Spring 2027”.' }), { container: about });
  const status = form.add(field({
    name: 'status', label: 'Status', type: 'select', value: o.status,
    options: OFFERING_STATUS_VALUES.map((v) => [v, offeringStatusLabel(v)]),
    hint: 'Drafts are seen only by the course’s directors and administrators.',
  }), { container: about });
  const venue = form.add(field({ name: 'venue', label: 'Venue', optional: true, value: o.venue }), { container: about });
  const application = form.add(field({
    name: 'requires_application', label: 'Admission by application', type: 'checkbox', value: o.requires_application,
    hint: 'Learners apply, and a course director approves each application before the seat is held.',
  }), { container: about });

  // Dates: time zone and parts
  const dates = fieldset('Dates and time zone');
  const zones = timeZoneNames();
  if (o.timezone && !zones.includes(o.timezone)) zones.unshift(o.timezone);
  const timezone = form.add(field({
    name: 'timezone', label: 'Time zone', type: 'select', value: o.timezone,
    options: zones.map((z) => [z, z.replace(/_/g, ' ')]),
    hint: 'Where the course takes place. Sessions and the registration window are in this zone.',
  }), { container: dates });
  const partsBox = h('div', { class: 'rows' });
  const addPart = h('button', { type: 'button', class: 'button button--small button--secondary' }, 'Add a part');
  dates.append(
    h('p', { class: 'field__hint' }, 'An offering runs over one or more parts: stretches of days, such as PCEP’s Part 1 and Part 2 months apart. One registration covers every part.'),
    partsBox, addPart);
  const partRows = [];
  const renumberParts = () => {
    partRows.forEach((row, i) => {
      row.legend.textContent = `Part ${i + 1}`;
      row.remove.hidden = partRows.length < 2;
      row.remove.textContent = `Remove part ${i + 1}`;
    });
  };
  const addPartRow = (p, { focus = false } = {}) => {
    const legend = h('legend', { class: 'row__legend' }, '');
    const box = h('fieldset', { class: 'row row--part' }, legend);
    const grid = h('div', { class: 'row__grid' });
    box.append(grid);
    const row = { box, legend };
    row.name = form.add(field({ name: 'part_name', label: 'Name', value: p.name, required: true }), { apiName: null, container: grid });
    row.starts = form.add(field({ name: 'part_starts', label: 'First day', type: 'date', value: p.starts_on, required: true }), { apiName: null, container: grid });
    row.ends = form.add(field({ name: 'part_ends', label: 'Last day', type: 'date', value: p.ends_on, required: true }), { apiName: null, container: grid });
    row.remove = h('button', { type: 'button', class: 'button button--small button--quiet' }, 'Remove part');
    row.remove.addEventListener('click', () => {
      const i = partRows.indexOf(row);
      partRows.splice(i, 1);
      for (const f of [row.name, row.starts, row.ends]) form.remove(f);
      box.remove();
      renumberParts();
      announce(`Part ${i + 1} removed.`);
      addPart.focus();
    });
    box.append(row.remove);
    partRows.push(row);
    partsBox.append(box);
    renumberParts();
    if (focus) row.name.focus();
  };
  for (const p of (o.parts?.length ? o.parts : [{ name: 'Course days', starts_on: o.starts_on, ends_on: o.ends_on }])) addPartRow(p);
  addPart.addEventListener('click', () => {
    addPartRow({ name: `Part ${partRows.length + 1}`, starts_on: '', ends_on: '' }, { focus: true });
    announce(`Part ${partRows.length} added.`);
  });

  // Seats and registration
  const seats = fieldset('Seats and registration');
  const capacity = form.add(field({
    name: 'capacity', label: 'Capacity', type: 'number', required: true, value: o.capacity,
    attrs: { min: 0, step: 1, inputmode: 'numeric' }, hint: 'The number of seats.',
  }), { container: seats });
  const opens = form.add(field({
    name: 'registration_opens_at', label: 'Registration opens', type: 'datetime-local', optional: true,
    value: toLocalInput(o.registration_opens_at, o.timezone), hint: 'Date and time in the offering’s time zone. Empty: open as soon as the offering is.',
  }), { container: seats });
  const closes = form.add(field({
    name: 'registration_closes_at', label: 'Registration closes', type: 'datetime-local', optional: true,
    value: toLocalInput(o.registration_closes_at, o.timezone), hint: 'Date and time in the offering’s time zone.',
  }), { container: seats });
  const hold = form.add(field({
    name: 'hold_minutes', label: 'Minutes a seat is held for payment', type: 'number', value: o.hold_minutes,
    attrs: { min: 1, step: 1, inputmode: 'numeric' },
  }), { container: seats });
  const approvalDays = form.add(field({
    name: 'approval_hold_days', label: 'Days a seat is held after an application is approved', type: 'number',
    value: o.approval_hold_days, attrs: { min: 1, step: 1, inputmode: 'numeric' },
  }), { container: seats });

  // Prices
  const prices = fieldset('Prices');
  prices.append(h('p', { class: 'field__hint' },
    'In US dollars, by profession. Leave a price empty when the offering is not open to that profession. An early price applies up to and including its last day.'));
  const priceRows = PROFESSION_VALUES.map((prof) => {
    const p = (o.prices ?? []).find((x) => x.profession === prof) ?? {};
    const who = professionLabel(prof);
    const lower = who.toLowerCase();
    const grid = h('div', { class: 'row__grid row__grid--3' });
    const box = h('fieldset', { class: 'row row--price' }, h('legend', { class: 'row__legend' }, who), grid);
    prices.append(box);
    const attrs = { inputmode: 'decimal', autocomplete: 'off' };
    return {
      profession: prof,
      amount: form.add(field({ name: `price_${prof}`, label: 'Price ($)', labelSuffix: `for ${lower}`, value: dollars(p.amount_cents), attrs }), { apiName: null, container: grid }),
      early: form.add(field({ name: `early_${prof}`, label: 'Early price ($)', labelSuffix: `for ${lower}`, optional: true, value: dollars(p.early_amount_cents), attrs }), { apiName: null, container: grid }),
      until: form.add(field({ name: `until_${prof}`, label: 'Early price until', labelSuffix: `for ${lower}`, type: 'date', optional: true, value: p.early_until ?? '' }), { apiName: null, container: grid }),
    };
  });

  // Credit
  const credit = fieldset('Credit');
  const maxCredits = form.add(field({
    name: 'max_credits', label: 'Maximum credits', type: 'number', optional: true, value: o.max_credits,
    attrs: { min: 0, step: 0.25, inputmode: 'decimal' }, hint: 'The most credit a learner can claim for the whole offering.',
  }), { container: credit });
  credit.append(h('p', { class: 'field__hint' }, 'The credit each profession earns, as printed on certificates.'));
  const creditGrid = h('div', { class: 'row__grid row__grid--3' });
  credit.append(creditGrid);
  const creditRows = PROFESSION_VALUES.map((prof) => {
    const t = (o.credit_types ?? []).find((x) => x.profession === prof);
    return {
      profession: prof,
      type: form.add(field({
        name: `credit_${prof}`, label: `Credit for ${professionLabel(prof).toLowerCase()}`,
        value: t?.credit_type ?? DEFAULT_CREDIT[prof] ?? 'participation',
      }), { apiName: null, container: creditGrid }),
    };
  });

  // Cancellation policy
  const policy = fieldset('Cancellation policy');
  policy.append(h('p', { class: 'field__hint' },
    'Each rule gives a refund for cancelling at least so many days before the first day. The rule with the most days that still applies wins; without one, there is no refund.'));
  const rulesBox = h('div', { class: 'rows' });
  const addRule = h('button', { type: 'button', class: 'button button--small button--secondary' }, 'Add a refund rule');
  policy.append(rulesBox, addRule);
  const ruleRows = [];
  const renumberRules = () => ruleRows.forEach((row, i) => {
    row.legend.textContent = `Refund rule ${i + 1}`;
    row.remove.textContent = `Remove refund rule ${i + 1}`;
  });
  const addRuleRow = (r, { focus = false } = {}) => {
    const legend = h('legend', { class: 'row__legend' }, '');
    const grid = h('div', { class: 'row__grid' });
    const box = h('fieldset', { class: 'row' }, legend, grid);
    const row = { legend, box };
    row.days = form.add(field({ name: 'rule_days', label: 'Days before the start (at least)', type: 'number', value: r.until_days_before, attrs: { min: 0, step: 1, inputmode: 'numeric' } }), { apiName: null, container: grid });
    row.percent = form.add(field({ name: 'rule_percent', label: 'Refund (%)', type: 'number', value: r.refund_percent, attrs: { min: 0, max: 100, step: 1, inputmode: 'numeric' } }), { apiName: null, container: grid });
    row.remove = h('button', { type: 'button', class: 'button button--small button--quiet' }, 'Remove');
    row.remove.addEventListener('click', () => {
      const i = ruleRows.indexOf(row);
      ruleRows.splice(i, 1);
      form.remove(row.days);
      form.remove(row.percent);
      box.remove();
      renumberRules();
      announce(`Refund rule ${i + 1} removed.`);
      addRule.focus();
    });
    box.append(row.remove);
    ruleRows.push(row);
    rulesBox.append(box);
    renumberRules();
    if (focus) row.days.focus();
  };
  for (const r of (o.cancellation_policy ?? [])) addRuleRow(r);
  addRule.addEventListener('click', () => {
    addRuleRow({ until_days_before: '', refund_percent: '' }, { focus: true });
    announce(`Refund rule ${ruleRows.length} added.`);
  });

  form.body.append(about, dates, seats, prices, credit, policy);

  // Builds the body and binds each API name to the field it came from; the
  // client-side problems are returned rather than sent.
  const collect = () => {
    const errors = [];
    const need = (f, message) => errors.push({ field: f, message });
    const zone = timezone.value;
    if (!title.text) need(title, 'Please enter a title.');
    if (!isTimeZone(zone)) need(timezone, 'Please choose a time zone from the list.');

    const parts = [];
    const partBindings = [];
    partRows.forEach((row, i) => {
      if (!row.name.text) need(row.name, `Please name part ${i + 1}.`);
      if (!row.starts.value) need(row.starts, `Please enter the first day of part ${i + 1}.`);
      if (!row.ends.value) need(row.ends, `Please enter the last day of part ${i + 1}.`);
      else if (row.starts.value && row.ends.value < row.starts.value) {
        need(row.ends, `The last day of part ${i + 1} must not be before its first day.`);
      }
      parts.push({ name: row.name.text ?? '', starts_on: row.starts.value, ends_on: row.ends.value });
      partBindings.push([`parts[${i}]`, row.starts], [`parts[${i}].name`, row.name],
        [`parts[${i}].starts_on`, row.starts], [`parts[${i}].ends_on`, row.ends]);
    });
    form.bindRows('parts', partBindings);

    const cap = wholeNumber(capacity.value);
    if (cap === null) need(capacity, 'Please enter the capacity: the number of seats.');
    else if (Number.isNaN(cap)) need(capacity, 'Capacity must be a whole number of seats.');

    const opensAt = opens.value ? fromLocalInput(opens.value, zone) : null;
    const closesAt = closes.value ? fromLocalInput(closes.value, zone) : null;
    if (opens.value && !opensAt) need(opens, 'Registration opens must be a date and a time.');
    if (closes.value && !closesAt) need(closes, 'Registration closes must be a date and a time.');
    if (opensAt && closesAt && Date.parse(closesAt) <= Date.parse(opensAt)) need(closes, 'Registration must close after it opens.');

    const holdMinutes = wholeNumber(hold.value);
    if (holdMinutes === null || Number.isNaN(holdMinutes) || holdMinutes < 1) {
      need(hold, 'Minutes a seat is held must be a whole number, at least 1.');
    }
    const approval = wholeNumber(approvalDays.value);
    if (approval === null || Number.isNaN(approval) || approval < 1) {
      need(approvalDays, 'Days a seat is held after approval must be a whole number, at least 1.');
    }

    const priceList = [];
    const priceBindings = [];
    for (const row of priceRows) {
      const amount = parseDollars(row.amount.value);
      const early = parseDollars(row.early.value);
      const until = row.until.value || null;
      const who = professionLabel(row.profession).toLowerCase();
      if (Number.isNaN(amount)) need(row.amount, `The price for ${who} must be an amount in dollars, such as 1250 or 1250.00.`);
      if (Number.isNaN(early)) need(row.early, `The early price for ${who} must be an amount in dollars, such as 1100 or 1100.00.`);
      if (amount === null) {
        if (early !== null || until) need(row.amount, `Please enter the price for ${who}, or leave its early price empty too.`);
        continue;
      }
      if ((early === null) !== (until === null) && !Number.isNaN(early)) {
        need(early === null ? row.early : row.until,
          early === null ? `Please enter the early price for ${who}, or leave its last day empty.`
            : `Please enter the last day of the early price for ${who}.`);
      }
      if (typeof early === 'number' && typeof amount === 'number' && early > amount) {
        need(row.early, `The early price for ${who} must not be more than its price.`);
      }
      const k = priceList.length;
      priceList.push({ profession: row.profession, amount_cents: amount, early_amount_cents: early, early_until: until });
      priceBindings.push([`prices[${k}]`, row.amount], [`prices[${k}].amount_cents`, row.amount],
        [`prices[${k}].early_amount_cents`, row.early], [`prices[${k}].early_until`, row.until],
        [`prices[${k}].profession`, row.amount]);
    }
    form.bindRows('prices', priceBindings);

    const credits = [];
    const creditBindings = [];
    for (const row of creditRows) {
      if (!row.type.text) continue;
      creditBindings.push([`credit_types[${credits.length}]`, row.type], [`credit_types[${credits.length}].credit_type`, row.type]);
      credits.push({ profession: row.profession, credit_type: row.type.text });
    }
    form.bindRows('credit_types', creditBindings);

    let max = null;
    if (maxCredits.value !== '') {
      max = Number(maxCredits.value);
      if (!Number.isFinite(max) || max < 0 || Math.round(max * 100) !== max * 100) {
        need(maxCredits, 'Maximum credits must be a number such as 21.5, with at most two decimals.');
      }
    }

    const rules = [];
    const ruleBindings = [];
    ruleRows.forEach((row, i) => {
      const days = wholeNumber(row.days.value);
      const percent = wholeNumber(row.percent.value);
      if (days === null || Number.isNaN(days)) need(row.days, `Refund rule ${i + 1}: days before the start must be a whole number.`);
      if (percent === null || Number.isNaN(percent) || percent > 100) need(row.percent, `Refund rule ${i + 1}: the refund must be a whole percentage from 0 to 100.`);
      rules.push({ until_days_before: days, refund_percent: percent });
      ruleBindings.push([`cancellation_policy[${i}]`, row.days], [`cancellation_policy[${i}].until_days_before`, row.days],
        [`cancellation_policy[${i}].refund_percent`, row.percent]);
    });
    form.bindRows('cancellation_policy', ruleBindings);

    const body = {
      title: title.text,
      status: status.value,
      venue: venue.text,
      requires_application: application.value,
      timezone: zone,
      parts,
      capacity: cap,
      registration_opens_at: opensAt,
      registration_closes_at: closesAt,
      hold_minutes: holdMinutes,
      approval_hold_days: approval,
      prices: priceList,
      credit_types: credits,
      max_credits: max,
      currency: 'USD',
      cancellation_policy: rules,
    };
    return { body, errors };
  };

  // outside-offering on a change of days: name the stranded sessions.
  const strandedMessage = async (err) => {
    const ids = Array.isArray(err.problem?.sessions) ? err.problem.sessions : [];
    let names = [];
    if (ids.length && offering) {
      try {
        const list = await listAll((opts) => sessionsApi.list(offering.id, opts));
        names = ids.map((id) => list.find((s) => s.id === id)).filter(Boolean)
          .map((s) => `“${s.title}” (${sessionWhen(s, offering)})`);
      } catch { names = []; }
    }
    const which = names.length ? `: ${names.join('; ')}` : '';
    return `Some sessions would fall outside the new days${which}. Move or delete them in the schedule first, then change the days.`;
  };

  form.onSubmit(async () => {
    const { body, errors } = collect();
    if (errors.length) {
      form.showErrors(errors);
      return;
    }
    form.clearErrors();
    let saved;
    try {
      saved = creating
        ? await offerings.create(course.slug, body)
        : await offerings.update(offering.id, body);
    } catch (err) {
      if (err.slug === 'outside-offering') {
        form.showErrors([{ field: null, message: await strandedMessage(err) }]);
      } else if (err.slug === 'capacity-below-taken') {
        form.showErrors([{ field: capacity, message: err.detail || err.message }]);
      } else {
        form.showProblem(err);
      }
      return;
    }
    if (creating) {
      flash(`The offering “${saved.title}” is created. Now add its sessions.`);
      ctx.navigate(`/offerings/${saved.id}/schedule`);
    } else {
      flash('The offering is saved.');
      ctx.navigate(`/offerings/${saved.id}`);
    }
  });

  return form;
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const creating = !params.id;
  const pageTitle = creating ? 'New offering' : 'Edit offering';
  const path = creating ? `/courses/${params.slug}/offerings/new` : `/offerings/${params.id}/edit`;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: pageTitle, path, text: 'Please sign in as a director of this course to change its offerings.' });
    return;
  }
  ctx.setTitle(pageTitle);
  const body = h('div', { class: 'editor' });
  replaceChildren(root, body);
  showLoading(body, creating ? 'Loading the course…' : 'Loading the offering…');

  let offering = null;
  let course = null;
  try {
    if (creating) {
      course = await courses.get(params.slug, { signal });
    } else {
      offering = await offerings.get(params.id, { signal });
      course = await courses.get(offering.course_slug, { signal }).catch((err) => {
        if (err?.name === 'AbortError') throw err;
        return { slug: offering.course_slug, title: offering.course_slug };
      });
    }
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    replaceChildren(body, pageHeading(pageTitle));
    showError(body.appendChild(h('div')), err, {
      heading: creating ? 'The course could not be loaded' : 'The offering could not be loaded',
      onRetry: () => ctx.rerender(),
    });
    return;
  }

  const back = creating
    ? ['Back to the course', `#/courses/${encodeURIComponent(course.slug)}`]
    : ['Back to the offering', `#/offerings/${encodeURIComponent(offering.id)}`];
  if (!session.canDirect(course.slug)) {
    notAllowed(root, ctx, {
      title: pageTitle,
      text: `Only the directors of ${course.title} and administrators can ${creating ? 'create' : 'change'} its offerings.`,
      back,
    });
    return;
  }

  const form = buildForm(ctx, { course, offering });
  const trail = creating
    ? [['Courses', '#/'], [course.title, `#/courses/${encodeURIComponent(course.slug)}`], ['New offering', null]]
    : [['Courses', '#/'], [course.title, `#/courses/${encodeURIComponent(course.slug)}`],
      [offering.title, `#/offerings/${encodeURIComponent(offering.id)}`], ['Edit', null]];
  const heading = creating ? `New offering of ${course.title}` : `Edit “${offering.title}”`;
  ctx.setTitle(heading);
  replaceChildren(body,
    breadcrumbs(trail),
    h('div', { class: 'page-heading' },
      h('p', { class: 'page-heading__eyebrow' }, course.title),
      h('h1', { tabindex: '-1', id: 'offering-form-heading' }, heading)),
    form.el);
  announce(`${heading}.`);
}

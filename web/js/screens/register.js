// screens/register.js — #/offerings/:id/register : the learner's price
// before registering, a discount code, and the button that registers.
//
// The price comes from GET /offerings/{id}/price (the learner's profession's,
// the early price while it lasts, less a code). Registering holds a seat
// (then the learner pays on the registration's page), confirms at once when
// nothing is due, waitlists when the offering is full, or files an
// application when the offering requires one.

import { ApiError, courses, enrollments, listAll, offerings } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { Form, field } from '../forms.js';
import {
  formatDate, formatDateRange, formatMoney, plural, professionName,
} from '../format.js';
import {
  ACTIVE, registrationOpen, statusBadge, statusExplanation,
} from '../enrollment-view.js';
import { groupSection } from '../group-view.js';
import * as session from '../session.js';
import { announce } from '../status.js';
import {
  breadcrumbs, flash, pageHeading, showError, showLoading, signInRequired,
} from '../ui.js';

function row(term, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', {}, term), h('dd', {}, value)];
}

// The profession's price row of the offering (for the early price's date).
function priceRow(o, profession) {
  const prices = Array.isArray(o.prices) ? o.prices : [];
  return prices.find((p) => p.profession === profession) ?? prices.find((p) => p.profession === 'other') ?? null;
}

function quoteView(o, q, user, code) {
  const who = professionName(user.profession).toLowerCase();
  const p = priceRow(o, user.profession);
  const lines = [];
  if (q.price_cents === 0) {
    lines.push(row('Price', `Free for a ${who}`));
  } else if (q.early && p?.early_until) {
    lines.push(row('Price', h('span', {},
      h('strong', {}, formatMoney(q.price_cents, q.currency)),
      ` — early price for a ${who} if you register by ${formatDate(p.early_until)}`,
      p.amount_cents ? ` (${formatMoney(p.amount_cents, q.currency)} after that)` : '')));
  } else {
    lines.push(row('Price', h('span', {}, h('strong', {}, formatMoney(q.price_cents, q.currency)), ` for a ${who}`)));
  }
  if (q.discount_cents > 0) {
    lines.push(row(`Discount${code ? ` (${code})` : ''}`, `− ${formatMoney(q.discount_cents, q.currency)}`));
  }
  lines.push(row('Amount due', h('strong', { class: 'price__amount' }, formatMoney(q.amount_due_cents, q.currency))));
  return h('dl', { class: 'details price-summary' }, lines);
}

function whatHappens(o, q) {
  if (o.requires_application) {
    return 'Admission is by application. When you apply, a course director reviews your application; ' +
      `if it is approved, a seat is held for you for ${plural(o.approval_hold_days ?? 14, 'day', 'days')} while you pay.`;
  }
  if (q.seats_left <= 0) {
    return 'This offering is full. Registering puts you on the waitlist: when a seat opens, it is held for the ' +
      'first person waiting, and we email you.';
  }
  if (q.amount_due_cents === 0) return 'Nothing is due: registering confirms your seat at once.';
  return `Registering holds a seat for you for ${plural(o.hold_minutes ?? 30, 'minute', 'minutes')} while you pay ` +
    'on the next page. If the hold runs out before you pay, the seat is released.';
}

function submitText(o, q) {
  if (o.requires_application) return 'Apply';
  if (q.seats_left <= 0) return 'Join the waitlist';
  return q.amount_due_cents === 0 ? 'Register' : 'Register and go to payment';
}

function afterRegistering(e) {
  switch (e.status) {
    case 'held': return 'You have a seat: it is held for you while you pay.';
    case 'confirmed': return 'You are registered: your registration is confirmed.';
    case 'waitlisted': return `The offering is full: you are on the waitlist at number ${e.waitlist_position ?? '?'}.`;
    case 'applied': return 'Your application is sent. A course director will review it.';
    default: return statusExplanation(e);
  }
}

export async function render(ctx) {
  const { root, params, signal } = ctx;
  const path = `/offerings/${params.id}/register`;
  const user = session.user();
  if (user === null) {
    signInRequired(root, ctx, {
      title: 'Register', path, text: 'Please sign in, or create an account, to register. You see your price before anything is charged.',
    });
    return;
  }
  ctx.setTitle('Register');
  const body = h('div', { class: 'register narrow' });
  replaceChildren(root, body);
  replaceChildren(body, breadcrumbs([['Courses', '#/'], ['Register', null]]), pageHeading('Register'));
  const status = body.appendChild(h('div'));
  showLoading(status, 'Loading your price…');

  let o;
  let q;
  let mine;
  try {
    [o, q, mine] = await Promise.all([
      offerings.get(params.id, { signal }),
      enrollments.quote(params.id, { signal }),
      listAll((opts) => enrollments.mine(opts), { signal, maxPages: 5 }),
    ]);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    if (err.slug === 'unauthenticated') {
      signInRequired(root, ctx, { title: 'Register', path, text: err.message });
      return;
    }
    replaceChildren(body, breadcrumbs([['Courses', '#/'], ['Register', null]]), pageHeading('Register'));
    showError(body.appendChild(h('div')), err, {
      heading: err.slug === 'not-found' ? 'Offering not found' : 'Registration could not be loaded',
      onRetry: err.slug === 'not-found' ? null : () => ctx.rerender(),
    });
    return;
  }
  let course = null;
  try {
    course = await courses.get(o.course_slug, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
  }
  const title = o.title || course?.title || 'Offering';
  const courseTitle = course?.title ?? o.course_slug;
  const offeringHref = `#/offerings/${encodeURIComponent(o.id)}`;
  ctx.setTitle(`Register for ${title}`);
  const heading = [
    breadcrumbs([['Courses', '#/'], [courseTitle, `#/courses/${encodeURIComponent(o.course_slug)}`],
      [title, offeringHref], ['Register', null]]),
    pageHeading(`Register for ${title}`, { eyebrow: courseTitle }),
    h('dl', { class: 'details details--card' },
      row('Dates', formatDateRange(o.starts_on, o.ends_on)),
      row('Venue', o.venue),
      row('Seats', q.seats_left > 0 ? `${plural(q.seats_left, 'seat', 'seats')} left` : 'Full — waitlist only')),
  ];

  const existing = mine.find((e) => e.offering_id === o.id && ACTIVE.has(e.status));
  if (existing) {
    replaceChildren(body, heading,
      h('div', { class: 'panel' },
        h('p', { class: 'panel__title' }, 'You are already registered for this offering'),
        statusBadge(existing),
        h('p', {}, statusExplanation(existing)),
        h('p', {}, h('a', { class: 'button', href: `#/registrations/${encodeURIComponent(existing.id)}` },
          existing.status === 'held' ? 'Go to payment' : 'See your registration'))),
      registrationOpen(o) && session.user()?.email_verified !== false ? groupSection(o, { signal }) : null);
    announce(`Register for ${title}. You are already registered for this offering.`);
    return;
  }

  if (session.user()?.email_verified === false) {
    replaceChildren(body, heading,
      h('div', { class: 'panel panel--error' },
        h('p', { class: 'panel__title' }, 'Please confirm your email address first'),
        h('p', {}, `Registering needs a confirmed email address. We emailed a link to ${session.user().email}: ` +
          'open it, then come back to this page.'),
        h('p', {}, h('a', { href: '#/profile' }, 'Send the link again from your profile'))));
    announce(`Register for ${title}. Please confirm your email address first.`, { assertive: true });
    return;
  }

  if (!registrationOpen(o)) {
    replaceChildren(body, heading,
      h('div', { class: 'panel panel--error' },
        h('p', { class: 'panel__title' }, 'Registration is not open'),
        h('p', {}, 'Registration for this offering is not open at the moment. The offering page says when it opens.'),
        h('p', {}, h('a', { href: offeringHref }, 'Back to the offering'))));
    announce(`Register for ${title}. Registration is not open.`, { assertive: true });
    return;
  }

  let code = null;
  const priceBox = h('div', { class: 'price-box' });
  const explain = h('p', { class: 'register__next' });
  const form = new Form({ label: 'Register', submitText: submitText(o, q), busyText: 'Registering…' });
  const codeField = field({
    name: 'discount_code', label: 'Discount code', optional: true,
    hint: 'If the course office gave you a code, enter it and choose "Apply code" to see your price with it.',
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', maxlength: '40' },
  });
  form.add(codeField);
  const apply = h('button', { type: 'button', class: 'button button--secondary button--small' }, 'Apply code');
  codeField.wrap.append(apply);

  const paint = () => {
    replaceChildren(priceBox,
      h('h2', { id: 'price-heading' }, 'Your price'),
      quoteView(o, q, user, code));
    explain.textContent = whatHappens(o, q);
    form.submitText = submitText(o, q);
    if (!form.busy) form.submit.textContent = form.submitText;
  };

  const codeProblem = (err) => {
    const message = err.slug === 'invalid-request' && err.fieldErrors.length
      ? 'A discount code has 3 to 40 letters, digits, "-" or "_".'
      : err.message;
    form.showErrors([{ field: codeField, message }]);
  };

  apply.addEventListener('click', async () => {
    form.clearErrors();
    const text = codeField.text;
    apply.disabled = true;
    apply.textContent = 'Checking…';
    try {
      q = await enrollments.quote(o.id, { discountCode: text, signal });
      code = text;
      paint();
      announce(text
        ? `Code ${text} applied. Amount due: ${formatMoney(q.amount_due_cents, q.currency)}.`
        : `No code. Amount due: ${formatMoney(q.amount_due_cents, q.currency)}.`);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      if (err.slug === 'discount-code-invalid' || err.slug === 'invalid-request') codeProblem(err);
      else form.showProblem(err);
    } finally {
      apply.disabled = false;
      apply.textContent = 'Apply code';
    }
  });

  form.onSubmit(async () => {
    form.clearErrors();
    const text = codeField.text;
    let e;
    try {
      e = await enrollments.create(o.id, { discountCode: text, signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err.slug === 'discount-code-invalid' || (err.slug === 'invalid-request' && err.fieldMessages().discount_code)) {
        codeProblem(err);
        return;
      }
      if (err.slug === 'already-enrolled' && err.problem?.enrollment_id) {
        flash('You are already registered for this offering.');
        ctx.navigate(`/registrations/${err.problem.enrollment_id}`);
        return;
      }
      throw err instanceof ApiError ? err : new ApiError(err.message);
    }
    flash(afterRegistering(e));
    ctx.navigate(`/registrations/${e.id}`);
  });

  paint();
  replaceChildren(body, heading,
    h('section', { class: 'section section--tight', 'aria-labelledby': 'price-heading' }, priceBox, explain),
    form.el,
    groupSection(o, { signal }),
    h('p', {}, h('a', { href: offeringHref }, 'Back to the offering')));
  announce(`Register for ${title}. Amount due: ${formatMoney(q.amount_due_cents, q.currency)}.`);
}

// api.js — the one module that speaks the Registrar HTTP API (docs: docs/api.md).
//
// Every request of the web client goes through request() here, so that the
// rules of the contract live in one place:
//   - the session rides the HttpOnly cookie set at sign-in; this module never
//     sees, stores or sends the session token;
//   - unsafe methods send the CSRF token, which is kept in sessionStorage
//     (per tab, gone when the tab closes) and nowhere else;
//   - problem+json answers become an ApiError whose message is a sentence a
//     person understands, with the field errors kept apart for forms.
// Screens call the resource functions at the bottom, not fetch().

const BASE = '/api/v1';
const PROBLEM_PREFIX = 'https://registrar.invalid/problems/';
const CSRF_KEY = 'registrar.csrf_token';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// Fired on `events`: 'unauthenticated' when the server says the session is
// gone (expired, revoked), so the shell can update the header and offer
// sign-in again; 'csrf' when the CSRF token was refused.
export const events = new EventTarget();

// One sentence per problem type of the contract. `{wait}` is replaced by a
// phrase built from Retry-After ("in about 2 minutes").
const MESSAGES = {
  'invalid-request': 'Some of the information sent was not accepted. Please check it and try again.',
  'unauthenticated': 'Please sign in to continue. If you were signed in, your session has ended.',
  'forbidden': 'Your account does not have permission to do this.',
  'not-found': 'We could not find what you were looking for. It may have been moved or removed.',
  'method-not-allowed': 'This action is not available here.',
  'payload-too-large': 'What you sent is too large. Please shorten it and try again.',
  'unsupported-media-type': 'The request was sent in a form the server does not accept.',
  'rate-limited': 'Too many attempts. Please wait and try again {wait}.',
  'database-unavailable': 'The registration system is briefly unavailable. Please try again {wait}.',
  'overloaded': 'The registration system is very busy right now. Please try again {wait}.',
  'internal': 'Something went wrong on our side. Please try again; if it keeps happening, contact the course office.',
  'email-taken': 'An account with this email address already exists. Try signing in, or reset your password.',
  'invalid-credentials': 'The email address or password is not correct.',
  'invalid-token': 'This link is invalid or has expired. Please request a new one.',
  'csrf': 'For your security, please reload this page (or sign in again), then try again.',
  'slug-taken': 'Another course already uses this short name (slug). Please choose another.',
  'registration-closed': 'Registration for this offering is not open.',
  'already-enrolled': 'You are already registered (or waitlisted) for this offering.',
  'payment-declined': 'Your payment was declined. Your seat is still held: please try another card.',
  'hold-expired': 'The hold on your seat has expired. Please register again to check for a free seat.',
  'idempotency-key-reused': 'This payment was already submitted with different details. Please start the payment again.',
  'session-full': 'One of the sessions you chose is full. Please choose another.',
  'schedule-conflict': 'This session clashes with another session in the same room or with the same faculty member.',
  'outside-offering': 'This session falls outside the days of the offering.',
  'capacity-below-taken': 'The capacity cannot be set below the number of seats already taken.',
  'not-applied': 'This registration is not awaiting a decision.',
  'not-completed': 'The certificate is available once the course has ended and your evaluation is submitted.',
  // After the course (issue 10).
  'offering-not-ended': 'The evaluation opens when the course has ended.',
  'not-confirmed': 'Only a confirmed registration can be evaluated.',
  'already-evaluated': 'You have already submitted the evaluation for this course.',
  'claimed-hours-exceed-attended': 'You can claim at most the hours of the sessions you attended.',
  'form-answered': 'Some learners have answered this form already: answered questions can be reworded or gain choices, but not be removed or change kind.',
  'bad-signature': 'The payment notification could not be verified.',
  'invalid-code': 'That code is not the one shown in the room now. Please type the code on the screen.',
  'check-in-closed': 'Check-in for this session is open from 30 minutes before it starts until 30 minutes after it ends.',
  'unknown-session': 'This session is not part of your registration.',
  'session-cancelled': 'This session is cancelled.',
  'not-confirmed': 'Only confirmed registrations can be checked in.',
  'conflict': 'Something changed at the same time. Please sign in again and retry.',
  // Registration and payment (issue 5).
  'discount-code-invalid': 'This discount code is not valid for this offering.',
  'already-paid': 'This registration is already paid and confirmed.',
  'not-payable': 'This registration cannot be paid as it stands. Please reload the page to see its status.',
  'payment-in-progress': 'A payment for this registration is being processed. Please wait a moment, then reload the page.',
  'payment-unavailable': 'The card processor did not answer, so we do not know yet whether your card was charged. Please press Pay again in a moment.',
  'idempotency-key-in-use': 'Your payment is still being processed. Please wait a moment, then press Pay again.',
  'not-cancellable': 'This registration has already ended (cancelled, expired or not accepted), so it cannot be cancelled.',
  'not-active': 'Workshops can be chosen once your seat is held or your registration is confirmed.',
  'unknown-session': 'One of the sessions chosen cannot be chosen any more (it may have been cancelled). Please reload the page.',
  'code-taken': 'This offering already has a discount code of that name.',
  // Abuse resistance (issue 8).
  'email-unverified': 'Please confirm your email address before registering: open the link we emailed you, or ask for a new one on your profile page.',
  'too-many-holds': 'You already hold 3 unpaid seats. Please pay for one of them, or cancel one, before registering for another course.',
  // Privacy (issue 8).
  'last-admin': 'This is the only administrator account, so it cannot be deleted. Make someone else an administrator first.',
  // Running the centre (issue 11).
  'not-enough-seats': 'There are not enough free seats in this offering for this.',
  'not-same-course': 'A registration can only move to another offering of the same course.',
  'not-waitlisted': 'This person is no longer on the waitlist. Please reload the page.',
  'not-transferable': 'This registration has ended (cancelled, expired or not accepted), so there is nothing to transfer.',
};

// Problems whose detail says which of several cases it is ("This discount
// code has expired.", "… has been used up."): the detail is shown instead.
const DETAILED = new Set(['discount-code-invalid', 'not-confirmed', 'check-in-closed', 'claimed-hours-exceed-attended', 'form-answered']);

// Used when the server's answer is not problem+json (a proxy's error page,
// for example) or carries a type we do not know.
const STATUS_MESSAGES = {
  400: MESSAGES['invalid-request'],
  401: MESSAGES['unauthenticated'],
  403: MESSAGES['forbidden'],
  404: MESSAGES['not-found'],
  409: 'This could not be done because something changed in the meantime. Please reload and try again.',
  413: MESSAGES['payload-too-large'],
  422: 'This could not be done as asked. Please check the details and try again.',
  429: MESSAGES['rate-limited'],
  503: MESSAGES['overloaded'],
};
const NETWORK_MESSAGE = 'We could not reach the registration system. Please check your connection and try again.';

export class ApiError extends Error {
  // status: HTTP status (0 when the network failed); slug: the problem type's
  // last segment ('not-found'), or 'network'; fieldErrors: [{field, message}];
  // retryAfter: seconds or null; problem: the whole problem object, if any.
  constructor(message, { status = 0, slug = null, detail = null, fieldErrors = [],
                         retryAfter = null, problem = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.slug = slug;
    this.detail = detail;
    this.fieldErrors = fieldErrors;
    this.retryAfter = retryAfter;
    this.problem = problem;
  }

  // The field errors as an object { field: message } for forms.
  fieldMessages() {
    const out = {};
    for (const e of this.fieldErrors) {
      if (e.field && !(e.field in out)) out[e.field] = e.message;
    }
    return out;
  }
}

// The server's field messages are fragments that follow the field's name
// ("password" + "must be 12 to 128 characters"). fieldSentence() makes a
// sentence of one with the label the person sees on the form:
//   fieldSentence('Password', 'must be 12 to 128 characters')
//     → 'Password must be 12 to 128 characters.'
// Fragments that read badly after a label get a sentence of their own.
const FIELD_SENTENCES = [
  [/^is not your current password$/, () => 'This is not your current password.'],
  [/^must be after starts_at$/, () => 'The end must be after the start.'],
  [/^must be after registration_opens_at$/, () => 'Registration must close after it opens.'],
  [/^must not be before starts_on$/, () => 'The last day must not be before the first day.'],
  [/^overlaps another part$/, () => 'This part overlaps another part: parts may not share days.'],
  [/^is not an IANA time zone name/, (label) => `${label} is not a time zone we know. Please choose one from the list.`],
  [/^must be an RFC 3339 time/, (label) => `${label} must be a date and a time.`],
  [/^must be a date as YYYY-MM-DD$/, (label) => `${label} must be a date.`],
  [/^is not a field of this request$/, (label) => `${label} cannot be changed here.`],
  [/^is not a live reset link$/, () => MESSAGES['invalid-token']],
  [/^is not a live verification link$/, () => MESSAGES['invalid-token']],
  [/^must be an email address/, (label) => `${label} must be an email address, such as name@example.org.`],
];

export function fieldSentence(label, message) {
  const text = String(message ?? '').trim();
  for (const [pattern, make] of FIELD_SENTENCES) {
    if (pattern.test(text)) return make(label, text);
  }
  const sentence = `${label} ${text}`;
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

export function getCsrfToken() {
  try { return sessionStorage.getItem(CSRF_KEY); } catch { return null; }
}

export function setCsrfToken(token) {
  try { sessionStorage.setItem(CSRF_KEY, token); } catch { /* storage disabled: cookie-only reads still work */ }
}

export function clearCsrfToken() {
  try { sessionStorage.removeItem(CSRF_KEY); } catch { /* nothing stored */ }
}

function waitPhrase(seconds) {
  if (seconds == null) return 'in a moment';
  if (seconds < 60) return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return `in about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `in about ${hours} hour${hours === 1 ? '' : 's'}`;
}

function parseRetryAfter(value) {
  if (value == null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value);
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, Math.round((when - Date.now()) / 1000));
}

function slugOf(type) {
  if (typeof type !== 'string') return null;
  return type.startsWith(PROBLEM_PREFIX) ? type.slice(PROBLEM_PREFIX.length) : null;
}

// Builds the ApiError for a non-2xx response.
async function problemError(res) {
  const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
  let problem = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { problem = await res.json(); } catch { problem = null; }
  }
  const slug = problem ? slugOf(problem.type) : null;
  const fieldErrors = Array.isArray(problem?.errors)
    ? problem.errors.filter((e) => e && typeof e.message === 'string')
    : [];
  let message = (slug && MESSAGES[slug]) || STATUS_MESSAGES[res.status];
  if (!message) {
    message = res.status >= 500 ? MESSAGES.internal
      : 'This request could not be completed. Please try again.';
  }
  // A bad request without field errors says what was wrong only in detail;
  // the server writes it for people, so show it rather than lose it.
  if (slug === 'invalid-request' && fieldErrors.length === 0 && typeof problem?.detail === 'string') {
    message = `${message} (${problem.detail})`;
  }
  if (DETAILED.has(slug) && typeof problem?.detail === 'string' && problem.detail) message = problem.detail;
  message = message.replace('{wait}', waitPhrase(retryAfter));
  return new ApiError(message, {
    status: res.status,
    slug: slug || (res.status >= 500 ? 'internal' : null),
    detail: problem?.detail ?? null,
    fieldErrors,
    retryAfter,
    problem,
  });
}

// request(method, path, options) → parsed JSON body (null for 204), or the
// text of a non-JSON body. Throws ApiError; an abort (options.signal) throws
// the DOMException 'AbortError' unchanged so callers can ignore it.
// options: { body, query, headers, signal, idempotencyKey }.
export async function request(method, path, options = {}) {
  const { body, query, signal, idempotencyKey } = options;
  const headers = { Accept: 'application/json, application/problem+json', ...options.headers };
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (UNSAFE.has(method)) {
    const csrf = getCsrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;

  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(NETWORK_MESSAGE, { slug: 'network' });
  }

  if (!res.ok) {
    const error = await problemError(res);
    if (error.slug === 'unauthenticated') events.dispatchEvent(new Event('unauthenticated'));
    if (error.slug === 'csrf') events.dispatchEvent(new Event('csrf'));
    throw error;
  }
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try {
      return await res.json();
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      throw new ApiError(MESSAGES.internal, { status: res.status, slug: 'internal' });
    }
  }
  return res.text();
}

// --- Resources -------------------------------------------------------------
// Thin, named wrappers so that screens read like the contract.

export const courses = {
  // → { items: [course], next_cursor }
  list: ({ limit, cursor, signal } = {}) =>
    request('GET', '/courses', { query: { limit, cursor }, signal }),
  // → course with `offerings` (summaries)
  get: (slug, { signal } = {}) =>
    request('GET', `/courses/${encodeURIComponent(slug)}`, { signal }),
};

// A hint, not a credential: "this browser signed in through the client and
// has not signed out since". It lets a page skip GET /me (and the browser's
// logged 401) for visitors who never signed in, and tells a new tab that the
// session cookie may be there. The token itself never leaves the cookie.
const SIGNED_IN_HINT = 'registrar.signed_in';

export function maybeSignedIn() {
  if (getCsrfToken()) return true;
  try { return localStorage.getItem(SIGNED_IN_HINT) === '1'; } catch { return true; }
}

function forgetSession() {
  clearCsrfToken();
  try { localStorage.removeItem(SIGNED_IN_HINT); } catch { /* nothing stored */ }
}

events.addEventListener('unauthenticated', forgetSession);

export const auth = {
  // POST /accounts → user. fields: email, password, full_name, profession,
  // credentials?, institution?
  signUp: (fields, { signal } = {}) => request('POST', '/accounts', { body: fields, signal }),
  // POST /auth/sessions → user. Keeps the CSRF token for this tab; the
  // session token in the body is dropped here: the cookie carries it.
  async signIn({ email, password }, { signal } = {}) {
    const res = await request('POST', '/auth/sessions', { body: { email, password }, signal });
    setCsrfToken(res.csrf_token);
    try { localStorage.setItem(SIGNED_IN_HINT, '1'); } catch { /* storage disabled */ }
    return res.user;
  },
  // DELETE /auth/sessions/current. Whatever the answer, this tab forgets
  // the session; a 401 means it had already ended, which is what we wanted.
  async signOut() {
    try {
      await request('DELETE', '/auth/sessions/current');
    } catch (err) {
      if (err?.slug !== 'unauthenticated') {
        forgetSession();
        throw err;
      }
    }
    forgetSession();
  },
  // Forgets this tab's session without asking the server (after a password
  // reset, which has ended every session already).
  forget: () => forgetSession(),
  // POST /auth/password-resets: 202 whether or not the account exists.
  requestReset: (email, { signal } = {}) =>
    request('POST', '/auth/password-resets', { body: { email }, signal }),
  confirmReset: (token, newPassword, { signal } = {}) =>
    request('POST', '/auth/password-resets/confirm', { body: { token, new_password: newPassword }, signal }),
  // POST /auth/email-verifications/confirm: 204, or ApiError invalid-token.
  confirmEmail: (token, { signal } = {}) =>
    request('POST', '/auth/email-verifications/confirm', { body: { token }, signal }),
};

export const me = {
  // → user, or throws ApiError 401 when signed out. Asks for the current
  // session, whose answer also carries its CSRF token: a tab opened after
  // sign-in (which never saw the sign-in answer) keeps it from here.
  async get({ signal } = {}) {
    const session = await request('GET', '/auth/sessions/current', { signal });
    if (typeof session?.csrf_token === 'string') setCsrfToken(session.csrf_token);
    return session.user;
  },
  // fields: any of full_name, profession, credentials, institution → user
  update: (fields, { signal } = {}) => request('PATCH', '/me', { body: fields, signal }),
  // POST /me/email-verification: 202, a new link goes to the account's email.
  requestEmailVerification: ({ signal } = {}) => request('POST', '/me/email-verification', { signal }),
  changePassword: (currentPassword, newPassword, { signal } = {}) =>
    request('POST', '/me/password', {
      body: { current_password: currentPassword, new_password: newPassword }, signal,
    }),
  // Everything held about the learner, as a JSON attachment: a plain link
  // downloads it (cookie-authenticated GET, no script involved).
  exportUrl: () => `${BASE}/me/export`,
  // DELETE /me: erases the account for good. The server has ended every
  // session and cleared the cookie; this tab forgets its own.
  async erase(password, { signal } = {}) {
    await request('DELETE', '/me', { body: { password }, signal });
    forgetSession();
  },
};

export const offerings = {
  get: (id, { signal } = {}) => request('GET', `/offerings/${encodeURIComponent(id)}`, { signal }),
  list: ({ course, status, year, limit, cursor, signal } = {}) =>
    request('GET', '/offerings', { query: { course, status, year, limit, cursor }, signal }),
  create: (courseSlug, body, { signal } = {}) =>
    request('POST', `/courses/${encodeURIComponent(courseSlug)}/offerings`, { body, signal }),
  update: (id, body, { signal } = {}) =>
    request('PATCH', `/offerings/${encodeURIComponent(id)}`, { body, signal }),
  // The offering's schedule as RFC 5545, for calendar applications.
  calendarUrl: (id) => `${BASE}/offerings/${encodeURIComponent(id)}/schedule.ics`,
};

export const sessions = {
  // → { items: [session], next_cursor }, by starts_at
  list: (offeringId, { limit, cursor, signal } = {}) =>
    request('GET', `/offerings/${encodeURIComponent(offeringId)}/sessions`, { query: { limit, cursor }, signal }),
  create: (offeringId, body, { signal } = {}) =>
    request('POST', `/offerings/${encodeURIComponent(offeringId)}/sessions`, { body, signal }),
  update: (id, body, { signal } = {}) =>
    request('PATCH', `/sessions/${encodeURIComponent(id)}`, { body, signal }),
  remove: (id, { signal } = {}) => request('DELETE', `/sessions/${encodeURIComponent(id)}`, { signal }),
};

const enc = encodeURIComponent;

// Registration and payment (docs/api.md "Enrollment and payment").
export const enrollments = {
  // GET /offerings/{id}/price → { price_cents, early, discount_cents,
  // amount_due_cents, currency, requires_application, seats_left }
  quote: (offeringId, { discountCode, signal } = {}) =>
    request('GET', `/offerings/${enc(offeringId)}/price`, { query: { discount_code: discountCode }, signal }),
  // POST /offerings/{id}/enrollments → enrollment (held, confirmed, waitlisted or applied)
  create: (offeringId, { discountCode, signal } = {}) =>
    request('POST', `/offerings/${enc(offeringId)}/enrollments`, {
      body: discountCode ? { discount_code: discountCode } : {}, signal,
    }),
  // → { items: [enrollment with `offering`], next_cursor }, newest first
  mine: ({ limit, cursor, signal } = {}) => request('GET', '/me/enrollments', { query: { limit, cursor }, signal }),
  // → enrollment with `offering` and `payments`
  get: (id, { signal } = {}) => request('GET', `/enrollments/${enc(id)}`, { signal }),
  // → { payment, enrollment }. `idempotencyKey`: one per payment attempt,
  // the same again when the attempt is retried.
  pay: (id, paymentToken, idempotencyKey, { signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/payments`, { body: { payment_token: paymentToken }, idempotencyKey, signal }),
  // → enrollment with refund_cents
  cancel: (id, { reason, signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/cancel`, { body: reason ? { reason } : {}, signal }),
  approve: (id, { note, signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/approve`, { body: note ? { note } : {}, signal }),
  reject: (id, { note, signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/reject`, { body: note ? { note } : {}, signal }),
  // Directors and admins: money taken outside the card processor
  // (method: cheque|wire|purchase_order|waived) → { payment, enrollment }
  recordOffline: (id, { method, amountCents, reference, signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/payments/offline`, {
      body: { method, amount_cents: amountCents, reference: reference || null }, signal,
    }),
  // Directors and admins: an invoice to an institution → { invoice }
  invoice: (id, { billTo, dueOn, signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/invoice`, { body: { bill_to: billTo, due_on: dueOn }, signal }),
  // The PDFs, for links (cookie-authenticated GET).
  receiptUrl: (paymentId) => `${BASE}/payments/${enc(paymentId)}/receipt`,
  invoiceUrl: (invoiceId) => `${BASE}/invoices/${enc(invoiceId)}`,
  // The learner's whole choice of workshops → enrollment
  setSessions: (id, sessionIds, { signal } = {}) =>
    request('PUT', `/enrollments/${enc(id)}/sessions`, { body: { session_ids: sessionIds }, signal }),
  // Transfers: { to_email[, full_name, profession] } (a colleague) or
  // { to_offering_id } (another offering of the course) → enrollment
  transfer: (id, fields, { signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/transfer`, { body: fields, signal }),
  // Directors and admins: off the waitlist → null (204)
  removeFromWaitlist: (id, { signal } = {}) => request('DELETE', `/enrollments/${enc(id)}/waitlist`, { signal }),
  // Directors and admins: a seat now, out of order → enrollment;
  // 409 not-enough-seats unless overCapacity
  promote: (id, { reason, overCapacity = false, signal } = {}) =>
    request('POST', `/enrollments/${enc(id)}/promote`, {
      body: overCapacity ? { reason, over_capacity: true } : { reason }, signal,
    }),
  // { members: [{ email, full_name, profession }], bill_to? }
  // → { group: { id, enrollments, amount_due_cents, currency, bill_to } }
  registerGroup: (offeringId, fields, { signal } = {}) =>
    request('POST', `/offerings/${enc(offeringId)}/group-registrations`, { body: fields, signal }),
};

// Administration (docs/api.md "Catalog" and "Running the centre"): admins only,
// except a course's update, which its directors may make too.
export const admin = {
  // → { items: [user], next_cursor }, by email; q matches email or name
  users: ({ q, limit, cursor, signal } = {}) =>
    request('GET', '/users', { query: { q: q || undefined, limit, cursor }, signal }),
  // → user with `enrollments` (each with offering_title, course_slug)
  user: (id, { signal } = {}) => request('GET', `/users/${enc(id)}`, { signal }),
  setAdmin: (id, on) => request(on ? 'PUT' : 'DELETE', `/users/${enc(id)}/admin`),
  setDirector: (slug, userId, on) =>
    request(on ? 'PUT' : 'DELETE', `/courses/${enc(slug)}/directors/${enc(userId)}`),
  // fields: slug, title, summary, credit_type → course
  createCourse: (fields) => request('POST', '/courses', { body: fields }),
  updateCourse: (slug, fields) => request('PATCH', `/courses/${enc(slug)}`, { body: fields }),
};

// Directors' lists (docs/api.md "Rosters, attendance, credits").
// GET /config → { payment_processor: 'test'|'stripe'|null, stripe_publishable_key?, centre }.
// It changes only with the server's configuration: asked once per page load.
let siteConfig = null;
export const site = {
  config: () => {
    siteConfig ??= request('GET', '/config').catch((err) => { siteConfig = null; throw err; });
    return siteConfig;
  },
};

export const rosters = {
  // status: null (held and confirmed), 'applied', 'all' or a comma list
  // → { offering, items: [{ enrollment, learner, sessions, attended_hours }], next_cursor }
  get: (offeringId, { status, limit, cursor, signal } = {}) =>
    request('GET', `/offerings/${enc(offeringId)}/roster`, { query: { status, limit, cursor }, signal }),
  // The same roster as a CSV attachment, for a download link (cookie-authenticated GET).
  csvUrl: (offeringId, { status } = {}) =>
    `${BASE}/offerings/${enc(offeringId)}/roster?format=csv${status ? `&status=${enc(status)}` : ''}`,
  // POST /offerings/{id}/enrollments/for: {user_id} or {email, full_name, profession} → enrollment
  registerFor: (offeringId, fields) =>
    request('POST', `/offerings/${enc(offeringId)}/enrollments/for`, { body: fields }),
  // POST /offerings/{id}/messages: fields subject, body, to → { id, recipients }
  sendMessage: (offeringId, fields) => request('POST', `/offerings/${enc(offeringId)}/messages`, { body: fields }),
  // → { items: [{ id, subject, body, to, recipients, sent, sender, created_at }], next_cursor }
  messages: (offeringId, { limit, cursor, signal } = {}) =>
    request('GET', `/offerings/${enc(offeringId)}/messages`, { query: { limit, cursor }, signal }),
  // → { items: [{ position, enrollment, learner }], next_cursor }, in order
  waitlist: (offeringId, { limit, cursor, signal } = {}) =>
    request('GET', `/offerings/${enc(offeringId)}/waitlist`, { query: { limit, cursor }, signal }),
};

// Attendance and check-in (docs/api.md "Rosters, attendance, credits").
export const attendance = {
  // → { items: [{ enrollment_id, learner: { id, full_name }, checked_in_at, method }] }
  list: (sessionId, { signal } = {}) => request('GET', `/sessions/${enc(sessionId)}/attendance`, { signal }),
  mark: (sessionId, enrollmentId, { signal } = {}) =>
    request('PUT', `/sessions/${enc(sessionId)}/attendance/${enc(enrollmentId)}`, { signal }),
  unmark: (sessionId, enrollmentId, { signal } = {}) =>
    request('DELETE', `/sessions/${enc(sessionId)}/attendance/${enc(enrollmentId)}`, { signal }),
  // → { changed }
  setMany: (sessionId, enrollmentIds, present, { signal } = {}) =>
    request('PUT', `/sessions/${enc(sessionId)}/attendance`, { body: { enrollment_ids: enrollmentIds, present }, signal }),
  // A badge scanned at the door → { enrollment_id, learner, already }
  checkIn: (sessionId, badgeCode, nonce, { signal } = {}) =>
    request('POST', `/sessions/${enc(sessionId)}/check-ins`, { body: { badge_code: badgeCode, nonce }, signal }),
  // → { code, expires_at, window_seconds }
  roomCode: (sessionId, { signal } = {}) => request('GET', `/sessions/${enc(sessionId)}/check-in-code`, { signal }),
  // The learner's own check-in → { enrollment_id, session_id, already }
  selfCheckIn: (enrollmentId, sessionId, code, { signal } = {}) =>
    request('POST', `/enrollments/${enc(enrollmentId)}/check-ins`, { body: { session_id: sessionId, code }, signal }),
  // → { enrollment_id, badge_code, qr_svg }
  badge: (enrollmentId, { signal } = {}) => request('GET', `/enrollments/${enc(enrollmentId)}/badge`, { signal }),
  // The printable badge sheet (PDF), for a link (cookie-authenticated GET).
  badgeSheetUrl: (offeringId) => `${BASE}/offerings/${enc(offeringId)}/badges`,
};

// After the course (docs/api.md "Rosters, attendance, credits"): evaluations,
// certificates, transcripts and the directors' reports.
export const credits = {
  // → { questions: [{ id, kind, text, required, choices? }] }
  form: (offeringId, { signal } = {}) => request('GET', `/offerings/${enc(offeringId)}/evaluation-form`, { signal }),
  saveForm: (offeringId, questions, { signal } = {}) =>
    request('PUT', `/offerings/${enc(offeringId)}/evaluation-form`, { body: { questions }, signal }),
  // → { enrollment_id, claimed_hours, attended_hours, credits, credit_type, submitted_at }
  evaluate: (enrollmentId, answers, claimedHours, { signal } = {}) =>
    request('POST', `/enrollments/${enc(enrollmentId)}/evaluation`, {
      body: { answers, claimed_hours: claimedHours }, signal,
    }),
  // The certificate PDF as a Blob; a 409 not-completed becomes an ApiError.
  certificatePdf: async (enrollmentId, { signal } = {}) => {
    const res = await fetch(`${BASE}/enrollments/${enc(enrollmentId)}/certificate`, {
      headers: { Accept: 'application/pdf, application/problem+json' }, credentials: 'same-origin', signal,
    });
    if (!res.ok) throw await problemError(res);
    return res.blob();
  },
  // A download link (cookie-authenticated GET) for the certificate PDF.
  certificateUrl: (enrollmentId) => `${BASE}/enrollments/${enc(enrollmentId)}/certificate`,
  certificatesUrl: (offeringId) => `${BASE}/offerings/${enc(offeringId)}/certificates`,
  // Public: → { learner_name, course_title, offering_title, starts_on, ends_on, credit_type, credits, issued_at }
  verify: (code, { signal } = {}) => request('GET', `/certificates/${enc(code)}`, { signal }),
  transcript: ({ signal } = {}) => request('GET', '/me/transcript', { signal }),
  // The printable transcript as a Blob (it is chosen by Accept, so no plain link).
  transcriptPdf: async ({ signal } = {}) => {
    const res = await fetch(`${BASE}/me/transcript`, {
      headers: { Accept: 'application/pdf' }, credentials: 'same-origin', signal,
    });
    if (!res.ok) throw await problemError(res);
    return res.blob();
  },
  evaluations: (offeringId, { signal } = {}) => request('GET', `/offerings/${enc(offeringId)}/evaluations`, { signal }),
  evaluationsCsvUrl: (offeringId) => `${BASE}/offerings/${enc(offeringId)}/evaluations?format=csv`,
  completion: (offeringId, { signal } = {}) => request('GET', `/offerings/${enc(offeringId)}/completion`, { signal }),
  accme: (offeringId, { signal } = {}) => request('GET', `/offerings/${enc(offeringId)}/accme-report`, { signal }),
  accmeCsvUrl: (offeringId) => `${BASE}/offerings/${enc(offeringId)}/accme-report?format=csv`,
};

// Follows next_cursor until the list ends (bounded, for small lists such as
// the catalog; long lists should page in the UI instead).
export async function listAll(fetchPage, { signal, maxPages = 20 } = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const res = await fetchPage({ cursor, limit: 200, signal });
    items.push(...(res?.items ?? []));
    cursor = res?.next_cursor ?? null;
    if (!cursor) break;
  }
  return items;
}

// Helpers of the catalog and schedule API tests (offerings.test.mjs,
// schedule.test.mjs): accounts made through the public API, roles granted
// through SQL (as `registrar create-admin` and the director grant would),
// and bodies of realistic offerings and sessions.
//
//   const admin = await account(srv, { admin: true });
//   const dir = await account(srv, { directorOf: ['pcep'] });
//   const r = await as(srv, admin).post('/api/v1/courses/pcep/offerings', { json: offeringBody() });

import assert from 'node:assert/strict';
import { client, randomHex } from './harness.mjs';
import { makeUser } from './accounts.mjs';

// A signed-up, signed-in account: { id, email, token }: makeUser
// (accounts.mjs, the one user factory) with an address t-<hex>@example.org,
// verified through the real flow unless verified is false, an admin or a
// director of the courses directorOf names when asked.
export async function account(srv, { admin = false, directorOf = [], profession = 'physician', url,
  verified = true } = {}) {
  const email = `t-${randomHex(6)}@example.org`;
  const u = await makeUser(srv, { fields: { email, full_name: `Test ${email.slice(2, 8)}`, profession },
    verified, admin, directorOf, url });
  return { id: u.id, email: u.email, token: u.token };
}

// A client that sends the account's bearer token (no cookies) to srv.url or url.
export function as(srv, who, url) {
  const c = client(url ?? srv.url);
  const opts = (o = {}) => ({ ...o, token: who?.token });
  return {
    get: (p, o) => c.get(p, opts(o)),
    post: (p, o) => c.post(p, opts(o)),
    patch: (p, o) => c.patch(p, opts(o)),
    put: (p, o) => c.put(p, opts(o)),
    del: (p, o) => c.del(p, opts(o)),
    head: (p, o) => c.head(p, opts(o)),
  };
}

// A three-day, open offering in New York (EDT, -04:00, in March 2027).
export function offeringBody(over = {}) {
  return {
    title: 'Spring 2027',
    status: 'open',
    starts_on: '2027-03-15',
    ends_on: '2027-03-17',
    timezone: 'America/New_York',
    venue: 'Conference Center, 5 Main Street',
    capacity: 40,
    registration_opens_at: '2026-10-01T09:00:00-04:00',
    registration_closes_at: '2027-03-01T17:00:00-05:00',
    hold_minutes: 30,
    max_credits: 21.5,
    prices: [
      { profession: 'physician', amount_cents: 150000, early_amount_cents: 125000, early_until: '2027-01-15' },
      { profession: 'nurse', amount_cents: 90000 },
    ],
    cancellation_policy: [
      { until_days_before: 30, refund_percent: 100 },
      { until_days_before: 7, refund_percent: 50 },
    ],
    ...over,
  };
}

// PCEP's shape: two parts months apart.
export function twoPartBody(over = {}) {
  return offeringBody({
    title: 'PCEP 2027',
    starts_on: undefined,
    ends_on: undefined,
    parts: [
      { name: 'Part 1', starts_on: '2027-03-15', ends_on: '2027-03-19' },
      { name: 'Part 2', starts_on: '2027-06-07', ends_on: '2027-06-10' },
    ],
    requires_application: true,
    ...over,
  });
}

export async function createOffering(srv, who, slug = 'practical-aspects', body = offeringBody()) {
  const r = await as(srv, who).post(`/api/v1/courses/${slug}/offerings`, { json: body });
  assert.equal(r.status, 201, `creating an offering failed: ${r.text}`);
  return r.body;
}

export function sessionBody(over = {}) {
  return {
    title: 'Opening plenary',
    kind: 'plenary',
    starts_at: '2027-03-15T08:30:00-04:00',
    ends_at: '2027-03-15T09:30:00-04:00',
    room: 'Auditorium',
    // Faculty clash across all offerings: a name of its own unless the test names one.
    faculty: [`Dr. Ada Okafor ${randomHex(3)}`],
    credit_hours: 1,
    ...over,
  };
}

export const OFFERING_KEYS = [
  'id', 'course_slug', 'title', 'status', 'starts_on', 'ends_on', 'parts', 'requires_application',
  'credit_types', 'timezone', 'venue', 'capacity', 'seats_taken', 'seats_left', 'waitlist_length',
  'registration_opens_at', 'registration_closes_at', 'hold_minutes', 'approval_hold_days', 'max_credits',
  'prices', 'currency', 'cancellation_policy', 'accreditation_statement', 'designation_statement',
];

export const SESSION_KEYS = [
  'id', 'offering_id', 'title', 'kind', 'starts_at', 'ends_at', 'room', 'faculty', 'capacity',
  'seats_left', 'credit_hours',
];

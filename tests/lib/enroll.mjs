// Helpers of the enrollment, payment and roster API tests: many signed-in
// learners at once, offerings dated relative to today, webhook signatures.
//
//   const ls = await learners(srv, 220);            // [{ id, email, token }]
//   const off = await openOffering(srv, admin, { capacity: 50 });
//   const r = await as(srv, ls[0]).post(`/api/v1/offerings/${off.id}/enrollments`);

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { client } from './harness.mjs';
import { account, as, createOffering, offeringBody } from './catalog.mjs';

export { account, as };

export { PASSWORD, sleep, eventually } from './common.mjs';

// Keyed BLAKE2b-256 digests of base64url tokens, as auth_token_digest makes
// them (auth.h) with the server's secret key: Node has no keyed BLAKE2b,
// Python's hashlib has.
function tokenDigests(secretKeyHex, tokens) {
  const script = [
    'import sys, json, hashlib, base64',
    'd = json.load(sys.stdin)',
    'key = bytes.fromhex(d["key"])',
    'out = [hashlib.blake2b(base64.urlsafe_b64decode(t + "="), key=key, digest_size=32).hexdigest() for t in d["tokens"]]',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify({ key: secretKeyHex, tokens }) });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout.toString());
}

// n signed-in learners: [{ id, email, token }]. The first is account() (the
// one user factory, accounts.mjs makeUser): it signs up and in
// through the API (a real Argon2id hash, a real session). The others are
// fixtures made in SQL: accounts with that same hash and sessions whose
// token digests are computed as the server computes them, so that a rush
// of hundreds of learners does not spend minutes on Argon2. Their tokens
// are then as good as any sign-in's (checked with GET /api/v1/me). The
// first verifies its email through the real flow (account()); the fixtures
// are written verified, as that flow leaves an account, unless verified is
// false (then none is).
export async function learners(srv, n, { profession = 'physician', names, verified = true } = {}) {
  const first = await account(srv, { profession, verified });
  if (n === 1) return [first];
  const [{ password_hash: hash }] = await srv.sql('select password_hash from registrar.users where id = $1',
    [first.id]);
  const tag = randomBytes(4).toString('hex');
  const emails = Array.from({ length: n - 1 }, (_, i) => `l${i}-${tag}@example.org`);
  const fullNames = emails.map((_, i) => names?.[i + 1] ?? `Learner ${i + 1} ${tag}`);
  const tokens = emails.map(() => randomBytes(32).toString('base64url'));
  const csrfs = emails.map(() => randomBytes(32).toString('base64url'));
  const digests = tokenDigests(srv.secretKey, [...tokens, ...csrfs]);
  const rows = await srv.sql(
    `with u as (
       insert into registrar.users (email, password_hash, full_name, profession, email_verified_at)
       select e, $2, f, $3, case when $7::boolean then now() end
       from unnest($1::text[], $4::text[]) with ordinality as t(e, f, n)
       returning id, email
     ), s as (
       insert into registrar.auth_sessions (user_id, token_hash, csrf_hash)
       select u.id, decode(t.th, 'hex'), decode(t.ch, 'hex')
       from unnest($1::text[], $5::text[], $6::text[]) as t(e, th, ch) join u on u.email = t.e
       returning user_id
     )
     select u.id, u.email from u`,
    [emails, hash, profession, fullNames, digests.slice(0, emails.length), digests.slice(emails.length), verified]);
  const byEmail = new Map(rows.map((r) => [r.email, r.id]));
  const out = [first, ...emails.map((email, i) => ({ id: byEmail.get(email), email, token: tokens[i] }))];
  const me = await client(srv.url).get('/api/v1/me', { token: out[n - 1].token });
  assert.equal(me.status, 200, `a fixture session does not work: ${me.text}`);
  assert.equal(me.body.id, out[n - 1].id);
  return out;
}

// YYYY-MM-DD of today + days, as a wall calendar in timezone tz reads it.
export function dayIn(tz, days = 0) {
  const d = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(d);
}

// An open offering starting `startsIn` days from today (New York), whose
// registration opened yesterday and closes the day before it starts.
export function offeringIn(startsIn = 60, over = {}) {
  const tz = over.timezone ?? 'America/New_York';
  return offeringBody({
    title: `Rush ${randomBytes(3).toString('hex')}`,
    starts_on: dayIn(tz, startsIn),
    ends_on: dayIn(tz, startsIn + 2),
    registration_opens_at: new Date(Date.now() - 86400000).toISOString(),
    registration_closes_at: new Date(Date.now() + (startsIn - 1) * 86400000).toISOString(),
    prices: [
      { profession: 'physician', amount_cents: 150000, early_amount_cents: 125000, early_until: dayIn(tz, 10) },
      { profession: 'nurse', amount_cents: 90000 },
    ],
    ...over,
  });
}

export async function openOffering(srv, who, over = {}, { startsIn = 60, slug = 'practical-aspects' } = {}) {
  return createOffering(srv, who, slug, offeringIn(startsIn, over));
}

// The Registrar-Signature header for body (a string) at time t (seconds).
export function signature(secret, body, t = Math.floor(Date.now() / 1000)) {
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

// The database's own view of an offering's seats.
export async function seatCounts(srv, offeringId) {
  const [row] = await srv.sql(
    `select o.capacity, o.seats_taken,
            (select count(*)::int from registrar.enrollments e where e.offering_id = o.id and e.status = 'held') as held,
            (select count(*)::int from registrar.enrollments e where e.offering_id = o.id and e.status = 'confirmed') as confirmed,
            (select count(*)::int from registrar.enrollments e where e.offering_id = o.id and e.status = 'waitlisted') as waitlisted
     from registrar.offerings o where o.id = $1`, [offeringId]);
  return row;
}

// A metric's value summed over every process of srv (0 when absent).
export async function metric(srv, line) {
  let sum = 0;
  for (let i = 0; i < srv.urls.length; i++) {
    const text = await srv.metrics(i);
    for (const l of text.split('\n')) {
      if (l.startsWith(line + ' ')) sum += Number(l.slice(line.length + 1));
    }
  }
  return sum;
}

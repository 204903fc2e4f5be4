// Accounts for tests: sign up, sign in and admins, through the real API and
// the real `registrar create-admin` (no back door anywhere).
//
// The one user factory is makeUser below: a fresh account signed up through
// POST /api/v1/accounts, its email verified through the real link in the
// outbox (unless verified: false), given the admin role or course
// directorships in SQL when asked (as `registrar create-admin` and the
// director grant would), and signed in on a client of its own. The other
// factories are thin names over it that keep their call signatures and
// return shapes:
//   newUser(srvOrUrl, fields, { verified })          here: { c, user, email, password, token, csrf }
//   account(srv, { admin, directorOf, profession, url, verified })
//                                                    catalog.mjs: { id, email, token }
//   learners(srv, n, { profession, names, verified }) enroll.mjs: [{ id, email, token }]; the
//     first is account(); the others are SQL clones of it (its password
//     hash, sessions whose digests the server would make), so that a rush
//     of hundreds of learners does not spend minutes on Argon2.
//
//   import { startServer, client } from '../lib/harness.mjs';
//   import { newUser, newAdmin, makeAdmin, makeDirector } from '../lib/accounts.mjs';
//   const srv = await startServer();
//   const ann = await newUser(srv);                 // signed in, cookie + CSRF in ann.c,
//                                                   // email verified through the outbox link
//   const bob = await newUser(srv, {}, { verified: false }); // not verified
//   await ann.c.get('/api/v1/me');                  // 200, by the session cookie
//   await client(srv.url).get('/api/v1/me', { token: ann.token }); // or as a Bearer
//   const admin = await newAdmin(srv);              // an admin, signed in
//   await makeDirector(admin.c, 'pcep', ann.user.id);
//
// Each call makes a fresh, unique email, so tests never share accounts.
// Sign-in failures count against the client address (127.0.0.1 for every
// test): more than 10 wrong passwords in one database make every later
// sign-in of that database answer 429. Tests of failures start a server
// of their own.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { client, registrarBin, serverAt } from './harness.mjs';

import { PASSWORD } from './common.mjs';

export const DEFAULT_PASSWORD = PASSWORD;

// A unique, valid address: prefix-<random>@example.org.
export function uniqueEmail(prefix = 'user') {
  return `${prefix}-${randomBytes(6).toString('hex')}@example.org`;
}

function fail(what, r) {
  return new Error(`${what}: HTTP ${r.status} ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`);
}

// The token of the newest link of `kind` ('verify' or 'reset') that the
// outbox holds for email: what the learner would click in their mail.
export async function outboxToken(srv, email, kind = 'verify') {
  const rows = await srv.sql(
    `select body from registrar.outbox where recipient = lower(btrim($1)) and body ~ $2 order by id desc limit 1`,
    [email, `#/${kind}\\?token=`]);
  const m = rows[0]?.body.match(new RegExp(`#/${kind}\\?token=([A-Za-z0-9_-]+)`));
  return m ? m[1] : null;
}

// verifyEmail(srv, email, c?) → confirms the newest verification link in
// the outbox through the API, as the learner's click would; throws unless 204.
export async function verifyEmail(srv, email, c = client(srv.url)) {
  const token = await outboxToken(srv, email, 'verify');
  if (!token) throw new Error(`no verification link in the outbox for ${email}`);
  const r = await c.post('/api/v1/auth/email-verifications/confirm', { json: { token } });
  if (r.status !== 204) throw fail('email verification', r);
}

// signUp(c, fields, { verified = true }) → { user, email, password }: POST
// /api/v1/accounts with defaults for every required field; throws unless
// 201. The email is then verified through the real flow (the link read
// from the outbox, confirmed through the API) unless verified is false.
export async function signUp(c, fields = {}, { verified = true } = {}) {
  const body = {
    email: uniqueEmail(),
    password: DEFAULT_PASSWORD,
    full_name: 'Test Learner',
    profession: 'physician',
    ...fields,
  };
  const r = await c.post('/api/v1/accounts', { json: body });
  if (r.status !== 201) throw fail('sign-up', r);
  let user = r.body;
  if (verified) {
    const srv = serverAt(c.base);
    if (!srv) throw new Error(`signUp: no server of this test at ${c.base} (pass { verified: false })`);
    await verifyEmail(srv, body.email, c);
    user = { ...user, email_verified: true };
  }
  return { user, email: body.email, password: body.password };
}

// signIn(c, { email, password }) → the 201 body { token, csrf_token,
// expires_at, user }; c keeps the cookie and the CSRF token. Throws unless 201.
export async function signIn(c, { email, password = DEFAULT_PASSWORD }) {
  const r = await c.post('/api/v1/auth/sessions', { json: { email, password } });
  if (r.status !== 201) throw fail('sign-in', r);
  return r.body;
}

// makeUser(srvOrUrl, { fields, verified = true, admin = false, directorOf =
// [], url }) → { c, id, user, email, password, token, csrf }: the one user
// factory (see the top of this file). fields are the sign-up body's
// (defaults for every required one); url is the server process to sign up
// and in on (one of srv.urls), srv.url by default. Throws unless every
// step succeeds.
export async function makeUser(srvOrUrl, { fields = {}, verified = true, admin = false, directorOf = [],
  url } = {}) {
  const base = url ?? (typeof srvOrUrl === 'string' ? srvOrUrl : srvOrUrl.url);
  const srv = typeof srvOrUrl === 'string' ? serverAt(srvOrUrl) : srvOrUrl;
  if (!srv && (verified || admin || directorOf.length > 0)) {
    throw new Error(`makeUser: no server of this test at ${base} (pass { verified: false })`);
  }
  const c = client(base);
  const { email, password } = await signUp(c, fields, { verified: false });
  if (verified) await verifyEmail(srv, email, c);
  if (admin) await srv.sql('update registrar.users set is_admin = true where email = $1', [email]);
  for (const slug of directorOf) {
    await srv.sql(
      `insert into registrar.course_directors (course_id, user_id)
       select c.id, u.id from registrar.courses c, registrar.users u where c.slug = $1 and u.email = $2`,
      [slug, email]);
  }
  const session = await signIn(c, { email, password });
  return { c, id: session.user.id, user: session.user, email, password, token: session.token,
    csrf: session.csrf_token };
}

// newUser(srvOrUrl, fields, { verified = true }) → { c, user, email,
// password, token, csrf }: makeUser with sign-up fields.
export async function newUser(srvOrUrl, fields = {}, { verified = true } = {}) {
  const { c, user, email, password, token, csrf } = await makeUser(srvOrUrl, { fields, verified });
  return { c, user, email, password, token, csrf };
}

// createAdmin(srv, { email, fullName, password }) → { code, out }: runs
// `registrar create-admin` against the server's database, the password on
// standard input, as an operator would.
export function createAdmin(srv, { email, fullName = 'Test Admin', password = DEFAULT_PASSWORD } = {}) {
  return new Promise((resolve) => {
    const child = spawn(registrarBin, ['create-admin', '--email', email, '--full-name', fullName,
      '--database-url', srv.dbUrl], { env: srv.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ code: -1, out: out + String(err) }));
    child.on('close', (code) => resolve({ code, out }));
    // A command that refuses its flags exits before reading standard input:
    // the write then fails with EPIPE, which is its answer, not the test's.
    child.stdin.on('error', () => {});
    child.stdin.end(password + '\n');
  });
}

// makeAdmin(srv, email): promotes an existing account (its password stays);
// throws unless create-admin exits 0. The user's sessions see it at once.
export async function makeAdmin(srv, email) {
  const r = await createAdmin(srv, { email, password: randomBytes(12).toString('hex') });
  if (r.code !== 0) throw new Error(`create-admin exited ${r.code}: ${r.out}`);
}

// newAdmin(srv) → { c, user, email, password, token, csrf }: a fresh admin
// made with create-admin, signed in on a client of its own.
export async function newAdmin(srv, { email = uniqueEmail('admin'), password = DEFAULT_PASSWORD } = {}) {
  const r = await createAdmin(srv, { email, password });
  if (r.code !== 0) throw new Error(`create-admin exited ${r.code}: ${r.out}`);
  const c = client(srv.url);
  const session = await signIn(c, { email, password });
  return { c, user: session.user, email, password, token: session.token, csrf: session.csrf_token };
}

// makeDirector(adminClient, slug, userId): PUT .../directors/{userId}; throws unless 204.
export async function makeDirector(adminClient, slug, userId) {
  const r = await adminClient.put(`/api/v1/courses/${slug}/directors/${userId}`);
  if (r.status !== 204) throw fail('grant director', r);
}

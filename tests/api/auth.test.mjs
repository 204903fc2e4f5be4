// Sign-in sessions, CSRF, expiry, the failure limit, password change and
// reset: docs/api.md "Authentication", against the real server and database.
// Negative cases first. Time is moved by ageing rows with SQL, never by a
// switch in the server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, client } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, newUser, signIn, signUp, uniqueEmail } from '../lib/accounts.mjs';
import { problemType } from '../lib/common.mjs';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const SIGN_IN = '/api/v1/auth/sessions';


function setCookies(r) {
  return r.headers.getSetCookie();
}

// A POST from a chosen loopback address (127.0.0.x), so that failures can
// be spread over client addresses or kept on one.
function postFrom(baseUrl, localAddress, path, body) {
  const u = new URL(path, baseUrl);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname, method: 'POST', localAddress,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('sign-in', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv.stop(); });

  test('rejects bodies that are not {email, password}', async () => {
    const c = client(srv.url);
    let r = await c.post(SIGN_IN, { json: { email: 'a@example.org', password: DEFAULT_PASSWORD, remember: true } });
    assert.equal(r.status, 400);
    assert.equal(r.body.type, problemType('invalid-request'));
    assert.equal(r.body.errors[0].field, 'remember');
    r = await c.post(SIGN_IN, { json: { email: 'a@example.org' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'password');
    r = await c.post(SIGN_IN, { json: { email: 'a@example.org', password: 12345678901234 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'password');
    r = await c.post(SIGN_IN, { raw: 'email=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 415);
  });

  test('an unknown email and a wrong password get the same answer, byte for byte, and no cookie', async () => {
    const c = client(srv.url);
    const { email } = await signUp(c);
    const wrong = await c.post(SIGN_IN, { json: { email, password: 'not the password at all' } });
    const unknown = await c.post(SIGN_IN, { json: { email: uniqueEmail('nobody'), password: 'not the password at all' } });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.body.type, problemType('invalid-credentials'));
    assert.equal(wrong.text, unknown.text);
    assert.equal(wrong.headers.get('content-type'), unknown.headers.get('content-type'));
    assert.deepEqual(setCookies(wrong), []);
    assert.deepEqual(setCookies(unknown), []);
    assert.deepEqual(c.cookies(), {});
  });

  test('signs in: a 256-bit token in the body and in an HttpOnly SameSite=Lax cookie, a separate CSRF token', async () => {
    const c = client(srv.url);
    const { email, user } = await signUp(c, { full_name: 'Ann Lee' });
    const before = Date.now();
    const r = await c.post(SIGN_IN, { json: { email, password: DEFAULT_PASSWORD } });
    assert.equal(r.status, 201);
    assert.match(r.body.token, TOKEN_RE);
    assert.match(r.body.csrf_token, TOKEN_RE);
    assert.notEqual(r.body.token, r.body.csrf_token);
    assert.deepEqual(r.body.user, user);
    const expires = Date.parse(r.body.expires_at);
    assert.ok(expires > before + 29 * 60e3 && expires < Date.now() + 31 * 60e3, r.body.expires_at);
    assert.equal(r.headers.get('cache-control'), 'no-store');

    const cookies = setCookies(r);
    assert.equal(cookies.length, 1);
    const [pair, ...attrs] = cookies[0].split(';').map((s) => s.trim());
    assert.equal(pair, `registrar_session=${r.body.token}`);
    const names = attrs.map((a) => a.split('=')[0].toLowerCase());
    assert.ok(names.includes('httponly'), cookies[0]);
    assert.ok(attrs.includes('SameSite=Lax'), cookies[0]);
    assert.ok(attrs.includes('Path=/'), cookies[0]);
    assert.ok(!names.includes('secure'), 'Secure on a server not configured for HTTPS');
  });

  test('every sign-in makes a new token; both sessions work', async () => {
    const { c, email, token } = await newUser(srv);
    const again = await signIn(client(srv.url), { email });
    assert.notEqual(again.token, token);
    assert.equal((await client(srv.url).get('/api/v1/me', { token })).status, 200);
    assert.equal((await client(srv.url).get('/api/v1/me', { token: again.token })).status, 200);
    assert.equal((await c.get('/api/v1/me')).status, 200);
  });

  test('the email is matched whatever its case and surrounding spaces', async () => {
    const c = client(srv.url);
    const email = uniqueEmail('case');
    await signUp(c, { email });
    const r = await c.post(SIGN_IN, { json: { email: `  ${email.toUpperCase()} `, password: DEFAULT_PASSWORD } });
    assert.equal(r.status, 201);
  });

  test('an old, weaker hash is accepted once and replaced by one with today\'s limits', async () => {
    const c = client(srv.url);
    const password = 'an old password from 2019';
    const { email, user } = await signUp(c, { password: 'a placeholder password' });
    // Made by crypto_pwhash_str with OPSLIMIT_MIN and MEMLIMIT_MIN, as an older release might have.
    const weak = '$argon2id$v=19$m=8,t=1,p=1$o5kQBPUM4qKMllS6XXyZmg$80C7ERDvfqneEaDieRCAMGQaoKRsn7VyW4TwlkMH824';
    await srv.sql('update registrar.users set password_hash = $1 where id = $2', [weak, user.id]);
    assert.equal((await c.post(SIGN_IN, { json: { email, password: 'wrong password, old hash' } })).status, 401);
    const r = await c.post(SIGN_IN, { json: { email, password } });
    assert.equal(r.status, 201);
    const [row] = await srv.sql('select password_hash from registrar.users where id = $1', [user.id]);
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
    assert.equal((await client(srv.url).post(SIGN_IN, { json: { email, password } })).status, 201);
  });
});

describe('sessions: cookies, bearer tokens, CSRF, expiry, sign-out', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv.stop(); });

  test('no credentials, bad credentials and tokens in the query string give 401 unauthenticated', async () => {
    const { token } = await newUser(srv);
    const anon = client(srv.url);
    let r = await anon.get('/api/v1/me');
    assert.equal(r.status, 401);
    assert.equal(r.body.type, problemType('unauthenticated'));
    for (const bad of ['x', token + 'A', token.slice(0, -1), token.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')), '='.repeat(43)]) {
      r = await anon.get('/api/v1/me', { token: bad });
      assert.equal(r.status, 401, bad);
    }
    r = await anon.get('/api/v1/me', { cookie: 'registrar_session=nonsense' });
    assert.equal(r.status, 401);
    // No route takes such a parameter: refused (400 naming it) before anyone is authenticated.
    for (const name of ['token', 'access_token', 'registrar_session', 'session']) {
      r = await anon.get(`/api/v1/me?${name}=${token}`);
      assert.equal(r.status, 400, `?${name}= accepted`);
      assert.equal(r.body.errors[0].field, name);
    }
    // The digest the database keeps opens nothing either.
    const [row] = await srv.sql("select encode(token_hash, 'hex') as h from registrar.auth_sessions limit 1");
    r = await anon.get('/api/v1/me', { token: row.h });
    assert.equal(r.status, 401);
  });

  test('a cookie-authenticated unsafe request needs the CSRF token from its own sign-in', async () => {
    const ann = await newUser(srv);
    const bob = await newUser(srv);
    const body = { json: { institution: 'St Elsewhere' } };
    let r = await ann.c.patch('/api/v1/me', { ...body, csrf: false });
    assert.equal(r.status, 403);
    assert.equal(r.body.type, problemType('csrf'));
    r = await ann.c.patch('/api/v1/me', { ...body, csrf: 'A'.repeat(43) });
    assert.equal(r.status, 403);
    r = await ann.c.patch('/api/v1/me', { ...body, csrf: bob.csrf });
    assert.equal(r.status, 403, "another session's CSRF token was accepted");
    r = await ann.c.patch('/api/v1/me', { ...body, csrf: ann.token });
    assert.equal(r.status, 403, 'the session token was accepted as CSRF token');
    r = await ann.c.del('/api/v1/auth/sessions/current', { csrf: false });
    assert.equal(r.status, 403);
    assert.equal((await ann.c.get('/api/v1/me')).status, 200, 'a refused sign-out signed out');
    assert.equal((await ann.c.get('/api/v1/me')).body.institution, '');

    // Safe methods need none; the right token works; a Bearer request needs none.
    assert.equal((await ann.c.get('/api/v1/me', { csrf: false })).status, 200);
    r = await ann.c.patch('/api/v1/me', { ...body, csrf: ann.csrf });
    assert.equal(r.status, 200);
    assert.equal(r.body.institution, 'St Elsewhere');
    r = await client(srv.url).patch('/api/v1/me', { json: { institution: 'By bearer' }, token: ann.token });
    assert.equal(r.status, 200);
    assert.equal(r.body.institution, 'By bearer');
  });

  test('another tab with the cookie alone learns its CSRF token from the current session; Bearer gets none', async () => {
    const ann = await newUser(srv);
    const bob = await newUser(srv);
    // A second tab: the same cookie, but it never saw the sign-in answer.
    const tab = client(srv.url);
    const cookie = `registrar_session=${ann.token}`;
    let r = await tab.patch('/api/v1/me', { json: { institution: 'Tab two' }, cookie });
    assert.equal(r.status, 403);
    r = await tab.get('/api/v1/auth/sessions/current', { cookie });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body).sort(), ['csrf_token', 'user']);
    assert.equal(r.body.user.id, ann.user.id);
    assert.equal(r.body.csrf_token, ann.csrf, 'the same CSRF token as sign-in gave');
    assert.match(r.body.csrf_token, TOKEN_RE);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    r = await tab.patch('/api/v1/me', { json: { institution: 'Tab two' }, cookie, csrf: r.body.csrf_token });
    assert.equal(r.status, 200);
    assert.equal(r.body.institution, 'Tab two');
    // Each session has its own; a Bearer client gets null (it needs none).
    const bobs = await tab.get('/api/v1/auth/sessions/current', { cookie: `registrar_session=${bob.token}` });
    assert.equal(bobs.body.csrf_token, bob.csrf);
    assert.notEqual(bob.csrf, ann.csrf);
    const bearer = await client(srv.url).get('/api/v1/auth/sessions/current', { token: ann.token });
    assert.equal(bearer.status, 200);
    assert.equal(bearer.body.csrf_token, null);
    assert.equal((await client(srv.url).get('/api/v1/auth/sessions/current')).status, 401);
    // The CSRF token opens no session, and /me stays the plain user.
    assert.equal((await client(srv.url).get('/api/v1/me', { token: ann.csrf })).status, 401);
    assert.equal((await tab.get('/api/v1/me', { cookie })).body.csrf_token, undefined);
  });

  test('sign-out revokes the token, clears the cookie, and leaves other sessions alone', async () => {
    const ann = await newUser(srv);
    const other = await signIn(client(srv.url), { email: ann.email });
    const anon = client(srv.url);
    assert.equal((await anon.del('/api/v1/auth/sessions/current')).status, 401);

    const r = await ann.c.del('/api/v1/auth/sessions/current');
    assert.equal(r.status, 204);
    const [cookie] = setCookies(r);
    assert.match(cookie, /^registrar_session=;/);
    assert.match(cookie, /Max-Age=0/);
    assert.deepEqual(ann.c.cookies(), {});
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 401);
    assert.equal((await anon.get('/api/v1/me', { cookie: `registrar_session=${ann.token}` })).status, 401);
    assert.equal((await anon.del('/api/v1/auth/sessions/current', { token: ann.token })).status, 401);
    assert.equal((await anon.get('/api/v1/me', { token: other.token })).status, 200);
    const rows = await srv.sql(
      'select count(*)::int as n from registrar.auth_sessions where user_id = $1 and revoked_at is not null', [ann.user.id]);
    assert.equal(rows[0].n, 1);
  });

  test('a session idle for 30 minutes is over; 29 minutes is not', async () => {
    const ann = await newUser(srv);
    const anon = client(srv.url);
    await srv.sql("update registrar.auth_sessions set last_seen_at = now() - interval '29 minutes' where user_id = $1", [ann.user.id]);
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 200);
    // That use counted: the session is fresh again.
    const [seen] = await srv.sql('select now() - last_seen_at < interval \'1 minute\' as fresh from registrar.auth_sessions where user_id = $1', [ann.user.id]);
    assert.equal(seen.fresh, true);
    await srv.sql("update registrar.auth_sessions set last_seen_at = now() - interval '31 minutes' where user_id = $1", [ann.user.id]);
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 401);
    assert.equal((await ann.c.get('/api/v1/me')).status, 401);
  });

  test('a session older than 12 hours is over, however busy', async () => {
    const ann = await newUser(srv);
    const anon = client(srv.url);
    await srv.sql("update registrar.auth_sessions set created_at = now() - interval '11 hours 59 minutes', last_seen_at = now() where user_id = $1", [ann.user.id]);
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 200);
    await srv.sql("update registrar.auth_sessions set created_at = now() - interval '12 hours 1 minute', last_seen_at = now() where user_id = $1", [ann.user.id]);
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 401);
  });

  test('a session row is written at most once a minute', async () => {
    const ann = await newUser(srv);
    const anon = client(srv.url);
    const seen = async () => (await srv.sql(
      'select extract(epoch from last_seen_at)::float8 as t from registrar.auth_sessions where user_id = $1', [ann.user.id]))[0].t;
    await srv.sql("update registrar.auth_sessions set last_seen_at = now() - interval '30 seconds' where user_id = $1", [ann.user.id]);
    const t0 = await seen();
    for (let i = 0; i < 3; i++) assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 200);
    assert.equal(await seen(), t0, 'touched although seen 30 s ago');
    await srv.sql("update registrar.auth_sessions set last_seen_at = now() - interval '2 minutes' where user_id = $1", [ann.user.id]);
    const t1 = await seen();
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 200);
    assert.ok(await seen() > t1 + 60, 'not touched although last seen 2 minutes ago');
  });
});

describe('password change', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv.stop(); });

  test('refuses the anonymous, unknown fields, a short new password and a wrong current one', async () => {
    const ann = await newUser(srv);
    let r = await client(srv.url).post('/api/v1/me/password', { json: { current_password: DEFAULT_PASSWORD, new_password: 'a brand new password' } });
    assert.equal(r.status, 401);
    r = await ann.c.post('/api/v1/me/password', { json: { current_password: DEFAULT_PASSWORD, new_password: 'a brand new password', user_id: ann.user.id } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'user_id');
    r = await ann.c.post('/api/v1/me/password', { json: { current_password: DEFAULT_PASSWORD, new_password: 'too short' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'new_password');
    r = await ann.c.post('/api/v1/me/password', { json: { current_password: 'not my password', new_password: 'a brand new password' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'current_password');
    r = await ann.c.post('/api/v1/me/password', { json: { current_password: DEFAULT_PASSWORD, new_password: 'a brand new password' }, csrf: false });
    assert.equal(r.status, 403);
    assert.equal(r.body.type, problemType('csrf'));
    // None of these changed anything.
    await signIn(client(srv.url), { email: ann.email });
  });

  test('changes the password and revokes every other session, not the current one', async () => {
    const ann = await newUser(srv);
    const laptop = await signIn(client(srv.url), { email: ann.email });
    const anon = client(srv.url);
    const r = await ann.c.post('/api/v1/me/password', { json: { current_password: DEFAULT_PASSWORD, new_password: 'a brand new password' } });
    assert.equal(r.status, 204);
    assert.equal((await ann.c.get('/api/v1/me')).status, 200, 'the current session was revoked');
    assert.equal((await anon.get('/api/v1/me', { token: laptop.token })).status, 401, 'another session survived');
    assert.equal((await anon.post(SIGN_IN, { json: { email: ann.email, password: DEFAULT_PASSWORD } })).status, 401);
    assert.equal((await anon.post(SIGN_IN, { json: { email: ann.email, password: 'a brand new password' } })).status, 201);
  });
});

describe('password reset', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv.stop(); });

  // Reset messages only (sign-up sends a verification message too).
  const outboxFor = (email) => srv.sql("select subject, body, sent_at from registrar.outbox where recipient = $1 and subject like 'Reset%' order by id", [email]);
  const linkToken = (body) => {
    const m = body.match(/\/#\/reset\?token=([A-Za-z0-9_-]+)/);
    assert.ok(m, `no reset link in: ${body}`);
    return m[1];
  };

  test('asking gives 202 and the same answer whether or not the account exists', async () => {
    const c = client(srv.url);
    const { email } = await signUp(c);
    const nobody = uniqueEmail('nobody');
    let r = await c.post('/api/v1/auth/password-resets', { json: { email, extra: 1 } });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'extra');
    const known = await c.post('/api/v1/auth/password-resets', { json: { email } });
    const unknown = await c.post('/api/v1/auth/password-resets', { json: { email: nobody } });
    assert.equal(known.status, 202);
    assert.equal(unknown.status, 202);
    assert.equal(known.text, unknown.text);
    assert.equal(known.headers.get('content-type'), unknown.headers.get('content-type'));
    assert.equal((await outboxFor(nobody)).length, 0);
    const [msg, ...more] = await outboxFor(email);
    assert.equal(more.length, 0);
    assert.equal(msg.sent_at, null);
    assert.match(linkToken(msg.body), TOKEN_RE);
  });

  test('the token is kept only as a keyed digest, lives one hour and works once', async () => {
    const ann = await newUser(srv);
    const laptop = await signIn(client(srv.url), { email: ann.email });
    const anon = client(srv.url);
    assert.equal((await anon.post('/api/v1/auth/password-resets', { json: { email: ann.email.toUpperCase() } })).status, 202);
    const token = linkToken((await outboxFor(ann.email))[0].body);
    const [reset] = await srv.sql(
      "select encode(token_hash, 'hex') as h, expires_at - created_at as ttl, used_at from registrar.password_resets where user_id = $1", [ann.user.id]);
    assert.equal(reset.ttl.hours, 1);
    assert.ok(!reset.h.includes(Buffer.from(token, 'base64url').toString('hex')));

    const confirm = (t, p = 'the password after reset', extra = {}) =>
      anon.post('/api/v1/auth/password-resets/confirm', { json: { token: t, new_password: p, ...extra } });
    let r = await confirm('A'.repeat(43));
    assert.equal(r.status, 400);
    assert.equal(r.body.type, problemType('invalid-token'));
    r = await confirm('not even a token');
    assert.equal(r.body.type, problemType('invalid-token'));
    r = await confirm(token, 'short');
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'new_password');
    r = await confirm(token, 'the password after reset', { email: ann.email });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'email');

    r = await confirm(token);
    assert.equal(r.status, 204);
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 401, 'a session survived the reset');
    assert.equal((await anon.get('/api/v1/me', { token: laptop.token })).status, 401, 'a session survived the reset');
    assert.equal((await anon.post(SIGN_IN, { json: { email: ann.email, password: DEFAULT_PASSWORD } })).status, 401);
    assert.equal((await anon.post(SIGN_IN, { json: { email: ann.email, password: 'the password after reset' } })).status, 201);

    r = await confirm(token, 'yet another new password');
    assert.equal(r.status, 400);
    assert.equal(r.body.type, problemType('invalid-token'), 'a reset token worked twice');
  });

  test('an expired token is refused', async () => {
    const ann = await newUser(srv);
    const anon = client(srv.url);
    await anon.post('/api/v1/auth/password-resets', { json: { email: ann.email } });
    const token = linkToken((await outboxFor(ann.email))[0].body);
    await srv.sql("update registrar.password_resets set created_at = now() - interval '61 minutes', expires_at = now() - interval '1 minute' where user_id = $1", [ann.user.id]);
    const r = await anon.post('/api/v1/auth/password-resets/confirm', { json: { token, new_password: 'the password after reset' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.type, problemType('invalid-token'));
    assert.equal((await anon.get('/api/v1/me', { token: ann.token })).status, 200);
  });
});

// A POST as a client behind our proxy: the server is started with
// REGISTRAR_TRUST_PROXY=true, so X-Real-IP names the address (IPv6 too).
function postAs(baseUrl, realIp, path, body) {
  return client(baseUrl).post(path, { json: body, headers: { 'x-real-ip': realIp } })
    .then((r) => ({ status: r.status, headers: Object.fromEntries(r.headers), body: r.body }));
}

// The account's delay after k settled failures (k >= 5): min(2^(k-5), 30) s.
const delayAfter = (k) => Math.min(2 ** (k - 5), 30);

// Ages every failure row of an email by s seconds (time moves by SQL, never by a switch).
const ageFailures = (srv, email, s) =>
  srv.sql("update registrar.auth_failures set at = at - make_interval(secs => $2) where email = $1", [email, s]);

describe('failure limit: 10 per (account, address) and per address, a growing delay per account, shared by every process', () => {
  test('ten failures from an attacker\'s address: that address is stopped for 15 minutes, the owner from home only waits seconds, through either process', async () => {
    const srv = await startServer({ processes: 2, env: { REGISTRAR_TRUST_PROXY: 'true' } });
    try {
      const { email } = await signUp(client(srv.url));
      const attacker = '203.0.113.66';
      // Ten wrong passwords from one address, alternating between the processes;
      // the account's delay is let run out before each (by ageing the rows).
      for (let i = 0; i < 10; i++) {
        if (i >= 5) await ageFailures(srv, email, delayAfter(i));
        const r = await postAs(srv.urls[i % 2], attacker, SIGN_IN, { email, password: `wrong password ${i}` });
        assert.equal(r.status, 401, `attempt ${i + 1}: ${JSON.stringify(r.body)}`);
      }
      await ageFailures(srv, email, 30);
      // The attacker's address is at the hard limit for this account: 15 minutes, even with the right password.
      for (const url of srv.urls) {
        const r = await postAs(url, attacker, SIGN_IN, { email, password: DEFAULT_PASSWORD });
        assert.equal(r.status, 429);
        assert.equal(r.body.type, problemType('rate-limited'));
        const retry = Number(r.headers['retry-after']);
        assert.ok(Number.isInteger(retry) && retry > 800 && retry <= 900, `Retry-After ${r.headers['retry-after']}`);
      }
      const [n] = await srv.sql('select count(*)::int as n from registrar.auth_failures where email = $1', [email]);
      assert.equal(n.n, 10, 'refused attempts were counted or checked');
      // The owner, from another address, is not locked out: the delay since the last failure has run out.
      for (const url of srv.urls) {
        const r = await postAs(url, '198.51.100.7', SIGN_IN, { email, password: DEFAULT_PASSWORD });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
      // Right after a fresh failure, the owner is told to wait the delay (30 s at most), not 15 minutes.
      assert.equal((await postAs(srv.urls[0], '192.0.2.44', SIGN_IN, { email, password: 'one more guess' })).status, 401);
      const held = await postAs(srv.urls[1], '198.51.100.7', SIGN_IN, { email, password: DEFAULT_PASSWORD });
      assert.equal(held.status, 429);
      const retry = Number(held.headers['retry-after']);
      assert.ok(retry >= 1 && retry <= 30, `Retry-After ${held.headers['retry-after']}`);
      await ageFailures(srv, email, retry);
      assert.equal((await postAs(srv.urls[0], '198.51.100.7', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 201);
      // Once the oldest failures leave the window, the attacker's address may try again.
      await ageFailures(srv, email, 15 * 60);
      assert.equal((await postAs(srv.urls[1], attacker, SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 201);
    } finally {
      await srv.stop();
    }
  });

  test('the delay grows 1, 2, 4, 8, 16, 30 s after the fifth failure, and Retry-After says how long is left', async () => {
    const srv = await startServer({ env: { REGISTRAR_TRUST_PROXY: 'true' } });
    try {
      const { email } = await signUp(client(srv.url));
      // Five failures from five addresses: no delay yet.
      for (let i = 0; i < 5; i++) {
        const r = await postAs(srv.url, `198.51.100.${20 + i}`, SIGN_IN, { email, password: `wrong ${i}` });
        assert.equal(r.status, 401, `failure ${i + 1}`);
      }
      const seen = [];
      for (let k = 5; k <= 11; k++) {
        // Right after the k-th failure (its row's time is now): refused, with the whole wait.
        await srv.sql(`update registrar.auth_failures set at = now() where id = (
          select max(id) from registrar.auth_failures where email = $1)`, [email]);
        const r = await postAs(srv.url, `198.51.100.${40 + k}`, SIGN_IN, { email, password: DEFAULT_PASSWORD });
        assert.equal(r.status, 429, `after ${k} failures`);
        assert.equal(r.body.type, problemType('rate-limited'));
        const retry = Number(r.headers['retry-after']);
        seen.push(retry);
        assert.ok(retry <= delayAfter(k) && retry >= delayAfter(k) - 1 && retry >= 1,
          `after ${k} failures Retry-After ${retry}, expected about ${delayAfter(k)}`);
        // Half the wait later, still refused, with the rest of it.
        if (delayAfter(k) >= 4) {
          await ageFailures(srv, email, delayAfter(k) / 2);
          const half = await postAs(srv.url, `198.51.100.${60 + k}`, SIGN_IN, { email, password: DEFAULT_PASSWORD });
          assert.equal(half.status, 429);
          assert.ok(Number(half.headers['retry-after']) <= delayAfter(k) / 2, `half-way Retry-After ${half.headers['retry-after']}`);
          await ageFailures(srv, email, delayAfter(k) / 2);
        } else {
          await ageFailures(srv, email, delayAfter(k));
        }
        // The wait is over: one more attempt is checked (and fails).
        const again = await postAs(srv.url, `198.51.100.${80 + k}`, SIGN_IN, { email, password: `wrong again ${k}` });
        assert.equal(again.status, 401, `after waiting ${delayAfter(k)} s`);
      }
      assert.ok(seen[seen.length - 1] <= 30 && seen[seen.length - 1] > 16, `the delay is capped at 30 s: ${seen}`);
    } finally {
      await srv.stop();
    }
  });

  test('two IPv6 addresses in one /64 share a count; the next /64 does not; IPv4-mapped IPv6 counts as its IPv4', async () => {
    const srv = await startServer({ processes: 2, env: { REGISTRAR_TRUST_PROXY: 'true' } });
    try {
      // Ten accounts guessed from addresses all over one /64, through both processes.
      for (let i = 0; i < 10; i++) {
        const ip = `2001:db8:aa:bb:${(0x1000 + i * 0x1111).toString(16)}::${i + 1}`;
        const r = await postAs(srv.urls[i % 2], ip, SIGN_IN, { email: uniqueEmail(`v6guess${i}`), password: 'a guessed password' });
        assert.equal(r.status, 401);
      }
      const keys = await srv.sql(`select registrar.address_key(a::inet)::text as k from unnest($1::text[]) with ordinality as t(a, n) order by n`,
        [['192.0.2.9', '::ffff:192.0.2.9', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::', 'fe80::1', '10.1.2.3/8']]);
      assert.deepEqual(keys.map((r) => r.k), ['192.0.2.9/32', '192.0.2.9/32', '2001:db8:1:2::/64', '2001:db8:1:2::/64', 'fe80::/64', '10.1.2.3/32']);
      const [key] = await srv.sql("select count(distinct client_ip)::int as ips, count(distinct client_net)::int as nets, min(client_net::text) as net from registrar.auth_failures where client_ip << '2001:db8:aa:bb::/64'");
      assert.deepEqual(key, { ips: 10, nets: 1, net: '2001:db8:aa:bb::/64' });
      const { email } = await signUp(client(srv.url));
      const blocked = await postAs(srv.urls[0], '2001:db8:aa:bb:ffff:ffff:ffff:fffe', SIGN_IN, { email, password: DEFAULT_PASSWORD });
      assert.equal(blocked.status, 429, 'another address of the same /64 is not held back');
      assert.ok(Number(blocked.headers['retry-after']) > 800);
      assert.equal((await postAs(srv.urls[1], '2001:db8:aa:bc::1', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 201,
        'the neighbouring /64 was held back too');
      // IPv4 addresses are their own /32, written plainly or IPv4-mapped.
      for (let i = 0; i < 10; i++) {
        const ip = i % 2 === 0 ? '192.0.2.200' : '::ffff:192.0.2.200';
        const r = await postAs(srv.urls[i % 2], ip, SIGN_IN, { email: uniqueEmail(`v4guess${i}`), password: 'a guessed password' });
        assert.equal(r.status, 401);
      }
      assert.equal((await postAs(srv.url, '192.0.2.200', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 429);
      assert.equal((await postAs(srv.url, '::ffff:192.0.2.200', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 429);
      assert.equal((await postAs(srv.url, '192.0.2.201', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 201);
    } finally {
      await srv.stop();
    }
  });

  test('failures from one address for many accounts lock that address only', async () => {
    const srv = await startServer({ processes: 2 });
    try {
      const { email } = await signUp(client(srv.url));
      for (let i = 0; i < 10; i++) {
        const r = await postFrom(srv.urls[i % 2], '127.0.0.40', SIGN_IN, { email: uniqueEmail(`guess${i}`), password: 'a guessed password' });
        assert.equal(r.status, 401);
      }
      const blocked = await postFrom(srv.urls[0], '127.0.0.40', SIGN_IN, { email, password: DEFAULT_PASSWORD });
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal((await postFrom(srv.urls[1], '127.0.0.41', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 201);
    } finally {
      await srv.stop();
    }
  });

  test('twenty attempts at once on one account through two processes: five are checked, then one per delay', async () => {
    const srv = await startServer({ processes: 2 });
    try {
      const { email } = await signUp(client(srv.url));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        postFrom(srv.urls[i % 2], `127.0.1.${i + 1}`, SIGN_IN, { email, password: `wrong password ${i}` })));
      const counts = {};
      for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
      assert.equal((counts[401] ?? 0) + (counts[429] ?? 0), 20, JSON.stringify(counts));
      assert.ok(counts[401] >= 5, JSON.stringify(counts));
      const rows = await srv.sql('select pending, extract(epoch from at)::float8 as t from registrar.auth_failures where email = $1 order by at, id', [email]);
      assert.equal(rows.length, counts[401], 'a refused attempt was recorded');
      assert.ok(rows.every((r) => !r.pending), 'a wrong password left its attempt pending');
      // Beyond the fifth, each checked attempt began at least its delay after the one before.
      for (let k = 5; k < rows.length; k++) {
        assert.ok(rows[k].t - rows[k - 1].t >= delayAfter(k) - 0.001, `attempt ${k + 1} came ${rows[k].t - rows[k - 1].t} s after the one before`);
      }
    } finally {
      await srv.stop();
    }
  });

  test('a burst of right sign-ins from one address: beyond ten in flight, retry in a second, not in 15 minutes', async () => {
    const srv = await startServer();
    try {
      const users = [];
      for (let i = 0; i < 14; i++) users.push(await signUp(client(srv.url)));
      const results = await Promise.all(users.map(({ email }) =>
        postFrom(srv.url, '127.0.3.1', SIGN_IN, { email, password: DEFAULT_PASSWORD })));
      const ok = results.filter((r) => r.status === 201).length;
      assert.ok(ok >= 10, `only ${ok} of 14 signed in`);
      for (const r of results) {
        assert.ok(r.status === 201 || r.status === 429, `status ${r.status}`);
        if (r.status === 429) assert.equal(r.headers['retry-after'], '1');
      }
      // Nothing of the burst is held against the address afterwards.
      const [n] = await srv.sql("select count(*)::int as n from registrar.auth_failures where client_ip = '127.0.3.1'");
      assert.equal(n.n, 0);
      assert.equal((await postFrom(srv.url, '127.0.3.1', SIGN_IN, { email: users[0].email, password: DEFAULT_PASSWORD })).status, 201);
    } finally {
      await srv.stop();
    }
  });

  test('attempts still being checked hold back others for a second; ones never checked count for nothing', async () => {
    const srv = await startServer();
    try {
      const { email } = await signUp(client(srv.url));
      const addRows = (age) => srv.sql(
        `insert into registrar.auth_failures (email, client_ip, at, pending)
         select $1, '127.0.4.9', now() - $2::interval, true from generate_series(1, 10)`, [email, age]);
      // Ten attempts in flight right now (as another process would have them).
      await addRows('2 seconds');
      let r = await postFrom(srv.url, '127.0.4.1', SIGN_IN, { email, password: DEFAULT_PASSWORD });
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '1');
      // Ten that never got a verdict (a full hashing queue answered 503, or their server died).
      await srv.sql('delete from registrar.auth_failures where email = $1', [email]);
      await addRows('2 minutes');
      r = await postFrom(srv.url, '127.0.4.1', SIGN_IN, { email, password: DEFAULT_PASSWORD });
      assert.equal(r.status, 201);
    } finally {
      await srv.stop();
    }
  });

  test('an unknown email takes about as long as a wrong password', async () => {
    const srv = await startServer();
    try {
      const { email } = await signUp(client(srv.url));
      const time = async (body, i) => {
        const t0 = process.hrtime.bigint();
        const r = await postFrom(srv.url, `127.0.2.${i}`, SIGN_IN, body);
        assert.equal(r.status, 401);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      const wrong = [], unknown = [];
      for (let i = 1; i <= 5; i++) {
        wrong.push(await time({ email, password: `wrong password ${i}` }, i));
        unknown.push(await time({ email: uniqueEmail('nobody'), password: `wrong password ${i}` }, 10 + i));
      }
      const w = median(wrong), u = median(unknown);
      assert.ok(u > w / 2 && u < w * 2, `median wrong password ${w.toFixed(1)} ms, unknown email ${u.toFixed(1)} ms`);
    } finally {
      await srv.stop();
    }
  });
});

describe('secrets at rest and in logs', () => {
  test('no password or token in any table (a reset link only in its outbox message) nor in the log', async () => {
    const srv = await startServer();
    try {
      const password = 'ünïcödé pässwörd 🔑 with spaces ';
      const newPassword = 'the second password, 𝄞 and more';
      const ann = await newUser(srv, { password });
      const second = await signIn(client(srv.url), { email: ann.email, password });
      assert.equal((await ann.c.post('/api/v1/me/password', { json: { current_password: password, new_password: newPassword } })).status, 204);
      await client(srv.url).post(SIGN_IN, { json: { email: ann.email, password: 'a wrong password here' } });
      await client(srv.url).post('/api/v1/auth/password-resets', { json: { email: ann.email } });
      const [msg] = await srv.sql("select id, body from registrar.outbox where recipient = $1 and subject like 'Reset%'", [ann.email]);
      const resetToken = msg.body.match(/token=([A-Za-z0-9_-]+)/)[1];

      const secrets = { password, newPassword, token: ann.token, csrf: ann.csrf, secondToken: second.token,
        secondCsrf: second.csrf_token, resetToken, wrong: 'a wrong password here', secretKey: srv.secretKey };
      const tables = await srv.sql(
        "select table_name from information_schema.tables where table_schema = 'registrar' and table_type = 'BASE TABLE'");
      assert.ok(tables.length >= 5);
      for (const { table_name: t } of tables) {
        const rows = await srv.sql(`select t::text as row from registrar."${t}" t`);
        for (const { row } of rows) {
          for (const [name, value] of Object.entries(secrets)) {
            if (name === 'resetToken' && t === 'outbox' && row.startsWith(`(${msg.id},`)) continue;
            assert.ok(!row.includes(value), `${name} found in registrar.${t}`);
            // bytea columns print as hex: the token's own bytes must not be there either
            if (/^[A-Za-z0-9_-]{43}$/.test(value)) {
              assert.ok(!row.includes(Buffer.from(value, 'base64url').toString('hex')), `${name} bytes in registrar.${t}`);
            }
          }
        }
      }
      const [u] = await srv.sql('select password_hash from registrar.users where id = $1', [ann.user.id]);
      assert.match(u.password_hash, /^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);

      const log = srv.logs().join('\n');
      assert.ok(log.length > 0);
      for (const [name, value] of Object.entries({ ...secrets, email: ann.email })) {
        assert.ok(!log.includes(value), `${name} found in the server log`);
      }
    } finally {
      await srv.stop();
    }
  });
});

describe('cookies over HTTPS', () => {
  test('REGISTRAR_COOKIE_SECURE adds Secure to the session cookie and to its clearing', async () => {
    const srv = await startServer({ env: { REGISTRAR_COOKIE_SECURE: '1' } });
    try {
      const c = client(srv.url);
      const { email } = await signUp(c);
      const r = await c.post(SIGN_IN, { json: { email, password: DEFAULT_PASSWORD } });
      assert.equal(r.status, 201);
      assert.match(setCookies(r)[0], /; Secure(;|$)/);
      const out = await client(srv.url).del('/api/v1/auth/sessions/current', { token: r.body.token });
      assert.equal(out.status, 204);
      assert.match(setCookies(out)[0], /; Secure(;|$)/);
    } finally {
      await srv.stop();
    }
  });
});

describe('issue 8: reset requests limited per address, absolute links, feed tokens revoked', () => {
  test('REGISTRAR_RESET_LIMIT reset requests an hour per address, through two processes; 429 with Retry-After', async () => {
    const srv = await startServer({ processes: 2, env: { REGISTRAR_RESET_LIMIT: '2', REGISTRAR_TRUST_PROXY: 'true' } });
    try {
      const ask = (i, ip) => client(srv.urls[i % 2]).post('/api/v1/auth/password-resets',
        { json: { email: uniqueEmail('nobody') }, headers: { 'x-real-ip': ip } });
      const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => ask(i, '192.0.2.44')));
      assert.deepEqual(rs.map((r) => r.status).sort(), [202, 202, 429, 429, 429]);
      const limited = rs.find((r) => r.status === 429);
      assert.equal(limited.body.type, problemType('rate-limited'));
      assert.ok(Number(limited.headers.get('retry-after')) > 3000);
      assert.equal((await ask(0, '192.0.2.45')).status, 202, 'another address');
    } finally {
      await srv.stop();
    }
  });

  test('the reset link is absolute (REGISTRAR_PUBLIC_URL) and removed from the outbox once delivered', async () => {
    const srv = await startServer({ env: { REGISTRAR_PUBLIC_URL: 'https://learn.example.org/registrar' } });
    try {
      const ann = await newUser(srv);
      assert.equal((await client(srv.url).post('/api/v1/auth/password-resets', { json: { email: ann.email } })).status, 202);
      const [msg] = await srv.sql("select id, body from registrar.outbox where recipient = $1 and subject like 'Reset%'", [ann.email]);
      assert.match(msg.body, /\nhttps:\/\/learn\.example\.org\/registrar\/#\/reset\?token=[A-Za-z0-9_-]{43}\n/);
      await srv.sql('select registrar.outbox_sent($1)', [msg.id]);
      const [sent] = await srv.sql('select body, sent_at from registrar.outbox where id = $1', [msg.id]);
      assert.ok(sent.sent_at);
      assert.doesNotMatch(sent.body, /token=/);
      assert.match(sent.body, /\[link removed after delivery\]/);
      assert.match(sent.body, /^Hello Test Learner,/);
    } finally {
      await srv.stop();
    }
  });

  test('a bad REGISTRAR_PUBLIC_URL is a one-line error and exit status 2', async () => {
    const { spawnSync } = await import('node:child_process');
    const { registrarBin } = await import('../lib/harness.mjs');
    for (const bad of ['ftp://x.example.org', 'https://', 'https://x.example.org/?a=1', 'https://x.example.org/#/a',
      'https://evil.example@x.example.org', 'registrar.example.org', 'https://x .example.org']) {
      const r = spawnSync(registrarBin, ['--public-url', bad, '--database-url', 'postgresql:///none', '--secret-key', 'ab'.repeat(32)],
        { encoding: 'utf8', env: { PATH: process.env.PATH } });
      assert.equal(r.status, 2, bad);
      assert.match(r.stderr, /REGISTRAR_PUBLIC_URL/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });

  test('a password change and a password reset revoke the calendar feed token', async () => {
    const srv = await startServer();
    try {
      const ann = await newUser(srv);
      const feed = async () => {
        const t = await client(srv.url).post('/api/v1/me/calendar-token', { token: ann.token });
        assert.equal(t.status, 201, t.text);
        return new URL(t.body.feed_url).pathname;
      };
      let path = await feed();
      assert.equal((await client(srv.url).get(path)).status, 200);
      const r = await client(srv.url).post('/api/v1/me/password',
        { token: ann.token, json: { current_password: DEFAULT_PASSWORD, new_password: 'a second good password' } });
      assert.equal(r.status, 204, r.text);
      assert.equal((await client(srv.url).get(path)).status, 404, 'the feed outlived a password change');

      path = await feed();
      assert.equal((await client(srv.url).get(path)).status, 200);
      await client(srv.url).post('/api/v1/auth/password-resets', { json: { email: ann.email } });
      const [msg] = await srv.sql("select body from registrar.outbox where recipient = $1 and subject like 'Reset%'", [ann.email]);
      const token = msg.body.match(/#\/reset\?token=([A-Za-z0-9_-]+)/)[1];
      const done = await client(srv.url).post('/api/v1/auth/password-resets/confirm',
        { json: { token, new_password: 'a third good password' } });
      assert.equal(done.status, 204, done.text);
      assert.equal((await client(srv.url).get(path)).status, 404, 'the feed outlived a password reset');
      assert.deepEqual(await srv.sql('select 1 from registrar.calendar_tokens where user_id = $1', [ann.user.id]), []);
    } finally {
      await srv.stop();
    }
  });
});

// Sign-in sessions, CSRF, expiry, the failure limit, password change and
// reset: API.md "Authentication", against the real server and database.
// Negative cases first. Time is moved by ageing rows with SQL, never by a
// switch in the server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, client } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, newUser, signIn, signUp, uniqueEmail } from '../lib/accounts.mjs';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const SIGN_IN = '/api/v1/auth/sessions';

function problemType(slug) {
  return `https://registrar.invalid/problems/${slug}`;
}

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

  const outboxFor = (email) => srv.sql('select subject, body, sent_at from registrar.outbox where recipient = $1 order by id', [email]);
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

describe('failure limit: 10 in 15 minutes per account and per address, shared by every process', () => {
  test('the 11th attempt on one account is refused before any check, even with the right password, through either process', async () => {
    const srv = await startServer({ processes: 2 });
    try {
      const { email } = await signUp(client(srv.url));
      // Ten failures from ten addresses, alternating between the two processes:
      // only the account's count can reach 10.
      for (let i = 0; i < 10; i++) {
        const r = await postFrom(srv.urls[i % 2], `127.0.0.${10 + i}`, SIGN_IN, { email, password: `wrong password ${i}` });
        assert.equal(r.status, 401, `attempt ${i + 1}`);
      }
      for (const url of srv.urls) {
        const r = await postFrom(url, '127.0.0.30', SIGN_IN, { email, password: DEFAULT_PASSWORD });
        assert.equal(r.status, 429);
        assert.equal(r.body.type, problemType('rate-limited'));
        const retry = Number(r.headers['retry-after']);
        assert.ok(Number.isInteger(retry) && retry > 840 && retry <= 900, `Retry-After ${r.headers['retry-after']}`);
      }
      const [n] = await srv.sql('select count(*)::int as n from registrar.auth_failures where email = $1', [email]);
      assert.equal(n.n, 10, 'refused attempts were counted or checked');
      // Another account from a fresh address is not affected.
      const other = await signUp(client(srv.url));
      assert.equal((await postFrom(srv.urls[1], '127.0.0.31', SIGN_IN, { email: other.email, password: DEFAULT_PASSWORD })).status, 201);

      // Retry-After tells when the oldest failure leaves the window.
      await srv.sql("update registrar.auth_failures set at = at - interval '14 minutes' where email = $1", [email]);
      const r = await postFrom(srv.urls[0], '127.0.0.30', SIGN_IN, { email, password: DEFAULT_PASSWORD });
      assert.equal(r.status, 429);
      assert.ok(Number(r.headers['retry-after']) <= 60, `Retry-After ${r.headers['retry-after']}`);
      await srv.sql("update registrar.auth_failures set at = at - interval '1 minute' where email = $1", [email]);
      assert.equal((await postFrom(srv.urls[1], '127.0.0.30', SIGN_IN, { email, password: DEFAULT_PASSWORD })).status, 201);
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

  test('twenty attempts at once through two processes: at most ten are checked', async () => {
    const srv = await startServer({ processes: 2 });
    try {
      const { email } = await signUp(client(srv.url));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        postFrom(srv.urls[i % 2], `127.0.1.${i + 1}`, SIGN_IN, { email, password: `wrong password ${i}` })));
      const counts = {};
      for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
      assert.equal(counts[401], 10, JSON.stringify(counts));
      assert.equal(counts[429], 10, JSON.stringify(counts));
      const [n] = await srv.sql('select count(*)::int as n, count(*) filter (where not pending)::int as settled from registrar.auth_failures where email = $1', [email]);
      assert.equal(n.n, 10);
      assert.equal(n.settled, 10, 'a wrong password left its attempt pending');
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
      const [msg] = await srv.sql('select id, body from registrar.outbox where recipient = $1', [ann.email]);
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

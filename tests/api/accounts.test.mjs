// Accounts: sign-up rules, the profile (GET/PATCH /api/v1/me), roles
// (course directors, admins) and `registrar create-admin`. Negative cases
// first; each test makes accounts of its own.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client } from '../lib/harness.mjs';
import {
  DEFAULT_PASSWORD, createAdmin, makeAdmin, makeDirector, newAdmin, newUser, signIn, signUp, uniqueEmail,
} from '../lib/accounts.mjs';
import { problemType } from '../lib/common.mjs';

const SIGN_UP = '/api/v1/accounts';
const SIGN_IN = '/api/v1/auth/sessions';
const USER_KEYS = ['created_at', 'credentials', 'email', 'email_verified', 'full_name', 'id', 'institution', 'profession', 'roles'];


function account(fields = {}) {
  return { email: uniqueEmail(), password: DEFAULT_PASSWORD, full_name: 'Test Learner', profession: 'nurse', ...fields };
}

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); });

describe('sign-up', () => {
  test('unknown fields are refused by name: no roles, no admin flag, no id', async () => {
    const c = client(srv.url);
    for (const [field, value] of [['roles', { admin: true }], ['is_admin', true], ['admin', true], ['id', '00000000-0000-0000-0000-000000000000'], ['password_hash', 'x']]) {
      const r = await c.post(SIGN_UP, { json: account({ [field]: value }) });
      assert.equal(r.status, 400, field);
      assert.equal(r.headers.get('content-type'), 'application/problem+json');
      assert.equal(r.body.type, problemType('invalid-request'));
      assert.deepEqual(r.body.errors.map((e) => e.field), [field]);
    }
  });

  test('missing and malformed fields are refused by name', async () => {
    const c = client(srv.url);
    const cases = [
      [{ email: undefined }, 'email'],
      [{ email: 'no-at-sign.example.org' }, 'email'],
      [{ email: '@example.org' }, 'email'],
      [{ email: 'ann@' }, 'email'],
      [{ email: 'ann lee@example.org' }, 'email'],
      [{ email: `${'a'.repeat(250)}@example.org` }, 'email'],
      [{ email: 42 }, 'email'],
      [{ full_name: undefined }, 'full_name'],
      [{ full_name: '   ' }, 'full_name'],
      [{ full_name: 'x'.repeat(201) }, 'full_name'],
      [{ profession: undefined }, 'profession'],
      [{ profession: 'surgeon' }, 'profession'],
      [{ profession: 'Nurse' }, 'profession'],
      [{ credentials: 'x'.repeat(101) }, 'credentials'],
      [{ institution: 'x'.repeat(201) }, 'institution'],
      [{ password: undefined }, 'password'],
      [{ password: null }, 'password'],
      [{ password: ['a long enough password'] }, 'password'],
    ];
    for (const [fields, field] of cases) {
      const body = account(fields);
      for (const k of Object.keys(fields)) if (fields[k] === undefined) delete body[k];
      const r = await c.post(SIGN_UP, { json: body });
      assert.equal(r.status, 400, JSON.stringify(fields));
      assert.equal(r.body.errors[0].field, field, JSON.stringify(fields));
    }
    const [n] = await srv.sql("select count(*)::int as n from registrar.users where full_name = 'Test Learner' and email like 'no-at%'");
    assert.equal(n.n, 0);
  });

  test('passwords: 12 to 128 characters counted as characters, not bytes', async () => {
    const c = client(srv.url);
    const emoji = '🔑';
    const cases = [
      ['a'.repeat(11), 400], [emoji.repeat(11), 400], ['a'.repeat(129), 400], [emoji.repeat(129), 400],
      ['a'.repeat(12), 201], [emoji.repeat(12), 201], ['a'.repeat(128), 201], [emoji.repeat(128), 201],
    ];
    for (const [password, status] of cases) {
      const r = await c.post(SIGN_UP, { json: account({ password }) });
      assert.equal(r.status, status, `${[...password].length} characters of ${password[0]}`);
      if (status === 400) assert.equal(r.body.errors[0].field, 'password');
    }
  });

  test('passwords are taken whole: every character counts, spaces included, any script', async () => {
    // Wrong passwords count against 127.0.0.1: on a server of its own.
    const own = await startServer();
    try {
    const c = client(own.url);
    const try_ = async (email, password) => (await client(own.url).post(SIGN_IN, { json: { email, password } })).status;

    const long = Array.from({ length: 128 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const a = account({ password: long });
    assert.equal((await c.post(SIGN_UP, { json: a })).status, 201);
    assert.equal(await try_(a.email, long.slice(0, 127)), 401, 'the 128th character was ignored');
    assert.equal(await try_(a.email, long.slice(0, 72)), 401, 'truncated at 72 bytes, as bcrypt would');
    assert.equal(await try_(a.email, long.slice(0, 127) + 'Z'), 401);
    assert.equal(await try_(a.email, long), 201);

    const spaced = '  spaces  around  me  ';
    const b = account({ password: spaced });
    assert.equal((await c.post(SIGN_UP, { json: b })).status, 201);
    assert.equal(await try_(b.email, spaced.trim()), 401, 'the password was trimmed');
    assert.equal(await try_(b.email, spaced), 201);

    const unicode = 'Ωμέγα パスワード 密码 🔐 ǅ';
    const d = account({ password: unicode });
    assert.equal((await c.post(SIGN_UP, { json: d })).status, 201);
    assert.equal(await try_(d.email, unicode.normalize('NFD')), 401, 'the password was normalised');
    assert.equal(await try_(d.email, unicode), 201);
    } finally {
      await own.stop();
    }
  });

  test('an email is taken whatever its case and surrounding spaces: 409 email-taken', async () => {
    const c = client(srv.url);
    const email = uniqueEmail('Case');
    const first = await c.post(SIGN_UP, { json: account({ email: `  ${email}\t` }) });
    assert.equal(first.status, 201);
    assert.equal(first.body.email, email.toLowerCase());
    for (const variant of [email, email.toUpperCase(), ` ${email.toLowerCase()} `]) {
      const r = await c.post(SIGN_UP, { json: account({ email: variant }) });
      assert.equal(r.status, 409, variant);
      assert.equal(r.body.type, problemType('email-taken'));
      assert.equal(r.body.errors[0].field, 'email');
    }
    const [n] = await srv.sql('select count(*)::int as n from registrar.users where email = $1', [email.toLowerCase()]);
    assert.equal(n.n, 1);
  });

  test('two sign-ups of one email at once: one account, one 409', async () => {
    const email = uniqueEmail('race');
    const rs = await Promise.all([0, 1, 2].map(() => client(srv.url).post(SIGN_UP, { json: account({ email }) })));
    assert.deepEqual(rs.map((r) => r.status).sort(), [201, 409, 409]);
  });

  test('creates a learner: 201 with the user, trimmed fields, no password, not cached', async () => {
    const c = client(srv.url);
    const body = account({ full_name: '  Dr Ann Lee ', profession: 'physician', credentials: ' MD, PhD ', institution: 'St Elsewhere' });
    const r = await c.post(SIGN_UP, { json: body });
    assert.equal(r.status, 201);
    assert.deepEqual(Object.keys(r.body).sort(), USER_KEYS);
    assert.match(r.body.id, /^[0-9a-f-]{36}$/);
    assert.equal(r.body.full_name, 'Dr Ann Lee');
    assert.equal(r.body.credentials, 'MD, PhD');
    assert.equal(r.body.institution, 'St Elsewhere');
    assert.equal(r.body.profession, 'physician');
    assert.deepEqual(r.body.roles, { admin: false, director_of: [] });
    assert.ok(Math.abs(Date.parse(r.body.created_at) - Date.now()) < 60e3);
    assert.match(r.body.created_at, /(Z|[+-]\d\d:\d\d)$/);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.ok(!r.text.includes(body.password));
    // Signing up does not sign in.
    assert.deepEqual(c.cookies(), {});
    // Optional fields default to empty strings.
    const bare = await c.post(SIGN_UP, { json: account() });
    assert.equal(bare.body.credentials, '');
    assert.equal(bare.body.institution, '');
  });
});

describe('the signed-in user: GET and PATCH /api/v1/me', () => {
  test('401 without a session', async () => {
    const anon = client(srv.url);
    for (const r of [await anon.get('/api/v1/me'), await anon.patch('/api/v1/me', { json: { full_name: 'X' } })]) {
      assert.equal(r.status, 401);
      assert.equal(r.body.type, problemType('unauthenticated'));
    }
  });

  test('PATCH refuses fields that are not the profile\'s, by name', async () => {
    const ann = await newUser(srv);
    for (const [field, value] of [['is_admin', true], ['roles', { admin: true, director_of: ['pcep'] }], ['email', 'new@example.org'],
      ['password', 'a new password here'], ['id', ann.user.id], ['created_at', '2020-01-01T00:00:00Z']]) {
      const r = await ann.c.patch('/api/v1/me', { json: { [field]: value } });
      assert.equal(r.status, 400, field);
      assert.equal(r.body.errors[0].field, field);
    }
    for (const [fields, field] of [[{ full_name: '' }, 'full_name'], [{ profession: 'surgeon' }, 'profession'],
      [{ credentials: 'x'.repeat(101) }, 'credentials'], [{ institution: 7 }, 'institution']]) {
      const r = await ann.c.patch('/api/v1/me', { json: fields });
      assert.equal(r.status, 400);
      assert.equal(r.body.errors[0].field, field);
    }
    const me = await ann.c.get('/api/v1/me');
    assert.deepEqual(me.body, ann.user, 'a refused PATCH changed the account');
  });

  test('GET shows the caller\'s own account, with an ETag, never cached by others', async () => {
    const ann = await newUser(srv, { full_name: 'Ann' });
    const bob = await newUser(srv, { full_name: 'Bob' });
    const r = await ann.c.get('/api/v1/me');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, ann.user);
    assert.deepEqual(Object.keys(r.body).sort(), USER_KEYS);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[^"]+"$/);
    assert.equal((await ann.c.get('/api/v1/me', { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await bob.c.get('/api/v1/me', { headers: { 'if-none-match': etag } })).status, 200);
    assert.equal((await bob.c.get('/api/v1/me')).body.full_name, 'Bob');
  });

  test('PATCH changes only the caller\'s profile', async () => {
    const ann = await newUser(srv, { profession: 'nurse' });
    const bob = await newUser(srv);
    const r = await ann.c.patch('/api/v1/me', { json: { full_name: ' Ann B. Lee ', profession: 'chaplain', credentials: 'MDiv', institution: 'Hospice' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.full_name, 'Ann B. Lee');
    assert.equal(r.body.profession, 'chaplain');
    assert.equal(r.body.credentials, 'MDiv');
    assert.equal(r.body.institution, 'Hospice');
    assert.equal(r.body.email, ann.email);
    assert.deepEqual(r.body.roles, { admin: false, director_of: [] });
    assert.deepEqual((await ann.c.get('/api/v1/me')).body, r.body);
    // Fields not sent stay; an empty body changes nothing.
    const partial = await ann.c.patch('/api/v1/me', { json: { institution: '' } });
    assert.equal(partial.body.full_name, 'Ann B. Lee');
    assert.equal(partial.body.institution, '');
    assert.deepEqual((await ann.c.patch('/api/v1/me', { json: {} })).body, partial.body);
    // Nobody else's account moved.
    assert.deepEqual((await bob.c.get('/api/v1/me')).body, bob.user);
  });

  test('there is no way for a learner to name another account: the people routes are admins\' (403), other ids are not found', async () => {
    const ann = await newUser(srv);
    const bob = await newUser(srv);
    for (const path of [`/api/v1/accounts/${bob.user.id}`, `/api/v1/me/${bob.user.id}`]) {
      const r = await ann.c.get(path);
      assert.equal(r.status, 404, path);
    }
    // Issue 11: GET /api/v1/users and /users/{id} exist for admins only; the
    // 403 is the same for any id, so it tells nothing of the account.
    for (const path of [`/api/v1/users/${bob.user.id}`, '/api/v1/users/00000000-0000-4000-8000-000000000000', `/api/v1/users?q=${encodeURIComponent(bob.email)}`]) {
      const r = await ann.c.get(path);
      assert.equal(r.status, 403, path);
      assert.ok(!JSON.stringify(r.body).includes(bob.email), path);
    }
  });
});

describe('roles: course directors and admins', () => {
  const DIRECTORS = (slug, id) => `/api/v1/courses/${slug}/directors/${id}`;

  test('granting and revoking need an admin: 401 anonymous, 403 for a learner, 403 csrf without the token', async () => {
    const ann = await newUser(srv);
    const admin = await newAdmin(srv);
    let r = await client(srv.url).put(DIRECTORS('pcep', ann.user.id));
    assert.equal(r.status, 401);
    r = await ann.c.put(DIRECTORS('pcep', ann.user.id));
    assert.equal(r.status, 403);
    assert.equal(r.body.type, problemType('forbidden'));
    r = await ann.c.del(DIRECTORS('pcep', ann.user.id));
    assert.equal(r.status, 403);
    r = await admin.c.put(DIRECTORS('pcep', ann.user.id), { csrf: false });
    assert.equal(r.status, 403);
    assert.equal(r.body.type, problemType('csrf'));
    assert.deepEqual((await ann.c.get('/api/v1/me')).body.roles.director_of, []);
  });

  test('an unknown course or user is 404', async () => {
    const ann = await newUser(srv);
    const admin = await newAdmin(srv);
    for (const path of [DIRECTORS('no-such-course', ann.user.id), DIRECTORS('pcep', '00000000-0000-4000-8000-000000000000'),
      DIRECTORS('pcep', 'not-a-uuid')]) {
      for (const method of ['put', 'del']) {
        const r = await admin.c[method](path);
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.body.type, problemType('not-found'));
      }
    }
  });

  test('an admin grants and revokes a course\'s director role; each change is audited once', async () => {
    const ann = await newUser(srv, { full_name: 'Director Ann' });
    const admin = await newAdmin(srv);
    const audit = () => srv.sql('select actor_id, action, object, detail from registrar.audit_log where object = $1 order by id', [`user:${ann.user.id}`]);

    assert.equal((await admin.c.put(DIRECTORS('pcep', ann.user.id))).status, 204);
    assert.equal((await admin.c.put(DIRECTORS('pcep', ann.user.id))).status, 204, 'granting twice');
    assert.equal((await client(srv.url).put(DIRECTORS('serious-illness-communication', ann.user.id), { token: admin.token })).status, 204);
    assert.deepEqual((await ann.c.get('/api/v1/me')).body.roles, { admin: false, director_of: ['pcep', 'serious-illness-communication'] });
    // The public course lists its director (the catalog cache clears on the change).
    let course;
    for (let i = 0; i < 20; i++) {
      course = await client(srv.url).get('/api/v1/courses/pcep');
      if (course.body.directors.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(course.body.directors, [{ id: ann.user.id, full_name: 'Director Ann' }]);

    let rows = await audit();
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], { actor_id: admin.user.id, action: 'director.grant', object: `user:${ann.user.id}`,
      detail: { course: 'pcep', user_id: ann.user.id } });

    assert.equal((await admin.c.del(DIRECTORS('pcep', ann.user.id))).status, 204);
    assert.equal((await admin.c.del(DIRECTORS('pcep', ann.user.id))).status, 204, 'revoking twice');
    assert.deepEqual((await ann.c.get('/api/v1/me')).body.roles.director_of, ['serious-illness-communication']);
    rows = await audit();
    assert.equal(rows.length, 3);
    assert.equal(rows[2].action, 'director.revoke');
    assert.equal(rows[2].actor_id, admin.user.id);
  });
});

describe('registrar create-admin', () => {
  test('refuses bad input with exit status 2 and writes nothing', async () => {
    const email = uniqueEmail('badadmin');
    for (const [opts, why] of [
      [{ email, password: 'short' }, 'short password'],
      [{ email, password: '' }, 'empty password'],
      [{ email: 'not-an-email', password: DEFAULT_PASSWORD }, 'bad email'],
      [{ email, fullName: '', password: DEFAULT_PASSWORD }, 'empty name'],
      [{ email, fullName: 'Ada\u202eAdmin', password: DEFAULT_PASSWORD }, 'override in the name (the sign-up rule)'],
      [{ email: `a\u2066${email}`, password: DEFAULT_PASSWORD }, 'isolate in the email'],
    ]) {
      const r = await createAdmin(srv, opts);
      assert.equal(r.code, 2, `${why}: ${r.out}`);
    }
    const [n] = await srv.sql('select count(*)::int as n from registrar.users where email = $1', [email]);
    assert.equal(n.n, 0);
  });

  test('creates an admin who can sign in with the first line of standard input', async () => {
    const email = uniqueEmail('Admin');
    const r = await createAdmin(srv, { email: ` ${email} `, fullName: 'Ada Admin', password: 'first line password\r\nsecond line' });
    assert.equal(r.code, 0, r.out);
    assert.ok(!r.out.includes('first line password'));
    const c = client(srv.url);
    const s = await signIn(c, { email, password: 'first line password' });
    assert.equal(s.user.email, email.toLowerCase());
    assert.equal(s.user.full_name, 'Ada Admin');
    assert.deepEqual(s.user.roles, { admin: true, director_of: [] });
    const [row] = await srv.sql("select action from registrar.audit_log where object = $1", [`user:${s.user.id}`]);
    assert.equal(row.action, 'admin.create');
    assert.equal((await c.post(SIGN_IN, { json: { email, password: 'first line password\r\nsecond line' } })).status, 401);
  });

  test('promotes an existing account, whose password and sessions stay, and says so', async () => {
    const ann = await newUser(srv);
    assert.equal((await ann.c.put(`/api/v1/courses/pcep/directors/${ann.user.id}`)).status, 403);
    const r = await createAdmin(srv, { email: ann.email.toUpperCase(), password: 'some other password' });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /admin/);
    const me = await ann.c.get('/api/v1/me');
    assert.equal(me.body.roles.admin, true, 'the session did not see the promotion');
    assert.equal((await ann.c.put(`/api/v1/courses/pcep/directors/${ann.user.id}`)).status, 204);
    assert.equal((await client(srv.url).post(SIGN_IN, { json: { email: ann.email, password: 'some other password' } })).status, 401);
    await signIn(client(srv.url), { email: ann.email });
    // The test helper does the same.
    const bob = await newUser(srv);
    await makeAdmin(srv, bob.email);
    assert.equal((await bob.c.get('/api/v1/me')).body.roles.admin, true);
    await makeDirector(ann.c, 'practical-aspects', bob.user.id);
    assert.deepEqual((await bob.c.get('/api/v1/me')).body.roles.director_of, ['practical-aspects']);
  });
});

describe('email verification', () => {
  let vsrv;
  before(async () => { vsrv = await startServer({ env: { REGISTRAR_PUBLIC_URL: 'https://registrar.example.org/' } }); });
  after(async () => { await vsrv?.stop(); });

  const confirm = (c, token, extra = {}) =>
    c.post('/api/v1/auth/email-verifications/confirm', { json: { token, ...extra } });
  const verifyMail = (email) => vsrv.sql(
    "select id, subject, body from registrar.outbox where recipient = $1 and subject like 'Confirm your email%' order by id", [email]);
  const tokenOf = (body) => body.match(/#\/verify\?token=([A-Za-z0-9_-]{43})/)?.[1];

  test('sign-up sends one link, absolute from REGISTRAR_PUBLIC_URL; the token is kept only as a keyed digest', async () => {
    const c = client(vsrv.url);
    const { user, email } = await signUp(c, { full_name: 'Vera Verify' }, { verified: false });
    assert.equal(user.email_verified, false);
    const mail = await verifyMail(email);
    assert.equal(mail.length, 1);
    assert.match(mail[0].body, /^Hello Vera Verify,/);
    assert.match(mail[0].body, /\nhttps:\/\/registrar\.example\.org\/#\/verify\?token=[A-Za-z0-9_-]{43}\n/);
    const token = tokenOf(mail[0].body);
    const [row] = await vsrv.sql(
      "select encode(token_hash, 'hex') as h, expires_at - created_at as ttl from registrar.email_verifications where user_id = $1",
      [user.id]);
    assert.equal(row.ttl.days, 1, 'a one-day link');
    assert.ok(!row.h.includes(Buffer.from(token, 'base64url').toString('hex')));
  });

  test('confirming: 204 once, email_verified true; used, unknown, expired and malformed tokens are 400 invalid-token', async () => {
    const ann = await newUser(vsrv, {}, { verified: false });
    assert.equal((await ann.c.get('/api/v1/me')).body.email_verified, false);
    const anon = client(vsrv.url);
    let r = await confirm(anon, undefined);
    assert.equal(r.status, 400);
    assert.equal(r.body.type, problemType('invalid-request'));
    r = await confirm(anon, 'x', { email: ann.email });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, 'email');
    for (const bad of ['A'.repeat(43), 'not even a token', '']) {
      r = await confirm(anon, bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.type, problemType(bad === '' ? 'invalid-request' : 'invalid-token'), bad);
    }
    // A second link (the first stays good until one is used).
    assert.equal((await ann.c.post('/api/v1/me/email-verification')).status, 202);
    const [first, second] = (await verifyMail(ann.email)).map((m) => tokenOf(m.body));
    assert.ok(first && second && first !== second);
    r = await confirm(anon, first);
    assert.equal(r.status, 204, r.text);
    assert.equal((await ann.c.get('/api/v1/me')).body.email_verified, true);
    for (const used of [first, second]) {
      r = await confirm(anon, used);
      assert.equal(r.status, 400);
      assert.equal(r.body.type, problemType('invalid-token'));
    }
    // Verified: asking again is 202 and sends nothing.
    assert.equal((await ann.c.post('/api/v1/me/email-verification')).status, 202);
    assert.equal((await verifyMail(ann.email)).length, 2);

    // A link older than a day is dead.
    const bob = await newUser(vsrv, {}, { verified: false });
    const [m] = await verifyMail(bob.email);
    await vsrv.sql("update registrar.email_verifications set created_at = now() - interval '25 hours', expires_at = now() - interval '1 hour' where user_id = $1", [bob.user.id]);
    r = await confirm(anon, tokenOf(m.body));
    assert.equal(r.status, 400);
    assert.equal(r.body.type, problemType('invalid-token'));
    assert.equal((await bob.c.get('/api/v1/me')).body.email_verified, false);
  });

  test('asking for a link: 401 signed out, 403 without CSRF, unknown fields 400, at most 5 an hour (202 all the same)', async () => {
    assert.equal((await client(vsrv.url).post('/api/v1/me/email-verification')).status, 401);
    const ann = await newUser(vsrv, {}, { verified: false });
    assert.equal((await ann.c.post('/api/v1/me/email-verification', { csrf: false })).status, 403);
    const bad = await ann.c.post('/api/v1/me/email-verification', { json: { email: 'other@example.org' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'email');
    const rs = await Promise.all(Array.from({ length: 8 }, () =>
      client(vsrv.url).post('/api/v1/me/email-verification', { token: ann.token })));
    assert.deepEqual(rs.map((r) => r.status), Array(8).fill(202));
    assert.equal((await verifyMail(ann.email)).length, 5, 'the sign-up link and 4 more');
  });

  test('a delivered link is removed from the outbox row, which stays readable', async () => {
    const ann = await newUser(vsrv, {}, { verified: false });
    const [m] = await verifyMail(ann.email);
    // What the mail job calls once the relay accepted the message.
    await vsrv.sql('select registrar.outbox_sent($1)', [m.id]);
    const [after] = await verifyMail(ann.email);
    assert.equal(tokenOf(after.body), undefined);
    assert.match(after.body, /^Hello /);
    assert.match(after.body, /\[link removed after delivery\]/);
    const r = await confirm(client(vsrv.url), tokenOf(m.body));
    assert.equal(r.status, 204, 'the link itself still works from the mailbox');
  });

  test('admins made by create-admin count as verified, new and promoted', async () => {
    const admin = await newAdmin(vsrv);
    assert.equal(admin.user.email_verified, true);
    const ann = await newUser(vsrv, {}, { verified: false });
    await makeAdmin(vsrv, ann.email);
    assert.equal((await ann.c.get('/api/v1/me')).body.email_verified, true);
  });
});

describe('sign-ups are limited per client address, shared by every process', () => {
  test('REGISTRAR_SIGNUP_LIMIT a hour per IPv4 address and per IPv6 /64: 429 rate-limited with Retry-After, before hashing', async () => {
    const lim = await startServer({ processes: 2, env: { REGISTRAR_SIGNUP_LIMIT: '3', REGISTRAR_TRUST_PROXY: 'true' } });
    try {
      const up = (i, ip, fields = {}) => client(lim.urls[i % 2]).post(SIGN_UP,
        { json: account(fields), headers: { 'x-real-ip': ip } });
      const rs = await Promise.all(Array.from({ length: 7 }, (_, i) => up(i, '203.0.113.7')));
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, 201, 201, 429, 429, 429, 429]);
      for (const r of rs.filter((x) => x.status === 429)) {
        assert.equal(r.body.type, problemType('rate-limited'));
        assert.ok(Number(r.headers.get('retry-after')) > 3000);
        assert.match(r.headers.get('content-type'), /application\/problem\+json/);
      }
      // A failed sign-up (its email taken) counted too.
      const taken = uniqueEmail('taken');
      assert.equal((await up(0, '203.0.113.8', { email: taken })).status, 201);
      assert.equal((await up(1, '203.0.113.8', { email: taken })).status, 409);
      assert.equal((await up(0, '203.0.113.8')).status, 201);
      assert.equal((await up(1, '203.0.113.8')).status, 429);
      // IPv6: one /64 is one address; the next /64 another.
      const v6 = await Promise.all(['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff::3', '2001:db8:1:2:aaaa::4']
        .map((ip, i) => up(i, ip)));
      assert.deepEqual(v6.map((r) => r.status).sort(), [201, 201, 201, 429]);
      assert.equal((await up(0, '2001:db8:1:3::1')).status, 201);
      assert.equal((await up(0, '203.0.113.9')).status, 201, 'another IPv4 address');
      const [{ n }] = await lim.sql("select count(*)::int as n from registrar.users");
      assert.equal(n, 3 + 2 + 3 + 1 + 1);
    } finally {
      await lim.stop();
    }
  });

  test('registrar.address_key: the IPv4 address, the IPv6 /64, IPv4-mapped as IPv4', async () => {
    const rows = await srv.sql(
      `select registrar.address_key('203.0.113.7')::text as a, registrar.address_key('2001:db8:1:2:3:4:5:6')::text as b,
              registrar.address_key('::ffff:203.0.113.7')::text as c, registrar.address_key(null)::text as d,
              registrar.address_key('::1')::text as e`);
    assert.deepEqual(rows[0], { a: '203.0.113.7/32', b: '2001:db8:1:2::/64', c: '203.0.113.7/32', d: null, e: '::/64' });
  });
});

// Running the centre, administration (docs/api.md "Catalog" and "Running the
// centre"): courses created by admins and changed by admins and their
// directors, people found and read by admins, the admin role given and
// taken (never from the last admin), every change audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, client, randomHex } from '../lib/harness.mjs';
import { account, as, openOffering } from '../lib/enroll.mjs';

let srv, admin, director, otherDirector, learner;

const PROBLEM = 'https://registrar.invalid/problems/';

before(async () => {
  srv = await startServer({ processes: 1 });
  [admin, director, otherDirector, learner] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { directorOf: ['pcep'] }),
    account(srv),
  ]);
});

after(async () => {
  await srv?.stop();
});

const audit = async (action, object) => srv.sql(
  'select actor_id, action, object, detail from registrar.audit_log where action = $1 and object = $2 order by id',
  [action, object]);

const courseBody = (over = {}) => ({
  slug: `c-${randomHex(4)}`,
  title: 'Palliative Care in the Emergency Department',
  summary: 'Two days on the seriously ill patient in the emergency department.\nWith simulations.',
  credit_type: 'AMA PRA Category 1',
  ...over,
});

test('POST /courses: an admin creates a course; it is public at once, audited, Location names it', async () => {
  const body = courseBody();
  const r = await as(srv, admin).post('/api/v1/courses', { json: body });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body, { ...body, directors: [] });
  assert.equal(r.headers.get('location'), `/api/v1/courses/${body.slug}`);
  const pub = await client(srv.url).get(`/api/v1/courses/${body.slug}`);
  assert.equal(pub.status, 200);
  assert.equal(pub.body.title, body.title);
  const rows = await audit('course.create', `course:${body.slug}`);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].actor_id, admin.id);
});

test('POST /courses: the same slug twice is 409 slug-taken, and nothing changes', async () => {
  const body = courseBody();
  assert.equal((await as(srv, admin).post('/api/v1/courses', { json: body })).status, 201);
  const again = await as(srv, admin).post('/api/v1/courses', { json: { ...body, title: 'Another' } });
  assert.equal(again.status, 409);
  assert.equal(again.body.type, `${PROBLEM}slug-taken`);
  const [row] = await srv.sql('select title from registrar.courses where slug = $1', [body.slug]);
  assert.equal(row.title, body.title);
  // A seeded course's slug too.
  assert.equal((await as(srv, admin).post('/api/v1/courses', { json: courseBody({ slug: 'pcep' }) })).status, 409);
});

test('POST /courses: only admins; bad bodies are 400 naming the field', async () => {
  assert.equal((await client(srv.url).post('/api/v1/courses', { json: courseBody() })).status, 401);
  for (const who of [director, learner]) {
    const r = await as(srv, who).post('/api/v1/courses', { json: courseBody() });
    assert.equal(r.status, 403);
  }
  const bad = [
    [{ slug: undefined }, 'slug'],
    [{ slug: 'Upper-Case' }, null],
    [{ slug: 'two--hyphens' }, null],
    [{ slug: 'a b' }, 'slug'],
    [{ title: '' }, 'title'],
    [{ title: 'evil\u202etitle' }, 'title'],
    [{ credit_type: undefined }, 'credit_type'],
    [{ summary: 'x'.repeat(4001) }, 'summary'],
    [{ directors: [] }, 'directors'],
  ];
  for (const [over, field] of bad) {
    const r = await as(srv, admin).post('/api/v1/courses', { json: courseBody(over) });
    assert.equal(r.status, 400, `${JSON.stringify(over)}: ${r.text}`);
    assert.equal(r.body.type, `${PROBLEM}invalid-request`);
    if (field) assert.equal(r.body.errors[0].field, field, JSON.stringify(over));
  }
  const [{ n }] = await srv.sql("select count(*)::int as n from registrar.courses where title = 'Palliative Care in the Emergency Department' and slug !~ '^c-'");
  assert.equal(n, 0);
});

test('PATCH /courses/{slug}: admins and its directors; another course\'s director 403; audited', async () => {
  const body = courseBody();
  assert.equal((await as(srv, admin).post('/api/v1/courses', { json: body })).status, 201);
  await srv.sql(
    `insert into registrar.course_directors (course_id, user_id)
     select id, $2 from registrar.courses where slug = $1`, [body.slug, director.id]);
  const byDirector = await as(srv, director).patch(`/api/v1/courses/${body.slug}`, { json: { title: 'New title' } });
  assert.equal(byDirector.status, 200, byDirector.text);
  assert.equal(byDirector.body.title, 'New title');
  assert.equal(byDirector.body.summary, body.summary, 'members not sent stay');
  assert.deepEqual(byDirector.body.directors.map((d) => d.id), [director.id]);
  const byAdmin = await as(srv, admin).patch(`/api/v1/courses/${body.slug}`, { json: { summary: '' } });
  assert.equal(byAdmin.status, 200);
  assert.equal(byAdmin.body.summary, '');
  const other = await as(srv, otherDirector).patch(`/api/v1/courses/${body.slug}`, { json: { title: 'Mine' } });
  assert.equal(other.status, 403);
  assert.equal(other.body.type, `${PROBLEM}forbidden`);
  assert.equal((await as(srv, learner).patch(`/api/v1/courses/${body.slug}`, { json: { title: 'x' } })).status, 403);
  assert.equal((await as(srv, admin).patch('/api/v1/courses/no-such-course', { json: { title: 'x' } })).status, 404);
  const slugChange = await as(srv, admin).patch(`/api/v1/courses/${body.slug}`, { json: { slug: 'other' } });
  assert.equal(slugChange.status, 400);
  assert.equal(slugChange.body.errors[0].field, 'slug');
  const [row] = await srv.sql('select title from registrar.courses where slug = $1', [body.slug]);
  assert.equal(row.title, 'New title');
  const rows = await audit('course.update', `course:${body.slug}`);
  assert.deepEqual(rows.map((r) => [r.actor_id, r.detail.fields]), [[director.id, ['title']], [admin.id, ['summary']]]);
});

test('GET /users: admins only; q matches email or name in any case, literally; pages by email', async () => {
  const tag = randomHex(4);
  const people = [
    ['ann', `ann.${tag}@hospital.example`, `Ann Ward ${tag}`],
    ['bob', `bob.${tag}@hospital.example`, `Bob O'Neil ${tag}`],
    ['cyd', `cyd_${tag}@clinic.example`, `Cyd 100% ${tag}`],
  ];
  for (const [, email, name] of people) {
    await srv.sql(
      `insert into registrar.users (email, full_name, profession) values ($1, $2, 'nurse')`, [email, name]);
  }
  assert.equal((await client(srv.url).get('/api/v1/users')).status, 401);
  assert.equal((await as(srv, director).get('/api/v1/users')).status, 403);
  assert.equal((await as(srv, learner).get(`/api/v1/users?q=${tag}`)).status, 403);

  const all = await as(srv, admin).get(`/api/v1/users?q=${tag.toUpperCase()}`);
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.body.items.map((u) => u.email), people.map((p) => p[1]).sort());
  assert.equal(all.body.next_cursor, null);
  assert.ok(!('password_hash' in all.body.items[0]));
  const byName = await as(srv, admin).get(`/api/v1/users?q=${encodeURIComponent(`o'neil ${tag}`)}`);
  assert.deepEqual(byName.body.items.map((u) => u.email), [people[1][1]]);
  // % and _ are letters here, not wildcards.
  const pct = await as(srv, admin).get(`/api/v1/users?q=${encodeURIComponent('100%')}`);
  assert.deepEqual(pct.body.items.map((u) => u.email), [people[2][1]]);
  const under = await as(srv, admin).get(`/api/v1/users?q=${encodeURIComponent(`_${tag}`)}`);
  assert.deepEqual(under.body.items.map((u) => u.email), [people[2][1]]);
  // Pages.
  const p1 = await as(srv, admin).get(`/api/v1/users?q=${tag}&limit=2`);
  assert.equal(p1.body.items.length, 2);
  assert.ok(p1.body.next_cursor);
  const p2 = await as(srv, admin).get(`/api/v1/users?q=${tag}&limit=2&cursor=${p1.body.next_cursor}`);
  assert.deepEqual([...p1.body.items, ...p2.body.items].map((u) => u.email), people.map((p) => p[1]).sort());
  assert.equal(p2.body.next_cursor, null);
  // Bad queries.
  for (const q of ['limit=0', 'cursor=zz', `q=${'x'.repeat(201)}`, 'q=a%0Ab', 'sort=email']) {
    assert.equal((await as(srv, admin).get(`/api/v1/users?${q}`)).status, 400, q);
  }
  // The trigram index the search is written for exists (its expression is the search's).
  const [idx] = await srv.sql("select indexdef from pg_indexes where indexname = 'users_search_trgm'");
  assert.match(idx.indexdef, /USING gin [^]*gin_trgm_ops/);
});

test('GET /users/{id}: the person and their registrations; audited; admins only', async () => {
  const off = await openOffering(srv, admin, { capacity: 5 });
  const r0 = await as(srv, learner).post(`/api/v1/offerings/${off.id}/enrollments`);
  assert.equal(r0.status, 201);
  const r = await as(srv, admin).get(`/api/v1/users/${learner.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.id, learner.id);
  assert.equal(r.body.email, learner.email);
  assert.equal(r.body.enrollments.length, 1);
  assert.equal(r.body.enrollments[0].id, r0.body.id);
  assert.equal(r.body.enrollments[0].offering_title, off.title);
  assert.equal(r.body.enrollments[0].course_slug, 'practical-aspects');
  const rows = await audit('user.read', `user:${learner.id}`);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].actor_id, admin.id);
  assert.equal((await as(srv, director).get(`/api/v1/users/${learner.id}`)).status, 403);
  assert.equal((await as(srv, learner).get(`/api/v1/users/${learner.id}`)).status, 403);
  assert.equal((await as(srv, admin).get('/api/v1/users/00000000-0000-4000-8000-000000000000')).status, 404);
  assert.equal((await as(srv, admin).get('/api/v1/users/not-a-uuid')).status, 404);
});

test('PUT/DELETE /users/{id}/admin: audited, idempotent, never the last admin', async () => {
  const someone = await account(srv);
  assert.equal((await as(srv, director).put(`/api/v1/users/${someone.id}/admin`)).status, 403);
  assert.equal((await as(srv, admin).put(`/api/v1/users/${someone.id}/admin`)).status, 204);
  assert.equal((await as(srv, admin).put(`/api/v1/users/${someone.id}/admin`)).status, 204);
  const [row] = await srv.sql('select is_admin from registrar.users where id = $1', [someone.id]);
  assert.equal(row.is_admin, true);
  assert.equal((await audit('admin.grant', `user:${someone.id}`)).length, 1, 'a no-op writes no row');
  // The new admin may now act as one.
  assert.equal((await as(srv, someone).get('/api/v1/users?limit=1')).status, 200);
  assert.equal((await as(srv, someone).del(`/api/v1/users/${someone.id}/admin`)).status, 204);
  assert.equal((await as(srv, someone).get('/api/v1/users?limit=1')).status, 403);
  assert.equal((await audit('admin.revoke', `user:${someone.id}`)).length, 1);
  assert.equal((await as(srv, admin).del('/api/v1/users/00000000-0000-4000-8000-000000000000/admin')).status, 404);

  // Leave one admin, who cannot unmake themself; two admins unmaking each
  // other at once leave one of them.
  const second = await account(srv, { admin: true });
  await srv.sql('update registrar.users set is_admin = false where is_admin and id <> all($1::uuid[])',
    [[admin.id, second.id]]);
  const [a, b] = await Promise.all([
    as(srv, admin).del(`/api/v1/users/${second.id}/admin`),
    as(srv, second).del(`/api/v1/users/${admin.id}/admin`),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.ok(JSON.stringify(statuses) === '[204,409]' || JSON.stringify(statuses) === '[204,403]', JSON.stringify(statuses));
  const [{ n }] = await srv.sql('select count(*)::int as n from registrar.users where is_admin');
  assert.equal(n, 1);
  const [last] = await srv.sql('select id from registrar.users where is_admin');
  const lastOne = last.id === admin.id ? admin : second;
  const refused = await as(srv, lastOne).del(`/api/v1/users/${lastOne.id}/admin`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.type, `${PROBLEM}last-admin`);
  // Restore for other tests.
  await srv.sql('update registrar.users set is_admin = true where id = $1', [admin.id]);
});

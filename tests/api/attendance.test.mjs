// Attendance, check-in at the door and by room code, badges, the audit log
// (docs/api.md "Rosters, attendance, credits"): who may call each route, every
// refusal, the database state after each call (srv.sql), audit rows, and the
// same scan nonce replayed through two server processes at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, client } from '../lib/harness.mjs';
import { account, as, learners, offeringIn } from '../lib/enroll.mjs';
import { createOffering, sessionBody } from '../lib/catalog.mjs';

const P = 'https://registrar.invalid/problems/';
let srv, admin, director, otherDirector, off, other, sess, live, otherSess, ls, es, otherE;

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

before(async () => {
  srv = await startServer({ processes: 2 });
  [admin, director, otherDirector] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['practical-aspects'] }),
    account(srv, { directorOf: ['pcep'] }),
  ]);
  // Free offerings starting today: registering confirms at once.
  const free = {
    prices: [{ profession: 'physician', amount_cents: 0 }],
    registration_closes_at: new Date(Date.now() + 3 * 3600000).toISOString(),
  };
  off = await createOffering(srv, admin, 'practical-aspects', offeringIn(0, free));
  other = await createOffering(srv, admin, 'practical-aspects', offeringIn(0, free));
  const now = Date.now();
  const mk = async (o, over) => {
    const r = await as(srv, admin).post(`/api/v1/offerings/${o.id}/sessions`, { json: sessionBody(over) });
    assert.equal(r.status, 201, r.text);
    return r.body;
  };
  // A session under way now (self check-in open), one tomorrow-ish (closed).
  live = await mk(off, { starts_at: iso(now - 10 * 60000), ends_at: iso(now + 50 * 60000), credit_hours: 1.5 });
  sess = await mk(off, { starts_at: iso(now + 5 * 3600000), ends_at: iso(now + 6 * 3600000), credit_hours: 2 });
  otherSess = await mk(other, { starts_at: iso(now - 10 * 60000), ends_at: iso(now + 50 * 60000) });
  ls = await learners(srv, 5);
  es = [];
  for (const l of ls.slice(0, 4)) {
    const r = await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.status, 'confirmed', r.text);
    es.push(r.body);
  }
  const r = await as(srv, ls[4]).post(`/api/v1/offerings/${other.id}/enrollments`);
  assert.equal(r.status, 201, r.text);
  otherE = r.body;
});

after(async () => {
  await srv?.stop();
});

const present = async (sessionId) => (await srv.sql(
  'select enrollment_id, method, marked_by from registrar.attendance where session_id = $1 order by enrollment_id',
  [sessionId]));
const audits = async (action, object) => srv.sql(
  'select actor_id, action, object, detail, offering_id from registrar.audit_log where action = $1 and object = $2 order by id',
  [action, object]);

test('marking one: admin or the course director; others 403, learners 403, signed out 401, unknown 404', async () => {
  const url = `/api/v1/sessions/${sess.id}/attendance/${es[0].id}`;
  assert.equal((await client(srv.url).put(url)).status, 401);
  const lr = await as(srv, ls[0]).put(url);
  assert.equal(lr.status, 403);
  assert.equal(lr.body.type, `${P}forbidden`);
  assert.equal((await as(srv, otherDirector).put(url)).status, 403);
  assert.equal((await as(srv, otherDirector).get(`/api/v1/sessions/${sess.id}/attendance`)).status, 403);
  assert.equal((await as(srv, admin).put(`/api/v1/sessions/00000000-0000-4000-8000-000000000000/attendance/${es[0].id}`)).status, 404);
  assert.equal((await as(srv, admin).put(`/api/v1/sessions/nope/attendance/${es[0].id}`)).status, 404);
  assert.deepEqual(await present(sess.id), []);

  const ok = await as(srv, director).put(url);
  assert.equal(ok.status, 204, ok.text);
  const rows = await present(sess.id);
  assert.deepEqual(rows, [{ enrollment_id: es[0].id, method: 'manual', marked_by: director.id }]);
  // Twice: no second row, no second audit row.
  assert.equal((await as(srv, admin).put(url)).status, 204);
  assert.equal((await present(sess.id)).length, 1);
  const a = await audits('attendance.mark', `enrollment:${es[0].id}`);
  assert.equal(a.length, 1);
  assert.equal(a[0].actor_id, director.id);
  assert.equal(a[0].offering_id, off.id);
  assert.deepEqual(a[0].detail, { session_id: sess.id });

  // The roster's attended_hours is the attended sessions' credit hours.
  const roster = await as(srv, director).get(`/api/v1/offerings/${off.id}/roster`);
  const mine = roster.body.items.find((x) => x.enrollment.id === es[0].id);
  assert.equal(Number(mine.attended_hours), 2);

  const del = await as(srv, director).del(url);
  assert.equal(del.status, 204);
  assert.deepEqual(await present(sess.id), []);
  assert.equal((await audits('attendance.unmark', `enrollment:${es[0].id}`)).length, 1);
});

test('only confirmed enrollments of the session\'s offering: 422 not-confirmed, nothing changed', async () => {
  const wrong = await as(srv, director).put(`/api/v1/sessions/${sess.id}/attendance/${otherE.id}`);
  assert.equal(wrong.status, 422, wrong.text);
  assert.equal(wrong.body.type, `${P}not-confirmed`);
  assert.deepEqual(wrong.body.enrollment_ids, [otherE.id]);
  const missing = await as(srv, director).put(`/api/v1/sessions/${sess.id}/attendance/00000000-0000-4000-8000-000000000000`);
  assert.equal(missing.status, 422);
  // Many at once with one bad id: none is marked.
  const many = await as(srv, director).put(`/api/v1/sessions/${sess.id}/attendance`, {
    json: { enrollment_ids: [es[1].id, otherE.id], present: true },
  });
  assert.equal(many.status, 422);
  assert.deepEqual(await present(sess.id), []);
  // A cancelled registration is not confirmed any more.
  const l = (await learners(srv, 1))[0];
  const e = (await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
  assert.equal((await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`)).status, 200);
  const c = await as(srv, director).put(`/api/v1/sessions/${sess.id}/attendance/${e.id}`);
  assert.equal(c.status, 422);
  assert.equal(c.body.type, `${P}not-confirmed`);
});

test('many at once, the list, and bad bodies', async () => {
  const url = `/api/v1/sessions/${sess.id}/attendance`;
  for (const json of [{}, { enrollment_ids: [] , present: true }, { enrollment_ids: ['x'], present: true },
    { enrollment_ids: [es[0].id] }, { enrollment_ids: [es[0].id], present: 'yes' },
    { enrollment_ids: [es[0].id], present: true, extra: 1 }]) {
    const r = await as(srv, director).put(url, { json });
    assert.equal(r.status, 400, JSON.stringify(json));
  }
  const r = await as(srv, director).put(url, { json: { enrollment_ids: [es[0].id, es[1].id, es[2].id], present: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.changed, 3);
  const again = await as(srv, director).put(url, { json: { enrollment_ids: [es[0].id, es[3].id], present: true } });
  assert.equal(again.body.changed, 1);
  const list = await as(srv, director).get(url);
  assert.equal(list.status, 200);
  assert.equal(list.body.items.length, 4);
  const first = list.body.items.find((x) => x.enrollment_id === es[0].id);
  assert.equal(first.learner.id, ls[0].id);
  assert.equal(typeof first.learner.full_name, 'string');
  assert.equal(first.method, 'manual');
  assert.match(first.checked_in_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$/);
  assert.deepEqual(Object.keys(first).sort(), ['checked_in_at', 'enrollment_id', 'learner', 'method']);
  const off2 = await as(srv, director).put(url, { json: { enrollment_ids: es.map((e) => e.id), present: false } });
  assert.equal(off2.body.changed, 4);
  assert.deepEqual(await present(sess.id), []);
  assert.equal((await as(srv, admin).get(url)).body.items.length, 0);
});

test('badges: its learner, the director and admins; confirmed only; the QR decodes to the code', async () => {
  const url = `/api/v1/enrollments/${es[0].id}/badge`;
  assert.equal((await client(srv.url).get(url)).status, 401);
  assert.equal((await as(srv, ls[1]).get(url)).status, 404);
  assert.equal((await as(srv, otherDirector).get(url)).status, 404);
  const mine = await as(srv, ls[0]).get(url);
  assert.equal(mine.status, 200, mine.text);
  assert.match(mine.body.badge_code, /^[0-9A-HJKMNP-TV-Z]{16}$/);
  assert.match(mine.body.qr_svg, /^<svg /);
  assert.equal((mine.body.qr_svg.match(/<path/g) ?? []).length, 1);
  const dir = await as(srv, director).get(url);
  assert.equal(dir.body.badge_code, mine.body.badge_code);
  assert.equal((await as(srv, admin).get(url)).body.badge_code, mine.body.badge_code);
  const [{ code }] = await srv.sql('select code from registrar.badges where enrollment_id = $1', [es[0].id]);
  assert.equal(code, mine.body.badge_code);

  const svg = await as(srv, ls[0]).get(url, { headers: { Accept: 'image/svg+xml' } });
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type'), /^image\/svg\+xml/);
  assert.equal(svg.text, mine.body.qr_svg);

  // Read the QR back: draw the one path's runs into a greyscale image and
  // decode it with zbarimg (zbar-tools).
  const side = Number(/viewBox="0 0 (\d+)/.exec(svg.text)[1]);
  const scale = 6;
  const w = side * scale;
  const pix = Buffer.alloc(w * w, 255);
  for (const m of svg.text.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    const [x, y, n] = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (let yy = y * scale; yy < (y + 1) * scale; yy++) pix.fill(0, yy * w + x * scale, yy * w + (x + n) * scale);
  }
  const dir2 = mkdtempSync(path.join(tmpdir(), 'badge-'));
  const pgm = path.join(dir2, 'qr.pgm');
  writeFileSync(pgm, Buffer.concat([Buffer.from(`P5 ${w} ${w} 255\n`), pix]));
  const decoded = execFileSync('zbarimg', ['--quiet', '--raw', pgm]).toString().trim();
  rmSync(dir2, { recursive: true });
  assert.equal(decoded, mine.body.badge_code);

  // A cancelled registration has no badge.
  const l = (await learners(srv, 1))[0];
  const e = (await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
  await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`);
  const c = await as(srv, l).get(`/api/v1/enrollments/${e.id}/badge`);
  assert.equal(c.status, 409);
  assert.equal(c.body.type, `${P}not-confirmed`);
});

test('the badge sheet: a PDF with every confirmed learner, for the director; others 403; audited', async () => {
  const url = `/api/v1/offerings/${off.id}/badges`;
  assert.equal((await as(srv, ls[0]).get(url)).status, 403);
  assert.equal((await as(srv, otherDirector).get(url)).status, 403);
  assert.equal((await as(srv, admin).get('/api/v1/offerings/00000000-0000-4000-8000-000000000000/badges')).status, 404);
  // The harness's client reads text: fetch the bytes directly.
  const r = await fetch(srv.url + url, { headers: { authorization: `Bearer ${director.token}` } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/pdf');
  const bytes = Buffer.from(await r.arrayBuffer());
  const dir = mkdtempSync(path.join(tmpdir(), 'sheet-'));
  const file = path.join(dir, 'b.pdf');
  writeFileSync(file, bytes);
  const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-']).toString();
  rmSync(dir, { recursive: true });
  const codes = await srv.sql(
    `select b.code, u.full_name from registrar.badges b join registrar.enrollments e on e.id = b.enrollment_id
     join registrar.users u on u.id = e.user_id where e.offering_id = $1 and e.status = 'confirmed'`, [off.id]);
  assert.equal(codes.length, 4);
  for (const c of codes) {
    assert.ok(text.includes(c.code), `${c.code} on the sheet`);
    assert.ok(text.includes(c.full_name), `${c.full_name} on the sheet`);
  }
  const a = await audits('badges.export', `offering:${off.id}`);
  assert.equal(a.length, 1);
  assert.equal(a[0].actor_id, director.id);
});

test('check-in at the door: names the learner, refuses clearly, already, and nonces replay', async () => {
  const url = `/api/v1/sessions/${live.id}/check-ins`;
  const badge = async (e, who) => (await as(srv, who).get(`/api/v1/enrollments/${e.id}/badge`)).body.badge_code;
  const b1 = await badge(es[1], ls[1]);
  const bOther = await badge(otherE, ls[4]);

  assert.equal((await as(srv, ls[1]).post(url, { json: { badge_code: b1 } })).status, 403);
  assert.equal((await as(srv, otherDirector).post(url, { json: { badge_code: b1 } })).status, 403);
  assert.equal((await as(srv, director).post(url, { json: {} })).status, 400);
  assert.equal((await as(srv, director).post(url, { json: { badge_code: 'a b' } })).status, 400);

  const ok = await as(srv, director).post(url, { json: { badge_code: b1.toLowerCase(), nonce: 'scan-1' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.enrollment_id, es[1].id);
  assert.equal(ok.body.learner.id, ls[1].id);
  assert.equal(ok.body.already, false);
  assert.deepEqual((await present(live.id)).map((r) => [r.enrollment_id, r.method]), [[es[1].id, 'badge']]);
  const a = await audits('attendance.check_in', `enrollment:${es[1].id}`);
  assert.equal(a.length, 1);
  assert.equal(a[0].detail.method, 'badge');

  // The same nonce again: the first answer, nothing new.
  const replay = await as(srv, director).post(url, { json: { badge_code: b1, nonce: 'scan-1' } });
  assert.deepEqual(replay.body, ok.body);
  // Another scan of the same badge: already.
  const again = await as(srv, director).post(url, { json: { badge_code: b1, nonce: 'scan-2' } });
  assert.equal(again.status, 200);
  assert.equal(again.body.already, true);
  assert.equal((await present(live.id)).length, 1);
  assert.equal((await audits('attendance.check_in', `enrollment:${es[1].id}`)).length, 1);

  const unknown = await as(srv, director).post(url, { json: { badge_code: '0000000000000000' } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.type, `${P}not-found`);
  assert.equal(unknown.body.reason, 'unknown');
  const elsewhere = await as(srv, director).post(url, { json: { badge_code: bOther } });
  assert.equal(elsewhere.status, 404);
  assert.equal(elsewhere.body.reason, 'other-offering');
  // Cancelled after the badge was made.
  const l = (await learners(srv, 1))[0];
  const e = (await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
  const bc = await badge(e, l);
  await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`);
  const cancelled = await as(srv, director).post(url, { json: { badge_code: bc } });
  assert.equal(cancelled.status, 404);
  assert.equal(cancelled.body.reason, 'cancelled');
  assert.equal((await present(live.id)).length, 1);
});

test('the same nonce through two server processes at once: one attendance row, one answer', async () => {
  const b2 = (await as(srv, ls[2]).get(`/api/v1/enrollments/${es[2].id}/badge`)).body.badge_code;
  const url = `/api/v1/sessions/${live.id}/check-ins`;
  const json = { badge_code: b2, nonce: 'offline-42' };
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    as(srv, director, srv.urls?.[i % 2]).post(url, { json })));
  for (const r of answers) assert.equal(r.status, 200, r.text);
  assert.ok(answers.every((r) => r.body.already === false), 'every replay gets the first answer');
  const rows = (await present(live.id)).filter((r) => r.enrollment_id === es[2].id);
  assert.equal(rows.length, 1);
  assert.equal((await audits('attendance.check_in', `enrollment:${es[2].id}`)).length, 1);
});

test('self check-in with the room code: current and previous window, wrong code, closed session, own only', async () => {
  const codeUrl = `/api/v1/sessions/${live.id}/check-in-code`;
  assert.equal((await as(srv, ls[3]).get(codeUrl)).status, 403);
  assert.equal((await as(srv, otherDirector).get(codeUrl)).status, 403);
  const c = await as(srv, director).get(codeUrl);
  assert.equal(c.status, 200, c.text);
  assert.match(c.body.code, /^\d{6}$/);
  const exp = Date.parse(c.body.expires_at);
  assert.ok(exp > Date.now() - 1000 && exp <= Date.now() + 61000);
  assert.equal(exp % 60000, 0);

  const url = `/api/v1/enrollments/${es[3].id}/check-ins`;
  // Someone else's enrollment looks absent.
  assert.equal((await as(srv, ls[0]).post(url, { json: { session_id: live.id, code: c.body.code } })).status, 404);
  const wrongCode = c.body.code === '000000' ? '000001' : '000000';
  const bad = await as(srv, ls[3]).post(url, { json: { session_id: live.id, code: wrongCode } });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.type, `${P}invalid-code`);
  assert.equal((await as(srv, ls[3]).post(url, { json: { session_id: live.id, code: 'abc' } })).status, 422);
  // The later session is not open yet (the code is that session's).
  const later = (await as(srv, director).get(`/api/v1/sessions/${sess.id}/check-in-code`)).body.code;
  const closed = await as(srv, ls[3]).post(url, { json: { session_id: sess.id, code: later } });
  assert.equal(closed.status, 422);
  assert.equal(closed.body.type, `${P}check-in-closed`);
  // Another offering's session.
  const foreign = await as(srv, ls[3]).post(url, { json: { session_id: otherSess.id, code: c.body.code } });
  assert.equal(foreign.status, 422);
  assert.equal(foreign.body.type, `${P}unknown-session`);
  assert.equal((await present(live.id)).filter((r) => r.enrollment_id === es[3].id).length, 0);

  // The code shown now, or the one before it (read just before it changed).
  const now = (await as(srv, director).get(codeUrl)).body.code;
  const ok = await as(srv, ls[3]).post(url, { json: { session_id: live.id, code: now } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.already, false);
  const row = (await present(live.id)).find((r) => r.enrollment_id === es[3].id);
  assert.equal(row.method, 'session_code');
  assert.equal(row.marked_by, ls[3].id);
  assert.equal((await audits('attendance.check_in', `enrollment:${es[3].id}`)).length, 1);
  const twice = await as(srv, ls[3]).post(url, { json: { session_id: live.id, code: now } });
  assert.equal(twice.body.already, true);

  // A cancelled registration cannot check in, even with the right code.
  const [l] = await learners(srv, 1);
  const e = (await as(srv, l).post(`/api/v1/offerings/${off.id}/enrollments`)).body;
  await as(srv, l).post(`/api/v1/enrollments/${e.id}/cancel`);
  const code = (await as(srv, director).get(codeUrl)).body.code;
  const cancelled = await as(srv, l).post(`/api/v1/enrollments/${e.id}/check-ins`, { json: { session_id: live.id, code } });
  assert.equal(cancelled.status, 409);
  assert.equal(cancelled.body.type, `${P}not-confirmed`);
  assert.equal((await client(srv.url).post(url, { json: { session_id: live.id, code } })).status, 401);
  // Codes of windows older than the previous one are refused: the unit test
  // (tests/unit/test_qr.c) checks the windows exactly, with a given clock.
});

test('the audit log: admins only, filters, pages; attendance, check-ins, roster reads, role changes', async () => {
  assert.equal((await as(srv, director).get('/api/v1/audit')).status, 403);
  assert.equal((await client(srv.url).get('/api/v1/audit')).status, 401);
  for (const q of ['offering_id=x', 'actor_id=1', 'since=yesterday', 'limit=0', 'cursor=zz', 'bogus=1']) {
    assert.equal((await as(srv, admin).get(`/api/v1/audit?${q}`)).status, 400, q);
  }
  await as(srv, director).get(`/api/v1/offerings/${off.id}/roster`);
  const grant = await as(srv, admin).put(`/api/v1/courses/pcep/directors/${ls[0].id}`);
  assert.ok([200, 204].includes(grant.status), grant.text);

  const byOffering = await as(srv, admin).get(`/api/v1/audit?offering_id=${off.id}&limit=200`);
  assert.equal(byOffering.status, 200, byOffering.text);
  const actions = new Set(byOffering.body.items.map((x) => x.action));
  for (const a of ['attendance.mark', 'attendance.unmark', 'attendance.check_in', 'attendance.read', 'roster.read', 'badges.export']) {
    assert.ok(actions.has(a), `${a} in ${[...actions]}`);
  }
  assert.ok(byOffering.body.items.every((x) => x.offering_id === off.id));
  const item = byOffering.body.items[0];
  assert.deepEqual(Object.keys(item).sort(), ['action', 'actor_id', 'at', 'detail', 'object', 'offering_id']);

  const family = await as(srv, admin).get(`/api/v1/audit?action=attendance&actor_id=${director.id}&limit=200`);
  assert.ok(family.body.items.length > 0);
  assert.ok(family.body.items.every((x) => x.action.startsWith('attendance.') && x.actor_id === director.id));
  const roles = await as(srv, admin).get(`/api/v1/audit?action=director.grant&actor_id=${admin.id}`);
  assert.ok(roles.body.items.some((x) => x.object === `user:${ls[0].id}`));

  // Pages, newest first, with no row twice.
  const seen = [];
  let cursor = null;
  do {
    const r = await as(srv, admin).get(`/api/v1/audit?offering_id=${off.id}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    seen.push(...r.body.items);
    cursor = r.body.next_cursor;
  } while (cursor);
  assert.equal(seen.length, byOffering.body.items.length);
  assert.deepEqual(seen, byOffering.body.items);
  const times = seen.map((x) => Date.parse(x.at));
  assert.deepEqual([...times].sort((a, b) => b - a), times);

  // Personal-data exports and erasures are there too (privacy.*).
  const [gone] = await learners(srv, 1);
  assert.equal((await as(srv, ls[0]).get('/api/v1/me/export')).status, 200);
  const erased = await as(srv, gone).del('/api/v1/me', { json: { password: 'correct horse battery staple' } });
  assert.equal(erased.status, 204, erased.text);
  const exp = await as(srv, admin).get(`/api/v1/audit?action=privacy.export&actor_id=${ls[0].id}`);
  assert.equal(exp.body.items.length, 1);
  assert.equal(exp.body.items[0].object, `user:${ls[0].id}`);
  const era = await as(srv, admin).get(`/api/v1/audit?action=privacy&actor_id=${gone.id}`);
  assert.deepEqual(era.body.items.map((x) => x.action), ['privacy.erase']);

  const future = await as(srv, admin).get(`/api/v1/audit?since=${encodeURIComponent('2999-01-01T00:00:00Z')}`);
  assert.deepEqual(future.body.items, []);
});

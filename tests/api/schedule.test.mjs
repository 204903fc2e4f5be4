// Sessions and calendars (docs/api.md "Schedule"): the rules the database keeps
// (within a part in the offering's zone, no room or faculty clash, end after
// start), the race of two clashing writes through two server processes,
// drafts hidden, stable pagination, ETag/304, soft deletion, and the
// iCalendar feeds parsed by ical.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { startServer, client } from '../lib/harness.mjs';
import {
  account, as, offeringBody, twoPartBody, createOffering, sessionBody, SESSION_KEYS,
} from '../lib/catalog.mjs';
import { sleep } from '../lib/common.mjs';

let srv, admin, director, learner;

before(async () => {
  srv = await startServer({ processes: 2 });
  [admin, director, learner] = await Promise.all([
    account(srv, { admin: true }),
    account(srv, { directorOf: ['pcep'] }),
    account(srv),
  ]);
});

after(async () => {
  await srv?.stop();
});

const PROBLEM = 'https://registrar.invalid/problems/';

async function addSession(offering, over = {}, who = admin) {
  const r = await as(srv, who).post(`/api/v1/offerings/${offering.id}/sessions`, { json: sessionBody(over) });
  assert.equal(r.status, 201, `adding a session failed: ${r.text}`);
  return r.body;
}

// Waits until GET path (anonymous, on url) satisfies ok(response); returns it.
async function eventually(path, ok, url = srv.url) {
  let r;
  for (let i = 0; i < 60; i++) {
    r = await client(url).get(path);
    if (ok(r)) return r;
    await sleep(50);
  }
  return r;
}

function parseCalendar(text) {
  const comp = new ICAL.Component(ICAL.parse(text));
  for (const vtz of comp.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(vtz);
  return comp;
}

test('a session: 201 with the contract\'s fields, times in the offering\'s zone whatever the input offset', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody());
  const r = await as(srv, director).post(`/api/v1/offerings/${o.id}/sessions`, {
    json: sessionBody({
      title: 'Goals of care — a workshop', kind: 'workshop', room: '  Room 101 ', capacity: 12, credit_hours: 1.5,
      starts_at: '2027-03-15T13:00:00Z', ends_at: '2027-03-15T14:30:00Z', faculty: ['Dr. Lee', 'Dr. Ng'],
    }),
  });
  assert.equal(r.status, 201, r.text);
  const s = r.body;
  for (const k of SESSION_KEYS) assert.ok(k in s, `session lacks ${k}`);
  assert.equal(s.offering_id, o.id);
  assert.equal(s.kind, 'workshop');
  assert.equal(s.starts_at, '2027-03-15T09:00:00-04:00');
  assert.equal(s.ends_at, '2027-03-15T10:30:00-04:00');
  assert.equal(s.room, 'Room 101');
  assert.deepEqual(s.faculty, ['Dr. Lee', 'Dr. Ng']);
  assert.equal(s.capacity, 12);
  assert.equal(s.seats_left, 12);
  assert.equal(s.credit_hours, 1.5);
  // Part 2 in June: the same wall clock, another offset? No: both in EDT. December would be -05:00.
  const june = await addSession(o, { starts_at: '2027-06-07T09:00:00-04:00', ends_at: '2027-06-07T10:00:00-04:00', room: 'Room 101' });
  assert.equal(june.starts_at, '2027-06-07T09:00:00-04:00');
  const plenary = await addSession(o, { capacity: undefined, room: 'Auditorium', faculty: [] });
  assert.equal(plenary.capacity, null);
  assert.equal(plenary.seats_left, null);

  const list = await client(srv.url).get(`/api/v1/offerings/${o.id}/sessions`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((x) => x.id), [plenary.id, s.id, june.id], 'not ordered by start');
  assert.deepEqual(list.body.items[1], s);
  assert.equal(list.body.next_cursor, null);
});

test('a session outside every part, in the offering\'s zone, is 422 outside-offering', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody());
  const outside = [
    ['between the parts', '2027-04-20T09:00:00-04:00', '2027-04-20T10:00:00-04:00'],
    ['before the first day', '2027-03-14T09:00:00-04:00', '2027-03-14T10:00:00-04:00'],
    ['after the last day', '2027-06-11T09:00:00-04:00', '2027-06-11T10:00:00-04:00'],
    ['across midnight after a part', '2027-03-19T23:00:00-04:00', '2027-03-20T01:00:00-04:00'],
    ['spanning the gap between the parts', '2027-03-19T09:00:00-04:00', '2027-06-07T10:00:00-04:00'],
    // 01:00 UTC on 15 March is still 14 March in New York.
    ['before the first day in New York though not in UTC', '2027-03-15T01:00:00Z', '2027-03-15T02:00:00Z'],
  ];
  for (const [why, starts_at, ends_at] of outside) {
    const r = await as(srv, admin).post(`/api/v1/offerings/${o.id}/sessions`, { json: sessionBody({ starts_at, ends_at }) });
    assert.equal(r.status, 422, `${why}: ${r.text}`);
    assert.equal(r.body.type, PROBLEM + 'outside-offering');
    assert.match(r.body.detail, /America\/New_York/);
  }
  // The last evening of a part is inside in New York, though it is the next day in UTC.
  const late = await addSession(o, { starts_at: '2027-03-20T02:00:00Z', ends_at: '2027-03-20T03:59:00Z' });
  assert.equal(late.starts_at, '2027-03-19T22:00:00-04:00');
  // End must follow start.
  for (const ends_at of ['2027-03-16T09:00:00-04:00', '2027-03-16T08:00:00-04:00']) {
    const r = await as(srv, admin).post(`/api/v1/offerings/${o.id}/sessions`, {
      json: sessionBody({ starts_at: '2027-03-16T09:00:00-04:00', ends_at }),
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.errors[0].field, 'ends_at');
  }
  // Moving an existing session outside is refused the same way.
  const p = await as(srv, admin).patch(`/api/v1/sessions/${late.id}`, { json: { starts_at: '2027-04-01T09:00:00-04:00', ends_at: '2027-04-01T10:00:00-04:00' } });
  assert.equal(p.status, 422);
});

test('same room, same offering, overlapping: 409 schedule-conflict naming the session; touching is fine', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody());
  const a = await addSession(o, { room: 'Ballroom', faculty: ['Dr. A'] });
  const r = await as(srv, admin).post(`/api/v1/offerings/${o.id}/sessions`, {
    json: sessionBody({ room: 'ballroom', faculty: ['Dr. B'], starts_at: '2027-03-15T09:00:00-04:00', ends_at: '2027-03-15T10:00:00-04:00' }),
  });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, PROBLEM + 'schedule-conflict');
  assert.deepEqual(r.body.conflicts, [a.id]);
  // Back to back in the same room: no overlap.
  await addSession(o, { room: 'Ballroom', faculty: ['Dr. B'], starts_at: '2027-03-15T09:30:00-04:00', ends_at: '2027-03-15T10:30:00-04:00' });
  // Same room name in another offering at the same time: rooms clash only within an offering.
  const other = await createOffering(srv, admin, 'pcep', twoPartBody({ title: 'PCEP twin' }));
  await addSession(other, { room: 'Ballroom', faculty: ['Dr. C'] });
  // No room: never a room clash.
  await addSession(o, { room: null, faculty: ['Dr. D'] });
  await addSession(o, { room: null, faculty: ['Dr. E'] });
});

test('a faculty member in two places at once, across offerings, is 409; names compare without case', async () => {
  const o1 = await createOffering(srv, admin, 'pcep', twoPartBody());
  const o2 = await createOffering(srv, admin, 'practical-aspects', offeringBody());
  const a = await addSession(o1, { room: 'R1', faculty: ['Dr. Maya Fox', 'Dr. Sam Ray'] });
  const r = await as(srv, admin).post(`/api/v1/offerings/${o2.id}/sessions`, {
    json: sessionBody({ room: 'Elsewhere', faculty: ['dr. maya fox'], starts_at: '2027-03-15T09:15:00-04:00', ends_at: '2027-03-15T09:45:00-04:00' }),
  });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, PROBLEM + 'schedule-conflict');
  assert.deepEqual(r.body.conflicts, [a.id]);
  // The clashing session is described so that an editor can name it.
  assert.equal(r.body.conflict_sessions.length, 1);
  assert.equal(r.body.conflict_sessions[0].id, a.id);
  assert.equal(r.body.conflict_sessions[0].offering_id, o1.id);
  assert.equal(r.body.conflict_sessions[0].title, a.title);
  assert.equal(r.body.conflict_sessions[0].offering_title, o1.title);
  assert.equal(r.body.conflict_sessions[0].starts_at, a.starts_at);
  // A PATCH that adds a busy faculty member is refused too, and changes nothing.
  const b = await addSession(o2, { room: 'Elsewhere', faculty: ['Dr. Lin'] });
  const p = await as(srv, admin).patch(`/api/v1/sessions/${b.id}`, { json: { faculty: ['Dr. Lin', 'Dr. Sam Ray'] } });
  assert.equal(p.status, 409, p.text);
  assert.deepEqual(p.body.conflicts, [a.id]);
  const still = (await as(srv, admin).get(`/api/v1/offerings/${o2.id}/sessions`)).body.items.find((x) => x.id === b.id);
  assert.deepEqual(still.faculty, ['Dr. Lin']);
  // Moving a out of the way frees Dr. Ray for b (the faculty rows follow their session's time).
  const moved = await as(srv, admin).patch(`/api/v1/sessions/${a.id}`, { json: { starts_at: '2027-03-16T08:30:00-04:00', ends_at: '2027-03-16T09:30:00-04:00' } });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual(moved.body.faculty, ['Dr. Maya Fox', 'Dr. Sam Ray'], 'a PATCH of times lost the faculty');
  const ok = await as(srv, admin).patch(`/api/v1/sessions/${b.id}`, { json: { faculty: ['Dr. Lin', 'Dr. Sam Ray'] } });
  assert.equal(ok.status, 200, ok.text);
  // The same name twice in one session is a mistake.
  const dup = await as(srv, admin).post(`/api/v1/offerings/${o2.id}/sessions`, {
    json: sessionBody({ room: 'Z', faculty: ['Dr. Q', ' dr. q '], starts_at: '2027-03-17T09:00:00-04:00', ends_at: '2027-03-17T10:00:00-04:00' }),
  });
  assert.equal(dup.status, 400);
  assert.equal(dup.body.errors[0].field, 'faculty');
});

test('two clashing sessions sent at the same moment through two server processes: exactly one wins', async () => {
  assert.equal(srv.urls.length, 2);
  for (let round = 0; round < 6; round++) {
    const o = await createOffering(srv, admin, 'pcep', twoPartBody({ title: `Race ${round}` }));
    const day = 15 + (round % 5);
    // Even rounds clash by room, odd rounds by faculty.
    const bodies = [0, 1].map((i) => sessionBody({
      title: `Contender ${i}`,
      room: round % 2 === 0 ? 'Hall' : `Room ${i}`,
      faculty: round % 2 === 0 ? [`Dr. R${round}-${i}`] : [`Dr. Shared ${round}`],
      starts_at: `2027-03-${day}T10:00:00-04:00`,
      ends_at: `2027-03-${day}T11:00:00-04:00`,
    }));
    const results = await Promise.all([0, 1].map((i) =>
      as(srv, admin, srv.urls[i]).post(`/api/v1/offerings/${o.id}/sessions`, { json: bodies[i] })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409], `round ${round}: ${results.map((r) => r.text).join(' | ')}`);
    const winner = results.find((r) => r.status === 201).body;
    const loser = results.find((r) => r.status === 409).body;
    assert.equal(loser.type, PROBLEM + 'schedule-conflict');
    assert.deepEqual(loser.conflicts, [winner.id]);
    const [{ n }] = await srv.sql("select count(*)::int as n from registrar.sessions where offering_id = $1 and status = 'scheduled'", [o.id]);
    assert.equal(n, 1);
  }
});

test('who may write sessions: anonymous 401, a learner 403, the course\'s director and admins', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody());
  const path = `/api/v1/offerings/${o.id}/sessions`;
  assert.equal((await client(srv.url).post(path, { json: sessionBody() })).status, 401);
  assert.equal((await as(srv, learner).post(path, { json: sessionBody() })).status, 403);
  const otherDirector = await account(srv, { directorOf: ['practical-aspects'] });
  assert.equal((await as(srv, otherDirector).post(path, { json: sessionBody() })).status, 403);
  const s = await addSession(o, {}, director);
  assert.equal((await as(srv, learner).patch(`/api/v1/sessions/${s.id}`, { json: { title: 'x' } })).status, 403);
  assert.equal((await as(srv, learner).del(`/api/v1/sessions/${s.id}`)).status, 403);
  assert.equal((await client(srv.url).del(`/api/v1/sessions/${s.id}`)).status, 401);
  // Bodies: unknown fields and bad values name the field.
  for (const [body, field] of [
    [{ ...sessionBody(), seats_left: 3 }, 'seats_left'],
    [sessionBody({ kind: 'lecture' }), 'kind'],
    [sessionBody({ starts_at: '2027-03-15 08:30' }), 'starts_at'],
    [sessionBody({ ends_at: undefined }), 'ends_at'],
    [sessionBody({ capacity: 0 }), 'capacity'],
    [sessionBody({ credit_hours: -1 }), 'credit_hours'],
    [sessionBody({ faculty: 'Dr. A' }), 'faculty'],
    [sessionBody({ faculty: [''] }), 'faculty[0]'],
    [sessionBody({ faculty: [7] }), 'faculty[0]'],
  ]) {
    const r = await as(srv, director).post(path, { json: body });
    assert.equal(r.status, 400, `${field}: ${r.text}`);
    assert.equal(r.body.errors[0].field, field);
  }
  // Unknown offering or session: 404.
  assert.equal((await as(srv, admin).post('/api/v1/offerings/00000000-0000-4000-8000-000000000000/sessions', { json: sessionBody() })).status, 404);
  assert.equal((await as(srv, admin).patch('/api/v1/sessions/00000000-0000-4000-8000-000000000000', { json: {} })).status, 404);
  assert.equal((await client(srv.url).get('/api/v1/offerings/nope/sessions')).status, 404);
});

test('a draft\'s schedule is hidden from everyone but its directors and admins', async () => {
  const d = await createOffering(srv, director, 'pcep', twoPartBody({ status: 'draft' }));
  const s = await addSession(d, {}, director);
  for (const path of [`/api/v1/offerings/${d.id}/sessions`, `/api/v1/offerings/${d.id}/schedule.ics`]) {
    assert.equal((await client(srv.url).get(path)).status, 404, path);
    assert.equal((await as(srv, learner).get(path)).status, 404, path);
    assert.equal((await as(srv, director).get(path)).status, 200, path);
    assert.equal((await as(srv, admin).get(path)).status, 200, path);
  }
  // Writing to it as a stranger discloses nothing: 404.
  assert.equal((await as(srv, learner).patch(`/api/v1/sessions/${s.id}`, { json: { title: 'x' } })).status, 404);
  assert.equal((await as(srv, learner).post(`/api/v1/offerings/${d.id}/sessions`, { json: sessionBody() })).status, 404);
});

test('session pages are stable and ordered; ETag and 304 on sessions and the calendar', async () => {
  const o = await createOffering(srv, admin, 'practical-aspects', offeringBody());
  const made = [];
  for (let i = 0; i < 5; i++) {
    // Two at each hour in different rooms: the id orders them.
    const h = String(8 + Math.floor(i / 2)).padStart(2, '0');
    made.push(await addSession(o, { room: `R${i}`, faculty: [`Dr. P${i}`], starts_at: `2027-03-16T${h}:00:00-04:00`, ends_at: `2027-03-16T${h}:45:00-04:00` }));
  }
  const full = (await client(srv.url).get(`/api/v1/offerings/${o.id}/sessions?limit=200`)).body.items.map((s) => s.id);
  assert.equal(full.length, 5);
  const paged = [];
  let cursor = null;
  do {
    const r = await client(srv.url).get(`/api/v1/offerings/${o.id}/sessions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, r.text);
    paged.push(...r.body.items.map((s) => s.id));
    cursor = r.body.next_cursor;
  } while (cursor);
  assert.deepEqual(paged, full);
  assert.equal((await client(srv.url).get(`/api/v1/offerings/${o.id}/sessions?cursor=abc`)).status, 400);

  for (const path of [`/api/v1/offerings/${o.id}/sessions`, `/api/v1/offerings/${o.id}/schedule.ics`]) {
    const first = await client(srv.url).get(path);
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]+"$/, path);
    const again = await client(srv.url).get(path, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304, path);
  }
  // A change shows (NOTIFY empties the cache) with a new ETag.
  const before = await client(srv.url).get(`/api/v1/offerings/${o.id}/sessions`);
  await as(srv, admin).patch(`/api/v1/sessions/${made[0].id}`, { json: { title: 'Renamed' } });
  const renamed = (r) => r.body.items?.find((s) => s.id === made[0].id)?.title === 'Renamed';
  const after = await eventually(`/api/v1/offerings/${o.id}/sessions`, renamed);
  assert.ok(renamed(after), 'the change never showed');
  assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
});

test('the schedule as iCalendar, parsed by ical.js: zones, UIDs, SEQUENCE, cancellations, escaping', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody({ venue: 'Dana Hall; 2nd floor, Boston' }));
  const a = await addSession(o, {
    title: 'Soins palliatifs, « fin de vie »; 緩和ケア — a long title that will certainly be folded by the renderer',
    room: 'Room 5', faculty: ['Dr. Zoë Ångström'],
  });
  const b = await addSession(o, { title: 'Winter-free June', starts_at: '2027-06-08T14:00:00-04:00', ends_at: '2027-06-08T15:30:00-04:00', room: 'Room 6', faculty: [] });
  const path = `/api/v1/offerings/${o.id}/schedule.ics`;
  const r = await client(srv.url).get(path);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/calendar; charset=utf-8');
  assert.ok(r.text.split('\r\n').every((line) => Buffer.byteLength(line) <= 75), 'a line is longer than 75 octets');
  assert.ok(!/[^\r]\n/.test(r.text), 'a bare LF');

  let cal = parseCalendar(r.text);
  assert.equal(cal.getFirstPropertyValue('version'), '2.0');
  assert.ok(cal.getFirstPropertyValue('prodid'));
  assert.deepEqual(cal.getAllSubcomponents('vtimezone').map((z) => z.getFirstPropertyValue('tzid')), ['America/New_York']);
  let events = cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
  assert.equal(events.length, 2);
  const ea = events.find((e) => e.uid === `${a.id}@registrar`);
  assert.ok(ea, 'no event with the session\'s UID');
  assert.equal(ea.summary, a.title);
  assert.equal(ea.location, 'Room 5, Dana Hall; 2nd floor, Boston');
  assert.match(ea.description, /Dr\. Zoë Ångström/);
  assert.equal(ea.startDate.zone.tzid, 'America/New_York');
  assert.equal(ea.startDate.toString(), '2027-03-15T08:30:00');
  assert.equal(ea.startDate.toJSDate().toISOString(), '2027-03-15T12:30:00.000Z');
  assert.equal(ea.endDate.toJSDate().toISOString(), '2027-03-15T13:30:00.000Z');
  assert.equal(ea.sequence, 0);
  const vb = cal.getAllSubcomponents('vevent').find((v) => v.getFirstPropertyValue('uid') === `${b.id}@registrar`);
  assert.equal(vb.getFirstPropertyValue('status'), 'CONFIRMED');
  assert.equal(vb.getFirstPropertyValue('dtstamp').zone.tzid, 'UTC');

  // A change raises SEQUENCE and keeps the UID; a deletion keeps the event as CANCELLED.
  assert.equal((await as(srv, admin).patch(`/api/v1/sessions/${a.id}`, { json: { room: 'Room 7' } })).status, 200);
  const del = await as(srv, admin).del(`/api/v1/sessions/${b.id}`);
  assert.equal(del.status, 204);
  assert.equal((await as(srv, admin).del(`/api/v1/sessions/${b.id}`)).status, 404, 'a second DELETE');
  const r2 = await eventually(path, (x) => x.text.includes('CANCELLED') && x.text.includes('Room 7'));
  cal = parseCalendar(r2.text);
  events = cal.getAllSubcomponents('vevent');
  assert.equal(events.length, 2);
  const va = events.find((v) => v.getFirstPropertyValue('uid') === `${a.id}@registrar`);
  const vb2 = events.find((v) => v.getFirstPropertyValue('uid') === `${b.id}@registrar`);
  assert.equal(va.getFirstPropertyValue('sequence'), 1);
  assert.equal(vb2.getFirstPropertyValue('status'), 'CANCELLED');
  assert.equal(vb2.getFirstPropertyValue('sequence'), 1);
  // The deleted session is gone from the list, and its room and time are free again.
  const list = await eventually(`/api/v1/offerings/${o.id}/sessions`, (x) => x.body.items?.length === 1);
  assert.deepEqual(list.body.items.map((s) => s.id), [a.id]);
  await addSession(o, { title: 'Takes the freed slot', starts_at: '2027-06-08T14:00:00-04:00', ends_at: '2027-06-08T15:30:00-04:00', room: 'Room 6', faculty: [] });
});

test('personal calendar token: 201 feed_url; the feed is a calendar; a new token revokes the old', async () => {
  assert.equal((await client(srv.url).post('/api/v1/me/calendar-token')).status, 401);
  const me = await account(srv);
  const t1 = await as(srv, me).post('/api/v1/me/calendar-token');
  assert.equal(t1.status, 201, t1.text);
  assert.match(t1.body.feed_url, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
  assert.equal(t1.headers.get('cache-control'), 'no-store');
  const path1 = new URL(t1.body.feed_url).pathname;
  const feed = await client(srv.url).get(path1);
  assert.equal(feed.status, 200, feed.text);
  assert.equal(feed.headers.get('content-type'), 'text/calendar; charset=utf-8');
  assert.equal(feed.headers.get('cache-control'), 'no-store');
  const cal = parseCalendar(feed.text);
  assert.equal(cal.name, 'vcalendar');
  // The token is stored only as a keyed digest.
  const rows = await srv.sql('select encode(token_hash, \'hex\') as h from registrar.calendar_tokens where user_id = $1', [me.id]);
  assert.equal(rows.length, 1);
  const token = path1.split('/').pop().replace(/\.ics$/, '');
  assert.ok(!rows[0].h.includes(Buffer.from(token).toString('hex')));

  const t2 = await as(srv, me).post('/api/v1/me/calendar-token');
  assert.equal(t2.status, 201);
  assert.notEqual(t2.body.feed_url, t1.body.feed_url);
  assert.equal((await client(srv.url).get(path1)).status, 404, 'the old feed still works');
  assert.equal((await client(srv.url).get(new URL(t2.body.feed_url).pathname)).status, 200);
  assert.equal((await client(srv.url).get('/api/v1/calendar/not-a-token.ics')).status, 404);
  assert.equal((await client(srv.url).get(`/api/v1/calendar/${'A'.repeat(43)}.ics`)).status, 404);
});

test('a clash with another course\'s session names none of it; a draft\'s session the director may not read is not even given by id', async () => {
  const mine = await createOffering(srv, admin, 'pcep', twoPartBody({ title: 'PCEP, the director\'s own' }));
  const published = await createOffering(srv, admin, 'practical-aspects', offeringBody({ title: 'Practical Aspects, published' }));
  const draft = await createOffering(srv, admin, 'hospitalists-intensivists',
    offeringBody({ title: 'Hospitalists, a secret draft', status: 'draft' }));
  const shared = `Dr. Busy ${Date.now()}`;
  const secret = {
    title: 'Confidential planning retreat', room: 'Board room 9', description: 'Budget cuts to discuss',
  };
  const pub = await addSession(published, { ...secret, faculty: [shared], starts_at: '2027-03-15T13:00:00-04:00', ends_at: '2027-03-15T14:00:00-04:00' });
  const hid = await addSession(draft, { ...secret, faculty: [shared], starts_at: '2027-03-16T13:00:00-04:00', ends_at: '2027-03-16T14:00:00-04:00' });
  // Also a clash with the director's own offering, which is described in full.
  const own = await addSession(mine, { title: 'Own plenary', room: 'Hall A', faculty: [shared], starts_at: '2027-03-17T13:00:00-04:00', ends_at: '2027-03-17T14:00:00-04:00' });

  const leaks = (text) => [secret.title, secret.room, secret.description, published.title, draft.title, hid.id, draft.id]
    .filter((s) => text.includes(s));
  const tryAt = (day) => as(srv, director).post(`/api/v1/offerings/${mine.id}/sessions`, {
    json: sessionBody({ title: 'Mine', room: 'Hall B', faculty: [shared], starts_at: `2027-03-${day}T13:30:00-04:00`, ends_at: `2027-03-${day}T14:30:00-04:00` }),
  });

  // The published offering's session: its id is public, nothing else of it is told.
  let r = await tryAt(15);
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.type, PROBLEM + 'schedule-conflict');
  assert.deepEqual(r.body.conflicts, [pub.id]);
  assert.deepEqual(r.body.conflict_sessions, [{ summary: 'a session of another offering' }]);
  assert.deepEqual(leaks(r.text), []);
  // The draft's session: not even its id.
  r = await tryAt(16);
  assert.equal(r.status, 409, r.text);
  assert.deepEqual(r.body.conflicts, []);
  assert.deepEqual(r.body.conflict_sessions, [{ summary: 'a session of another offering' }]);
  assert.deepEqual(leaks(r.text), []);
  // The director's own course: in full.
  r = await tryAt(17);
  assert.equal(r.status, 409, r.text);
  assert.deepEqual(r.body.conflicts, [own.id]);
  assert.equal(r.body.conflict_sessions[0].title, 'Own plenary');
  assert.equal(r.body.conflict_sessions[0].room, 'Hall A');
  assert.equal(r.body.conflict_sessions[0].offering_title, mine.title);
  // A PATCH into the clash is answered the same way, through the other process too.
  const free = await as(srv, director, srv.urls[1]).post(`/api/v1/offerings/${mine.id}/sessions`, {
    json: sessionBody({ title: 'Movable', room: 'Hall C', faculty: [shared], starts_at: '2027-03-18T13:00:00-04:00', ends_at: '2027-03-18T14:00:00-04:00' }),
  });
  assert.equal(free.status, 201, free.text);
  const p = await as(srv, director, srv.urls[1]).patch(`/api/v1/sessions/${free.body.id}`, {
    json: { starts_at: '2027-03-16T13:30:00-04:00', ends_at: '2027-03-16T14:30:00-04:00' },
  });
  assert.equal(p.status, 409, p.text);
  assert.deepEqual(p.body.conflicts, []);
  assert.deepEqual(leaks(p.text), []);
  // An admin directs every course and is told everything.
  const a = await as(srv, admin).post(`/api/v1/offerings/${mine.id}/sessions`, {
    json: sessionBody({ room: 'Hall D', faculty: [shared], starts_at: '2027-03-16T13:30:00-04:00', ends_at: '2027-03-16T14:30:00-04:00' }),
  });
  assert.equal(a.status, 409, a.text);
  assert.deepEqual(a.body.conflicts, [hid.id]);
  assert.equal(a.body.conflict_sessions[0].title, secret.title);
  assert.equal(a.body.conflict_sessions[0].offering_title, draft.title);
});

test('a session is at most 24 hours long: 24 h is fine, a minute more is 400 naming ends_at, on create and on change', async () => {
  const o = await createOffering(srv, admin, 'pcep', twoPartBody({ title: 'Long days' }));
  const day = await addSession(o, { room: 'Marathon', starts_at: '2027-03-15T09:00:00-04:00', ends_at: '2027-03-16T09:00:00-04:00' });
  assert.equal(day.ends_at, '2027-03-16T09:00:00-04:00');
  const tooLong = [
    ['2027-03-17T09:00:00-04:00', '2027-03-18T09:01:00-04:00'],
    ['2027-03-17T00:00:00-04:00', '2027-03-19T23:00:00-04:00'],
    // Written with other offsets, still 24 h and a minute.
    ['2027-03-17T13:00:00Z', '2027-03-18T09:01:00-04:00'],
  ];
  for (const [starts_at, ends_at] of tooLong) {
    const r = await as(srv, director).post(`/api/v1/offerings/${o.id}/sessions`, {
      json: sessionBody({ room: 'Marathon 2', starts_at, ends_at }),
    });
    assert.equal(r.status, 400, `${starts_at} to ${ends_at}: ${r.text}`);
    assert.equal(r.body.type, PROBLEM + 'invalid-request');
    assert.equal(r.body.errors[0].field, 'ends_at');
    assert.match(r.body.errors[0].message, /24 hours/);
  }
  const p = await as(srv, admin, srv.urls[1]).patch(`/api/v1/sessions/${day.id}`, { json: { ends_at: '2027-03-16T09:01:00-04:00' } });
  assert.equal(p.status, 400, p.text);
  assert.equal(p.body.errors[0].field, 'ends_at');
  const [row] = await srv.sql('select ends_at - starts_at as len from registrar.sessions where id = $1', [day.id]);
  assert.equal(row.len.hours ?? row.len.days * 24, 24, 'a refused change was written');
  const [{ n }] = await srv.sql("select count(*)::int as n from registrar.sessions where offering_id = $1", [o.id]);
  assert.equal(n, 1);
  // The database itself refuses, whoever writes.
  await assert.rejects(srv.sql(
    "update registrar.sessions set ends_at = starts_at + interval '25 hours' where id = $1", [day.id]), /sessions_at_most_a_day/);
});

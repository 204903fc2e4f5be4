// tests/e2e/checkin.test.mjs — the door of a session in headless Chromium
// against the real server (issue 10, items 2-4 and 10).
//
// A director opens the check-in screen of a session under way, types badge
// codes (the typed path; Chromium has no BarcodeDetector here) and gets the
// learner's name or a clear refusal at once. Then the page goes offline
// (Playwright's context.setOffline): more codes are typed and queued in
// IndexedDB; back online, the queue is sent, and the database holds every
// scan exactly once. The attendance grid marks and unmarks; a learner's
// "My registration" shows the badge QR and checks in with the room code.
// Every screen: clean under the CSP, axe clean, no sideways scroll, at
// 1440 and 360 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { client, startServer } from '../lib/harness.mjs';
import { DEFAULT_PASSWORD, makeDirector, newAdmin, newUser } from '../lib/accounts.mjs';
import { createOffering, sessionBody } from '../lib/catalog.mjs';
import { offeringIn } from '../lib/enroll.mjs';
import { openBrowser } from './lib/browser.mjs';
import { announced, checkWidths, go, norm, openPage, settled } from './lib/pages.mjs';

const TIMEOUT = 240_000;
const NAMES = ['Ada Okafor', 'Bruno Díaz', 'Chen Wei', 'Dara Quinn', 'Eve Cancelled'];
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

let srv;
let base;
let admin;
let director;
let off;
let live;
let people; // [{ user, token, email, enrollment, badge }]

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  admin = await newAdmin(srv);
  director = await newUser(srv, { full_name: 'Dana Director', profession: 'physician' });
  await makeDirector(admin.c, 'practical-aspects', director.user.id);
  off = await createOffering(srv, admin, 'practical-aspects', offeringIn(0, {
    title: 'Door Day',
    prices: [{ profession: 'physician', amount_cents: 0 }],
    registration_closes_at: new Date(Date.now() + 3 * 3600000).toISOString(),
  }));
  const now = Date.now();
  const r = await client(srv.url).post(`/api/v1/offerings/${off.id}/sessions`, {
    token: admin.token,
    json: sessionBody({ title: 'Morning plenary', starts_at: iso(now - 10 * 60000), ends_at: iso(now + 50 * 60000) }),
  });
  assert.equal(r.status, 201, r.text);
  live = r.body;
  people = [];
  for (const name of NAMES) {
    const l = await newUser(srv, { full_name: name, profession: 'physician' });
    const e = await client(srv.url).post(`/api/v1/offerings/${off.id}/enrollments`, { token: l.token, json: {} });
    assert.equal(e.status, 201, e.text);
    assert.equal(e.body.status, 'confirmed');
    const b = await client(srv.url).get(`/api/v1/enrollments/${e.body.id}/badge`, { token: l.token });
    assert.equal(b.status, 200, b.text);
    people.push({ ...l, enrollment: e.body, badge: b.body.badge_code });
  }
  // The last one cancels after printing the badge.
  const c = await client(srv.url).post(`/api/v1/enrollments/${people[4].enrollment.id}/cancel`, {
    token: people[4].token, json: {},
  });
  assert.equal(c.status, 200, c.text);
});

after(async () => {
  await srv?.stop();
});

async function signedInBrowser(who) {
  const browser = await openBrowser();
  const page = await openPage(browser, base, '#/sign-in');
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(DEFAULT_PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('banner').getByRole('link', { name: who.user.full_name }).waitFor();
  await settled(page);
  return { browser, page };
}

const rows = async () => srv.sql(
  `select a.enrollment_id, a.method, count(*) over (partition by a.enrollment_id) as n
   from registrar.attendance a where a.session_id = $1 order by a.enrollment_id`, [live.id]);
const checkIns = async () => srv.sql(
  `select object from registrar.audit_log where action = 'attendance.check_in' and offering_id = $1`, [off.id]);

test('the door: typed codes online, refusals, then offline scans sent once when the network returns', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(director);
  try {
    await go(page, `#/offerings/${off.id}/check-in?session=${live.id}`);
    await page.getByRole('heading', { level: 1, name: 'Door check-in: Door Day' }).waitFor();
    const code = page.getByLabel('Badge code');
    const checkIn = page.getByRole('button', { name: 'Check in' });

    // Online: the learner's name at once, lower case accepted.
    await code.fill(people[0].badge.toLowerCase());
    await checkIn.click();
    await announced(page, /^Welcome, Ada Okafor: checked in\.$/);
    await code.fill(people[0].badge);
    await checkIn.click();
    await announced(page, /^Ada Okafor: already checked in\.$/);
    await code.fill('0000000000000000');
    await checkIn.click();
    await announced(page, /^Not registered: no registration has this badge\.$/, { assertive: true });
    await code.fill(people[4].badge);
    await checkIn.click();
    await announced(page, /^Eve Cancelled: Not confirmed: this registration was cancelled\.$/, { assertive: true });
    await checkWidths(page, 'check-in', { allowStatuses: [404] });

    // Offline: three scans (one of them twice) are queued, none reaches the server.
    await page.context().setOffline(true);
    for (const p of [people[1], people[2], people[1], people[3]]) {
      await code.fill(p.badge);
      await checkIn.click();
      await announced(page, new RegExp(`^Saved offline: ${p.badge} will be checked in`));
    }
    await page.locator('#checkin-queued').filter({ hasText: '4 scans waiting for the network' }).waitFor();
    assert.deepEqual((await rows()).map((r) => r.enrollment_id), [people[0].enrollment.id]);

    // Back online: the queue drains, every learner is recorded exactly once.
    await page.context().setOffline(false);
    await page.locator('#checkin-queued').filter({ hasText: /^$/ }).waitFor({ state: 'attached' });
    await page.waitForFunction(() => document.getElementById('checkin-queued')?.textContent === '', null, { timeout: 20_000 });
    const got = await rows();
    const want = [0, 1, 2, 3].map((i) => people[i].enrollment.id).sort();
    assert.deepEqual(got.map((r) => r.enrollment_id).sort(), want);
    assert.ok(got.every((r) => Number(r.n) === 1 && r.method === 'badge'));
    const audited = (await checkIns()).map((r) => r.object).sort();
    assert.deepEqual(audited, want.map((id) => `enrollment:${id}`).sort());
    const log = norm(await page.getByRole('list', { name: 'Scans at this door, newest first' }).innerText());
    assert.match(log, /Welcome, Bruno Díaz: checked in\./);
    assert.match(log, /Bruno Díaz: already checked in\./);
    assert.match(log, /Welcome, Dara Quinn: checked in\./);
    // Nothing left in IndexedDB after a reload either.
    await page.reload();
    await settled(page);
    assert.equal(await page.locator('#checkin-queued').innerText(), '');
  } finally {
    await browser.close();
  }
});

test('the attendance grid: mark and unmark, everyone at once, the room code', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(director);
  try {
    await go(page, `#/offerings/${off.id}/attendance?session=${live.id}`);
    await page.getByRole('heading', { level: 1, name: 'Attendance: Door Day' }).waitFor();
    const grid = page.getByRole('region', { name: 'Attendance grid' });
    assert.equal(await grid.getByRole('checkbox').count(), 4);
    const ada = grid.getByRole('checkbox', { name: 'Ada Okafor' });
    assert.equal(await ada.isChecked(), true);
    await ada.uncheck();
    await announced(page, /^Ada Okafor: not present\.$/);
    assert.equal((await rows()).filter((r) => r.enrollment_id === people[0].enrollment.id).length, 0);
    await page.getByRole('button', { name: 'Mark everyone present' }).click();
    // The page reloads the grid: every box checked, from the server's answer.
    await page.waitForFunction(() => {
      const boxes = [...document.querySelectorAll('.attendance-grid input[type=checkbox]')];
      return boxes.length === 4 && boxes.every((b) => b.checked);
    }, null, { timeout: 10_000 });
    assert.equal((await rows()).length, 4);
    await page.getByRole('button', { name: 'Show the room code' }).click();
    await page.locator('.room-code__code').filter({ hasText: /^\d{6}$/ }).waitFor();
    await checkWidths(page, 'attendance');
  } finally {
    await browser.close();
  }
});

test('a learner sees the badge QR and checks in with the room code', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(people[3]);
  try {
    await srv.sql('delete from registrar.attendance where enrollment_id = $1', [people[3].enrollment.id]);
    await go(page, `#/registrations/${people[3].enrollment.id}`);
    await page.getByRole('img', { name: 'QR code of your badge' }).waitFor();
    assert.match(norm(await page.locator('.badge__code').innerText()), new RegExp(`^${people[3].badge}$`));
    await checkWidths(page, 'registration-badge');
    await page.getByLabel('Room code', { exact: true }).fill('12345');
    await page.getByRole('button', { name: 'Check in' }).click();
    await announced(page, /not the one shown in the room/, { assertive: true });
    const c = await client(srv.url).get(`/api/v1/sessions/${live.id}/check-in-code`, { token: director.token });
    await page.getByLabel('Room code', { exact: true }).fill(c.body.code);
    await page.getByRole('button', { name: 'Check in' }).click();
    await announced(page, /^You are checked in\. Thank you\.$/);
    const mine = (await srv.sql('select method from registrar.attendance where enrollment_id = $1 and session_id = $2',
      [people[3].enrollment.id, live.id]));
    assert.deepEqual(mine, [{ method: 'session_code' }]);
  } finally {
    await browser.close();
  }
});

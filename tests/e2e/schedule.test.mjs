// tests/e2e/schedule.test.mjs — offerings and schedules in headless Chromium
// against the real server and a fresh database (issue 4, item 6).
//
// An admin made by `registrar create-admin` grants a learner the
// directorship of PCEP through the API. The director, in the browser,
// creates a two-part offering (every field of the form), builds its schedule
// in the offering's time zone, sees a clash refused with the clashing
// session named, a day between the parts refused in words, edits and
// deletes a session. A learner, whose browser is in another time zone, sees
// the schedule day by day in the offering's zone, the price for their
// profession and the calendar link; a visitor sees every price. Learners
// cannot open the editors. Every new screen: clean under the CSP, axe
// without serious or critical violations, no sideways scrolling, at 360 and
// 1440 px.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/harness.mjs';
import { makeDirector, newAdmin, newUser } from '../lib/accounts.mjs';
import { openBrowser } from './lib/browser.mjs';
import {
  announced, assertClean, checkScreen, fieldError, go, norm, openPage, settled, signedInBrowser as signInAt
} from './lib/pages.mjs';

const TIMEOUT = 180_000;
const ZONE = 'America/Chicago';

let srv;
let base;
let director;
let learner;
let offeringId = null;

before(async () => {
  srv = await startServer();
  base = new URL('/', srv.url).href;
  const admin = await newAdmin(srv);
  director = await newUser(srv, { full_name: 'Dana Director', profession: 'physician' });
  await makeDirector(admin.c, 'pcep', director.user.id);
  learner = await newUser(srv, { full_name: 'Lee Learner', profession: 'nurse' });
});

after(async () => {
  await srv?.stop();
});

// A browser of its own per person (separate cookies), in `timezoneId`.
const signedInBrowser = (who, { timezoneId = 'UTC' } = {}) => signInAt(base, who, { timezoneId });

function sessionItem(page, title) {
  return page.locator('.session', { has: page.getByRole('heading', { name: title, exact: true }) });
}

async function addSession(page, s) {
  await page.getByLabel('Title').fill(s.title);
  await page.getByLabel('Kind').selectOption({ label: s.kind ?? 'Plenary' });
  await page.getByLabel('Day', { exact: true }).fill(s.day);
  await page.getByLabel('Starts').fill(s.starts);
  await page.getByLabel('Ends').fill(s.ends);
  await page.getByLabel('Room').fill(s.room ?? '');
  await page.getByLabel('Faculty').fill((s.faculty ?? []).join('\n'));
  await page.getByLabel('Capacity').fill(s.capacity ? String(s.capacity) : '');
  await page.getByLabel('Credit hours').fill(String(s.credit ?? 1));
  await page.getByRole('button', { name: 'Add session' }).click();
}

async function sessionsInDb() {
  return srv.sql(
    `select s.title, to_char(s.starts_at at time zone o.timezone, 'YYYY-MM-DD HH24:MI') as starts,
            to_char(s.ends_at at time zone o.timezone, 'HH24:MI') as ends, s.status
     from registrar.sessions s join registrar.offerings o on o.id = s.offering_id
     where o.id = $1 order by s.starts_at`, [offeringId]);
}

test('a director creates a two-part offering from the course page', { timeout: TIMEOUT }, async () => {
  const { browser, page } = await signedInBrowser(director);
  try {
    await go(page, '#/courses/pcep');
    await page.getByRole('link', { name: 'New offering' }).click();
    await settled(page);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(),
      'New offering of Palliative Care Education and Practice');
    await checkScreen(page, 'new offering at 1440 px');

    // Nothing filled in: the problems are named on their fields.
    await page.getByRole('button', { name: 'Create offering' }).click();
    assert.equal(await fieldError(page, page.getByLabel('Title', { exact: true })), 'Please enter a title.');
    assert.equal(await fieldError(page, page.getByLabel('First day')), 'Please enter the first day of part 1.');
    assert.equal(await fieldError(page, page.getByLabel('Capacity')), 'Please enter the capacity: the number of seats.');
    await announced(page, /There are \d+ problems\. Please enter a title\./, { assertive: true });
    await page.setViewportSize({ width: 360, height: 900 });
    await checkScreen(page, 'new offering with problems at 360 px');
    await page.setViewportSize({ width: 1440, height: 900 });

    await page.getByLabel('Title', { exact: true }).fill('PCEP 2027');
    await page.getByLabel('Status').selectOption({ label: 'Registration open' });
    await page.getByLabel('Venue').fill('Conference Center, 5 Main Street, Chicago');
    await page.getByLabel('Admission by application').check();
    await page.getByLabel('Time zone').selectOption(ZONE);
    const part1 = page.getByRole('group', { name: 'Part 1' });
    await part1.getByLabel('Name').fill('Part 1');
    await part1.getByLabel('First day').fill('2027-03-15');
    await part1.getByLabel('Last day').fill('2027-03-19');
    await page.getByRole('button', { name: 'Add a part' }).click();
    const part2 = page.getByRole('group', { name: 'Part 2' });
    await part2.getByLabel('Name').fill('Part 2');
    await part2.getByLabel('First day').fill('2027-06-10');
    await part2.getByLabel('Last day').fill('2027-06-07'); // backwards: refused in words
    await page.getByLabel('Capacity').fill('30');
    await page.getByLabel('Registration opens').fill('2026-10-01T09:00');
    await page.getByLabel('Registration closes').fill('2027-03-01T17:00');
    await page.getByLabel('Minutes a seat is held for payment').fill('45');
    await page.getByLabel('Price ($) for physicians', { exact: true }).fill('1,500');
    await page.getByLabel('Early price ($) for physicians').fill('1250.00');
    await page.getByLabel('Early price until for physicians').fill('2027-01-15');
    await page.getByLabel('Price ($) for nurses', { exact: true }).fill('900');
    await page.getByLabel('Price ($) for social workers', { exact: true }).fill('six hundred');
    await page.getByLabel('Maximum credits').fill('21.5');
    await page.getByLabel('Credit for chaplains').fill('Chaplaincy CE hours');
    await page.getByRole('button', { name: 'Add a refund rule' }).click();
    const rule = page.getByRole('group', { name: 'Refund rule 1' });
    await rule.getByLabel('Days before the start (at least)').fill('30');
    await rule.getByLabel('Refund (%)').fill('100');
    await page.getByRole('button', { name: 'Create offering' }).click();
    assert.equal(await fieldError(page, part2.getByLabel('Last day')),
      'The last day of part 2 must not be before its first day.');
    assert.equal(await fieldError(page, page.getByLabel('Price ($) for social workers', { exact: true })),
      'The price for social workers must be an amount in dollars, such as 1250 or 1250.00.');
    await part2.getByLabel('First day').fill('2027-06-07');
    await part2.getByLabel('Last day').fill('2027-06-10');
    await page.getByLabel('Price ($) for social workers', { exact: true }).fill('');

    await page.getByRole('button', { name: 'Create offering' }).click();
    await page.waitForFunction(() => /^#\/offerings\/[0-9a-f-]{36}\/schedule$/.test(location.hash));
    await settled(page);
    offeringId = /offerings\/([0-9a-f-]{36})/.exec(page.url())[1];
    await page.getByRole('main').getByText('The offering “PCEP 2027” is created. Now add its sessions.').waitFor();

    // Stored as entered, in the offering's zone.
    const [o] = await srv.sql(
      `select title, status, timezone, capacity, hold_minutes, requires_application, max_credits::text,
              to_char(registration_opens_at at time zone timezone, 'YYYY-MM-DD HH24:MI') as opens,
              to_char(registration_closes_at at time zone timezone, 'YYYY-MM-DD HH24:MI') as closes
       from registrar.offerings where id = $1`, [offeringId]);
    assert.deepEqual(o, {
      title: 'PCEP 2027', status: 'open', timezone: ZONE, capacity: 30, hold_minutes: 45,
      requires_application: true, max_credits: '21.50', opens: '2026-10-01 09:00', closes: '2027-03-01 17:00',
    });
    const api = await (await fetch(new URL(`/api/v1/offerings/${offeringId}`, base))).json();
    assert.deepEqual(api.parts, [
      { name: 'Part 1', starts_on: '2027-03-15', ends_on: '2027-03-19' },
      { name: 'Part 2', starts_on: '2027-06-07', ends_on: '2027-06-10' },
    ]);
    assert.deepEqual(api.prices, [
      { profession: 'physician', amount_cents: 150000, early_amount_cents: 125000, early_until: '2027-01-15' },
      { profession: 'nurse', amount_cents: 90000, early_amount_cents: null, early_until: null },
    ]);
    assert.deepEqual(api.cancellation_policy, [{ until_days_before: 30, refund_percent: 100 }]);
    assert.equal(api.credit_types.find((t) => t.profession === 'chaplain').credit_type, 'Chaplaincy CE hours');
    assert.equal(api.credit_types.find((t) => t.profession === 'physician').credit_type, 'AMA PRA Category 1');
    await assertClean(page, 'creating an offering');
  } finally {
    await browser.close();
  }
});

test('the director builds the schedule; a clash and a day between the parts are refused in words', { timeout: TIMEOUT }, async () => {
  assert.ok(offeringId, 'the offering of the previous test');
  const { browser, page } = await signedInBrowser(director);
  try {
    await go(page, `#/offerings/${offeringId}`);
    await page.getByRole('link', { name: 'Edit schedule' }).click();
    await settled(page);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Schedule of “PCEP 2027”');
    await page.getByText('No sessions yet', { exact: true }).waitFor();
    await checkScreen(page, 'empty schedule editor at 1440 px');

    await addSession(page, { title: 'Opening plenary', day: '2027-03-15', starts: '08:30', ends: '09:30', room: 'Auditorium', faculty: ['Dr. Ada Okafor'] });
    await announced(page, /“Opening plenary” is added on Monday, March 15, 2027, 8:30 – 9:30 AM CDT\./);
    // The form keeps the day and room, and starts the next session where this one ended.
    assert.equal(await page.getByLabel('Starts').inputValue(), '09:30');
    assert.equal(await page.getByLabel('Day', { exact: true }).inputValue(), '2027-03-15');
    await addSession(page, { title: 'Pain and symptoms', day: '2027-03-15', starts: '09:45', ends: '11:15', room: 'Auditorium', faculty: ['Dr. Ben Ruiz', 'Dr. Ada Okafor'], credit: 1.5 });
    await sessionItem(page, 'Pain and symptoms').waitFor();
    await addSession(page, { title: 'Family meetings', kind: 'Workshop', day: '2027-03-16', starts: '13:00', ends: '15:00', room: 'Room 2', faculty: ['Sam Chaplain'], capacity: 20, credit: 2 });
    await sessionItem(page, 'Family meetings').waitFor();
    await addSession(page, { title: 'Part 2 welcome', day: '2027-06-07', starts: '09:00', ends: '10:00', room: 'Auditorium', faculty: ['Dr. Ben Ruiz'] });
    await sessionItem(page, 'Part 2 welcome').waitFor();
    assert.equal(await page.locator('.session').count(), 4);

    // A clash: same room, overlapping time, one faculty member in common.
    await addSession(page, { title: 'Overlapping talk', day: '2027-03-15', starts: '09:00', ends: '10:00', room: 'Auditorium', faculty: ['Dr. Ben Ruiz'] });
    const summary = page.locator('.form-summary');
    await summary.waitFor({ state: 'visible' });
    const said = norm(await summary.innerText());
    assert.match(said, /This session clashes with “Opening plenary” \(Monday, March 15, 2027, 8:30 – 9:30 AM CDT\), in the same room \(Auditorium\)/);
    assert.match(said, /“Pain and symptoms” \(Monday, March 15, 2027, 9:45 – 11:15 AM CDT\), in the same room \(Auditorium\) and with the same faculty member \(Dr\. Ben Ruiz\)/);
    assert.doesNotMatch(said, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'sessions are named by title, not by id');
    assert.equal(await fieldError(page, page.getByLabel('Room')), 'Auditorium is already in use then, by “Opening plenary”.');
    assert.equal(await fieldError(page, page.getByLabel('Faculty')), 'Dr. Ben Ruiz is already teaching then, in “Pain and symptoms”.');
    await announced(page, /This session clashes with “Opening plenary”/, { assertive: true });
    assert.equal(await page.locator('.session').count(), 4, 'nothing added');
    await checkScreen(page, 'schedule clash at 1440 px', { allowStatuses: [409] });
    await page.setViewportSize({ width: 360, height: 900 });
    await checkScreen(page, 'schedule clash at 360 px', { allowStatuses: [409] });
    await page.setViewportSize({ width: 1440, height: 900 });

    // A day between Part 1 and Part 2.
    await page.getByLabel('Title').fill('Between the parts');
    await page.getByLabel('Day', { exact: true }).fill('2027-04-12');
    await page.getByLabel('Room').fill('Room 9');
    await page.getByLabel('Faculty').fill('Someone Else');
    await page.getByRole('button', { name: 'Add session' }).click();
    await page.waitForFunction(() => document.querySelector('[name="day"]')?.getAttribute('aria-invalid') === 'true');
    assert.equal(await fieldError(page, page.getByLabel('Day', { exact: true })),
      'This day is outside the offering. A session must fall within Part 1 (March 15 – 19, 2027) or Part 2 (June 7 – 10, 2027), in Central Daylight Time (America/Chicago).');
    await announced(page, /This day is outside the offering\./, { assertive: true });
    await checkScreen(page, 'schedule outside the offering', { allowStatuses: [409, 422] });

    // Edit a session: the form fills with it, in the offering's zone.
    await sessionItem(page, 'Part 2 welcome').getByRole('button', { name: 'Edit “Part 2 welcome”' }).click();
    await page.getByRole('heading', { name: 'Edit “Part 2 welcome”' }).waitFor();
    assert.equal(await page.getByLabel('Day', { exact: true }).inputValue(), '2027-06-07');
    assert.equal(await page.getByLabel('Starts').inputValue(), '09:00');
    assert.equal(await page.getByLabel('Faculty').inputValue(), 'Dr. Ben Ruiz');
    await page.getByLabel('Title').fill('Part 2 welcome and review');
    await page.getByLabel('Ends').fill('10:30');
    await page.getByRole('button', { name: 'Save session' }).click();
    await announced(page, /“Part 2 welcome and review” is saved\./);
    await sessionItem(page, 'Part 2 welcome and review').waitFor();

    // Delete asks first, then the session goes.
    await page.getByLabel('Title').fill('Short break');
    await page.getByLabel('Kind').selectOption({ label: 'Break' });
    await page.getByLabel('Day', { exact: true }).fill('2027-03-15');
    await page.getByLabel('Starts').fill('11:15');
    await page.getByLabel('Ends').fill('11:30');
    await page.getByLabel('Room').fill('');
    await page.getByLabel('Faculty').fill('');
    await page.getByLabel('Credit hours').fill('0');
    await page.getByRole('button', { name: 'Add session' }).click();
    await sessionItem(page, 'Short break').waitFor();
    await sessionItem(page, 'Short break').getByRole('button', { name: 'Delete “Short break”' }).click();
    await page.getByRole('button', { name: 'Yes, delete “Short break”' }).click();
    await announced(page, /“Short break” is deleted\./);
    await sessionItem(page, 'Short break').waitFor({ state: 'detached' });
    await checkScreen(page, 'schedule editor at 1440 px', { allowStatuses: [409, 422] });
    await page.setViewportSize({ width: 360, height: 900 });
    await checkScreen(page, 'schedule editor at 360 px', { allowStatuses: [409, 422] });

    assert.deepEqual(await sessionsInDb(), [
      { title: 'Opening plenary', starts: '2027-03-15 08:30', ends: '09:30', status: 'scheduled' },
      { title: 'Pain and symptoms', starts: '2027-03-15 09:45', ends: '11:15', status: 'scheduled' },
      { title: 'Short break', starts: '2027-03-15 11:15', ends: '11:30', status: 'cancelled' },
      { title: 'Family meetings', starts: '2027-03-16 13:00', ends: '15:00', status: 'scheduled' },
      { title: 'Part 2 welcome and review', starts: '2027-06-07 09:00', ends: '10:30', status: 'scheduled' },
    ]);

    // The offering editor opens with what is stored.
    await page.setViewportSize({ width: 1440, height: 900 });
    await go(page, `#/offerings/${offeringId}/edit`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Edit “PCEP 2027”');
    assert.equal(await page.getByLabel('Registration opens').inputValue(), '2026-10-01T09:00');
    assert.equal(await page.getByLabel('Price ($) for physicians', { exact: true }).inputValue(), '1500.00');
    assert.equal(await page.getByRole('group', { name: 'Part 2' }).getByLabel('Last day').inputValue(), '2027-06-10');
    await checkScreen(page, 'offering editor at 1440 px', { allowStatuses: [409, 422] });
    // Moving Part 2 would strand a session: named, not lost.
    await page.getByRole('group', { name: 'Part 2' }).getByLabel('First day').fill('2027-06-08');
    await page.getByLabel('Capacity').fill('35');
    await page.getByRole('button', { name: 'Save offering' }).click();
    await page.locator('.form-summary').waitFor({ state: 'visible' });
    assert.match(norm(await page.locator('.form-summary').innerText()),
      /Some sessions would fall outside the new days: “Part 2 welcome and review” \(Monday, June 7, 2027, 9:00 – 10:30 AM CDT\)\. Move or delete them in the schedule first/);
    await page.setViewportSize({ width: 360, height: 900 });
    await checkScreen(page, 'offering editor with a problem at 360 px', { allowStatuses: [409, 422] });
    await page.getByRole('group', { name: 'Part 2' }).getByLabel('First day').fill('2027-06-07');
    await page.getByRole('button', { name: 'Save offering' }).click();
    await page.waitForFunction((id) => location.hash === `#/offerings/${id}`, offeringId);
    await settled(page);
    await page.getByRole('main').getByText('The offering is saved.', { exact: true }).waitFor();
    assert.match(norm(await page.locator('dl.details').innerText()), /35 seats left of 35/);
  } finally {
    await browser.close();
  }
});

test('a learner in another time zone sees the schedule day by day in the offering’s zone', { timeout: TIMEOUT }, async () => {
  assert.ok(offeringId, 'the offering of the first test');
  const { browser, page } = await signedInBrowser(learner, { timezoneId: 'Asia/Tokyo' });
  try {
    await go(page, '#/courses/pcep');
    await page.getByRole('link', { name: 'PCEP 2027', exact: true }).click();
    await settled(page);
    assert.equal(new URL(page.url()).hash, `#/offerings/${offeringId}`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'PCEP 2027');
    const details = norm(await page.locator('dl.details').innerText());
    assert.match(details, /Dates\s+March 15 – June 10, 2027/);
    assert.match(details, /Part 1: March 15 – 19, 2027\s+Part 2: June 7 – 10, 2027/);
    assert.match(details, /Seats\s+35 seats left of 35/);
    assert.match(details, /Time zone\s+Central Daylight Time \(America\/Chicago\)/);
    assert.match(details, /Credit\s+ANCC contact hours for nurses — at most 21\.5/);
    // The learner's price, by profession; every price behind a disclosure.
    assert.match(await page.locator('.price').innerText(), /^As a nurse, you pay \$900\.00\.$/);

    const days = (await page.locator('.schedule-day__title').allInnerTexts()).map(norm);
    assert.deepEqual(days, [
      'Part 1 · Monday, March 15, 2027',
      'Part 1 · Tuesday, March 16, 2027',
      'Part 2 · Monday, June 7, 2027',
    ]);
    const first = norm(await page.locator('.session').first().innerText());
    assert.match(first, /8:30 – 9:30 AM CDT\s+Opening plenary\s+Plenary · Auditorium · 1 hour of credit\s+Faculty: Dr\. Ada Okafor/);
    assert.match(norm(await sessionItem(page, 'Family meetings').innerText()),
      /1:00 – 3:00 PM CDT[\s\S]*Workshop · Room 2 · 2 hours of credit[\s\S]*Limited to 20 people: 20 places left/);
    assert.equal(await sessionItem(page, 'Short break').count(), 0, 'a deleted session is gone');
    assert.equal(await page.getByRole('link', { name: 'Edit schedule' }).count(), 0, 'no editor links for learners');

    const ics = page.getByRole('link', { name: 'Add to calendar' });
    const href = await ics.getAttribute('href');
    assert.equal(href, `/api/v1/offerings/${offeringId}/schedule.ics`);
    const cal = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    assert.equal(cal.status, 200);
    assert.match(cal.type, /^text\/calendar/);
    assert.equal((cal.text.match(/BEGIN:VEVENT/g) ?? []).length, 5, 'four sessions and the cancelled one');
    assert.match(cal.text, /TZID=America\/Chicago/);

    await checkScreen(page, 'offering page for a learner at 1440 px');
    await page.setViewportSize({ width: 360, height: 900 });
    await checkScreen(page, 'offering page for a learner at 360 px');

    // The editors are not for learners: said in words, nothing to fill in.
    await go(page, `#/offerings/${offeringId}/schedule`);
    await page.getByText('You do not have permission to do this', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add session' }).count(), 0);
    await checkScreen(page, 'schedule editor refused at 360 px');
    await go(page, '#/courses/pcep/offerings/new');
    await page.getByText('You do not have permission to do this', { exact: true }).waitFor();
    await assertClean(page, 'learner pages');
  } finally {
    await browser.close();
  }
});

test('a visitor sees every price and is offered to sign in', { timeout: TIMEOUT }, async () => {
  assert.ok(offeringId, 'the offering of the first test');
  const browser = await openBrowser();
  try {
    const page = await openPage(browser, base, `#/offerings/${offeringId}`, { width: 360 });
    const table = page.getByRole('table', { name: 'Prices by profession' });
    await table.waitFor();
    const rows = (await table.locator('tbody tr').allInnerTexts()).map(norm);
    assert.equal(rows.length, 2);
    assert.match(rows[0], /Physicians\s+\$1,500\.00\s+\$1,250\.00 until January 15, 2027/);
    assert.match(rows[1], /Nurses\s+\$900\.00\s+—/);
    assert.equal(await page.getByRole('main').getByRole('link', { name: 'Sign in' }).getAttribute('href'),
      `#/sign-in?next=${encodeURIComponent(`/offerings/${offeringId}`)}`);
    assert.equal(await page.locator('.schedule-day').count(), 3);
    await checkScreen(page, 'offering page for a visitor at 360 px');
    await page.setViewportSize({ width: 1440, height: 900 });
    await checkScreen(page, 'offering page for a visitor at 1440 px');
    await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    await checkScreen(page, 'offering page in the dark scheme');
    await go(page, `#/offerings/${offeringId}/edit`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Edit offering');
    await page.getByRole('main').getByRole('link', { name: 'Sign in' }).waitFor();
    await assertClean(page, 'visitor pages');
  } finally {
    await browser.close();
  }
});

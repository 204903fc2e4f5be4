// format.js — dates, money and the contract's enumerations, worded for people.
//
// The centre is in the United States (prices in USD), so formats follow
// en-US. Calendar dates (YYYY-MM-DD) are not instants: they are formatted in
// UTC so that no browser time zone can shift them by a day.

const LOCALE = 'en-US';
const dateFormat = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'long', timeZone: 'UTC' });
const weekdayDateFormat = new Intl.DateTimeFormat(LOCALE, {
  weekday: 'long', month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC',
});

// '2027-03-15' → Date at midnight UTC, or null if malformed.
export function parseDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? '');
  if (m === null) return null;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? null : d;
}

// 'March 15, 2027'
export function formatDate(text) {
  const d = parseDate(text);
  return d === null ? '' : dateFormat.format(d);
}

// 'Monday, March 15, 2027'
export function formatLongDate(text) {
  const d = parseDate(text);
  return d === null ? '' : weekdayDateFormat.format(d);
}

// 'March 15 – 18, 2027', or one date when both are the same day.
export function formatDateRange(start, end) {
  const a = parseDate(start);
  const b = parseDate(end);
  if (a === null) return '';
  if (b === null || b.getTime() === a.getTime()) return dateFormat.format(a);
  return dateFormat.formatRange(a, b);
}

// An RFC 3339 instant shown in the offering's IANA zone, with the zone's
// abbreviation so nobody has to guess: 'March 1, 2027 at 9:00 AM EST'.
// (dateStyle cannot be combined with timeZoneName, hence the fields.)
export function formatInstant(text, timeZone) {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return '';
  const opts = {
    year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit',
    timeZoneName: 'short',
  };
  try {
    return new Intl.DateTimeFormat(LOCALE, { ...opts, timeZone }).format(d);
  } catch {
    return new Intl.DateTimeFormat(LOCALE, opts).format(d); // unknown zone: the browser's
  }
}

// 125000, 'USD' → '$1,250.00'
export function formatMoney(cents, currency = 'USD') {
  if (typeof cents !== 'number') return '';
  return new Intl.NumberFormat(LOCALE, { style: 'currency', currency }).format(cents / 100);
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

const PROFESSIONS = {
  physician: 'Physicians',
  nurse: 'Nurses',
  physician_assistant: 'Physician assistants',
  social_worker: 'Social workers',
  chaplain: 'Chaplains',
  psychologist: 'Psychologists',
  pharmacist: 'Pharmacists',
  trainee: 'Trainees',
  other: 'Other professions',
};

export function professionLabel(value) {
  return PROFESSIONS[value] ?? value;
}

const OFFERING_STATUS = {
  draft: 'Draft — not yet public',
  open: 'Registration open',
  closed: 'Registration closed',
  cancelled: 'Cancelled',
};

export function offeringStatusLabel(value) {
  return OFFERING_STATUS[value] ?? value;
}

// The professions of docs/api.md, in the contract's order, for forms.
export const PROFESSION_VALUES = Object.keys(PROFESSIONS);

const PROFESSION_ONE = {
  physician: 'Physician',
  nurse: 'Nurse',
  physician_assistant: 'Physician assistant',
  social_worker: 'Social worker',
  chaplain: 'Chaplain',
  psychologist: 'Psychologist',
  pharmacist: 'Pharmacist',
  trainee: 'Trainee',
  other: 'Other profession',
};

// 'nurse' → 'Nurse' (one person; professionLabel gives the plural).
export function professionName(value) {
  return PROFESSION_ONE[value] ?? value;
}

export const OFFERING_STATUS_VALUES = Object.keys(OFFERING_STATUS);

const SESSION_KIND = {
  plenary: 'Plenary',
  workshop: 'Workshop',
  small_group: 'Small group',
  break: 'Break',
};

export const SESSION_KIND_VALUES = Object.keys(SESSION_KIND);

export function sessionKindLabel(value) {
  return SESSION_KIND[value] ?? value;
}

// ---- Instants in an offering's time zone --------------------------------
//
// Sessions are instants (RFC 3339) shown and entered as wall-clock times in
// the offering's IANA zone, whatever the browser's own zone is. Intl does
// the zone arithmetic; nothing here assumes an offset.

const zonedFormats = new Map();

function zonedFormat(timeZone) {
  let f = zonedFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    zonedFormats.set(timeZone, f);
  }
  return f;
}

// ms since the epoch → the wall clock in timeZone { year, month, day, hour, minute, second }.
function wallClock(ms, timeZone) {
  const out = {};
  for (const p of zonedFormat(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  if (out.hour === 24) out.hour = 0;
  return out;
}

// Minutes to add to UTC to get timeZone's wall clock at that instant.
export function zoneOffsetMinutes(ms, timeZone) {
  const w = wallClock(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

export function isTimeZone(timeZone) {
  if (typeof timeZone !== 'string' || timeZone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

// Every IANA zone the browser knows, for a select.
export function timeZoneNames() {
  try {
    const zones = Intl.supportedValuesOf('timeZone');
    if (Array.isArray(zones) && zones.length) return zones;
  } catch { /* older browsers */ }
  return ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix',
    'America/Los_Angeles', 'America/Anchorage', 'Pacific/Honolulu', 'UTC'];
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// RFC 3339 text → { date: 'YYYY-MM-DD', time: 'HH:MM' } in timeZone, or null.
export function toZonedFields(text, timeZone) {
  const ms = Date.parse(text ?? '');
  if (Number.isNaN(ms)) return null;
  const w = wallClock(ms, timeZone);
  return { date: `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`, time: `${pad(w.hour)}:${pad(w.minute)}` };
}

// 'YYYY-MM-DD' + 'HH:MM' read as a wall clock in timeZone → RFC 3339 with
// that zone's offset ('2027-03-15T08:30:00-04:00'), or null if malformed.
// A time that does not exist (the hour skipped when clocks go forward) comes
// out as the same instant the clocks show after the change.
export function fromZonedFields(date, time, timeZone) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date ?? '');
  const t = /^(\d{2}):(\d{2})(?::\d{2})?$/.exec(time ?? '');
  if (d === null || t === null || !isTimeZone(timeZone)) return null;
  const guess = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]));
  if (Number.isNaN(guess)) return null;
  // Two candidates: the offset at the guess, and the offset at the first
  // candidate. Take the one that shows the wall clock asked for (the earlier
  // when both do, as clocks go back); in a skipped hour neither does: the later.
  const c1 = guess - zoneOffsetMinutes(guess, timeZone) * 60000;
  const c2 = guess - zoneOffsetMinutes(c1, timeZone) * 60000;
  const shows = (ms) => {
    const w = wallClock(ms, timeZone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) === guess;
  };
  const good = [c1, c2].filter(shows);
  const ms = good.length ? Math.min(...good) : Math.max(c1, c2);
  const w = wallClock(ms, timeZone);
  const off = zoneOffsetMinutes(ms, timeZone);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:00` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

// The calendar day of an instant in timeZone: 'YYYY-MM-DD'.
export function dayIn(text, timeZone) {
  return toZonedFields(text, timeZone)?.date ?? '';
}

// Today's date in timeZone: 'YYYY-MM-DD'.
export function todayIn(timeZone) {
  return dayIn(new Date().toISOString(), timeZone);
}

// '8:30 – 9:30 AM EDT' in the offering's zone.
export function formatTimeRange(startText, endText, timeZone) {
  const a = new Date(startText);
  const b = new Date(endText);
  if (Number.isNaN(a.getTime())) return '';
  const opts = { hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone };
  let f;
  try { f = new Intl.DateTimeFormat(LOCALE, opts); } catch { f = new Intl.DateTimeFormat(LOCALE, { ...opts, timeZone: undefined }); }
  if (Number.isNaN(b.getTime())) return f.format(a);
  return f.formatRange(a, b);
}

// 'Eastern Daylight Time' for the zone on that day (or today).
export function zoneName(timeZone, atText = null) {
  const at = atText ? new Date(atText) : new Date();
  try {
    const parts = new Intl.DateTimeFormat(LOCALE, { timeZone, timeZoneName: 'long' }).formatToParts(at);
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
  } catch {
    return timeZone;
  }
}

// 1.5 → '1.5 hours', 1 → '1 hour'
export function formatHours(n) {
  const x = Number(n);
  if (!Number.isFinite(x)) return '';
  return `${x.toLocaleString(LOCALE, { maximumFractionDigits: 2 })} ${x === 1 ? 'hour' : 'hours'}`;
}

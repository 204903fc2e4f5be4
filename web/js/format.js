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

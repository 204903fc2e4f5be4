// ui.js — the pieces every screen shares: loading, error and empty states,
// page headings. Each state is both shown and announced.

import { h, replaceChildren } from './dom.js';
import { announce } from './status.js';

// Shows a loading message in `root` and announces it. Use for the part of a
// screen that waits for data; the heading can be shown before it.
export function showLoading(root, text) {
  announce(text);
  return replaceChildren(root,
    h('p', { class: 'notice notice--loading' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }), text));
}

// An error panel with the error's human message and, when given, a button
// that retries. Announced assertively.
export function showError(root, error, { heading = 'Something went wrong', onRetry = null } = {}) {
  const message = error?.message || 'Something went wrong. Please try again.';
  announce(`${heading}. ${message}`, { assertive: true });
  const retry = onRetry
    ? h('button', { type: 'button', class: 'button button--secondary' }, 'Try again')
    : null;
  if (retry) retry.addEventListener('click', onRetry);
  return replaceChildren(root,
    h('div', { class: 'panel panel--error' },
      h('h2', { class: 'panel__title' }, heading),
      h('p', {}, message),
      retry));
}

// A friendly empty state: a short heading and a sentence.
export function emptyState(title, text) {
  return h('div', { class: 'panel panel--empty' },
    h('p', { class: 'panel__title' }, title),
    text ? h('p', {}, text) : null);
}

// The page's one h1. tabindex=-1 lets the router move focus to it after a
// navigation, so screen-reader and keyboard users start at the new content.
export function pageHeading(text, { eyebrow = null } = {}) {
  return h('div', { class: 'page-heading' },
    eyebrow ? h('p', { class: 'page-heading__eyebrow' }, eyebrow) : null,
    h('h1', { tabindex: '-1' }, text));
}

// "Courses › Serious Illness Communication"
export function breadcrumbs(trail) {
  const items = trail.map(([label, href], i) => {
    const last = i === trail.length - 1;
    return h('li', {},
      last || !href ? h('span', { 'aria-current': last ? 'page' : null }, label)
        : h('a', { href }, label));
  });
  return h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' }, h('ol', {}, items));
}

// A message for the next screen ("You are signed out."), shown at the top of
// it and announced once it has rendered (app.js takes it).
let pendingFlash = null;

export function flash(text) {
  pendingFlash = text;
}

export function takeFlash() {
  const text = pendingFlash;
  pendingFlash = null;
  return text;
}

// A confirmation panel ("Your profile is saved.").
export function successNotice(text) {
  return h('div', { class: 'panel panel--success' }, h('p', {}, text));
}

// The link to the sign-in page that comes back to `path` afterwards.
export function signInHref(path) {
  return path && path !== '/' ? `#/sign-in?next=${encodeURIComponent(path)}` : '#/sign-in';
}

// The body of a page that needs a signed-in user when nobody is.
export function signInRequired(root, ctx, { title, path, text }) {
  ctx.setTitle(title);
  replaceChildren(root,
    pageHeading(title),
    h('p', {}, text ?? 'Please sign in to see this page.'),
    h('p', { class: 'button-row' },
      h('a', { class: 'button', href: signInHref(path) }, 'Sign in'),
      h('a', { class: 'button button--secondary', href: '#/sign-up' }, 'Create an account')));
  announce(`${title}. ${text ?? 'Please sign in to see this page.'}`);
}

// The body of a page the signed-in user may not use.
export function notAllowed(root, ctx, { title, text, back = null }) {
  ctx.setTitle(title);
  replaceChildren(root,
    pageHeading(title),
    h('div', { class: 'panel panel--error' },
      h('p', { class: 'panel__title' }, 'You do not have permission to do this'),
      h('p', {}, text)),
    back ? h('p', {}, h('a', { href: back[1] }, back[0])) : null);
  announce(`${title}. You do not have permission to do this. ${text}`, { assertive: true });
}

// A button that fetches a file (getBlob() → Blob) and saves it as filename;
// a refusal is said beside it (role=alert) instead of saving an error page.
export function downloadButton(label, filename, getBlob, { small = false } = {}) {
  const button = h('button', { type: 'button', class: `button button--secondary${small ? ' button--small' : ''}` }, label);
  const note = h('span', { class: 'download-note', role: 'alert' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    note.textContent = '';
    try {
      const url = URL.createObjectURL(await getBlob());
      const a = h('a', { href: url, download: filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      note.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'download' }, button, ' ', note);
}

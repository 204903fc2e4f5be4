// app.js — the shell: a small hash router that mounts one screen at a time
// into <main>.
//
// Routes are one table. Each screen is a module in screens/ exporting
//   render(ctx) → Promise
// where ctx = { root, params, query, signal, setTitle, navigate, rerender }.
// `root` is <main>, already emptied; `signal` aborts when the user navigates
// away (pass it to api.js calls so stale answers never paint over the new
// screen). A screen shows its own loading, error and empty states (ui.js).
// Screens load on first use (dynamic import), so new screens cost nothing
// until visited.

import { h, replaceChildren } from './dom.js';
import { startAccount } from './header.js';
import * as session from './session.js';
import { announce } from './status.js';
import { pageHeading, showError, successNotice, takeFlash } from './ui.js';
import './registration-nav.js';

const PRODUCT = 'Registrar';

// pattern: path after '#', with :params. nav: which main-nav link is current.
const ROUTES = [
  { pattern: '/', nav: 'catalog', load: () => import('./screens/catalog.js') },
  { pattern: '/courses/:slug', nav: 'catalog', load: () => import('./screens/course.js') },
  { pattern: '/courses/:slug/offerings/new', nav: 'catalog', load: () => import('./screens/offering-edit.js') },
  { pattern: '/offerings/:id', nav: 'catalog', load: () => import('./screens/offering.js') },
  { pattern: '/offerings/:id/edit', nav: 'catalog', load: () => import('./screens/offering-edit.js') },
  { pattern: '/offerings/:id/schedule', nav: 'catalog', load: () => import('./screens/schedule-edit.js') },
  { pattern: '/sign-in', nav: null, load: () => import('./screens/signin.js') },
  { pattern: '/sign-up', nav: null, load: () => import('./screens/signup.js') },
  { pattern: '/forgot-password', nav: null, load: () => import('./screens/forgot.js') },
  { pattern: '/reset', nav: null, load: () => import('./screens/reset.js') },
  { pattern: '/verify', nav: null, load: () => import('./screens/verify.js') },
  { pattern: '/profile', nav: null, load: () => import('./screens/profile.js') },
  { pattern: '/profile/password', nav: null, load: () => import('./screens/password.js') },
  { pattern: '/profile/delete', nav: null, load: () => import('./screens/delete-account.js') },
  // Registration and payment (issue 5)
  { pattern: '/offerings/:id/register', nav: 'catalog', load: () => import('./screens/register.js') },
  { pattern: '/registrations', nav: 'registrations', load: () => import('./screens/my-registrations.js') },
  { pattern: '/registrations/:id', nav: 'registrations', load: () => import('./screens/registration.js') },
  { pattern: '/registrations/:id/workshops', nav: 'registrations', load: () => import('./screens/workshops.js') },
  { pattern: '/offerings/:id/applications', nav: 'catalog', load: () => import('./screens/director-applications.js') },
  { pattern: '/offerings/:id/roster', nav: 'catalog', load: () => import('./screens/roster.js') },
  { pattern: '/offerings/:id/waitlist', nav: 'catalog', load: () => import('./screens/waitlist.js') },
  // Attendance and check-in (issue 10)
  { pattern: '/offerings/:id/attendance', nav: 'catalog', load: () => import('./screens/attendance.js') },
  { pattern: '/offerings/:id/check-in', nav: 'catalog', load: () => import('./screens/check-in.js') },
  // After the course (issue 10)
  { pattern: '/registrations/:id/evaluation', nav: 'registrations', load: () => import('./screens/evaluation.js') },
  { pattern: '/transcript', nav: 'registrations', load: () => import('./screens/transcript.js') },
  { pattern: '/verify-certificate', nav: null, load: () => import('./screens/verify-certificate.js') },
  { pattern: '/verify-certificate/:code', nav: null, load: () => import('./screens/verify-certificate.js') },
  { pattern: '/offerings/:id/completion', nav: 'catalog', load: () => import('./screens/completion.js') },
  { pattern: '/offerings/:id/evaluations', nav: 'catalog', load: () => import('./screens/evaluations.js') },
  { pattern: '/offerings/:id/evaluation-form', nav: 'catalog', load: () => import('./screens/evaluation-form-edit.js') },
  // Running the centre (issue 11)
  { pattern: '/admin', nav: 'admin', load: () => import('./screens/admin.js') },
  { pattern: '/admin/users/:id', nav: 'admin', load: () => import('./screens/admin.js') },
];

function compile(pattern) {
  const names = [];
  const source = pattern.split('/').map((part) => {
    if (part.startsWith(':')) {
      names.push(part.slice(1));
      return '([^/]+)';
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('/');
  return { regex: new RegExp(`^${source}/?$`), names };
}

const table = ROUTES.map((r) => ({ ...r, ...compile(r.pattern) }));

function match(path) {
  for (const route of table) {
    const m = route.regex.exec(path);
    if (m === null) continue;
    const params = {};
    try {
      route.names.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
    } catch {
      return null; // malformed %-escape: treat as an unknown page
    }
    return { route, params };
  }
  return null;
}

// '#/courses/pcep?tab=x' → { path: '/courses/pcep', query: URLSearchParams }
function currentLocation() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/';
  const q = raw.indexOf('?');
  return {
    path: q === -1 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
  };
}

export function navigate(path) {
  location.hash = `#${path}`;
}

function setTitle(text) {
  document.title = text ? `${text} — ${PRODUCT}` : `${PRODUCT} — Palliative Care Education Centre`;
}

function markNav(nav) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function renderNotFound(root) {
  setTitle('Page not found');
  announce('Page not found.');
  replaceChildren(root,
    pageHeading('Page not found'),
    h('p', {}, 'There is no page at this address. It may have been moved, or the link may be mistyped.'),
    h('p', {}, h('a', { href: '#/' }, 'See all courses')));
}

const main = document.getElementById('main');
let controller = null;
let firstRender = true;

async function render() {
  if (controller !== null) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  const { path, query } = currentLocation();
  const found = match(path);
  const moveFocus = !firstRender;
  firstRender = false;

  main.replaceChildren();
  main.setAttribute('aria-busy', 'true');
  markNav(found ? found.route.nav : null);
  if (moveFocus) window.scrollTo(0, 0);

  try {
    if (found === null) {
      renderNotFound(main);
    } else {
      // Screens may depend on who is signed in: the first GET /me answers first.
      const [screen] = await Promise.all([found.route.load(), session.ready()]);
      if (signal.aborted) return;
      await screen.render({
        root: main,
        params: found.params,
        query,
        path,
        signal,
        setTitle,
        navigate,
        rerender: render,
      });
    }
    const note = takeFlash();
    if (note && !signal.aborted) {
      const heading = main.querySelector('.page-heading');
      const notice = successNotice(note);
      if (heading) heading.after(notice);
      else main.prepend(notice);
      announce(note);
    }
  } catch (err) {
    if (err?.name === 'AbortError' || signal.aborted) return;
    console.warn('registrar: screen failed', err);
    replaceChildren(main, pageHeading('Something went wrong'));
    const box = main.appendChild(h('div'));
    showError(box, err?.name === 'ApiError' ? err
      : new Error('This page could not be shown. Please reload and try again.'),
    { heading: 'This page could not be shown', onRetry: render });
  } finally {
    if (!signal.aborted) {
      main.removeAttribute('aria-busy');
      if (moveFocus) main.querySelector('h1')?.focus();
    }
  }
}

// The skip link targets #main, which in a hash router would be a route;
// move focus instead and leave the address alone.
document.querySelector('.skip-link')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', render);
// The account corner stays hidden until GET /me has said who this is.
session.ready().then(startAccount);
render();

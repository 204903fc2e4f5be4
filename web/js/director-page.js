// director-page.js — the frame of the directors' registration pages
// (applications, roster, waitlist): sign-in and permission checks, the
// offering loaded, breadcrumbs, the heading and the sub-navigation.
//
//   const page = await directorPage(ctx, { page: 'roster', heading: 'Roster' });
//   if (page === null) return;        // the frame already said why
//   page.body.append(...);            // page.offering, page.course, page.title

import { courses, offerings } from './api.js';
import { h, replaceChildren } from './dom.js';
import { directorNav, offeringLine } from './enrollment-view.js';
import * as session from './session.js';
import { announce } from './status.js';
import {
  breadcrumbs, notAllowed, pageHeading, showError, showLoading, signInRequired,
} from './ui.js';

export async function directorPage(ctx, { page, heading }) {
  const { root, params, signal } = ctx;
  const path = `/offerings/${params.id}/${page}`;
  if (session.user() === null) {
    signInRequired(root, ctx, { title: heading, path, text: 'Please sign in as a course director to see this page.' });
    return null;
  }
  ctx.setTitle(heading);
  replaceChildren(root, breadcrumbs([['Courses', '#/'], [heading, null]]), pageHeading(heading));
  const status = root.appendChild(h('div'));
  showLoading(status, 'Loading the offering…');
  let o;
  try {
    o = await offerings.get(params.id, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    showError(status, err, {
      heading: err.slug === 'not-found' ? 'Offering not found' : 'The offering could not be loaded',
      onRetry: err.slug === 'not-found' ? null : () => ctx.rerender(),
    });
    return null;
  }
  if (!session.canDirect(o.course_slug)) {
    notAllowed(root, ctx, {
      title: heading,
      text: 'Only the directors of this course and administrators can see its registrations.',
      back: ['Back to the offering', `#/offerings/${encodeURIComponent(o.id)}`],
    });
    return null;
  }
  let course = null;
  try {
    course = await courses.get(o.course_slug, { signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
  }
  const title = o.title || course?.title || 'Offering';
  const courseTitle = course?.title ?? o.course_slug;
  ctx.setTitle(`${heading}: ${title}`);
  const body = h('div', { class: 'director-page' });
  replaceChildren(root,
    breadcrumbs([['Courses', '#/'], [courseTitle, `#/courses/${encodeURIComponent(o.course_slug)}`],
      [title, `#/offerings/${encodeURIComponent(o.id)}`], [heading, null]]),
    pageHeading(`${heading}: ${title}`, { eyebrow: courseTitle }),
    h('p', { class: 'director-page__line' }, offeringLine(o)),
    directorNav(o, page),
    body);
  return { offering: o, course, title, body };
}

// A 403 from the server (the role was revoked meanwhile) or another failure
// while loading the page's list.
export function listFailed(ctx, body, err, what) {
  if (err.slug === 'forbidden') {
    replaceChildren(body, h('div', { class: 'panel panel--error' },
      h('p', { class: 'panel__title' }, 'You do not have permission to do this'),
      h('p', {}, err.message)));
    announce(`You do not have permission to see the ${what}.`, { assertive: true });
    return;
  }
  showError(body, err, { heading: `The ${what} could not be loaded`, onRetry: () => ctx.rerender() });
}

// A learner's identity in a list: name, then email, profession and more.
export function learnerLines(u) {
  return [
    h('span', { class: 'learner__name' }, u.full_name || u.email),
    h('span', { class: 'learner__email' }, u.email),
  ];
}

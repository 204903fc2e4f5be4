// screens/catalog.js — #/ : the centre's courses, each linking to its page.

import { courses, listAll } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { announce } from '../status.js';
import { emptyState, pageHeading, showError, showLoading } from '../ui.js';
import { plural } from '../format.js';

function directorsLine(directors) {
  if (!Array.isArray(directors) || directors.length === 0) return null;
  const names = directors.map((d) => d.full_name).filter(Boolean);
  if (names.length === 0) return null;
  const label = names.length === 1 ? 'Course director' : 'Course directors';
  return h('p', { class: 'course-card__directors' },
    h('span', { class: 'label' }, `${label}: `), names.join(', '));
}

function courseCard(course) {
  const href = `#/courses/${encodeURIComponent(course.slug)}`;
  return h('li', { class: 'course-card' },
    h('h2', { class: 'course-card__title' },
      h('a', { class: 'course-card__link', href }, course.title)),
    course.summary ? h('p', { class: 'course-card__summary' }, course.summary) : null,
    directorsLine(course.directors),
    course.credit_type
      ? h('p', { class: 'course-card__credit' },
        h('span', { class: 'label' }, 'Credit: '), course.credit_type)
      : null);
}

export async function render(ctx) {
  const { root, signal } = ctx;
  ctx.setTitle('Courses');
  const body = h('div', { class: 'catalog' });
  replaceChildren(root,
    pageHeading('Courses', { eyebrow: 'Continuing education in palliative care' }),
    h('p', { class: 'lead' },
      'Courses for physicians, nurses, social workers, chaplains and all who care for people with serious illness. ',
      'Choose a course to see its dates and how to register.'),
    body);

  const load = async () => {
    showLoading(body, 'Loading courses…');
    let items;
    try {
      items = await listAll(courses.list, { signal });
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      showError(body, err, { heading: 'The courses could not be loaded', onRetry: () => { load().catch(() => {}); } });
      return;
    }
    if (items.length === 0) {
      replaceChildren(body, emptyState('No courses yet', 'Courses will appear here once they are announced.'));
      announce('No courses yet.');
      return;
    }
    replaceChildren(body,
      h('ul', { class: 'course-list', 'aria-label': 'Courses' }, items.map(courseCard)));
    announce(`${plural(items.length, 'course', 'courses')} loaded.`);
  };
  await load();
}

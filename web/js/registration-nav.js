// registration-nav.js — shows the "My registrations" link of the main
// navigation (index.html, hidden at first) to signed-in learners only.

import * as session from './session.js';

function update(user) {
  const item = document.getElementById('nav-registrations');
  if (item) item.hidden = user === null;
}

session.ready().then(() => {
  update(session.user());
  session.onChange(update);
});

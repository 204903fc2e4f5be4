// registration-nav.js — shows the "My registrations" link of the main
// navigation (index.html, hidden at first) to signed-in learners only, and
// "Administration" to admins only (the server refuses everyone else anyway).

import * as session from './session.js';

function update(user) {
  const item = document.getElementById('nav-registrations');
  if (item) item.hidden = user === null;
  const admin = document.getElementById('nav-admin');
  if (admin) admin.hidden = !user?.roles?.admin;
}

session.ready().then(() => {
  update(session.user());
  session.onChange(update);
});

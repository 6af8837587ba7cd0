// The app's shell: a hash router over the pages, the navigation, and the
// engine loading in the background. To add a page: write a module under
// pages/ exporting title and render(view, ...params), and add it to routes
// (and to nav to list it).
import * as api from './api.js';
import * as identity from './pages/identity.js';
import * as ceremonies from './pages/ceremonies.js';
import * as ceremony from './pages/ceremony.js';
import * as admin from './pages/admin.js';
import { h } from './ui.js';

const routes = [
  { path: /^#?\/?$/, page: identity },
  { path: /^#\/ceremonies$/, page: ceremonies },
  { path: /^#\/ceremony\/([0-9a-f-]+)$/, page: ceremony },
  { path: /^#\/admin$/, page: admin },
];
// nav lists the pages; Admin for administrators only.
const nav = () => [['#/', 'Identity'], ['#/ceremonies', 'Ceremonies'],
  ...(api.session.role === 'admin' ? [['#/admin', 'Admin']] : [])];

function route() {
  const view = document.getElementById('view');
  view.dispatchEvent(new Event('leave'));
  const fresh = view.cloneNode(false); // drops the old page's listeners
  view.replaceWith(fresh);
  const hash = location.hash || '#/';
  const match = routes.map(r => [r, hash.match(r.path)]).find(([, m]) => m);
  showNav(hash);
  if (!match) { fresh.append(h('p', {}, 'No such page.')); return; }
  const [r, m] = match;
  document.title = `${r.page.title} · ChusMe`;
  r.page.render(fresh, ...m.slice(1));
  fresh.focus();
}

function showNav(hash) {
  document.getElementById('nav').replaceChildren(...nav().map(([href, label]) =>
    h('li', {}, h('a', { href, 'aria-current': hash === href ? 'page' : false }, label))));
}

function who() {
  showNav(location.hash || '#/');
  document.getElementById('who').textContent = api.session.loggedIn ? `Logged in as ${api.session.fingerprint}` : 'Not logged in.';
}

api.onLive((up, reason) => {
  document.getElementById('live').textContent = up ? 'Live updates on.' : `Live updates off${reason ? ': ' + reason : ''}.`;
});
window.addEventListener('hashchange', route);
document.addEventListener('session', who);
route();
performance.mark('chusme-usable'); // the page works; the engine loads on
api.load().then(() => {
  performance.mark('chusme-engine-ready');
  const e = document.getElementById('engine');
  e.textContent = 'Engine ready.';
  e.className = 'ready';
  const fp = document.getElementById('fingerprint');
  if (fp && api.session.fingerprint) fp.textContent = api.session.fingerprint;
}, err => { document.getElementById('engine').textContent = `The engine failed to load: ${err.message}`; });

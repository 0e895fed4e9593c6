// The shell: a hash router. Each view is `render(root, ...args)` returning
// an optional cleanup (stops its timers and listeners) run on navigation.

import { apiBase, clearSession, forgetServerLink, originOf, serverLink, session, setApiBase } from './api.js';
import { h, showError, toast } from './ui.js';
import { renderLogin } from './login.js';
import { renderFeed } from './feed.js';
import { renderUpload } from './upload.js';
import { renderProfile } from './profile.js';
import { renderFriends, renderChat } from './chat.js';

const routes = [
  { pattern: /^\/login$/, tab: 'me', view: renderLogin },
  { pattern: /^\/(feed)?$/, tab: 'feed', view: renderFeed },
  { pattern: /^\/upload$/, tab: 'upload', view: renderUpload, signedIn: true },
  { pattern: /^\/me$/, tab: 'me', view: (root) => renderProfile(root, session().user_id), signedIn: true },
  { pattern: /^\/user\/(\d+)$/, tab: 'me', view: (root, id) => renderProfile(root, Number(id)) },
  { pattern: /^\/friends$/, tab: 'friends', view: renderFriends, signedIn: true },
  { pattern: /^\/chat\/(\d+)$/, tab: 'friends', view: (root, id) => renderChat(root, Number(id)), signedIn: true },
];

let cleanup = null;

function route() {
  const path = location.hash.replace(/^#/, '') || '/feed';
  const match = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find(({ m }) => m);
  if (!match) {
    location.hash = '#/feed';
    return;
  }
  if (match.r.signedIn && !session()) {
    sessionStorage.setItem('douyin.after-login', location.hash);
    location.hash = '#/login';
    return;
  }
  if (cleanup) cleanup();
  cleanup = null;
  const root = document.getElementById('view');
  root.replaceChildren();
  root.className = `view-${match.r.tab}`;
  document.body.dataset.route = path.split('/')[1] || 'feed';
  for (const tab of document.querySelectorAll('#tabs a')) {
    tab.classList.toggle('active', tab.dataset.tab === match.r.tab);
  }
  try {
    cleanup = match.r.view(root, ...match.m.slice(1)) || null;
  } catch (error) {
    showError(error);
  }
}

// Nothing fails silently: a promise nobody awaited still shows its error.
window.addEventListener('unhandledrejection', (event) => {
  showError(event.reason);
});
// An expired or revoked token (ui.handle): sign out and ask to log in again, saying why.
document.addEventListener('douyin:unauthenticated', (event) => {
  clearSession();
  toast(event.detail, 'error');
  location.hash = '#/login';
});

/**
 * A link that names another server (`?api=<url>`): nothing is saved or sent
 * until the user, shown both origins, chooses. Switching signs out (a token
 * is for the server that issued it) and leads to the login page.
 */
function askAboutServerLink(link, then) {
  const current = originOf(apiBase());
  const root = document.getElementById('view');
  root.className = 'view-me';
  const use = h('button', { type: 'button', class: 'primary', onclick: () => answer(true) }, `Use ${link.origin}`);
  const stay = h('button', { type: 'button', onclick: () => answer(false) }, `Stay on ${current}`);
  root.replaceChildren(h('section', { class: 'card switch-server', role: 'dialog', 'aria-label': 'Switch server?' },
    h('h1', {}, 'Switch server?'),
    h('p', {}, 'This link asks to use the server at ', h('strong', { class: 'origin' }, link.origin),
      ' instead of ', h('strong', {}, current), '.'),
    h('p', { class: 'muted' }, 'Only switch to a server you trust: it will see your password when you log in. ',
      'Switching signs you out here (your session belongs to ', current, ').'),
    h('div', { class: 'row' }, use, stay),
  ));
  use.focus();

  function answer(switching) {
    forgetServerLink();
    if (switching) {
      setApiBase(link.url);
      toast(`Now using ${link.origin}. Log in to this server.`);
      history.replaceState(history.state, '', '#/login');
    }
    then();
  }
}

function start() {
  window.addEventListener('hashchange', route);
  // A tab tapped while open reloads it (the hash does not change, so no hashchange).
  document.getElementById('tabs').addEventListener('click', (event) => {
    const link = event.target.closest('a');
    if (link && link.getAttribute('href') === location.hash) route();
  });
  route();
}

const link = serverLink();
if (link) {
  askAboutServerLink(link, start);
} else {
  forgetServerLink();
  start();
}

// Sign up and log in (one form, two buttons), and the API server setting.

import { apiBase, call, originOf, saveSession, session, setApiBase } from './api.js';
import { h, toast } from './ui.js';

export function renderLogin(root) {
  const username = h('input', {
    name: 'username', autocomplete: 'username', required: true, maxlength: 32, placeholder: 'Username',
  });
  const password = h('input', {
    name: 'password', type: 'password', autocomplete: 'current-password', required: true,
    minlength: 6, maxlength: 32, placeholder: 'Password (6–32 characters)',
  });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const login = h('button', { type: 'submit', value: 'login', class: 'primary' }, 'Log in');
  const signup = h('button', { type: 'submit', value: 'register' }, 'Sign up');

  const form = h('form', { class: 'card auth', onsubmit: submit },
    h('h1', {}, 'Douyin'),
    session() ? h('p', { class: 'muted' }, `Signed in as ${session().name}. Log in again to switch.`) : null,
    h('label', {}, 'Username', username),
    h('label', {}, 'Password', password),
    error,
    h('div', { class: 'row' }, login, signup),
  );

  const server = h('input', { name: 'api', type: 'url', value: apiBase(), placeholder: location.origin + '/' });
  const settings = h('details', { class: 'card settings' },
    h('summary', {}, 'Server'),
    h('form', { onsubmit: saveServer },
      h('label', {}, 'API base URL', server),
      h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save')),
    ),
  );
  root.append(form, settings);

  async function submit(event) {
    event.preventDefault();
    const action = event.submitter && event.submitter.value === 'register' ? 'register' : 'login';
    error.hidden = true;
    for (const button of [login, signup]) button.disabled = true;
    try {
      const answer = await call('POST', `user/${action}/`, {
        username: username.value.trim(), password: password.value, token: null,
      });
      saveSession({ token: answer.token, user_id: answer.user_id, name: username.value.trim() });
      toast(action === 'register' ? `Welcome, ${username.value.trim()}!` : 'Logged in');
      const next = sessionStorage.getItem('douyin.after-login');
      sessionStorage.removeItem('douyin.after-login');
      location.hash = next && next !== '#/login' ? next : '#/feed';
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      for (const button of [login, signup]) button.disabled = false;
    }
  }

  // Saving is the user's explicit act, shown with the origin it moves to; a
  // session belongs to one server, so another origin signs out.
  function saveServer(event) {
    event.preventDefault();
    const signedIn = session();
    try {
      setApiBase(server.value);
    } catch {
      toast('Not a URL: write it as http://host:port/', 'error');
      return;
    }
    server.value = apiBase();
    const origin = originOf(apiBase());
    toast(signedIn && !session() ? `Server: ${origin}. Signed out: log in to this server.` : `Server: ${origin}`);
    // Drawn again: the "Signed in as" line may no longer hold.
    root.replaceChildren();
    renderLogin(root);
  }
}

// Friends (mutual follows, with the latest message) and a chat that polls
// like the stock client: every second, pre_msg_time = the newest create_time
// shown. Messages are deduplicated by id and appended in order, so nothing is
// shown twice and, as the server never makes an older message visible late,
// nothing is skipped.

import { call, session } from './api.js';
import { avatar, h, handle, notice } from './ui.js';

const POLL_MS = 1000;

export function renderFriends(root) {
  const me = session();
  const list = h('ul', { class: 'people friends' });
  root.append(h('div', { class: 'card' }, h('h1', {}, 'Friends'), list));
  notice(list, 'Loading…');
  (async () => {
    try {
      const { user_list: friends } = await call('GET', 'relation/friend/list/', { user_id: me.user_id });
      if (friends.length === 0) {
        return notice(list, 'No friends yet: friends are people you follow who follow you back.');
      }
      list.replaceChildren(...friends.map((friend) =>
        h('li', { class: 'person friend', dataset: { id: friend.id } },
          h('a', { href: `#/chat/${friend.id}`, class: 'who' }, avatar(friend),
            h('span', {},
              h('strong', { class: 'name' }, friend.name),
              h('span', { class: 'muted preview' },
                friend.message ? (friend.msgType === 1 ? 'You: ' : '') + friend.message : 'Say hello'))))));
    } catch (error) {
      notice(list, error.message);
      handle(error);
    }
  })();
}

export function renderChat(root, friendId) {
  const me = session();
  const seen = new Set();
  let newest = 0; // pre_msg_time: create_time of the newest message shown
  let polls = 0;
  let inFlight = null;
  let again = false;
  let timer = null;
  let stopped = false;
  let lastError = '';

  const name = h('h1', {}, '…');
  const messages = h('ol', { class: 'messages', dataset: { polls: 0 }, 'aria-live': 'polite' });
  const input = h('input', { name: 'message', maxlength: 500, placeholder: 'Message', autocomplete: 'off', required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  root.append(h('div', { class: 'chat' },
    h('header', {}, h('a', { href: '#/friends', class: 'back', 'aria-label': 'Back' }, '‹'), name,
      h('a', { href: `#/user/${friendId}`, class: 'muted' }, 'profile')),
    messages,
    h('form', { class: 'row composer', onsubmit: submit }, input, send)));

  call('GET', 'user/', { user_id: friendId }).then(({ user }) => {
    name.replaceChildren(avatar(user), user.name);
  }, handle);

  /** One poll at a time; a poll asked for during another runs right after it. */
  function poll() {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      do {
        again = false;
        try {
          const { message_list: list } = await call('GET', 'message/chat/', { to_user_id: friendId, pre_msg_time: newest });
          if (stopped) return;
          show(list);
          lastError = '';
        } catch (error) {
          // Keep polling; say it once, not every second.
          if (error.message !== lastError) handle(error);
          lastError = error.message;
        }
        messages.dataset.polls = String(++polls);
      } while (again && !stopped);
    })().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  function show(list) {
    const stick = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    for (const message of list) {
      newest = Math.max(newest, message.create_time);
      if (seen.has(message.id)) continue;
      seen.add(message.id);
      const mine = message.from_user_id === me.user_id;
      messages.append(h('li', { class: mine ? 'message mine' : 'message theirs', dataset: { id: message.id } },
        h('p', {}, message.content),
        h('time', { datetime: new Date(message.create_time).toISOString() },
          new Date(message.create_time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }))));
    }
    if (stick || list.some((m) => m.from_user_id === me.user_id)) messages.scrollTop = messages.scrollHeight;
  }

  async function submit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send.disabled = true;
    try {
      await call('POST', 'message/action/', { to_user_id: friendId, action_type: 1, content: text });
      input.value = '';
      poll(); // the server shows a sent message at once
    } catch (error) {
      handle(error);
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  const tick = async () => {
    await poll();
    if (!stopped) timer = setTimeout(tick, POLL_MS);
  };
  tick();
  input.focus();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// A profile: counters, and tabs for videos, likes, following and followers.
// One's own adds "Log out"; another's adds Follow and Message.

import { call, clearSession, session } from './api.js';
import { avatar, count, h, handle, notice, toast } from './ui.js';
import { followButton, videoSlide } from './feed.js';

export function renderProfile(root, userId) {
  const me = session();
  const mine = me && me.user_id === userId;
  const header = h('header', { class: 'profile-header' }, h('p', { class: 'muted' }, 'Loading…'));
  const panel = h('div', { class: 'panel' });
  const tabs = [
    ['videos', mine ? 'My videos' : 'Videos', () => videos('publish/list/')],
    ['likes', 'Likes', () => videos('favorite/list/')],
    ['following', 'Following', () => users('relation/follow/list/')],
    ['followers', 'Followers', () => users('relation/follower/list/')],
  ];
  const bar = h('div', { class: 'tabbar', role: 'tablist' }, tabs.map(([key, label]) =>
    h('button', { role: 'tab', dataset: { tab: key }, onclick: () => open(key) }, label)));
  root.append(h('div', { class: 'profile' }, header, bar, panel));
  let generation = 0;

  loadUser();
  open('videos');

  async function loadUser() {
    try {
      const { user } = await call('GET', 'user/', { user_id: userId });
      header.replaceChildren(...userHeader(user));
    } catch (error) {
      header.replaceChildren(h('p', { class: 'form-error' }, error.message));
      handle(error);
    }
  }

  function userHeader(user) {
    const stat = (value, label, tab) =>
      h(tab ? 'button' : 'div', { class: 'stat', dataset: { stat: label }, onclick: tab ? () => open(tab) : null },
        h('strong', {}, count(value)), h('span', {}, label));
    const followers = { value: user.follower_count };
    const actions = mine
      ? [h('button', { class: 'logout', onclick: logout }, 'Log out')]
      : [followButton(user, (following) => {
          followers.value += following ? 1 : -1;
          header.querySelector('[data-stat="followers"] strong').textContent = count(followers.value);
        }), me ? h('a', { class: 'button', href: `#/chat/${user.id}` }, 'Message') : null];
    return [
      h('img', { class: 'banner', src: user.background_image, alt: '' }),
      h('div', { class: 'identity' }, avatar(user, 'large'),
        h('div', {}, h('h1', { class: 'name' }, user.name), h('p', { class: 'signature' }, user.signature))),
      h('div', { class: 'stats' },
        stat(user.follow_count, 'following', 'following'),
        stat(user.follower_count, 'followers', 'followers'),
        stat(user.total_favorited, 'likes received'),
        stat(user.work_count, 'videos', 'videos'),
        stat(user.favorite_count, 'liked', 'likes')),
      h('div', { class: 'row' }, actions),
    ];
  }

  function open(key) {
    for (const button of bar.children) button.setAttribute('aria-selected', String(button.dataset.tab === key));
    panel.dataset.tab = key;
    notice(panel, 'Loading…');
    tabs.find(([k]) => k === key)[2]();
  }

  // A grid of videos, a page at a time: "More" asks for the next page with
  // the last one's next_cursor (an author's list holds 98 a page, likes 30).
  async function videos(path) {
    const mark = ++generation;
    const grid = h('div', { class: 'grid' });
    const more = h('button', { class: 'more', onclick: () => page(more.dataset.cursor) }, 'More');
    const tile = (video) =>
      h('button', { class: 'tile', dataset: { id: video.id }, onclick: () => player(video) },
        h('img', { class: 'cover', src: video.cover_url, alt: video.title, loading: 'lazy' }),
        h('span', { class: 'tile-title' }, video.title),
        h('span', { class: 'tile-likes' }, '♥ ' + count(video.favorite_count)));
    async function page(cursor) {
      more.disabled = true;
      try {
        const params = cursor ? { user_id: userId, cursor } : { user_id: userId };
        const { video_list: list, next_cursor: next } = await call('GET', path, params);
        if (mark !== generation) return;
        if (!cursor && list.length === 0) return notice(panel, 'No videos yet.');
        if (!cursor) panel.replaceChildren(grid, more);
        grid.append(...list.map(tile));
        more.dataset.cursor = next || '';
        more.hidden = !next;
      } catch (error) {
        if (mark === generation) (cursor ? toast(error.message) : notice(panel, error.message));
        handle(error);
      } finally {
        more.disabled = false;
      }
    }
    await page('');
  }

  async function users(path) {
    const mark = ++generation;
    try {
      const { user_list: list } = await call('GET', path, { user_id: userId });
      if (mark !== generation) return;
      if (list.length === 0) return notice(panel, 'Nobody yet.');
      panel.replaceChildren(h('ul', { class: 'people' }, list.map(personRow)));
    } catch (error) {
      if (mark === generation) notice(panel, error.message);
      handle(error);
    }
  }

  function logout() {
    clearSession();
    toast('Logged out');
    location.hash = '#/login';
  }
}

/** A user in a list: avatar, name, signature, follow button. */
export function personRow(user, extra = null) {
  return h('li', { class: 'person', dataset: { id: user.id } },
    h('a', { href: `#/user/${user.id}`, class: 'who' }, avatar(user),
      h('span', {}, h('strong', { class: 'name' }, user.name), h('span', { class: 'muted' }, extra ?? user.signature))),
    followButton(user));
}

/** A full-screen player over the page for one video. */
function player(video) {
  const close = () => {
    overlay.remove();
    document.removeEventListener('keydown', onEscape);
    window.removeEventListener('hashchange', close);
  };
  const onEscape = (event) => event.key === 'Escape' && !document.querySelector('.sheet') && close();
  const slide = videoSlide(video);
  slide.classList.add('current');
  const overlay = h('div', { class: 'player', role: 'dialog', 'aria-label': video.title },
    slide, h('button', { class: 'close', 'aria-label': 'Close', onclick: close }, '×'));
  document.body.append(overlay);
  document.addEventListener('keydown', onEscape);
  window.addEventListener('hashchange', close);
  slide.querySelector('video').play().catch(() => slide.classList.add('paused'));
}

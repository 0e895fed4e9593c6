// The feed: one video per screen, vertical snap scrolling (wheel, touch,
// arrow keys), the visible one playing muted; pages with next_time. Also the
// slide (like, comments, follow) and the comments sheet, reused by profiles.

import { call, session } from './api.js';
import { avatar, count, h, handle } from './ui.js';

export function renderFeed(root) {
  const list = h('div', { class: 'feed', tabindex: 0, 'aria-label': 'videos' });
  root.append(list);
  const seen = new Set();
  let nextTime = 0; // 0: now
  let loading = null;
  let exhausted = false;

  const visibility = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const video = entry.target.querySelector('video');
      if (entry.isIntersecting) {
        entry.target.classList.add('current');
        play(entry.target, video);
        const slides = [...list.querySelectorAll('.slide')];
        if (slides.indexOf(entry.target) >= slides.length - 2) more();
      } else {
        entry.target.classList.remove('current');
        video.pause();
      }
    }
  }, { root: list, threshold: 0.6 });

  function more() {
    if (loading || exhausted) return loading;
    loading = (async () => {
      try {
        const page = await call('GET', 'feed/', { latest_time: nextTime || undefined });
        const fresh = page.video_list.filter((video) => !seen.has(video.id));
        for (const video of fresh) {
          seen.add(video.id);
          const slide = videoSlide(video);
          list.insertBefore(slide, list.querySelector('.end'));
          visibility.observe(slide);
        }
        if (page.video_list.length === 0) {
          exhausted = true;
          list.append(endSlide());
        }
        nextTime = page.next_time;
      } catch (error) {
        handle(error);
      } finally {
        loading = null;
      }
    })();
    return loading;
  }

  function endSlide() {
    if (seen.size === 0) {
      return h('section', { class: 'slide end' },
        h('p', { class: 'notice' }, 'No videos yet. ', h('a', { href: '#/upload' }, 'Upload the first one')));
    }
    return h('section', { class: 'slide end' },
      h('p', { class: 'notice' }, 'You have seen everything. ', h('button', { onclick: startOver }, 'Start over')));
  }

  function startOver() {
    list.replaceChildren();
    seen.clear();
    nextTime = 0;
    exhausted = false;
    more();
  }

  function step(direction) {
    const slides = [...list.querySelectorAll('.slide')];
    const index = Math.round(list.scrollTop / list.clientHeight);
    const target = slides[Math.max(0, Math.min(slides.length - 1, index + direction))];
    if (target) list.scrollTo({ top: target.offsetTop, behavior: 'smooth' });
  }
  function onKey(event) {
    if (event.target.closest('input, textarea, .sheet')) return;
    if (event.key === 'ArrowDown' || event.key === 'j' || event.key === 'PageDown') step(1);
    else if (event.key === 'ArrowUp' || event.key === 'k' || event.key === 'PageUp') step(-1);
    else return;
    event.preventDefault();
  }
  document.addEventListener('keydown', onKey);
  list.focus();
  more();
  return () => {
    visibility.disconnect();
    document.removeEventListener('keydown', onKey);
    for (const video of list.querySelectorAll('video')) video.pause();
  };
}

function play(slide, video) {
  video.play().then(
    () => slide.classList.remove('paused'),
    (error) => {
      // Autoplay refused (or not loadable yet): offer a tap instead.
      if (error.name === 'NotAllowedError') slide.classList.add('paused');
    },
  );
}

/** One video on a full screen, with its actions. */
export function videoSlide(video) {
  const me = session();
  const player = h('video', {
    src: video.play_url, poster: video.cover_url, muted: true, loop: true, playsinline: true, preload: 'metadata',
  });
  player.muted = true; // the attribute alone does not allow autoplay everywhere
  const problem = h('p', { class: 'video-error', hidden: true });
  player.addEventListener('error', () => {
    problem.textContent = 'This browser cannot play this video.';
    problem.hidden = false;
  });
  player.addEventListener('click', () => (player.paused ? player.play().catch(handle) : player.pause()));

  const likeCount = h('span', {}, count(video.favorite_count));
  const like = h('button', {
    class: 'like', 'aria-pressed': String(video.is_favorite), 'aria-label': 'Like', onclick: toggleLike,
  }, icon(HEART), likeCount);
  const commentCount = h('span', {}, count(video.comment_count));
  const comments = h('button', { class: 'comments', 'aria-label': 'Comments', onclick: openComments },
    icon(BUBBLE), commentCount);
  const follow = followButton(video.author);

  const slide = h('section', { class: 'slide', dataset: { id: video.id } },
    h('img', { class: 'cover', src: video.cover_url, alt: '' }),
    player,
    problem,
    h('div', { class: 'caption' },
      h('a', { class: 'author', href: `#/user/${video.author.id}` }, '@' + video.author.name),
      h('p', { class: 'title' }, video.title)),
    h('div', { class: 'actions' },
      h('div', { class: 'who' },
        h('a', { href: `#/user/${video.author.id}`, 'aria-label': video.author.name }, avatar(video.author, 'medium')),
        follow),
      like, comments),
  );

  async function toggleLike() {
    if (!me) return (location.hash = '#/login');
    const liked = like.getAttribute('aria-pressed') === 'true';
    like.disabled = true;
    try {
      await call('POST', 'favorite/action/', { video_id: video.id, action_type: liked ? 2 : 1 });
      video.is_favorite = !liked;
      video.favorite_count += liked ? -1 : 1;
      like.setAttribute('aria-pressed', String(!liked));
      likeCount.textContent = count(video.favorite_count);
    } catch (error) {
      handle(error);
    } finally {
      like.disabled = false;
    }
  }

  function openComments() {
    commentSheet(video, (n) => (commentCount.textContent = count(n)));
  }
  return slide;
}

const HEART = 'M12 21s-7.5-4.6-9.6-9.3C1 8.4 3 4.5 6.8 4.5c2.2 0 3.9 1.4 5.2 3.2 1.3-1.8 3-3.2 5.2-3.2 3.8 0 5.8 3.9 4.4 7.2C19.5 16.4 12 21 12 21z';
const BUBBLE = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2h-9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z';

/** A filled 24×24 icon (no emoji font needed). */
function icon(pathData) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const shape = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  shape.setAttribute('d', pathData);
  svg.append(shape);
  return svg;
}

/** Follow / unfollow `user`; null for oneself. */
export function followButton(user, onChange = () => {}) {
  const me = session();
  if (me && me.user_id === user.id) return null;
  const button = h('button', { class: 'follow', onclick: toggle });
  const show = () => {
    button.textContent = user.is_follow ? 'Following' : 'Follow';
    button.setAttribute('aria-pressed', String(user.is_follow));
  };
  show();
  async function toggle(event) {
    event.stopPropagation();
    if (!session()) return (location.hash = '#/login');
    button.disabled = true;
    try {
      await call('POST', 'relation/action/', { to_user_id: user.id, action_type: user.is_follow ? 2 : 1 });
      user.is_follow = !user.is_follow;
      show();
      onChange(user.is_follow);
    } catch (error) {
      handle(error);
    } finally {
      button.disabled = false;
    }
  }
  return button;
}

/** The comments of `video` in a bottom sheet: list, post, delete (own, or any on one's own video). */
export function commentSheet(video, onCount) {
  const me = session();
  const list = h('ul', { class: 'comment-list' });
  const title = h('h2', {}, 'Comments');
  const input = h('input', { name: 'comment', maxlength: 500, placeholder: me ? 'Add a comment…' : 'Log in to comment', autocomplete: 'off' });
  const post = h('button', { type: 'submit', class: 'primary' }, 'Post');
  const close = () => {
    sheet.remove();
    document.removeEventListener('keydown', onEscape);
    window.removeEventListener('hashchange', close);
  };
  const onEscape = (event) => event.key === 'Escape' && close();
  const sheet = h('div', { class: 'sheet-backdrop', onclick: (event) => event.target === sheet && close() },
    h('div', { class: 'sheet', role: 'dialog', 'aria-label': 'Comments' },
      h('header', {}, title, h('button', { class: 'close', 'aria-label': 'Close', onclick: close }, '×')),
      list,
      h('form', { class: 'row', onsubmit: submit }, input, post)));
  document.body.append(sheet);
  document.addEventListener('keydown', onEscape);
  window.addEventListener('hashchange', close);
  load();

  // The count is the video's (the list shows the newest 100 only).
  function show(comments, delta = 0) {
    video.comment_count = Math.max(0, video.comment_count + delta);
    title.textContent = `Comments (${video.comment_count})`;
    onCount(video.comment_count);
    list.replaceChildren(...comments.map(item));
    if (comments.length === 0) list.append(h('li', { class: 'muted' }, 'No comments yet.'));
  }
  let current = [];
  function item(comment) {
    const mine = me && (comment.user.id === me.user_id || video.author.id === me.user_id);
    return h('li', { class: 'comment', dataset: { id: comment.id } },
      avatar(comment.user),
      h('div', {},
        h('a', { class: 'name', href: `#/user/${comment.user.id}`, onclick: close }, comment.user.name),
        h('p', {}, comment.content),
        h('span', { class: 'muted' }, comment.create_date)),
      mine ? h('button', { class: 'delete', 'aria-label': 'Delete comment', onclick: () => remove(comment) }, 'Delete') : null);
  }
  async function load() {
    try {
      current = (await call('GET', 'comment/list/', { video_id: video.id })).comment_list;
      show(current);
    } catch (error) {
      handle(error);
    }
  }
  async function submit(event) {
    event.preventDefault();
    if (!me) return (location.hash = '#/login');
    const text = input.value.trim();
    if (!text) return;
    post.disabled = true;
    try {
      const answer = await call('POST', 'comment/action/', { video_id: video.id, action_type: 1, comment_text: text });
      input.value = '';
      current = [answer.comment, ...current];
      show(current, 1);
    } catch (error) {
      handle(error);
    } finally {
      post.disabled = false;
    }
  }
  async function remove(comment) {
    try {
      await call('POST', 'comment/action/', { video_id: video.id, action_type: 2, comment_id: comment.id });
      current = current.filter((c) => c.id !== comment.id);
      show(current, -1);
    } catch (error) {
      handle(error);
    }
  }
  input.focus();
}

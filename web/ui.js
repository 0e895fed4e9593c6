// DOM helpers: an element builder, error toasts, small formatting.

import { ApiError } from './api.js';

/**
 * `h('button', {class: 'x', onclick: f}, 'text', child)`: attributes whose
 * name starts with `on` are listeners; `null`/`false` children are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Shows a message for a few seconds; errors are announced (role=alert). */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 3000);
}

/** Shows an error: the server's status_msg for API errors, the message otherwise. */
export function showError(error) {
  console.error(error);
  toast(error && error.message ? error.message : String(error), 'error');
}

/**
 * Shows an error; an ApiError 10002 (token expired or revoked) signs out and
 * leads to the login page (app.js listens), with the server's message.
 */
export function handle(error) {
  if (error instanceof ApiError && error.code === 10002) {
    document.dispatchEvent(new CustomEvent('douyin:unauthenticated', { detail: error.message }));
  } else {
    showError(error);
  }
}

/** A compact count: 1234 → 1.2k. */
export function count(n) {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return (n / 1000).toFixed(n < 10_000 ? 1 : 0).replace(/\.0$/, '') + 'k';
  return (n / 1_000_000).toFixed(1).replace(/\.0$/, '') + 'M';
}

/** A user's avatar image. */
export function avatar(user, size = 'small') {
  return h('img', { class: `avatar ${size}`, src: user.avatar, alt: '', loading: 'lazy' });
}

/** Empties `root` and shows a short notice in it. */
export function notice(root, text, ...extra) {
  root.replaceChildren(h('p', { class: 'notice' }, text, ...extra));
}

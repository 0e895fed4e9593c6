// The API client: base URL, session, one call function that turns every
// non-zero status_code into an ApiError carrying the server's status_msg.

const API_KEY = 'douyin.api';
const SESSION_KEY = 'douyin.session';

/** An answer with status_code != 0, or no usable answer at all (code -1). */
export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * The API base URL, ending in '/': the saved setting, else this page's origin.
 * A link's `?api=` never changes it by itself: see serverLink().
 */
export function apiBase() {
  return withSlash(localStorage.getItem(API_KEY) || location.origin + '/');
}

/** The origin (scheme://host:port) of `url`, or null when it is not an http(s) URL. */
export function originOf(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/**
 * Saves the API base URL (empty: back to this page's origin) and returns it.
 * A token belongs to the server that issued it: moving to another origin
 * signs out, so no token ever reaches a server it was not made by.
 * Throws on anything but an http(s) URL.
 */
export function setApiBase(url) {
  const value = (url || '').trim();
  const before = originOf(apiBase());
  if (!value) {
    localStorage.removeItem(API_KEY);
  } else {
    if (!originOf(value)) throw new Error('not an http(s) URL');
    localStorage.setItem(API_KEY, withSlash(new URL(value).href));
  }
  if (originOf(apiBase()) !== before) clearSession();
  return apiBase();
}

/**
 * The server a link asks for (`?api=<url>`), when it is another origin than
 * the one in use: `{ url, origin }`, or null. Nothing is saved or sent: the
 * page asks the user first (app.js), and only their answer moves anything.
 */
export function serverLink() {
  const asked = new URLSearchParams(location.search).get('api');
  const origin = asked && originOf(asked);
  if (!origin || origin === originOf(apiBase())) return null;
  return { url: withSlash(new URL(asked).href), origin };
}

/** Removes `?api=` from the address bar (after the user answered, or when it changes nothing). */
export function forgetServerLink() {
  const url = new URL(location.href);
  if (!url.searchParams.has('api')) return;
  url.searchParams.delete('api');
  history.replaceState(history.state, '', url);
}

function withSlash(url) {
  return url.endsWith('/') ? url : url + '/';
}

/**
 * `{token, user_id, name}` of the signed-in user, or null. A session is kept
 * with the origin of the server that issued it and only used with that one.
 */
export function session() {
  try {
    const value = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    if (!value || !value.token || !value.user_id) return null;
    // Sessions saved before they carried their server were this page's.
    return (value.server || location.origin) === originOf(apiBase()) ? value : null;
  } catch {
    return null;
  }
}

export function saveSession(value) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ ...value, server: originOf(apiBase()) }));
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

/**
 * Calls `/douyin/<path>` with `params` in the query (as the stock client
 * does), adding the session's token. Resolves to the body when status_code is
 * 0; rejects with an ApiError otherwise.
 */
export async function call(method, path, params = {}) {
  const url = new URL('douyin/' + path, apiBase());
  const current = session();
  if (current && !('token' in params)) url.searchParams.set('token', current.token);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  let response;
  try {
    response = await fetch(url, { method });
  } catch {
    throw new ApiError(-1, `cannot reach the server at ${url.origin}`);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(-1, `the server answered HTTP ${response.status} without a JSON body`);
  }
  if (body.status_code !== 0) {
    throw new ApiError(body.status_code, body.status_msg || `error ${body.status_code}`);
  }
  return body;
}

/**
 * PUTs `file` to a presigned upload URL with its signed headers (among them
 * If-None-Match and x-amz-tagging), reporting progress (0..1). The browser
 * sets Content-Length itself (it may not be set from script); it is the
 * file's size, which is what was signed.
 */
export function putFile(url, headers, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers || {})) {
      if (name.toLowerCase() !== 'content-length') xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      // The URL signs If-None-Match: *, so it takes one PUT (409: two at once on S3).
      else if (xhr.status === 412 || xhr.status === 409) reject(new ApiError(-1, 'this upload link was already used: upload the file again'));
      else reject(new ApiError(-1, `the upload was refused (HTTP ${xhr.status}${s3Message(xhr.responseText)})`));
    };
    xhr.onerror = () => reject(new ApiError(-1, 'the upload failed: network error'));
    xhr.send(file);
  });
}

/** S3 error bodies are XML with a <Message>. */
function s3Message(text) {
  const match = /<Message>([^<]*)<\/Message>/.exec(text || '');
  return match ? `: ${match[1]}` : '';
}

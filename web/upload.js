// Upload through the presigned path: check the file here, ask for a ticket
// (/douyin/publish/upload/), PUT the file with progress, then poll
// /douyin/publish/status/ until the video is live or rejected.

import { call, putFile } from './api.js';
import { h, handle } from './ui.js';

const TYPES = { mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime' };
const MAX_BYTES = 200 * 1024 * 1024; // the server's default (DOUYIN_MAX_UPLOAD_BYTES); it has the last word
const POLL_MS = 1000;
const POLL_LIMIT = 300; // five minutes of polling, then the video is left to "my videos"

export function renderUpload(root) {
  const file = h('input', { type: 'file', name: 'video', accept: 'video/mp4,video/quicktime,.mp4,.mov,.m4v', required: true });
  const title = h('input', { name: 'title', maxlength: 100, required: true, placeholder: 'Describe your video', autocomplete: 'off' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Publish');
  const progress = h('progress', { max: 100, value: 0, hidden: true });
  const status = h('p', { class: 'upload-status', role: 'status', dataset: { state: 'idle' } });
  const preview = h('video', { class: 'preview', muted: true, playsinline: true, hidden: true });
  let timer = null;
  let previewUrl = null;

  file.addEventListener('change', () => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.hidden = true;
    const chosen = file.files[0];
    if (!chosen) return;
    const problem = check(chosen);
    if (problem) return say('invalid', problem);
    say('idle', `${chosen.name}, ${megabytes(chosen.size)}`);
    previewUrl = URL.createObjectURL(chosen);
    preview.src = previewUrl;
    preview.hidden = false;
    if (!title.value) title.value = chosen.name.replace(/\.[^.]*$/, '').slice(0, 100);
  });

  root.append(h('form', { class: 'card upload', onsubmit: submit },
    h('h1', {}, 'Upload a video'),
    h('label', {}, 'Video (MP4 or MOV, H.264 or HEVC)', file),
    preview,
    h('label', {}, 'Title', title),
    progress,
    status,
    h('div', { class: 'row' }, send)));

  function say(state, text) {
    status.dataset.state = state;
    status.className = `upload-status ${state}`;
    status.replaceChildren(text);
  }

  async function submit(event) {
    event.preventDefault();
    const chosen = file.files[0];
    const problem = chosen ? check(chosen) : 'choose a video first';
    if (problem) return say('invalid', problem);
    send.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    try {
      say('starting', 'Starting the upload…');
      const ticket = await call('POST', 'publish/upload/', {
        title: title.value.trim(), content_type: typeOf(chosen), content_length: chosen.size,
      });
      say('uploading', 'Uploading… 0%');
      await putFile(ticket.upload_url, ticket.upload_headers, chosen, (fraction) => {
        progress.value = Math.round(fraction * 100);
        say('uploading', `Uploading… ${Math.round(fraction * 100)}%`);
      });
      progress.value = 100;
      say('pending', 'Uploaded; making the cover…');
      await follow(ticket.video_id);
    } catch (error) {
      say('failed', error.message);
      progress.hidden = true;
      handle(error);
    } finally {
      send.disabled = false;
    }
  }

  function follow(videoId) {
    return new Promise((resolve, reject) => {
      let polls = 0;
      const poll = async () => {
        timer = null;
        try {
          const answer = await call('GET', 'publish/status/', { video_id: videoId });
          if (answer.state === 'live') {
            say('live', '');
            status.append('Live! ', h('a', { href: '#/me' }, 'See it in my videos'));
            return resolve();
          }
          if (answer.state === 'rejected') {
            say('rejected', `Rejected: ${answer.reason}`);
            return resolve();
          }
          if (++polls >= POLL_LIMIT) {
            say('pending', 'Still processing; it will appear in my videos when it is ready.');
            return resolve();
          }
          timer = setTimeout(poll, POLL_MS);
        } catch (error) {
          reject(error);
        }
      };
      poll();
    });
  }

  return () => {
    if (timer) clearTimeout(timer);
    if (previewUrl) URL.revokeObjectURL(previewUrl);
  };
}

/** Why `file` cannot be uploaded, or null. */
function check(file) {
  if (!typeOf(file)) return `${file.name} is not an MP4 or MOV video (${file.type || 'unknown type'})`;
  if (file.size === 0) return `${file.name} is empty`;
  if (file.size > MAX_BYTES) return `${file.name} is ${megabytes(file.size)}; the limit is ${megabytes(MAX_BYTES)}`;
  return null;
}

/** The content type to declare: the browser's, or from the extension when it has none. */
function typeOf(file) {
  if (Object.values(TYPES).includes(file.type)) return file.type;
  if (file.type) return null;
  return TYPES[(file.name.split('.').pop() || '').toLowerCase()] || null;
}

function megabytes(bytes) {
  return `${(bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0)} MB`;
}

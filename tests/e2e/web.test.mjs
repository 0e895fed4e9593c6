// The web client (web/) end to end: douyin-local on a free port with a fresh
// data folder, Chromium through playwright-core, two users at phone size.
// Run by tests/run (tier 3); alone: `npm ci && npm test` in this folder after
// `cargo build -p functions --bin douyin-local`.
//
// Or against a deployed API (the rehearsal's front door runs it so, README
// "Rehearsing a deployment"): web/ served from its own origin, the API at
// another, as a user deploys them; each page sets its server as a user does
// (the "Server" setting on the login page), never through a link.
//
// Environment:
//   DOUYIN_LOCAL_BIN        the server binary (default: $CARGO_TARGET_DIR/debug/douyin-local)
//   DOUYIN_E2E_WEB_URL      with DOUYIN_E2E_API_URLS: where web/ is served (no douyin-local is started)
//   DOUYIN_E2E_API_URLS     the API's base URLs, comma-separated: test N uses the Nth, in turn (each
//                           test is its own client, so that per-address rate limits count each apart)
//   CHROMIUM                the browser (default /usr/bin/chromium)
//   DOUYIN_E2E_SCREENSHOTS  a folder: save phone-size screenshots of the main screens there

import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const fixtures = path.join(repo, 'tests/fixtures/media');
const targetDir = process.env.CARGO_TARGET_DIR || path.join(homedir(), '.cache/douyin-serverless/target');
const serverBin = process.env.DOUYIN_LOCAL_BIN || path.join(targetDir, 'debug/douyin-local');
const screenshots = process.env.DOUYIN_E2E_SCREENSHOTS ? path.resolve(process.env.DOUYIN_E2E_SCREENSHOTS) : null;
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
const PASSWORD = 'password1';

const deployed = Boolean(process.env.DOUYIN_E2E_WEB_URL || process.env.DOUYIN_E2E_API_URLS);
let server;
let base; // the API of the current test: http://127.0.0.1:<port>, no trailing slash
let apis; // every API base, one per test in turn
let testNumber = 0;
let web; // the web client's page: <origin>/_web/ on douyin-local, the static host's URL when deployed
let webRoot; // what a user opens first: douyin-local's / (which leads to /_web/), or web
let webOrigin;
let browser;
let dataDir;

before(async () => {
  if (deployed) {
    assert.ok(process.env.DOUYIN_E2E_WEB_URL && process.env.DOUYIN_E2E_API_URLS,
      'DOUYIN_E2E_WEB_URL and DOUYIN_E2E_API_URLS go together');
    web = new URL(process.env.DOUYIN_E2E_WEB_URL).href;
    webRoot = web;
    apis = process.env.DOUYIN_E2E_API_URLS.split(',').map((url) => url.trim().replace(/\/+$/, ''));
    assert.ok(apis.every((url) => new URL(url).origin !== new URL(web).origin),
      'the API must be another origin than the page, as when deployed');
  } else {
    dataDir = await mkdtemp(path.join(tmpdir(), 'douyin-e2e-'));
    server = await startServer(dataDir);
    apis = [server.url];
    web = `${server.url}/_web/`;
    webRoot = `${server.url}/`;
  }
  webOrigin = new URL(web).origin;
  // The target folder is shared between checkouts (and a static host may
  // serve another copy): make sure this tree's client is served, or every
  // result below would be about another.
  for (const name of await readdir(path.join(repo, 'web'))) {
    const served = await (await fetch(new URL(name, web))).text();
    assert.equal(served, await readFile(path.join(repo, 'web', name), 'utf8'),
      `${deployed ? web : serverBin} does not serve this checkout's web/${name} (built before a change, or from another tree?)`);
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
  });
  if (screenshots) await mkdir(screenshots, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Starts douyin-local on a free port; resolves once it prints the web client's URL. */
function startServer(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(serverBin, ['--addr', '127.0.0.1:0', '--data-dir', dir], {
      env: { ...serverEnv(), DOUYIN_LOG: 'warn,douyin_local=info', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => fail(new Error(`douyin-local did not start within 60 s:\n${log}`)), 60_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    const read = (chunk) => {
      log += chunk.toString().replace(/\x1b\[[0-9;]*m/g, '');
      const match = /web client: (http:\/\/\S+?)\/ /.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1],
          log: () => log,
          stop: () => new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', done);
            child.kill('SIGINT');
          }),
        });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', (error) => fail(new Error(`cannot run ${serverBin}: ${error.message}`)));
    child.on('exit', (code) => fail(new Error(`douyin-local exited (${code}) during start-up:\n${log}`)));
  });
}

/** This environment without AWS endpoints (tests/run exports the emulators'): the server uses its embedded engines. */
function serverEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_ENDPOINT_URL')));
}

beforeEach(() => {
  base = apis[testNumber++ % apis.length];
});

/**
 * A phone-sized page in its own browser context (its own localStorage), at
 * `start` (a hash route such as '#/me', '' for the first screen a user opens)
 * unless null; fails the test on any uncaught error in the page. When the API
 * is elsewhere, the user first sets it in the login page's "Server" setting.
 */
async function phone(t, start = '') {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  const errors = [];
  const refused = [];
  page.on('pageerror', (error) => errors.push(error));
  // Errors of the API are envelopes with HTTP 200: a 4xx or 5xx here is a
  // broken media link or a refused upload.
  page.on('response', (response) => response.status() >= 400 && refused.push(`${response.status()} ${response.url()}`));
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors.map(String), [], 'uncaught errors in the page');
    assert.deepEqual(refused, [], 'HTTP errors while loading');
  });
  if (deployed) await useServer(page, base);
  if (start !== null) {
    await page.goto(start ? `${web}${start}` : webRoot);
    await page.locator('#view').waitFor();
  }
  return page;
}

/** Sets the API server as a user does: the "Server" setting on the login page, saved. */
async function useServer(page, url) {
  await page.goto(`${web}#/login`);
  await page.locator('summary', { hasText: 'Server' }).click();
  await page.locator('input[name=api]').fill(`${url}/`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.toast', { hasText: `Server: ${new URL(url).origin}` }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('douyin.api')), `${url}/`);
}

async function signUp(page, name) {
  await page.goto(`${web}#/login`);
  await page.locator('input[name=username]').fill(name);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  // Signed up (the feed), or the form says why not (e.g. the server cannot be reached).
  const refused = page.locator('.form-error');
  const outcomes = [page.waitForURL(/#\/feed$/), refused.waitFor()];
  outcomes.forEach((outcome) => outcome.catch(() => {})); // the one that loses never settles well
  await Promise.race(outcomes);
  if (!/#\/feed$/.test(page.url())) assert.fail(`signing up ${name} failed: ${await refused.textContent()}`);
  const session = await page.evaluate(() => JSON.parse(localStorage.getItem('douyin.session')));
  assert.equal(session.name, name);
  assert.ok(session.token.length > 0 && session.user_id > 0);
  return session;
}

/** Waits for the upload to end and checks it ended `expected`, else fails with what the page says. */
async function uploadEnds(page, expected) {
  const status = page.locator('.upload-status');
  await page.locator('.upload-status:is([data-state=live], [data-state=rejected], [data-state=failed])').waitFor();
  const state = await status.getAttribute('data-state');
  assert.equal(state, expected, `the upload ended ${state}: ${await status.textContent()}`);
  return status;
}

async function shot(page, name) {
  if (!screenshots) return;
  await page.evaluate(() => document.getElementById('toasts').replaceChildren());
  await page.screenshot({ path: path.join(screenshots, `${name}.png`) });
}

/** The API answer to a direct call (what the page should be showing). */
async function api(method, endpoint, params) {
  const response = await fetch(`${base}/douyin/${endpoint}?${new URLSearchParams(params)}`, { method });
  return response.json();
}

/** Waits until every image matched by `selector` has loaded a real picture. */
async function imagesLoaded(page, selector) {
  await page.waitForFunction((s) => {
    const images = [...document.querySelectorAll(s)];
    return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
  }, selector);
}

/** Counts messages with `text` in the open chat after two more polls have completed. */
async function settledCount(page, text) {
  const polls = Number(await page.locator('.messages').getAttribute('data-polls'));
  await page.waitForFunction((n) => Number(document.querySelector('.messages').dataset.polls) >= n, polls + 2);
  return page.locator('.message p', { hasText: new RegExp(`^${text}$`) }).count();
}

test('a wrong password shows the server\'s status_msg', async (t) => {
  const page = await phone(t);
  await signUp(page, 'carol');
  await page.goto(`${web}#/me`);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/#\/login$/);
  assert.equal(await page.evaluate(() => localStorage.getItem('douyin.session')), null);

  await page.locator('input[name=username]').fill('carol');
  await page.locator('input[name=password]').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  const expected = await api('POST', 'user/login/', { username: 'carol', password: 'not-the-password' });
  assert.equal(expected.status_code, 10006);
  const shown = page.locator('.form-error');
  await shown.waitFor();
  assert.equal(await shown.textContent(), expected.status_msg);
  await shot(page, 'login');
});

test('a link naming another server moves nothing until the user confirms it', async (t) => {
  // The "attacker": a second local HTTP server that records every request
  // (and answers like an API would, so the page has nothing to complain of).
  const received = [];
  let reached;
  const firstRequest = new Promise((resolve) => { reached = resolve; });
  const attacker = http.createServer((request, response) => {
    received.push(`${request.method} ${request.url}`);
    reached();
    response.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
    response.end(JSON.stringify({ status_code: 0, status_msg: 'success', video_list: [], next_time: 0 }));
  });
  await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => attacker.close(resolve)));
  const evil = `http://127.0.0.1:${attacker.address().port}`;
  const crafted = `${web}?api=${encodeURIComponent(`${evil}/`)}#/feed`;

  const page = await phone(t);
  const grace = await signUp(page, 'grace');
  const dialog = page.getByRole('dialog', { name: 'Switch server?' });
  const askedOrLeaked = () => Promise.race([dialog.waitFor(), firstRequest.then(() => {
    throw new Error(`the link alone sent ${received.join(', ')} to ${evil}`);
  })]);

  // The link alone: the page asks, naming both origins, and sends nothing.
  await page.goto(crafted);
  await askedOrLeaked();
  assert.match(await dialog.textContent(), new RegExp(`server at ${evil}.* instead of ${base}`));
  // Still the server the user chose (none: the page's own origin).
  const chosen = deployed ? `${base}/` : null;
  assert.equal(await page.evaluate(() => localStorage.getItem('douyin.api')), chosen);
  // Declined: the page goes on with its own server; the link is gone from the address.
  const ownFeed = page.waitForResponse((response) => response.url().startsWith(`${base}/douyin/feed/`));
  await dialog.getByRole('button', { name: `Stay on ${base}` }).click();
  await ownFeed;
  assert.equal(new URL(page.url()).searchParams.get('api'), null);
  // The next login, password and all, goes to our server too.
  await page.goto(`${web}#/login`);
  await page.locator('input[name=username]').fill('grace');
  await page.locator('input[name=password]').fill(PASSWORD);
  const ownLogin = page.waitForResponse((response) => response.url().startsWith(`${base}/douyin/user/login/`));
  await page.getByRole('button', { name: 'Log in' }).click();
  await ownLogin;
  await page.waitForURL(/#\/feed$/);
  const session = await page.evaluate(() => JSON.parse(localStorage.getItem('douyin.session')));
  assert.equal(session.user_id, grace.user_id);
  assert.deepEqual(received, [], 'the attacker received requests');

  // Confirmed: the explicit act works, signs out first, and no token follows.
  await page.goto(crafted);
  await askedOrLeaked();
  await dialog.getByRole('button', { name: `Use ${evil}` }).click();
  await page.waitForURL(/#\/login$/);
  assert.equal(await page.evaluate(() => localStorage.getItem('douyin.session')), null);
  assert.equal(await page.evaluate(() => localStorage.getItem('douyin.api')), `${evil}/`);
  assert.deepEqual(received, [], 'sent before anything asked for it');
  await page.goto(`${web}#/feed`);
  await firstRequest;
  assert.ok(received.every((line) => line.startsWith('GET /douyin/feed/') && !line.includes('token=')), received.join('\n'));

  // The Server setting, emptied, is the way back (and also an explicit act).
  await page.goto(`${web}#/login`);
  await page.locator('summary', { hasText: 'Server' }).click();
  await page.locator('input[name=api]').fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.toast', { hasText: `Server: ${webOrigin}` }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('douyin.api')), null);
});

test('a file that is not MP4 or MOV is refused before anything is sent', async (t) => {
  const page = await phone(t);
  await signUp(page, 'dave');
  const sent = [];
  page.on('request', (request) => {
    if (request.url().includes('/douyin/publish/') || request.method() === 'PUT') sent.push(request.url());
  });
  await page.goto(`${web}#/upload`);
  await page.locator('input[name=video]').setInputFiles(path.join(fixtures, 'vp9-320x240-1s.webm'));
  const status = page.locator('.upload-status[data-state=invalid]');
  await status.waitFor();
  assert.match(await status.textContent(), /^vp9-320x240-1s\.webm is not an MP4 or MOV video \(video\/webm\)$/);
  await page.locator('input[name=title]').fill('webm');
  await page.getByRole('button', { name: 'Publish' }).click();
  await status.waitFor();
  assert.deepEqual(sent, []);
});

test('a video the server rejects shows its reason', async (t) => {
  const page = await phone(t);
  await signUp(page, 'erin');
  const statuses = [];
  page.on('response', async (response) => {
    if (response.url().includes('/douyin/publish/status/')) statuses.push(await response.json());
  });
  await page.goto(`${web}#/upload`);
  // An MP4 the browser check lets through, in a format the server refuses by its content.
  await page.locator('input[name=video]').setInputFiles(path.join(fixtures, 'h264-10bit-320x240.mp4'));
  await page.locator('input[name=title]').fill('ten bit');
  await page.getByRole('button', { name: 'Publish' }).click();
  const status = await uploadEnds(page, 'rejected');
  const answer = statuses.at(-1);
  assert.equal(answer.state, 'rejected');
  assert.match(answer.reason, /^10-bit H\.264 is not supported/);
  assert.equal(await status.textContent(), `Rejected: ${answer.reason}`);
});

test('upload, feed, like, comment, follow, friends and chat between two users', async (t) => {
  // A uploads through the presigned path and sees the video live in "my videos".
  const alicePage = await phone(t);
  const alice = await signUp(alicePage, 'alice');
  await alicePage.goto(`${web}#/upload`);
  await alicePage.locator('input[name=video]').setInputFiles(path.join(fixtures, 'h264-320x240-2s.mp4'));
  await alicePage.locator('input[name=title]').fill('first light');
  const puts = [];
  alicePage.on('request', (request) => request.method() === 'PUT' && puts.push(request));
  await alicePage.getByRole('button', { name: 'Publish' }).click();
  await uploadEnds(alicePage, 'live');
  assert.equal(await alicePage.locator('progress').getAttribute('value'), '100');
  assert.equal(puts.length, 1);
  // Path-style: douyin-local's bucket douyin-media, or the deployed douyin-media-<account>-<region>-<stage>.
  assert.match(new URL(puts[0].url()).pathname, /^\/douyin-media(-[a-z0-9-]+)?\/uploads\/\d+$/);
  assert.equal(puts[0].headers()['content-type'], 'video/mp4');
  // The URL signs If-None-Match: * (one PUT) and the lifecycle tag: the page sends both.
  assert.equal(puts[0].headers()['if-none-match'], '*');
  assert.equal(puts[0].headers()['x-amz-tagging'], 'douyin=upload');
  await shot(alicePage, 'upload');
  await alicePage.getByRole('link', { name: 'See it in my videos' }).click();
  await alicePage.waitForURL(/#\/me$/);
  const tile = alicePage.locator('.tile', { hasText: 'first light' });
  await tile.waitFor();
  const videoId = Number(await tile.getAttribute('data-id'));
  await imagesLoaded(alicePage, '.tile .cover');
  assert.equal(await alicePage.locator('[data-stat=videos] strong').textContent(), '1');

  // A second, newer video (the stock client's multipart path), so B's feed
  // has two to move between.
  const form = new FormData();
  form.set('token', alice.token);
  form.set('title', 'red square');
  form.set('data', new Blob([await readFile(path.join(fixtures, 'portrait-red-360x640-1s.mp4'))]), 'red.mp4');
  const published = await (await fetch(`${base}/douyin/publish/action/`, { method: 'POST', body: form })).json();
  assert.equal(published.status_code, 0, published.status_msg);

  // B finds both in the feed, newest first, each with its cover.
  const bobPage = await phone(t);
  const bob = await signUp(bobPage, 'bob');
  const slides = bobPage.locator('.feed .slide[data-id]');
  await slides.nth(1).waitFor();
  assert.deepEqual(await slides.locator('.title').allTextContents(), ['red square', 'first light']);
  await imagesLoaded(bobPage, '.feed .slide .cover');
  await bobPage.locator('.slide.current', { hasText: 'red square' }).waitFor();
  await bobPage.keyboard.press('ArrowDown');
  const current = bobPage.locator(`.slide.current[data-id="${videoId}"]`);
  await current.waitFor();
  await bobPage.keyboard.press('ArrowUp');
  await bobPage.locator('.slide.current', { hasText: 'red square' }).waitFor();
  await bobPage.keyboard.press('ArrowDown');
  await current.waitFor();

  // Like, comment, follow A.
  await current.getByRole('button', { name: 'Like' }).click();
  await current.locator('.like[aria-pressed=true]', { hasText: '1' }).waitFor();
  await current.getByRole('button', { name: 'Follow' }).click();
  await current.locator('.follow[aria-pressed=true]', { hasText: 'Following' }).waitFor();
  await shot(bobPage, 'feed');
  await current.getByRole('button', { name: 'Comments' }).click();
  const sheet = bobPage.getByRole('dialog', { name: 'Comments' });
  await sheet.locator('text=No comments yet.').waitFor();
  await sheet.locator('input[name=comment]').fill('lovely light');
  await sheet.getByRole('button', { name: 'Post' }).click();
  await sheet.locator('.comment', { hasText: 'lovely light' }).waitFor();
  assert.equal(await sheet.locator('h2').textContent(), 'Comments (1)');
  await sheet.getByRole('button', { name: 'Close' }).click();
  await current.locator('.comments', { hasText: '1' }).waitFor();

  // The server agrees.
  const seen = (await api('GET', 'feed/', { token: bob.token })).video_list.find((v) => v.id === videoId);
  assert.equal(seen.favorite_count, 1);
  assert.equal(seen.comment_count, 1);
  assert.equal(seen.is_favorite, true);
  assert.equal(seen.author.is_follow, true);

  // A sees B among the followers and follows back: they are friends.
  await alicePage.locator('#tabs a[data-tab=me]').click(); // the open tab, tapped again: reloaded
  await alicePage.locator('[data-stat=followers] strong', { hasText: '1' }).waitFor();
  await alicePage.getByRole('tab', { name: 'Followers' }).click();
  const bobRow = alicePage.locator(`.person[data-id="${bob.user_id}"]`);
  await bobRow.getByRole('button', { name: 'Follow' }).click();
  await bobRow.locator('.follow[aria-pressed=true]').waitFor();
  await alicePage.getByRole('tab', { name: 'Likes' }).click();
  await alicePage.locator('.panel .notice', { hasText: 'No videos yet.' }).waitFor();
  await alicePage.getByRole('tab', { name: 'My videos' }).click();
  await alicePage.locator('.panel .tile').nth(1).waitFor();
  await imagesLoaded(alicePage, '.panel .tile .cover');
  await imagesLoaded(alicePage, '.profile-header img'); // avatar and background
  await shot(alicePage, 'profile');

  // B's profile as A sees it, and B's likes.
  await alicePage.goto(`${web}#/user/${bob.user_id}`);
  await alicePage.locator('.identity .name', { hasText: 'bob' }).waitFor();
  await alicePage.getByRole('tab', { name: 'Likes' }).click();
  await alicePage.locator(`.panel .tile[data-id="${videoId}"]`).waitFor();

  for (const [page, friend] of [[alicePage, bob], [bobPage, alice]]) {
    await page.goto(`${web}#/friends`);
    await page.locator(`.friend[data-id="${friend.user_id}"]`).waitFor();
    await page.locator(`.friend[data-id="${friend.user_id}"] a`).click();
    await page.waitForURL(new RegExp(`#/chat/${friend.user_id}$`));
    await page.locator('.chat header h1', { hasText: friend.name }).waitFor();
  }

  // Messages both ways: each appears once on both sides, in order.
  await alicePage.locator('input[name=message]').fill('hello bob');
  await alicePage.getByRole('button', { name: 'Send' }).click();
  await bobPage.locator('.message.theirs', { hasText: 'hello bob' }).waitFor();
  await bobPage.locator('input[name=message]').fill('hi alice');
  await bobPage.getByRole('button', { name: 'Send' }).click();
  await alicePage.locator('.message.theirs', { hasText: 'hi alice' }).waitFor();
  await bobPage.locator('.message.mine', { hasText: 'hi alice' }).waitFor();
  for (const page of [alicePage, bobPage]) {
    assert.equal(await settledCount(page, 'hello bob'), 1);
    assert.equal(await settledCount(page, 'hi alice'), 1);
    assert.deepEqual(await page.locator('.message p').allTextContents(), ['hello bob', 'hi alice']);
  }
  await shot(bobPage, 'chat');

  // The friends list shows the latest message.
  await alicePage.goto(`${web}#/friends`);
  await alicePage.locator(`.friend[data-id="${bob.user_id}"] .preview`, { hasText: 'hi alice' }).waitFor();
});

test('the feed pages with next_time and shows every video once', async (t) => {
  // 31 more videos: with the 2 above, 33 in all, two pages of the feed. By two
  // authors: deployed, a user may publish 20 videos an hour (RatePublish).
  const authors = [];
  for (const username of ['frank', 'fiona']) {
    authors.push((await api('POST', 'user/register/', { username, password: PASSWORD })).token);
  }
  const clip = new Blob([await readFile(path.join(fixtures, 'portrait-red-360x640-1s.mp4'))]);
  for (let i = 1; i <= 31; i++) {
    const form = new FormData();
    form.set('token', authors[i <= 16 ? 0 : 1]);
    form.set('title', `clip ${i}`);
    form.set('data', clip, 'clip.mp4');
    const answer = await (await fetch(`${base}/douyin/publish/action/`, { method: 'POST', body: form })).json();
    assert.equal(answer.status_code, 0, answer.status_msg);
  }
  const page = await phone(t, null); // a guest
  const feedCalls = [];
  page.on('request', (request) => request.url().includes('/douyin/feed/') && feedCalls.push(new URL(request.url())));
  await page.goto(webRoot);
  await page.locator('.feed > .slide:nth-child(1).current').waitFor();
  for (let index = 1; index < 33; index++) {
    await page.keyboard.press('ArrowDown');
    await page.locator(`.feed > .slide:nth-child(${index + 1}).current`).waitFor();
  }
  // Near the end the client asked for the next page and got an empty one.
  await page.keyboard.press('ArrowDown');
  await page.locator('.feed > .slide.end', { hasText: 'You have seen everything' }).waitFor();
  const ids = await page.locator('.feed .slide[data-id]').evaluateAll((slides) => slides.map((s) => s.dataset.id));
  assert.equal(ids.length, 33);
  assert.equal(new Set(ids).size, 33);
  const titles = await page.locator('.feed .slide .title').allTextContents();
  assert.deepEqual(titles.slice(0, 2), ['clip 31', 'clip 30']);
  assert.deepEqual(titles.slice(-2), ['red square', 'first light']);
  // The second page asked for what came before the first page's next_time.
  // Three pages: 30 videos, 3, none; each after the previous page's next_time.
  assert.equal(feedCalls.length, 3);
  assert.equal(feedCalls[0].searchParams.get('latest_time'), null);
  assert.match(feedCalls[1].searchParams.get('latest_time'), /^\d+$/);
  assert.ok(Number(feedCalls[2].searchParams.get('latest_time')) < Number(feedCalls[1].searchParams.get('latest_time')));
});

// One author's 100 videos: deployed, the per-user publish limit (RatePublish, 20 an hour) would
// take five hours to make them, so this runs against douyin-local only (rate limits off).
test("an author's videos page on with More past the first 98", {
  skip: deployed && 'needs 100 videos by one author: the deployed publish limit allows 20 an hour',
}, async (t) => {
  const { token, user_id: userId } = await api('POST', 'user/register/', { username: 'gina', password: PASSWORD });
  const clip = new Blob([await readFile(path.join(fixtures, 'portrait-red-360x640-1s.mp4'))]);
  for (let i = 1; i <= 100; i++) {
    const form = new FormData();
    form.set('token', token);
    form.set('title', `gina ${i}`);
    form.set('data', clip, 'clip.mp4');
    const answer = await (await fetch(`${base}/douyin/publish/action/`, { method: 'POST', body: form })).json();
    assert.equal(answer.status_code, 0, answer.status_msg);
  }
  const page = await phone(t, `#/user/${userId}`);
  const tiles = page.locator('.panel .tile');
  await page.locator('.panel .tile[data-id]').nth(97).waitFor();
  assert.equal(await tiles.count(), 98);
  const more = page.getByRole('button', { name: 'More' });
  await more.click();
  await page.locator('.panel .tile').nth(99).waitFor();
  await more.waitFor({ state: 'hidden' });
  const titles = await page.locator('.panel .tile .tile-title').allTextContents();
  assert.equal(titles.length, 100);
  assert.equal(new Set(titles).size, 100);
  assert.deepEqual([titles[0], titles.at(-1)], ['gina 100', 'gina 1']);
});

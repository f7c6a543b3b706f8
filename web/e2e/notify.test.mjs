// End-to-end: search and notifications (issue 15) with two users in Debian's Chromium against a
// real server. Ana writes in a shared room (over HTTP, for speed); Ben finds her message with
// the word highlighted, narrows the hits with the filters, and opens the room at it (history
// loaded around it). Ana's notification settings and a room's mute are saved and read back;
// the service worker registers, enabling push either works or says clearly why not (headless
// Chromium reaches no push service here), a push delivered through DevTools shows a
// notification with the room's tag, and a click on it opens the room at the message.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { api, env, eventually, launch, newUserContext, screenshot, unique } from './browser.mjs';
import { PASSWORD, register, stepper, waitConnected } from './steps.mjs';

const sfx = unique();
const ana = { username: `ana_${sfx}`, email: `ana_${sfx}@example.test` };
const ben = { username: `ben_${sfx}`, email: `ben_${sfx}@example.test` };
const roomName = `find-${sfx}`;
// A word nobody else's messages have, so the hits are only these.
const WORD = `zephyr${sfx}`;
/** Messages after the one searched for: more than a page (50), so the room opens around it. */
const FILLERS = 110;

let browser;
let A; // ana
let B; // ben
let roomId;
let generalId;
let target; // ana's early message: { id, seq }
const tokens = {};
// Two chains of steps: search, and notifications (neither waits for the other).
const step = stepper();
const nstep = stepper();

async function login(user) {
  const r = await api('/auth/login', { method: 'POST', body: { email: user.email, password: PASSWORD } });
  assert.equal(r.status, 200, r.text);
  return r.json.accessToken;
}

async function post(token, room, content, extra = {}) {
  const r = await api(`/rooms/${room}/messages`, { method: 'POST', token, body: { content, ...extra } });
  assert.ok(r.status === 201 || r.status === 200, `post: ${r.status} ${r.text}`);
  return r.json;
}

async function upload(token, name, content) {
  const form = new FormData();
  form.append('file', new Blob([content], { type: 'text/plain' }), name);
  const res = await fetch(`${env.baseUrl}/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text);
}

/** Two users; ana writes in a shared room (an early message, a file, many after) and in general. */
async function setUp() {
  for (const [side, user] of [
    [A, ana],
    [B, ben],
  ]) {
    const submit = await register(side.page, user);
    await submit();
  }
  tokens.ana = await login(ana);
  tokens.ben = await login(ben);
  const room = await api('/rooms', { method: 'POST', token: tokens.ana, body: { name: roomName } });
  assert.equal(room.status, 201, room.text);
  roomId = room.json.id;
  const add = await api(`/rooms/${roomId}/members`, { method: 'POST', token: tokens.ana, body: { username: ben.username } });
  assert.ok(add.status === 201 || add.status === 200, add.text);
  const rooms = await api('/rooms', { token: tokens.ana });
  generalId = rooms.json.find((r) => r.isGeneral || r.kind === 'general').id;

  await post(tokens.ana, roomId, 'Morning all, coffee first.');
  target = await post(tokens.ana, roomId, `👍 The ${WORD} report is ready, have a look before Friday.`);
  const file = await upload(tokens.ana, 'notes.txt', 'release notes');
  await post(tokens.ana, roomId, `${WORD} notes attached`, { attachmentIds: [file.id] });
  await post(tokens.ben, roomId, `Thanks! I will read the ${WORD} report tonight.`);
  await post(tokens.ana, generalId, `Public note: ${WORD} is also mentioned in general.`);
  for (let i = 1; i <= FILLERS; i++) {
    await post(i % 2 ? tokens.ana : tokens.ben, roomId, `Filler message number ${i} about lunch plans.`);
  }
}

const hits = (page) => page.getByTestId('search-hit');

describe('Search and notifications in a real browser', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    browser = await launch();
    A = await newUserContext(browser, { colorScheme: 'light' });
    B = await newUserContext(browser, { colorScheme: 'dark' });
    await setUp();
  });

  after(async () => {
    await browser?.close();
  });

  step('search: ben finds the word in every room he can read, highlighted, with room, author and time', async () => {
    const { page } = B;
    await page.goto('/');
    await waitConnected(page);
    // The shortcut opens it with the box focused.
    await page.keyboard.press('Control+k');
    const box = page.getByRole('searchbox', { name: 'Search for' });
    await box.waitFor();
    assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the search box has the focus');
    // Typed as a person types: live results once the typing pauses.
    await box.pressSequentially(WORD.slice(0, 12), { delay: 20 });
    await box.pressSequentially(WORD.slice(12), { delay: 20 });
    await eventually(async () => (await hits(page).count()) === 4, { message: '4 hits (3 in the room, 1 in general)' });
    const first = hits(page).filter({ hasText: 'report is ready' });
    await first.waitFor();
    assert.equal((await first.locator('mark').first().textContent()).toLowerCase(), WORD.toLowerCase(), 'the word is in <mark>');
    const meta = await first.locator('.mention-item-meta').textContent();
    assert.match(meta, new RegExp(`${ana.username} in #${roomName}`));
    assert.ok(await first.locator('time').getAttribute('datetime'));
    // The emoji before the word did not shift the highlight (UTF-16 ranges).
    assert.match(await first.locator('.mention-item-text').textContent(), new RegExp(`^👍 The ${WORD} report`));
    await page.getByTestId('search-status').filter({ hasText: '4 messages found' }).waitFor();
    await screenshot(page, 'search-results-dark');
  });

  step('search: filters narrow the hits (from, room, has a file, sort)', async () => {
    const { page } = B;
    await page.getByTestId('search-from').fill(ana.username);
    await eventually(async () => (await hits(page).count()) === 3, { message: "ana's 3 hits" });
    await page.getByTestId('search-room').selectOption(String(roomId));
    await eventually(async () => (await hits(page).count()) === 2, { message: "ana's 2 hits in the room" });
    await page.getByTestId('search-has-file').check();
    await eventually(async () => (await hits(page).count()) === 1, { message: 'the one with a file' });
    await hits(page).filter({ hasText: 'notes attached' }).waitFor();
    await page.getByTestId('search-has-file').uncheck();
    await page.getByTestId('search-sort').selectOption('relevance');
    await eventually(async () => (await hits(page).count()) === 2, { message: 'by relevance, the same 2' });
    // Something matching nothing says so.
    await page.getByTestId('search-from').fill(`nobody_${sfx}`);
    await page.getByTestId('search-status').filter({ hasText: 'No messages found.' }).waitFor();
    await page.getByTestId('search-from').fill(ana.username);
    await eventually(async () => (await hits(page).count()) === 2, { message: 'back to 2' });
    await screenshot(page, 'search-filters-dark');
  });

  step('search: a click opens the room at the message, loaded around it and highlighted', async () => {
    const { page } = B;
    const calls = [];
    const onRequest = (r) => {
      if (r.url().includes(`/rooms/${roomId}/messages`)) calls.push(new URL(r.url()).search);
    };
    page.on('request', onRequest);
    await hits(page).filter({ hasText: 'report is ready' }).click();
    await page.waitForURL(new RegExp(`/chat/${roomId}$`));
    const msg = page.locator(`[data-testid="message"][data-seq="${target.seq}"]`);
    await page.locator(`[data-testid="message"][data-seq="${target.seq}"][data-highlighted="true"]`).waitFor();
    await eventually(async () => msg.evaluate((el) => {
      const list = el.closest('[data-testid="message-list"]').getBoundingClientRect();
      const r = el.getBoundingClientRect();
      return r.top >= list.top && r.bottom <= list.bottom;
    }), { message: 'the message scrolled into view' });
    // History around it: the one before it is there, the newest are not (yet).
    await page.locator(`[data-testid="message"][data-seq="${target.seq - 1}"]`).waitFor();
    assert.ok(calls.some((q) => q.includes(`aroundSeq=${target.seq}`)), `asked around the message: ${calls.join(' ')}`);
    await page.getByTestId('jump-latest').filter({ hasText: 'Jump to latest' }).waitFor();
    await page.mouse.move(0, 0);
    await screenshot(page, 'search-jump-dark');
    // Back to the newest messages.
    await page.getByTestId('jump-latest').click();
    await page.getByTestId('message-text').filter({ hasText: `Filler message number ${FILLERS} ` }).waitFor();
    page.off('request', onRequest);
  });

  nstep('notification settings: ana picks a level, mutes for 8 hours, turns the digest off; all of it is there after a reload', async () => {
    const { page } = A;
    await page.goto('/');
    await waitConnected(page);
    await page.getByTestId('notifications-button').click();
    const dlg = page.getByRole('dialog', { name: 'Notifications' });
    await dlg.waitFor();
    const saved = dlg.getByTestId('notifications-saved');
    await dlg.getByRole('radio', { name: 'All messages' }).check();
    await saved.filter({ hasText: 'Saved.' }).waitFor();
    await dlg.getByRole('button', { name: 'Mute notifications for 8 hours' }).click();
    await dlg.getByTestId('mute-state').filter({ hasText: /^Muted until / }).waitFor();
    await dlg.getByRole('checkbox', { name: /digest/i }).uncheck();
    await eventually(async () => (await api('/notification-settings', { token: tokens.ana })).json?.emailDigest === false, { message: 'the digest off on the server' });
    const stored = (await api('/notification-settings', { token: tokens.ana })).json;
    assert.equal(stored.level, 'all');
    const muted = Date.parse(stored.mutedUntil) - Date.now();
    assert.ok(muted > 7.5 * 3600_000 && muted <= 8 * 3600_000 + 60_000, `muted for about 8 h: ${stored.mutedUntil}`);
    await screenshot(page, 'notification-settings');

    await page.reload();
    await waitConnected(page);
    await page.getByTestId('notifications-button').click();
    await dlg.waitFor();
    assert.equal(await dlg.getByRole('radio', { name: 'All messages' }).isChecked(), true);
    assert.equal(await dlg.getByRole('checkbox', { name: /digest/i }).isChecked(), false);
    await dlg.getByTestId('mute-state').filter({ hasText: /^Muted until / }).waitFor();
    // Unmute, and back to the default level for the steps after this one.
    await dlg.getByRole('button', { name: 'Unmute', exact: true }).click();
    await dlg.getByTestId('mute-state').filter({ hasText: 'Not muted' }).waitFor();
    await dlg.getByRole('radio', { name: 'Direct messages and mentions' }).check();
    await eventually(async () => (await api('/notification-settings', { token: tokens.ana })).json?.level === 'mentions', { message: 'level back to mentions' });
    await dlg.getByRole('button', { name: 'Close' }).click();
  });

  nstep("room notifications: ben mutes the room until he unmutes and sets it to mentions; it stays so after a reload", async () => {
    const { page } = B;
    await page.goto(`/chat/${roomId}`);
    await page.getByRole('heading', { name: roomName }).waitFor();
    await page.getByRole('button', { name: 'Room settings' }).click();
    const section = page.getByTestId('room-notifications');
    await section.getByTestId('room-level').waitFor();
    await section.getByTestId('room-level').selectOption('mentions');
    await section.getByTestId('room-notifications-saved').filter({ hasText: 'Saved.' }).waitFor();
    await section.getByRole('button', { name: 'Mute this room until I unmute' }).click();
    await section.getByTestId('mute-state').filter({ hasText: 'Muted until you unmute' }).waitFor();
    await eventually(async () => {
      const s = (await api('/notification-settings', { token: tokens.ben })).json;
      const r = s?.rooms?.find((x) => x.roomId === roomId);
      return r && r.level === 'mentions' && r.mutedUntil && Date.parse(r.mutedUntil) > Date.now() + 365 * 86400_000;
    }, { message: 'the room override on the server' });
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, 'room-notifications-dark');

    await page.reload();
    await page.getByRole('heading', { name: roomName }).waitFor();
    await page.getByRole('button', { name: 'Room settings' }).click();
    await section.getByTestId('mute-state').filter({ hasText: 'Muted until you unmute' }).waitFor();
    assert.equal(await section.getByTestId('room-level').inputValue(), 'mentions');
    await page.keyboard.press('Escape');
  });

  nstep('push: the service worker registers; enabling either works or says why not; a push shows a notification that opens the room', async () => {
    const { page, context } = A;
    const origin = new URL(env.baseUrl).origin;
    await context.grantPermissions(['notifications'], { origin });
    await page.goto('/');
    await waitConnected(page);
    await page.getByTestId('notifications-button').click();
    const dlg = page.getByRole('dialog', { name: 'Notifications' });
    await dlg.getByTestId('push-state').filter({ hasText: 'Not enabled on this device.' }).waitFor();
    await dlg.getByTestId('push-enable').click();
    // The worker is registered whatever the push service says.
    const scriptURL = await eventually(
      () => page.evaluate(async () => (await navigator.serviceWorker.getRegistration('/'))?.active?.scriptURL ?? null),
      { message: 'an active service worker' },
    );
    assert.equal(scriptURL, `${origin}/sw.js`);
    const outcome = await eventually(async () => {
      if (await dlg.getByTestId('push-state').filter({ hasText: /^Enabled on this device\.$/ }).count()) return 'enabled';
      if (await dlg.getByRole('alert').count()) return 'error';
      return null;
    }, { timeout: 30_000, message: 'enabled, or an error' });
    const subs = (await api('/push/subscriptions', { token: tokens.ana })).json;
    if (outcome === 'error') {
      // No push service reachable from here: said in words, nothing half-made on the server.
      assert.match(await dlg.getByRole('alert').textContent(), /push service could not be reached|push/i);
      assert.deepEqual(subs, [], 'no subscription stored after a failed subscribe');
      await dlg.getByTestId('push-enable').waitFor();
    } else {
      assert.equal(subs.length, 1, 'the subscription is on the server');
      await dlg.getByTestId('push-disable').click();
      await dlg.getByTestId('push-enable').waitFor();
      assert.deepEqual((await api('/push/subscriptions', { token: tokens.ana })).json, []);
    }
    console.log(`push subscribe in headless Chromium: ${outcome}`);
    await screenshot(page, 'push-device');
    await dlg.getByRole('button', { name: 'Close' }).click();

    // A push, delivered to the worker by DevTools (as the push service would): a notification
    // with the payload's title, body and tag; a later one for the room replaces it.
    const cdp = await context.newCDPSession(page);
    const registrations = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    const registrationId = await eventually(() => registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted)?.registrationId, {
      message: 'the registration id',
    });
    const payload = (count, body) => ({
      type: 'message',
      roomId,
      roomKind: 'group',
      roomName,
      senderUsername: ben.username,
      messageId: target.id,
      seq: target.seq,
      title: `${ben.username} in ${roomName}`,
      body,
      count,
      url: `/chat/${roomId}?seq=${target.seq}`,
      tag: `room-${roomId}`,
    });
    const shown = () =>
      page.evaluate(async (tag) => {
        const reg = await navigator.serviceWorker.getRegistration('/');
        return (await reg.getNotifications({ tag })).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
      }, `room-${roomId}`);
    // A push reaches only an active worker: wait for it, and deliver again (the same tag
    // replaces, never adds) while none shows — on a loaded machine the worker may still be
    // starting when DevTools hands over the first one, which is then dropped.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    const first = { origin, registrationId, data: JSON.stringify(payload(1, 'first push')) };
    await cdp.send('ServiceWorker.deliverPushMessage', first);
    let tries = 0;
    const one = await eventually(
      async () => {
        const now = await shown();
        if (now.length === 1) return now;
        if (++tries % 8 === 0) await cdp.send('ServiceWorker.deliverPushMessage', first);
        return null;
      },
      { message: 'the notification' },
    );
    assert.deepEqual(one[0], {
      title: `${ben.username} in ${roomName}`,
      body: 'first push',
      tag: `room-${roomId}`,
      data: { url: `/chat/${roomId}?seq=${target.seq}`, roomId, seq: target.seq },
    });
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload(3, '3 new messages')) });
    await eventually(async () => {
      const n = await shown();
      return n.length === 1 && n[0].body === '3 new messages';
    }, { message: 'the follow-up replacing the first (same tag)' });
    await cdp.detach();

    // A click on it (dispatched in the worker: headless Chromium has no notification to click)
    // brings the open window to the room at the message.
    const [worker] = context.serviceWorkers();
    assert.ok(worker, 'the service worker is visible to the test');
    await worker.evaluate(async (tag) => {
      const [n] = await self.registration.getNotifications({ tag });
      try {
        self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
      } catch {
        // waitUntil refuses an event the browser did not dispatch; the handler ran already.
      }
    }, `room-${roomId}`);
    await page.waitForURL(new RegExp(`/chat/${roomId}$`));
    await page.locator(`[data-testid="message"][data-seq="${target.seq}"][data-highlighted="true"]`).waitFor();
    await screenshot(page, 'push-opened-room');
  });
});

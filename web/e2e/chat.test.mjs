// End-to-end: two users in two browser contexts against a real Cloud Chat server
// (quick start, or the nginx deployment), in Debian's Chromium.
//
//   E2E_BASE_URL=http://127.0.0.1:8080 E2E_RESTART_CMD='...' npm run e2e
//
// The steps build on each other (register → room → messages → restart), so they run in
// order inside one describe block.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { api, cuttableProxy, env, eventually, launch, newUserContext, runShell, screenshot, unique } from './browser.mjs';
import { makePdf, makePng } from './files.mjs';
import { PASSWORD, composer, register, send, stepper, waitConnected } from './steps.mjs';

const sfx = unique();
const alice = { username: `alice_${sfx}`, email: `alice_${sfx}@example.test` };
const bob = { username: `bob_${sfx}`, email: `bob_${sfx}@example.test` };
const roomName = `e2e-${sfx}`;
const XSS = '<img src=x onerror=alert(1)>';
const XSS2 = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

let browser;
let A; // alice's { context, page, dialogs, consoleErrors }
let B; // bob's
let bobLink; // the proxy bob's browser reaches the server through, which a step cuts
let roomId;
let dmId; // alice and bob's direct room

const status = (page) => page.getByTestId('connection-status');
const messageText = (page, text) => page.getByTestId('message-text').filter({ hasText: text });
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactMessage = (page, text) => page.getByTestId('message-text').filter({ hasText: new RegExp(`^${escapeRe(text)}$`) });

/** The seqs of the messages on screen, in DOM order. */
async function shownSeqs(page) {
  return page.getByTestId('message').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
}

function assertIncreasing(seqs, who) {
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(seqs[i] > seqs[i - 1], `${who}: messages out of seq order or duplicated: ${seqs.join(',')}`);
  }
}

const step = stepper();

describe('Cloud Chat web client, two users in a real browser', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    browser = await launch();
    A = await newUserContext(browser, { colorScheme: 'light' });
    bobLink = await cuttableProxy();
    B = await newUserContext(browser, { colorScheme: 'dark', proxy: bobLink.proxy });
  });

  after(async () => {
    await browser?.close();
    await bobLink?.close();
  });

  step('redirects a visitor without a session to log in', async () => {
    await A.page.goto('/my-rooms');
    await A.page.waitForURL(/\/login/);
    await A.page.getByRole('heading', { name: 'Log in' }).waitFor();
    await screenshot(A.page, 'login');
    await A.page.getByRole('link', { name: 'Forgot your password?' }).click();
    await A.page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await screenshot(A.page, 'forgot-password');
  });

  step('registers both users and opens the socket', async () => {
    const submitA = await register(A.page, alice);
    await screenshot(A.page, 'register');
    await submitA();
    const submitB = await register(B.page, bob);
    await submitB();
    await waitConnected(A.page);
    await waitConnected(B.page);
    await screenshot(A.page, 'home');
  });

  step('keeps the session across a reload (silent refresh from the cookie)', async () => {
    await A.page.reload();
    await A.page.getByRole('heading', { name: `Welcome, ${alice.username}` }).waitFor();
    await waitConnected(A.page);
  });

  step('alice creates a room and adds bob with the autocomplete', async () => {
    const { page } = A;
    await page.getByRole('button', { name: 'Create a room', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a room' });
    await dialog.getByLabel('Room name').fill(roomName);
    await screenshot(page, 'create-room');
    await dialog.getByRole('button', { name: 'Create room' }).click();
    await page.waitForURL(/\/chat\/\d+$/);
    roomId = Number(new URL(page.url()).pathname.split('/').pop());
    await page.getByRole('heading', { name: roomName }).waitFor();

    await page.getByRole('button', { name: 'Room settings' }).click();
    const settings = page.getByRole('dialog', { name: `Room settings — ${roomName}` });
    const input = settings.getByRole('combobox', { name: 'Username' });
    await input.fill(bob.username.slice(0, -2));
    await settings.getByRole('option', { name: bob.username }).click();
    assert.equal(await input.inputValue(), bob.username);
    await settings.getByRole('button', { name: 'Add', exact: true }).click();
    await settings.getByRole('list', { name: 'Members' }).getByText(bob.username).waitFor();
    await screenshot(page, 'room-settings');
    await page.keyboard.press('Escape');
    await settings.waitFor({ state: 'hidden' });
    // Focus goes back to the button that opened the dialog.
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Room settings');
  });

  step('bob sees the room appear without reloading', async () => {
    const link = B.page.locator(`.room-link[data-room-name="${roomName}"]`);
    let live = true;
    try {
      await link.waitFor({ timeout: env.timeout });
    } catch {
      live = false;
      await B.page.reload();
      await link.waitFor();
    }
    await link.click();
    await B.page.getByRole('heading', { name: roomName }).waitFor();
    assert.ok(live, 'the room only showed up after a reload: no memberAdded frame reached bob');
  });

  step('messages go both ways, live, marked as own on the sender side', async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    await send(A.page, 'Hello Bob, this is Alice');
    await messageText(B.page, 'Hello Bob, this is Alice').waitFor();
    await A.page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: 'Hello Bob, this is Alice' }).waitFor();
    await B.page.locator('[data-testid="message"][data-own="false"]').filter({ hasText: 'Hello Bob, this is Alice' }).waitFor();

    // Bob types: alice sees the typing indicator, then the message.
    await composer(B.page).fill('Hi Alice! Bob here');
    await A.page.getByTestId('typing').getByText(`${bob.username} is typing…`).waitFor();
    await composer(B.page).press('Enter');
    await messageText(A.page, 'Hi Alice! Bob here').waitFor();
    await send(A.page, 'Line one\nline two (shift+enter is a newline; this was sent by fill)');
    await messageText(B.page, 'Line one').waitFor();
    await screenshot(A.page, 'chat');
    await screenshot(B.page, 'chat-dark');
  });

  step('renders markup as text, never as HTML', async () => {
    await send(A.page, XSS);
    await send(A.page, XSS2);
    for (const side of [A, B]) {
      await exactMessage(side.page, XSS).waitFor();
      await exactMessage(side.page, XSS2).waitFor();
      assert.equal(await side.page.getByTestId('message-list').locator('img, script').count(), 0);
      assert.equal(await side.page.evaluate(() => window.__pwned), undefined);
      assert.deepEqual(side.dialogs, []);
    }
  });

  step('edits and deletes own messages, seen live by the other side', async () => {
    const { page } = A;
    const mine = page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: 'Hello Bob, this is Alice' });
    await mine.hover();
    await mine.getByRole('button', { name: /^Edit message/ }).click();
    const box = mine.getByLabel('Edit message');
    await box.fill('Hello Bob, this is Alice (edited)');
    await box.press('Enter');
    await messageText(B.page, 'Hello Bob, this is Alice (edited)').waitFor();
    await B.page.locator('[data-testid="message"]').filter({ hasText: 'Hello Bob, this is Alice (edited)' }).getByText('(edited)', { exact: true }).waitFor();

    const xss2 = page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: 'window.__pwned=1' });
    await xss2.hover();
    await xss2.getByRole('button', { name: /^Delete message/ }).click();
    await xss2.getByRole('button', { name: 'Delete', exact: true }).click();
    await eventually(async () => (await exactMessage(B.page, XSS2).count()) === 0, { message: 'the deleted message to disappear for bob' });
    await B.page.getByText('This message was deleted.').first().waitFor();

    // Bob cannot edit alice's messages.
    const theirs = B.page.locator('[data-testid="message"][data-own="false"]').first();
    assert.equal(await theirs.getByRole('button', { name: /^Edit message/ }).count(), 0);
  });

  step('counts unread messages on rooms not on screen', async () => {
    await B.page.getByRole('link', { name: 'Home', exact: true }).click();
    await B.page.getByRole('heading', { name: `Welcome, ${bob.username}` }).waitFor();
    await send(A.page, 'Are you there, Bob?');
    const badge = B.page.locator(`.room-link[data-room-name="${roomName}"] [data-testid="unread-badge"]`);
    await badge.waitFor();
    assert.equal((await badge.textContent()).trim(), '1');
    await screenshot(B.page, 'home-unread-dark');
    await B.page.getByRole('link', { name: 'My rooms', exact: true }).click();
    await B.page.getByRole('heading', { name: 'My rooms' }).waitFor();
    await screenshot(B.page, 'my-rooms-dark');
    await B.page.locator(`.room-link[data-room-name="${roomName}"]`).click();
    await messageText(B.page, 'Are you there, Bob?').waitFor();
    await badge.waitFor({ state: 'detached' });
  });

  step('bob, cut off, gets the edit and the delete made meanwhile when he is back, without a reload', async () => {
    const editMe = 'Alice will edit this while Bob is offline';
    const edited = 'Alice edited this while Bob was offline';
    const deleteMe = 'Alice will delete this while Bob is offline';
    await waitConnected(A.page);
    await waitConnected(B.page);
    await send(A.page, editMe);
    await send(A.page, deleteMe);
    await messageText(B.page, editMe).waitFor();
    await messageText(B.page, deleteMe).waitFor();
    const bobMessage = (text) => B.page.locator('[data-testid="message"]').filter({ hasText: text });
    const deletedSeq = await bobMessage(deleteMe).getAttribute('data-seq');
    const errorsBefore = B.consoleErrors.length;
    // A reload would lose this mark: the catch-up must happen in the running page.
    await B.page.evaluate(() => (window.__sameDocument = true));

    // Offline emulation alone leaves the WebSocket open (it only holds its frames until the
    // network is back), so bob's proxy is cut as well: the socket really drops (1006).
    await B.context.setOffline(true);
    bobLink.cut();
    await B.page.locator('[data-testid="connection-status"]:not([data-state="open"])').waitFor();

    const { page } = A;
    // By seq: once the edit box holds the new text, the old text no longer finds the message.
    const editedSeq = await page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: editMe }).getAttribute('data-seq');
    const target = page.locator(`[data-testid="message"][data-seq="${editedSeq}"]`);
    await target.hover();
    await target.getByRole('button', { name: /^Edit message/ }).click();
    const box = target.getByLabel('Edit message');
    await box.fill(edited);
    await box.press('Enter');
    await page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: edited }).waitFor();
    const doomed = page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: deleteMe });
    await doomed.hover();
    await doomed.getByRole('button', { name: /^Delete message/ }).click();
    await doomed.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.locator(`[data-testid="message"][data-seq="${deletedSeq}"]`).getByText('This message was deleted.').waitFor();

    // Nothing reached bob: he still shows both messages as they were.
    assert.equal(await messageText(B.page, editMe).count(), 1, 'bob got the edit while cut off');
    assert.equal(await messageText(B.page, deleteMe).count(), 1, 'bob got the delete while cut off');
    await screenshot(B.page, 'offline-missed-changes');

    bobLink.restore();
    await B.context.setOffline(false);
    await waitConnected(B.page, 60_000);
    await messageText(B.page, edited).waitFor();
    await bobMessage(edited).getByText('(edited)', { exact: true }).waitFor();
    await B.page.locator(`[data-testid="message"][data-seq="${deletedSeq}"]`).getByText('This message was deleted.').waitFor();
    assert.equal(await messageText(B.page, editMe).count(), 0);
    assert.equal(await messageText(B.page, deleteMe).count(), 0);
    assert.equal(await B.page.evaluate(() => window.__sameDocument), true, 'the page was reloaded');
    assertIncreasing(await shownSeqs(B.page), 'bob');
    await screenshot(B.page, 'offline-changes-synced');

    // The only console errors are the browser's own reports of the refused connections.
    const network = /net::ERR_|WebSocket connection to .* failed|Failed to load resource/;
    assert.deepEqual(
      B.consoleErrors.slice(errorsBefore).filter((e) => !network.test(e)),
      [],
    );
    // And live traffic flows again.
    await send(A.page, 'Welcome back, Bob');
    await messageText(B.page, 'Welcome back, Bob').waitFor();
  });

  step('reactions: live both ways, toggled, and caught up after bob is cut off', async () => {
    const text = 'React to this one, please';
    await waitConnected(A.page);
    await waitConnected(B.page);
    await send(A.page, text);
    await messageText(B.page, text).waitFor();
    const seq = await A.page.locator('[data-testid="message"]').filter({ hasText: text }).getAttribute('data-seq');
    const onA = A.page.locator(`[data-testid="message"][data-seq="${seq}"]`);
    const onB = B.page.locator(`[data-testid="message"][data-seq="${seq}"]`);
    const chip = (msg, emoji) => msg.locator(`[data-testid="reaction-chip"][data-emoji="${emoji}"]`);
    /** Waits until the chip shows `count` (0: no chip) and, if given, whether it is pressed. */
    const expectChip = async (msg, emoji, count, pressed, who) => {
      await eventually(
        async () => {
          const c = chip(msg, emoji);
          if (count === 0) return (await c.count()) === 0;
          if ((await c.count()) !== 1) return false;
          const [n, p, label] = await Promise.all([c.getAttribute('data-count'), c.getAttribute('aria-pressed'), c.textContent()]);
          return n === String(count) && label.includes(String(count)) && (pressed === undefined || p === String(pressed));
        },
        { message: `${who}: the ${emoji} chip at ${count}${pressed === undefined ? '' : pressed ? ', pressed' : ', not pressed'}` },
      );
    };

    // Alice reacts 👍 from the picker, by keyboard: the React button, Enter, then the emoji.
    await onA.hover();
    await onA.getByRole('button', { name: /^Add reaction to message/ }).focus();
    await A.page.keyboard.press('Enter');
    const picker = onA.getByRole('group', { name: 'Pick a reaction' });
    await picker.waitFor();
    await screenshot(A.page, 'reaction-picker');
    // Focus went into the picker (its first emoji is 👍).
    assert.equal(await A.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'React with 👍');
    await A.page.keyboard.press('Enter');
    await picker.waitFor({ state: 'detached' });
    await expectChip(onA, '👍', 1, true, 'alice');
    // Bob sees it live, not as his, and adds his own by clicking the chip.
    await expectChip(onB, '👍', 1, false, 'bob');
    await onB.getByRole('button', { name: /^React with 👍/ }).click();
    await expectChip(onB, '👍', 2, true, 'bob');
    await expectChip(onA, '👍', 2, true, 'alice');
    await screenshot(A.page, 'reactions');
    // Bob takes his back, from the keyboard.
    await onB.getByRole('button', { name: /^Remove your 👍 reaction/ }).press('Enter');
    await expectChip(onB, '👍', 1, false, 'bob');
    await expectChip(onA, '👍', 1, true, 'alice');

    // A shortcode reaction (made over HTTP) shows as its emoji, live on both sides.
    const login = await api('/auth/login', { method: 'POST', body: { email: bob.email, password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    const history = await api(`/rooms/${roomId}/messages?limit=50`, { token: login.json.accessToken });
    const message = history.json.messages.find((m) => m.seq === Number(seq));
    assert.ok(message, 'the message over HTTP');
    const viaHttp = await api(`/messages/${message.id}/reactions`, { method: 'POST', token: login.json.accessToken, body: { emoji: ':rocket:' } });
    assert.equal(viaHttp.status, 200, viaHttp.text);
    for (const [side, who] of [
      [onA, 'alice'],
      [onB, 'bob'],
    ]) {
      await expectChip(side, ':rocket:', 1, who === 'bob', who);
      assert.equal((await chip(side, ':rocket:').locator('.reaction-emoji').textContent()).trim(), '🚀');
    }

    // Bob is cut off; alice reacts 🎉 meanwhile (from the chips' own "add" button).
    const errorsBefore = B.consoleErrors.length;
    await B.page.evaluate(() => (window.__sameDocumentReactions = true));
    await B.context.setOffline(true);
    bobLink.cut();
    await B.page.locator('[data-testid="connection-status"]:not([data-state="open"])').waitFor();
    await onA.getByTestId('reactions').getByRole('button', { name: 'Add reaction', exact: true }).click();
    await onA.getByRole('group', { name: 'Pick a reaction' }).getByRole('button', { name: 'React with 🎉' }).click();
    await expectChip(onA, '🎉', 1, true, 'alice');
    assert.equal(await chip(onB, '🎉').count(), 0, 'bob got the reaction while cut off');

    bobLink.restore();
    await B.context.setOffline(false);
    await waitConnected(B.page, 60_000);
    await expectChip(onB, '🎉', 1, false, 'bob');
    await expectChip(onB, '👍', 1, false, 'bob');
    await expectChip(onB, ':rocket:', 1, true, 'bob');
    assert.equal(await B.page.evaluate(() => window.__sameDocumentReactions), true, 'the page was reloaded');
    // Chips keep the order each emoji was first used in.
    assert.deepEqual(
      await onB.getByTestId('reaction-chip').evaluateAll((els) => els.map((e) => e.getAttribute('data-emoji'))),
      ['👍', ':rocket:', '🎉'],
    );
    await screenshot(B.page, 'reactions-synced-dark');
    const network = /net::ERR_|WebSocket connection to .* failed|Failed to load resource/;
    assert.deepEqual(
      B.consoleErrors.slice(errorsBefore).filter((e) => !network.test(e)),
      [],
    );
  });

  step('replies: bob answers alice, she jumps to the original, and her edit shows in his quote', async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    const original = 'What time is the stand-up tomorrow?';
    await send(A.page, original);
    await messageText(B.page, original).waitFor();
    // Enough after it that the original leaves alice's view.
    for (let i = 1; i <= 14; i++) await send(A.page, `Filler ${i} so the question scrolls away`);
    await exactMessage(B.page, 'Filler 14 so the question scrolls away').waitFor();
    await exactMessage(A.page, 'Filler 14 so the question scrolls away').waitFor();
    const seq = await A.page.locator('[data-testid="message"]').filter({ hasText: original }).getAttribute('data-seq');
    const originalOn = (page) => page.locator(`[data-testid="message"][data-seq="${seq}"]`);

    // Bob: Reply puts the composer in reply mode; Escape leaves it; Reply again, then send.
    const reply = async () => {
      await originalOn(B.page).hover();
      await originalOn(B.page).getByRole('button', { name: /^Reply to message/ }).click();
      await B.page.getByTestId('reply-bar').filter({ hasText: `Replying to ${alice.username}: ${original}` }).waitFor();
    };
    await reply();
    await composer(B.page).press('Escape');
    await B.page.getByTestId('reply-bar').waitFor({ state: 'detached' });
    await reply();
    await composer(B.page).fill('At ten, in the small room.');
    await screenshot(B.page, 'reply-composer-dark');
    await composer(B.page).press('Enter');
    await B.page.getByTestId('reply-bar').waitFor({ state: 'detached' });

    // Alice gets the reply live, with the quote of her question above it.
    const replyOn = (page) => page.locator('[data-testid="message"]').filter({ hasText: 'At ten, in the small room.' });
    const quoteOn = (page) => replyOn(page).getByTestId('reply-quote');
    await quoteOn(A.page).waitFor();
    assert.equal(await quoteOn(A.page).getAttribute('data-reply-seq'), seq);
    assert.match(await quoteOn(A.page).innerText(), new RegExp(`${escapeRe(alice.username)}\\s+${escapeRe(original)}`));

    // The question is out of her view; the quote (a button) brings it back, highlighted.
    const inView = (page) =>
      originalOn(page).evaluate((el) => {
        const list = el.closest('[data-testid="message-list"]').getBoundingClientRect();
        const r = el.getBoundingClientRect();
        return r.top >= list.top - 1 && r.bottom <= list.bottom + 1;
      });
    assert.equal(await inView(A.page), false, 'the original was still in view before the jump');
    await quoteOn(A.page).focus();
    await A.page.keyboard.press('Enter');
    await A.page.locator(`[data-testid="message"][data-seq="${seq}"][data-highlighted="true"]`).waitFor();
    await eventually(() => inView(A.page), { message: 'the original to be scrolled into view' });
    await screenshot(A.page, 'reply-jump');
    await A.page.locator(`[data-testid="message"][data-seq="${seq}"][data-highlighted="true"]`).waitFor({ state: 'detached' });

    // Alice edits the question: bob's quote follows.
    const edited = 'What time is the stand-up on Friday?';
    await originalOn(A.page).hover();
    await originalOn(A.page).getByRole('button', { name: /^Edit message/ }).click();
    const box = originalOn(A.page).getByLabel('Edit message');
    await box.fill(edited);
    await box.press('Enter');
    await quoteOn(B.page).getByTestId('reply-quote-text').filter({ hasText: new RegExp(`^${escapeRe(edited)}$`) }).waitFor();
    await quoteOn(A.page).getByTestId('reply-quote-text').filter({ hasText: new RegExp(`^${escapeRe(edited)}$`) }).waitFor();
    await screenshot(B.page, 'replies-dark');
  });

  step('read receipts: alice sees "Seen by bob" under her message once he opens the room, live', async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    // Bob looks at another room (general).
    await B.page.locator('a.room-link[href="/chat/general"]').click();
    await B.page.getByRole('heading', { name: 'general' }).waitFor();
    const text = 'Did you read the agenda, Bob?';
    await send(A.page, text);
    const mine = A.page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: text });
    await mine.waitFor();
    const seq = await mine.getAttribute('data-seq');
    const badge = B.page.locator(`.room-link[data-room-name="${roomName}"] [data-testid="unread-badge"]`);
    await badge.waitFor();
    // Nobody has read it: nothing under it. (The wait also lets bob's last marker frame age
    // past the relay's 2 s per-user interval, so his next move is sent, not just stored.)
    await A.page.waitForTimeout(2_500);
    assert.equal(await A.page.getByTestId('seen-by').count(), 0, 'a "Seen by" line before bob read the message');

    await B.page.locator(`.room-link[data-room-name="${roomName}"]`).click();
    await messageText(B.page, text).waitFor();
    await badge.waitFor({ state: 'detached' });
    const seen = A.page.getByTestId('seen-by');
    await seen.filter({ hasText: new RegExp(`^Seen by ${escapeRe(bob.username)}$`) }).waitFor();
    assert.equal(await seen.getAttribute('data-seq'), seq);
    await A.page.mouse.move(0, 0); // no hover toolbar left over from the edit
    await A.page.waitForTimeout(300);
    await screenshot(A.page, 'read-receipts');
  });

  step('direct messages: alice starts one with bob, he sees it live and answers; hidden, it comes back with the next message', async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    const { page } = A;
    await page.getByRole('button', { name: 'New message', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'New message' });
    const input = dialog.getByRole('combobox', { name: 'Username' });
    await input.fill(bob.username.slice(0, -2));
    await dialog.getByRole('option', { name: bob.username }).click();
    assert.equal(await input.inputValue(), bob.username);
    await screenshot(page, 'new-message');
    await dialog.getByRole('button', { name: 'Open conversation' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForURL((url) => /^\/chat\/\d+$/.test(url.pathname) && url.pathname !== `/chat/${roomId}`);
    dmId = Number(new URL(page.url()).pathname.split('/').pop());
    assert.notEqual(dmId, roomId);
    await page.getByRole('heading', { name: bob.username }).waitFor();
    const dmOnA = page.locator(`[data-testid="dm-link"][data-peer="${bob.username}"]`);
    await dmOnA.waitFor();
    assert.equal(await dmOnA.getAttribute('data-room-id'), String(dmId));

    // Nothing reaches bob before the first message; that message brings the conversation.
    await send(page, 'Hi Bob, just between us');
    const dmOnB = B.page.locator(`[data-testid="dm-link"][data-peer="${alice.username}"]`);
    await dmOnB.getByTestId('unread-badge').filter({ hasText: /^1$/ }).waitFor();
    await dmOnB.click();
    await B.page.getByRole('heading', { name: alice.username }).waitFor();
    await messageText(B.page, 'Hi Bob, just between us').waitFor();
    await send(B.page, 'Hi Alice, only you can read this');
    await messageText(page, 'Hi Alice, only you can read this').waitFor();
    // The group room stays what it was: nothing of the DM in it.
    assert.equal(await B.page.locator(`.room-link[data-room-name="${roomName}"] [data-testid="unread-badge"]`).count(), 0);
    await page.mouse.move(0, 0);
    await screenshot(page, 'direct-message');

    // Bob hides it (× on the row): gone from his list, and he leaves the page.
    await dmOnB.hover();
    await B.page.getByRole('button', { name: `Hide the conversation with ${alice.username}` }).click();
    await dmOnB.waitFor({ state: 'detached' });
    await B.page.getByRole('heading', { name: `Welcome, ${bob.username}` }).waitFor();
    // Alice's next message brings it back, with its badge.
    await send(page, 'Still there?');
    await dmOnB.getByTestId('unread-badge').filter({ hasText: /^1$/ }).waitFor();
    await dmOnB.click();
    await messageText(B.page, 'Still there?').waitFor();
    await messageText(B.page, 'Hi Alice, only you can read this').waitFor();
  });

  step('mentions: alice @bob in the room through the autocomplete; bob sees the badge, the highlight and the Mentions panel', async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    // Bob reads general meanwhile; alice writes in the group room.
    await B.page.locator('a.room-link[href="/chat/general"]').click();
    await B.page.getByRole('heading', { name: 'general' }).waitFor();
    await A.page.locator(`.room-link[data-room-name="${roomName}"]`).click();
    await A.page.getByRole('heading', { name: roomName }).waitFor();

    const box = composer(A.page);
    await box.fill('');
    await box.pressSequentially(`Could you look at the draft, @${bob.username.slice(0, 5)}`);
    const options = A.page.getByRole('listbox', { name: 'Mention suggestions' });
    await options.getByRole('option', { name: `@${bob.username}` }).waitFor();
    // alice does not suggest herself; as the owner she may @room.
    assert.equal(await options.getByRole('option', { name: `@${alice.username}` }).count(), 0);
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    await screenshot(A.page, 'mention-autocomplete');
    await box.press('Tab');
    await options.waitFor({ state: 'detached' });
    assert.equal(await box.inputValue(), `Could you look at the draft, @${bob.username} `);
    await box.pressSequentially('before noon?');
    await box.press('Enter');
    const text = `Could you look at the draft, @${bob.username} before noon?`;
    const onA = A.page.locator('[data-testid="message"]').filter({ hasText: text });
    await onA.getByTestId('mention-chip').filter({ hasText: `@${bob.username}` }).waitFor();
    assert.equal(await onA.getAttribute('data-mentioned'), null, 'alice’s own message is marked as mentioning her');

    // Bob: an @1 badge on the room, beside its unread count.
    const link = B.page.locator(`.room-link[data-room-name="${roomName}"]`);
    await link.getByTestId('mention-badge').filter({ hasText: /^@1$/ }).waitFor();
    await link.getByTestId('unread-badge').waitFor();
    await B.page.getByTestId('mentions-button').filter({ hasText: '1' }).waitFor();

    // The Mentions panel lists it with its room; picking it opens the room at the message.
    await B.page.getByTestId('mentions-button').click();
    const panel = B.page.getByRole('dialog', { name: 'Mentions' });
    const item = panel.getByTestId('mention-item').filter({ hasText: 'Could you look at the draft' });
    await item.waitFor();
    assert.match(await item.innerText(), new RegExp(`${escapeRe(alice.username)}\\s+in\\s+#${escapeRe(roomName)}`));
    await screenshot(B.page, 'mentions-panel-dark');
    await item.click();
    await panel.waitFor({ state: 'hidden' });
    await B.page.getByRole('heading', { name: roomName }).waitFor();
    const onB = B.page.locator('[data-testid="message"][data-mentioned="true"]').filter({ hasText: text });
    await onB.waitFor();
    const jumped = B.page.locator(`[data-testid="message"][data-seq="${await onB.getAttribute('data-seq')}"][data-highlighted="true"]`);
    await jumped.waitFor();
    await onB.locator('[data-testid="mention-chip"].mention-me').waitFor();
    // Read: the badges are gone.
    await link.getByTestId('mention-badge').waitFor({ state: 'detached' });
    await link.getByTestId('unread-badge').waitFor({ state: 'detached' });
    // The jump's ring fades; the mention's own tint and bar stay.
    await jumped.waitFor({ state: 'detached' });
    await B.page.mouse.move(0, 0);
    await B.page.waitForTimeout(300);
    await screenshot(B.page, 'mention-highlight-dark');
  });

  step("presence: bob's dot is online in alice's view, offline once he is cut off (after the grace), online again when he is back", async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    const { page } = A;
    const dmOnA = page.locator(`[data-testid="dm-link"][data-peer="${bob.username}"]`);
    await dmOnA.click();
    await page.getByRole('heading', { name: bob.username }).waitFor();
    const rowDot = (state) => dmOnA.locator(`[data-testid="presence-dot"][data-state="${state}"]`);
    const header = page.getByTestId('peer-presence');
    await rowDot('online').waitFor();
    await header.filter({ hasText: /^online$/ }).waitFor();
    await page.mouse.move(0, 0);
    await screenshot(page, 'presence-online');

    // Bob's network goes: offline once the relay's grace (1 s in this stack) has passed.
    await B.context.setOffline(true);
    bobLink.cut();
    await B.page.locator('[data-testid="connection-status"]:not([data-state="open"])').waitFor();
    await rowDot('offline').waitFor({ timeout: 30_000 });
    await header.filter({ hasText: /^last seen / }).waitFor();
    await screenshot(page, 'presence-last-seen');

    bobLink.restore();
    await B.context.setOffline(false);
    await waitConnected(B.page, 60_000);
    await rowDot('online').waitFor({ timeout: 30_000 });
    await header.filter({ hasText: /^online$/ }).waitFor();

    // Back to the group room for the steps after this one.
    await page.locator(`.room-link[data-room-name="${roomName}"]`).click();
    await page.getByRole('heading', { name: roomName }).waitFor();
    await B.page.getByRole('heading', { name: roomName }).waitFor();
  });

  step('files: alice sends a picture and a PDF; bob sees the thumbnail, the lightbox and the card, downloads the PDF; a cancelled upload never appears', async () => {
    await waitConnected(A.page);
    await waitConnected(B.page);
    const { page } = A;
    const errorsBefore = [A.consoleErrors.length, B.consoleErrors.length];
    const photo = { name: 'sunset.png', mimeType: 'image/png', buffer: makePng(960, 600) };
    const brief = { name: 'brief.pdf', mimeType: 'application/pdf', buffer: makePdf('Quarterly brief (draft)') };
    // Big enough to still be on its way when it is cancelled, even unthrottled.
    const big = { name: 'big-backup.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(12 * 1024 * 1024, 7) };
    const chip = (p, name) => p.locator(`[data-testid="upload-chip"][data-name="${name}"]`);
    const uploaded = (p, name) => p.locator(`[data-testid="upload-chip"][data-name="${name}"][data-status="done"]`);
    const sendButton = page.getByTestId('send-button');

    // Alice's uploads go slowly (Chromium's own throttling), so they can be seen and cancelled.
    const cdp = await A.context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 384 * 1024 });
    try {
      const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Attach files' }).click()]);
      assert.equal(chooser.isMultiple(), true, 'the picker takes several files');
      await chooser.setFiles([photo, brief, big]);
      for (const f of [photo, brief, big]) await chip(page, f.name).waitFor();
      // Progress shows while they go; Send waits for them.
      await eventually(
        async () => Number(await chip(page, big.name).locator('progress').getAttribute('value')) > 0,
        { message: 'the upload progress to move' },
      );
      assert.equal(await chip(page, big.name).getAttribute('data-status'), 'uploading');
      assert.equal(await sendButton.isDisabled(), true, 'Send is enabled while files are uploading');
      await page.getByTestId('upload-blocked').filter({ hasText: 'Wait for the uploads to finish.' }).waitFor();
      assert.match(await chip(page, big.name).textContent(), /of 12 MB/);
      await screenshot(page, 'upload-progress');

      // Cancelled: its chip goes at once, and it is never sent.
      await page.getByRole('button', { name: `Cancel upload of ${big.name}` }).click();
      await chip(page, big.name).waitFor({ state: 'detached' });
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 }).catch(() => {});
      await cdp.detach().catch(() => {});
    }
    await uploaded(page, photo.name).waitFor({ timeout: 60_000 });
    await uploaded(page, brief.name).waitFor({ timeout: 60_000 });
    // Files alone make a message: no text needed.
    assert.equal(await composer(page).inputValue(), '');
    await sendButton.click();
    await page.getByTestId('upload-list').waitFor({ state: 'detached' });

    // Both sides: one message with the picture inline and the PDF as a card, no empty text line.
    const filesMessage = (p) => p.locator('[data-testid="message"]').filter({ has: p.locator(`[data-testid="attachment-file"]`).filter({ hasText: brief.name }) });
    for (const [side, who] of [
      [A, 'alice'],
      [B, 'bob'],
    ]) {
      const msg = filesMessage(side.page);
      await msg.waitFor();
      assert.equal(await msg.count(), 1, `${who}: the message shows once`);
      assert.equal(await msg.getByTestId('message-text').count(), 0, `${who}: an empty text line was drawn`);
      assert.equal(await msg.getByTestId('attachment-image').count(), 1, `${who}: the picture`);
      const img = msg.getByTestId('attachment-image').locator('img');
      // Loaded through the /files cookie (no header on an <img>): naturalWidth > 0.
      await eventually(async () => (await img.evaluate((el) => el.complete && el.naturalWidth)) > 0, { message: `${who}: the thumbnail to load` });
      assert.match(await img.getAttribute('src'), /\/files\/[^/]+\/thumbnail$/);
      // Drawn at the picture's aspect ratio (960×600 → 320×200) before and after loading.
      const box = await msg.getByTestId('attachment-image').boundingBox();
      assert.ok(Math.abs(box.width - 320) <= 1 && Math.abs(box.height - 200) <= 1, `${who}: thumbnail box ${box.width}×${box.height}`);
      const natural = await img.evaluate((el) => [el.naturalWidth, el.naturalHeight]);
      assert.ok(natural[0] <= 480 && natural[1] <= 480, `${who}: the thumbnail is at most 480 px: ${natural}`);
      assert.ok(Math.abs(natural[0] / natural[1] - 1.6) < 0.02, `${who}: the thumbnail keeps the aspect ratio: ${natural}`);
      const card = msg.getByTestId('attachment-file');
      assert.equal(await card.getAttribute('data-kind'), 'pdf');
      assert.match(await card.textContent(), new RegExp(`${escapeRe(brief.name)}\\s*${brief.buffer.length} B`));
    }
    // Bob was left above the latest messages by the mentions step's jump: bring them into view.
    await filesMessage(B.page).scrollIntoViewIfNeeded();
    await A.page.mouse.move(0, 0);
    await B.page.mouse.move(0, 0);
    await screenshot(A.page, 'attachments');
    await screenshot(B.page, 'attachments-dark');

    // Bob downloads the PDF: the link answers 200, as an attachment, with the very bytes.
    const bobMsg = filesMessage(B.page);
    const link = bobMsg.getByRole('link', { name: new RegExp(`^Download ${escapeRe(brief.name)}`) });
    const href = await link.getAttribute('href');
    const got = await B.page.evaluate(async (url) => {
      const r = await fetch(url, { credentials: 'include' });
      const bytes = new Uint8Array(await r.arrayBuffer());
      return {
        status: r.status,
        disposition: r.headers.get('content-disposition'),
        type: r.headers.get('content-type'),
        nosniff: r.headers.get('x-content-type-options'),
        head: String.fromCharCode(...bytes.slice(0, 5)),
        size: bytes.length,
      };
    }, href);
    assert.equal(got.status, 200, JSON.stringify(got));
    assert.match(got.disposition ?? '', /^attachment/i);
    // Sniffed from the bytes by the server (`%PDF`), whatever the browser claimed.
    assert.match(got.type ?? '', /^application\/pdf/);
    assert.equal(got.nosniff, 'nosniff');
    assert.deepEqual([got.head, got.size], ['%PDF-', brief.buffer.length]);
    const [download] = await Promise.all([B.page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), brief.name);
    await download.cancel().catch(() => {});

    // The lightbox: the full picture, a download link; Escape closes it and focus goes back.
    const thumb = bobMsg.getByTestId('attachment-image');
    await thumb.click();
    const lightbox = B.page.getByRole('dialog', { name: `Image: ${photo.name}` });
    await lightbox.waitFor();
    const full = lightbox.getByTestId('lightbox-image');
    await eventually(async () => (await full.evaluate((el) => el.complete && el.naturalWidth)) === 960, { message: 'the full picture in the lightbox' });
    assert.match(await lightbox.getByTestId('lightbox-download').getAttribute('href'), /\/files\/[^/]+$/);
    await B.page.waitForTimeout(200);
    await screenshot(B.page, 'lightbox');
    await B.page.keyboard.press('Escape');
    await lightbox.waitFor({ state: 'hidden' });
    assert.equal(await B.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'attachment-image');
    // By keyboard too: Enter opens it, the close button shuts it.
    await B.page.keyboard.press('Enter');
    await lightbox.waitFor();
    await lightbox.getByRole('button', { name: 'Close' }).click();
    await lightbox.waitFor({ state: 'hidden' });

    // Bob's /files cookie goes (as when it outlives its token): the next picture fails once,
    // the app asks for the cookie again and the picture loads.
    await B.context.clearCookies({ name: 'cc_files' });
    assert.equal((await B.context.cookies()).some((c) => c.name === 'cc_files'), false);

    // A file dropped on the conversation and a pasted picture go with a caption.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['meeting notes\n'], 'notes.txt', { type: 'text/plain' }));
      const target = document.querySelector('[data-testid="message-list"]');
      for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    });
    await chip(page, 'notes.txt').waitFor();
    const small = makePng(120, 90, { seed: 7 }).toString('base64');
    await composer(page).focus();
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      document.activeElement.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
    }, small);
    await chip(page, 'image.png').waitFor();
    await uploaded(page, 'notes.txt').waitFor();
    await uploaded(page, 'image.png').waitFor();
    await send(page, 'Dropped and pasted');
    const second = B.page.locator('[data-testid="message"]').filter({ hasText: 'Dropped and pasted' });
    await second.getByTestId('attachment-file').filter({ hasText: 'notes.txt' }).waitFor();
    await eventually(async () => (await second.getByTestId('attachment-image').locator('img').evaluate((el) => el.complete && el.naturalWidth)) > 0, {
      message: 'the pasted picture on bob’s side',
    });
    assert.equal((await B.context.cookies()).some((c) => c.name === 'cc_files'), true, 'bob’s /files cookie was not asked for again');

    // The cancelled file is nowhere: not on screen, not in the history over HTTP.
    for (const side of [A, B]) assert.equal(await side.page.getByText(big.name).count(), 0);
    const login = await api('/auth/login', { method: 'POST', body: { email: bob.email, password: PASSWORD } });
    assert.equal(login.status, 200, login.text);
    const history = await api(`/rooms/${roomId}/messages?limit=20`, { token: login.json.accessToken });
    assert.equal(history.status, 200, history.text);
    const names = history.json.messages.flatMap((m) => (m.attachments ?? []).map((a) => a.name));
    assert.deepEqual(names, [photo.name, brief.name, 'notes.txt', 'image.png']);
    // Files are private: without the cookie (or a token) they are not found.
    const anon = await fetch(env.baseUrl + href);
    assert.ok([401, 404].includes(anon.status), `a file answered ${anon.status} to a request without credentials`);

    const network = /net::ERR_|WebSocket connection to .* failed|Failed to load resource/;
    // The only console errors are the browser's own network reports (the cancelled upload).
    for (const [side, who, from] of [
      [A, 'alice', errorsBefore[0]],
      [B, 'bob', errorsBefore[1]],
    ]) {
      assert.deepEqual(side.consoleErrors.slice(from).filter((e) => !network.test(e)), [], `${who}: console errors`);
    }
  });

  step('reconnects after a server restart and shows what was sent meanwhile', async (t) => {
    if (!env.restartCmd) {
      t.skip('set E2E_RESTART_CMD to a command that restarts the server');
      return;
    }
    const restarting = runShell(env.restartCmd);
    restarting.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile

    // Both pages notice the drop and say so.
    await A.page.locator('[data-testid="connection-status"]:not([data-state="open"])').waitFor({ timeout: 60_000 });
    await screenshot(A.page, 'reconnecting');

    // Alice writes while disconnected: shown as pending, sent after the reconnect. (If the
    // restart was so quick that the page is already back, it is simply delivered.)
    await send(A.page, 'Written while the server was down');
    const pending = A.page.getByTestId('pending-message').filter({ hasText: 'Written while the server was down' });
    const delivered = A.page.locator('[data-testid="message"]').filter({ hasText: 'Written while the server was down' });
    await pending.or(delivered).first().waitFor();

    await restarting;
    // The server answers again; bob posts over HTTP before the pages are (all) back.
    const login = await eventually(
      async () => {
        const r = await api('/auth/login', { method: 'POST', body: { email: bob.email, password: PASSWORD } });
        return r.status === 200 ? r.json : null;
      },
      { timeout: 90_000, interval: 300, message: 'the server to accept logins after the restart' },
    );
    const posted = await api(`/rooms/${roomId}/messages`, {
      method: 'POST',
      token: login.accessToken,
      body: { content: 'Sent over HTTP during the reconnect', clientMsgId: crypto.randomUUID() },
    });
    assert.equal(posted.status, 201, posted.text);

    await waitConnected(A.page, 90_000);
    await waitConnected(B.page, 90_000);
    await messageText(A.page, 'Sent over HTTP during the reconnect').waitFor();
    await messageText(B.page, 'Sent over HTTP during the reconnect').waitFor();
    await messageText(B.page, 'Written while the server was down').waitFor();
    await pending.waitFor({ state: 'detached', timeout: 30_000 });
    await A.page.locator('[data-testid="message"][data-own="true"]').filter({ hasText: 'Written while the server was down' }).waitFor();

    // Nothing shown twice, everything in seq order, on both sides.
    for (const [side, who] of [
      [A, 'alice'],
      [B, 'bob'],
    ]) {
      assert.equal(await messageText(side.page, 'Written while the server was down').count(), 1, `${who}: offline message shown twice`);
      assert.equal(await messageText(side.page, 'Sent over HTTP during the reconnect').count(), 1, `${who}: HTTP message shown twice`);
      assertIncreasing(await shownSeqs(side.page), who);
    }
    // And live traffic flows again.
    await send(B.page, 'Back online');
    await messageText(A.page, 'Back online').waitFor();
  });

  step("changing alice's e-mail needs her password and ends her other session at once", async () => {
    // Alice's second session, in another browser context.
    const A2 = await newUserContext(browser);
    try {
      await A2.page.goto('/login');
      await A2.page.getByLabel('E-mail', { exact: true }).fill(alice.email);
      await A2.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await A2.page.getByRole('button', { name: 'Log in', exact: true }).click();
      await A2.page.getByRole('heading', { name: `Welcome, ${alice.username}` }).waitFor();
      await waitConnected(A2.page);

      const { page } = A;
      await page.getByRole('button', { name: /^Profile and settings/ }).click();
      const dlg = page.getByRole('dialog', { name: 'Your profile' });
      // The account form (the password form below has a 'Current password' of its own).
      const account = dlg.locator('section').filter({ has: page.getByRole('heading', { name: 'Account' }) });
      const newEmail = `alice2_${sfx}@example.test`;
      await account.getByLabel('E-mail', { exact: true }).fill(newEmail);
      const current = account.getByLabel('Current password', { exact: true });
      await current.waitFor();
      // Without the password: refused, saying which field.
      await account.getByRole('button', { name: 'Save changes' }).click();
      await account.getByText('Enter your current password to change your e-mail address.').waitFor();
      // A wrong password: the server refuses it.
      await current.fill('not-the-password-1');
      await account.getByRole('button', { name: 'Save changes' }).click();
      await account.getByText('The current password is wrong.').waitFor();
      await screenshot(page, 'email-change-refused');
      // The right one: saved, and the other session is logged out at once.
      await current.fill(PASSWORD);
      await account.getByRole('button', { name: 'Save changes' }).click();
      await account.getByRole('status').filter({ hasText: 'other sessions were logged out' }).waitFor();
      await screenshot(page, 'email-changed');
      alice.email = newEmail;
      await A2.page.waitForURL(/\/login/, { timeout: 30_000 });
      await A2.page.getByRole('heading', { name: 'Log in' }).waitFor();
      await page.keyboard.press('Escape');
      await dlg.waitFor({ state: 'hidden' });

      // This session and bob's carry on.
      await waitConnected(A.page);
      await send(B.page, 'Still here after your e-mail change');
      await messageText(A.page, 'Still here after your e-mail change').waitFor();
      assert.deepEqual(A2.dialogs, []);
    } finally {
      await A2.context.close();
    }
  });

  step('profile dialog shows sessions; log out returns to log in', async () => {
    const { page } = A;
    await page.getByRole('button', { name: /^Profile and settings/ }).click();
    const dlg = page.getByRole('dialog', { name: 'Your profile' });
    await dlg.getByRole('heading', { name: 'Active sessions' }).waitFor();
    await screenshot(page, 'profile');
    await dlg.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.waitForURL(/\/login/);
    await page.goto('/');
    await page.waitForURL(/\/login/);
    assert.deepEqual(A.dialogs, []);
    assert.deepEqual(B.dialogs, []);
  });
});

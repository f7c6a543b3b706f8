// End-to-end: moderation (issue 16) with three users in Debian's Chromium against a real
// server. Ada is made an administrator the way an operator would (`cloudchat admin grant`,
// E2E_ADMIN_CMD, against the running server's data directory) and gets the Admin page. In a
// group room of hers she makes Ben a moderator, and Ben mutes Cy: Cy's composer turns off
// at once. Ben reports a message of Cy's in general; Ada finds it in the report queue and
// deletes it, and Ben sees it go. Ada blocks Ben: his messages are hidden for her (old ones,
// new live ones, after a reload), and he cannot open a direct conversation with her; she
// unblocks him from her profile. Ada suspends Cy: Cy's open page is logged out, her log-in is
// refused with the reason, her messages are hidden from Ben; the audit log lists it all.
// Without E2E_ADMIN_CMD the suite fails (scripts/e2e-web.sh and make e2e-deploy set it).

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { api, env, eventually, launch, newUserContext, runShell, screenshot, unique } from './browser.mjs';
import { PASSWORD, composer, register, stepper, waitConnected } from './steps.mjs';

const sfx = unique();
const ada = { username: `ada_${sfx}`, email: `ada_${sfx}@example.test` };
const ben = { username: `ben_${sfx}`, email: `ben_${sfx}@example.test` };
const cy = { username: `cy_${sfx}`, email: `cy_${sfx}@example.test` };
const roomName = `mods-${sfx}`;
const REPORTED = `Buy cheap watches now ${sfx}`;
const CY_OTHER = `Cy says good morning ${sfx}`;
const SUSPEND_REASON = 'Spamming general';

let browser;
let A; // ada (the admin), light
let B; // ben, dark
let C; // cy, light
let roomId;
let generalId;
let cyId;
const tokens = {};
const step = stepper();

async function login(user) {
  const r = await api('/auth/login', { method: 'POST', body: { email: user.email, password: PASSWORD } });
  assert.equal(r.status, 200, r.text);
  return r.json.accessToken;
}

async function post(token, room, content) {
  const r = await api(`/rooms/${room}/messages`, { method: 'POST', token, body: { content } });
  assert.ok(r.status === 201 || r.status === 200, `post: ${r.status} ${r.text}`);
  return r.json;
}

const messageOn = (page, text) => page.getByTestId('message').filter({ hasText: text });
const toast = (page, text) => page.locator('.toast').filter({ hasText: text });

/** Opens the room's settings and the menu of one member in it. */
async function memberMenu(page, username) {
  await page.getByRole('button', { name: 'Room settings' }).click();
  const settings = page.getByRole('dialog', { name: `Room settings — ${roomName}` });
  const row = settings.locator(`[data-testid="member"][data-username="${username}"]`);
  await row.getByTestId('member-menu').click();
  return { settings, row, menu: row.getByRole('menu') };
}

describe('Moderation in a real browser', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    // Fails, never skips: scripts/e2e-web.sh and the nginx deployment run both set it.
    assert.ok(env.adminCmd, 'E2E_ADMIN_CMD is not set: run the suite through scripts/e2e-web.sh or make e2e-deploy');
    browser = await launch();
    A = await newUserContext(browser, { colorScheme: 'light' });
    B = await newUserContext(browser, { colorScheme: 'dark' });
    C = await newUserContext(browser, { colorScheme: 'light' });
    for (const [side, user] of [
      [A, ada],
      [B, ben],
      [C, cy],
    ]) {
      const submit = await register(side.page, user);
      await submit();
    }
    tokens.ada = await login(ada);
    tokens.ben = await login(ben);
    tokens.cy = await login(cy);
    cyId = (await api('/users/me', { token: tokens.cy })).json.id;
    const rooms = await api('/rooms', { token: tokens.ada });
    generalId = rooms.json.find((r) => r.isGeneral || r.kind === 'general').id;
  });

  after(async () => {
    await browser?.close();
  });

  step('no Admin page for a plain user; the command line makes ada an admin and the link appears', async () => {
    const { page } = A;
    await page.goto('/');
    await waitConnected(page);
    assert.equal(await page.getByTestId('admin-link').count(), 0, 'no Admin link before the grant');
    assert.equal((await api('/admin/stats', { token: tokens.ada })).status, 403);
    const out = await runShell(`${env.adminCmd} '${ada.email}'`);
    console.log(`admin grant: ${out.trim()}`);
    // chat-service hears of the role from auth-service's user events (within about a second).
    tokens.ada = await login(ada);
    await eventually(async () => (await api('/admin/stats', { token: tokens.ada })).status === 200, { message: 'chat-service knows ada is an admin' });
    // The role is read with every new token: a reload shows it.
    await page.reload();
    await waitConnected(page);
    await page.getByTestId('admin-link').waitFor();
  });

  step('the admin page: figures, and the users with their roles', async () => {
    const { page } = A;
    await page.getByTestId('admin-link').click();
    await page.getByRole('heading', { name: 'Administration' }).waitFor();
    const users = page.getByTestId('stat-users').locator('dd');
    await users.waitFor();
    assert.ok(Number((await users.textContent()).replace(/\D/g, '')) >= 3, 'at least our three users');
    assert.match(await page.getByTestId('stat-admins').locator('dd').textContent(), /^\d+$/);
    await screenshot(page, 'admin-overview');

    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByTestId('admin-user-search').fill(`ada_${sfx}`);
    const row = page.locator(`[data-testid="admin-user"][data-username="${ada.username}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-role'), 'admin');
    await page.getByTestId('admin-user-search').fill(sfx.slice(0, 6));
    await eventually(async () => (await page.getByTestId('admin-user').filter({ hasText: sfx }).count()) === 3, { message: 'our three users' });
    await screenshot(page, 'admin-users');
  });

  step('ada makes ben a moderator of her room; ben mutes cy; cy’s composer turns off at once', async () => {
    const room = await api('/rooms', { method: 'POST', token: tokens.ada, body: { name: roomName } });
    assert.equal(room.status, 201, room.text);
    roomId = room.json.id;
    for (const who of [ben, cy]) {
      const add = await api(`/rooms/${roomId}/members`, { method: 'POST', token: tokens.ada, body: { username: who.username } });
      assert.ok(add.status === 201 || add.status === 200, add.text);
    }
    await post(tokens.cy, roomId, 'Hello room');
    for (const side of [A, B, C]) {
      await side.page.goto(`/chat/${roomId}`);
      await side.page.getByRole('heading', { name: roomName }).waitFor();
    }

    // The owner names a moderator.
    const owner = await memberMenu(A.page, ben.username);
    await owner.menu.getByRole('menuitem', { name: 'Make moderator' }).click();
    await owner.settings.locator(`[data-testid="member"][data-username="${ben.username}"][data-role="moderator"]`).waitFor();
    await A.page.keyboard.press('Escape');

    // Ben, now a moderator, mutes cy for an hour.
    const mod = await memberMenu(B.page, cy.username);
    await mod.menu.getByRole('menuitem', { name: 'Mute…' }).click();
    const dlg = B.page.getByRole('dialog', { name: `Mute ${cy.username}` });
    await dlg.getByRole('radio', { name: '1 hour' }).check();
    await dlg.getByRole('button', { name: 'Mute', exact: true }).click();
    await dlg.waitFor({ state: 'hidden' });
    await mod.row.getByTestId('muted-badge').waitFor();
    await B.page.locator(`[data-testid="member"][data-username="${ben.username}"] .tag-moderator`).waitFor();
    await screenshot(B.page, 'room-moderation-dark');
    await B.page.keyboard.press('Escape');

    // Cy's page hears it: the composer is off, and says until when.
    const off = C.page.getByTestId('composer-disabled');
    await off.filter({ hasText: /^You are muted in this room until / }).waitFor();
    assert.equal(await composer(C.page).isDisabled(), true);
    await screenshot(C.page, 'muted-composer');
    // The server refuses her sends too.
    const refused = await api(`/rooms/${roomId}/messages`, { method: 'POST', token: tokens.cy, body: { content: 'let me talk' } });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.code, 'muted');
  });

  step('ben reports cy’s message in general; reporting it again is explained', async () => {
    await post(tokens.cy, generalId, REPORTED);
    await post(tokens.cy, generalId, CY_OTHER);
    const { page } = B;
    await page.goto('/chat/general');
    await waitConnected(page);
    const msg = messageOn(page, REPORTED);
    await msg.waitFor();
    await msg.hover();
    await msg.getByRole('button', { name: new RegExp(`^Report message from ${cy.username}`) }).click();
    const dlg = page.getByRole('dialog', { name: 'Report message' });
    await dlg.getByLabel('Why are you reporting it?').fill('Spam: selling watches');
    await screenshot(page, 'report-dialog-dark');
    await dlg.getByRole('button', { name: 'Send report' }).click();
    await toast(page, 'The report was sent to the moderators.').waitFor();
    await page.locator('.toast').getByRole('button', { name: 'Dismiss' }).click();
    await msg.hover();
    await msg.getByRole('button', { name: new RegExp(`^Report message from ${cy.username}`) }).click();
    await dlg.getByLabel('Why are you reporting it?').fill('Still spam');
    await dlg.getByRole('button', { name: 'Send report' }).click();
    await toast(page, 'You have already reported this message.').waitFor();
    await page.locator('.toast').getByRole('button', { name: 'Dismiss' }).click();
  });

  step('ada finds the report in the queue and deletes the message; ben sees it deleted by a moderator', async () => {
    const { page } = A;
    await page.goto('/admin?tab=reports');
    const report = page.getByTestId('report').filter({ hasText: REPORTED });
    await report.waitFor();
    assert.match(await report.textContent(), new RegExp(`${ben.username} reported ${cy.username}’s message in general`));
    assert.match(await report.textContent(), /Spam: selling watches/);
    const link = report.getByRole('link', { name: 'Open the message in the room' });
    assert.match(await link.getAttribute('href'), new RegExp(`^/chat/${generalId}\\?seq=\\d+$`));
    await report.getByLabel('Note (optional)').fill('Obvious spam');
    await screenshot(page, 'admin-reports');
    await report.getByRole('button', { name: 'Delete message' }).click();
    await page.getByTestId('report-done').filter({ hasText: 'Message deleted' }).waitFor();
    await report.waitFor({ state: 'detached' });

    const gone = messageOn(B.page, 'This message was deleted by a moderator.');
    await gone.waitFor();
    assert.equal(await messageOn(B.page, REPORTED).count(), 0);
    await B.page.mouse.move(0, 0);
    await screenshot(B.page, 'report-deleted-dark');

    // The resolved list has it, with who and the note.
    await page.getByText('Resolved', { exact: true }).click();
    const done = page.getByTestId('report').filter({ hasText: REPORTED });
    await done.waitFor();
    assert.match(await done.textContent(), new RegExp(`Message deleted by ${ada.username}.*Obvious spam`));
  });

  step('ada blocks ben: his messages are hidden for her, live ones too and after a reload; he cannot open a DM with her', async () => {
    const before = `Ben before the block ${sfx}`;
    const afterText = `Ben after the block ${sfx}`;
    await post(tokens.ben, generalId, before);
    const { page } = A;
    await page.goto('/chat/general');
    await waitConnected(page);
    const msg = messageOn(page, before);
    await msg.waitFor();
    await msg.getByRole('button', { name: `Actions for ${ben.username}` }).click();
    await msg.getByRole('menuitem', { name: 'Block' }).click();
    const confirm = page.getByRole('dialog', { name: `Block ${ben.username}?` });
    await confirm.getByRole('button', { name: 'Block', exact: true }).click();
    await toast(page, `You blocked ${ben.username}.`).waitFor();
    const hidden = page.locator('[data-testid="message"][data-hidden="blocked"]').filter({ hasText: ben.username });
    await hidden.first().waitFor();
    assert.equal(await page.getByText(before).count(), 0, 'the old message is hidden');
    // A new one, live (the server does not filter live frames: the app does).
    await post(tokens.ben, generalId, afterText);
    await eventually(async () => (await hidden.count()) >= 2, { message: 'the live message hidden too' });
    assert.equal(await page.getByText(afterText).count(), 0);
    // After a reload the server hides them.
    await page.reload();
    await waitConnected(page);
    await eventually(async () => (await hidden.count()) >= 2, { message: 'hidden after a reload' });
    assert.equal(await page.getByText(before).count(), 0);
    assert.match(await hidden.first().textContent(), /Message from a blocked user/);
    await page.mouse.move(0, 0);
    await screenshot(page, 'blocked-messages');

    // Ben cannot open a conversation with her.
    const B_ = B.page;
    await B_.getByRole('button', { name: 'New message', exact: true }).click();
    const dm = B_.getByRole('dialog', { name: 'New message' });
    await dm.getByRole('combobox', { name: 'Username' }).fill(ada.username);
    await dm.getByRole('button', { name: 'Open conversation' }).click();
    await dm.getByRole('alert').filter({ hasText: 'one of you has blocked the other' }).waitFor();
    await screenshot(B_, 'dm-blocked-dark');
    await B_.keyboard.press('Escape');
    const refused = await api('/dms', { method: 'POST', token: tokens.ben, body: { username: ada.username } });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.code, 'blocked');

    // Ada unblocks him from her profile: his messages show again.
    await page.getByRole('button', { name: /^Profile and settings/ }).click();
    const profile = page.getByRole('dialog', { name: 'Your profile' });
    const list = profile.getByRole('list', { name: 'Blocked users' });
    await list.getByText(ben.username).waitFor();
    await list.scrollIntoViewIfNeeded();
    await screenshot(page, 'blocked-users');
    await profile.getByRole('button', { name: `Unblock ${ben.username}` }).click();
    await profile.getByText('You have not blocked anyone.').waitFor();
    await page.keyboard.press('Escape');
    await messageOn(page, before).filter({ has: page.getByTestId('message-text') }).waitFor();
    await messageOn(page, afterText).waitFor();
  });

  step('ada suspends cy: her open page is logged out, her log-in is refused with the reason, her messages hidden', async () => {
    const { page } = A;
    await C.page.goto('/chat/general');
    await waitConnected(C.page);
    await page.goto('/admin?tab=users');
    await page.getByTestId('admin-user-search').fill(cy.username);
    const row = page.locator(`[data-testid="admin-user"][data-username="${cy.username}"]`);
    await row.waitFor();
    await row.getByRole('button', { name: `Suspend ${cy.username}` }).click();
    const dlg = page.getByRole('dialog', { name: `Suspend ${cy.username}` });
    await dlg.getByTestId('suspend-reason').fill(SUSPEND_REASON);
    await dlg.getByRole('radio', { name: '7 days' }).check();
    await dlg.getByTestId('suspend-hide').check();
    await screenshot(page, 'admin-suspend');
    await dlg.getByRole('button', { name: 'Suspend', exact: true }).click();
    await page.locator(`[data-testid="admin-user"][data-username="${cy.username}"][data-status="suspended"]`).waitFor();
    assert.match(await row.textContent(), new RegExp(`${SUSPEND_REASON}`));

    // Cy's open page: her socket closes, her session is gone, she is on the log-in page.
    await C.page.waitForURL(/\/login/, { timeout: 20_000 });
    await C.page.getByRole('heading', { name: 'Log in' }).waitFor();
    // auth-service refuses the refresh with `account_suspended`: the page says why.
    const ended = C.page.getByTestId('session-ended');
    await ended.filter({ hasText: /^You were logged out\. This account is suspended until / }).waitFor();
    assert.match(await ended.textContent(), new RegExp(`Reason: ${SUSPEND_REASON}$`));
    await screenshot(C.page, 'suspended-logged-out');
    await C.page.getByLabel('E-mail', { exact: true }).fill(cy.email);
    await C.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await C.page.getByRole('button', { name: 'Log in', exact: true }).click();
    const refusal = C.page.getByRole('alert').filter({ hasText: /^This account is suspended until / });
    await refusal.waitFor();
    assert.match(await refusal.textContent(), new RegExp(`Reason: ${SUSPEND_REASON}$`));
    await screenshot(C.page, 'suspended-login');

    // Her messages are hidden from everyone but staff (chat hears of it within about a second).
    await eventually(
      async () => {
        const page = await api(`/rooms/${generalId}/messages?limit=50`, { token: tokens.ben });
        return page.json?.messages?.some((m) => m.userId === cyId && m.hidden === 'suspended');
      },
      { timeout: 20_000, message: "cy's messages hidden from ben on the server" },
    );
    await B.page.goto('/chat/general');
    await waitConnected(B.page);
    await B.page.locator('[data-testid="message"][data-hidden="suspended"]').first().waitFor();
    assert.equal(await B.page.getByText(CY_OTHER).count(), 0);
    await B.page.mouse.move(0, 0);
    await screenshot(B.page, 'suspended-hidden-dark');
  });

  step('the audit log lists every action, filters by action and by who did it', async () => {
    const { page } = A;
    await page.goto('/admin?tab=audit');
    const entries = page.getByTestId('audit-entry');
    for (const action of ['role.change', 'member.role', 'member.mute', 'message.delete', 'report.resolve', 'suspension.create']) {
      await page.locator(`[data-testid="audit-entry"][data-action="${action}"]`).first().waitFor();
    }
    const cli = page.locator('[data-testid="audit-entry"][data-action="role.change"]').filter({ hasText: 'command line' });
    await cli.first().waitFor();
    await screenshot(page, 'admin-audit');
    await page.getByTestId('audit-action').selectOption('suspension.create');
    await eventually(async () => {
      const actions = await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      return actions.length > 0 && actions.every((a) => a === 'suspension.create');
    }, { message: 'only suspensions' });
    assert.match(await entries.first().textContent(), new RegExp(`${ada.username}.*${cy.username}.*${SUSPEND_REASON}`));
    // Done by ben: his mute of cy, and nothing of ada's.
    await page.getByTestId('audit-action').selectOption('');
    await page.getByTestId('audit-actor').fill(ben.username);
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await eventually(async () => {
      const actions = await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
      return actions.length > 0 && actions.every((a) => a === 'member.mute');
    }, { message: "only ben's mute" });
  });

  step('lifting the suspension lets cy log in again', async () => {
    const { page } = A;
    await page.goto('/admin?tab=users');
    await page.getByTestId('admin-user-search').fill(cy.username);
    const row = page.locator(`[data-testid="admin-user"][data-username="${cy.username}"]`);
    await row.getByRole('button', { name: `Lift the suspension of ${cy.username}` }).click();
    await page.getByRole('dialog', { name: `Lift the suspension of ${cy.username}?` }).getByRole('button', { name: 'Unsuspend' }).click();
    await page.locator(`[data-testid="admin-user"][data-username="${cy.username}"][data-status="active"]`).waitFor();
    await C.page.getByRole('button', { name: 'Log in', exact: true }).click();
    // Back where the suspension found her.
    await C.page.waitForURL(/\/chat\/general$/);
    await waitConnected(C.page);
    await composer(C.page).waitFor();
  });

  step('no page error and no dialog opened by a script on any side', async () => {
    for (const [who, side] of [
      ['ada', A],
      ['ben', B],
      ['cy', C],
    ]) {
      assert.deepEqual(side.dialogs, [], `${who}: page dialogs`);
      const errors = side.consoleErrors.filter((e) => e.startsWith('pageerror'));
      assert.deepEqual(errors, [], `${who}: page errors`);
    }
  });
});

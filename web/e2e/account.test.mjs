// End-to-end: deleting one's account (issue 18) in Debian's Chromium. Alice and bob exchange
// direct messages; alice deletes her account from her profile (a wrong password first), lands
// on the log-in page that says so, and cannot log in again. Bob reloads: the conversation is
// still there, her messages shown as from "Deleted user".

import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import { browserFor, screenshot, unique } from './browser.mjs';
import { PASSWORD, register, send, stepper, waitConnected } from './steps.mjs';

const sfx = unique();
const alice = { username: `alice_${sfx}`, email: `alice_${sfx}@example.test` };
const bob = { username: `bob_${sfx}`, email: `bob_${sfx}@example.test` };

let A;
let B;
let dmId;
const step = stepper();

const messageText = (page, text) => page.getByTestId('message-text').filter({ hasText: text });

describe('deleting an account', () => {
  const held = browserFor(2);
  before(() => {
    [A, B] = held.people;
  });

  step('alice and bob exchange direct messages', async () => {
    await (await register(B.page, bob))();
    await (await register(A.page, alice))();
    const { page } = A;
    await waitConnected(page);
    await waitConnected(B.page);
    await page.getByRole('button', { name: 'New message', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'New message' });
    const input = dialog.getByRole('combobox', { name: 'Username' });
    await input.fill(bob.username.slice(0, -2));
    await dialog.getByRole('option', { name: bob.username }).click();
    await dialog.getByRole('button', { name: 'Open conversation' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForURL((url) => /^\/chat\/\d+$/.test(url.pathname));
    dmId = Number(new URL(page.url()).pathname.split('/').pop());
    await send(page, 'Hello Bob, it is Alice');
    const dmOnB = B.page.locator(`[data-testid="dm-link"][data-peer="${alice.username}"]`);
    await dmOnB.click();
    await messageText(B.page, 'Hello Bob, it is Alice').waitFor();
    await send(B.page, 'Hi Alice!');
    await messageText(page, 'Hi Alice!').waitFor();
  });

  step('alice deletes her account: a wrong password first, then the confirmation', async () => {
    const { page } = A;
    await page.getByRole('button', { name: /^Profile and settings/ }).click();
    const dlg = page.getByRole('dialog', { name: 'Your profile' });
    const section = dlg.getByTestId('delete-account');
    await section.getByRole('button', { name: 'Delete my account…' }).click();
    await section.getByLabel('Password', { exact: true }).fill('not-the-password');
    await section.getByRole('button', { name: 'Delete account', exact: true }).click();
    await section.getByRole('button', { name: 'Yes, delete my account' }).click();
    await section.getByText('That password is wrong.').waitFor();
    // Still signed in.
    assert.equal(new URL(page.url()).pathname, `/chat/${dmId}`);
    await section.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await section.getByRole('button', { name: 'Delete account', exact: true }).click();
    const confirm = section.getByRole('alertdialog', { name: 'Confirm account deletion' });
    await confirm.getByText('Your messages will stay', { exact: false }).waitFor();
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, 'account-delete-confirm');
    await confirm.getByRole('button', { name: 'Yes, delete my account' }).click();
    await page.waitForURL(/\/login/);
    await page.getByTestId('session-ended').filter({ hasText: /^Your account has been deleted\.$/ }).waitFor();
  });

  step('alice cannot log in again', async () => {
    const { page } = A;
    await page.getByLabel('E-mail', { exact: true }).fill(alice.email);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: /e-mail or password/i }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  step('bob reloads: the conversation stays, her messages from "Deleted user"', async () => {
    const { page } = B;
    await page.goto(`/chat/${dmId}`);
    await page.getByRole('heading', { name: 'Deleted user' }).waitFor();
    await messageText(page, 'Hello Bob, it is Alice').waitFor();
    await messageText(page, 'Hi Alice!').waitFor();
    const hers = page.getByTestId('message').filter({ hasText: 'Hello Bob, it is Alice' });
    await hers.getByTestId('deleted-user').filter({ hasText: /^Deleted user$/ }).waitFor();
    // No profile or DM menu behind a deleted account.
    assert.equal(await page.getByRole('button', { name: /^Actions for (deleted user|Deleted user)$/ }).count(), 0);
    // Nobody to write to.
    await page.getByText('This person deleted their account.').first().waitFor();
    const row = page.locator('[data-testid="dm-link"][data-peer="deleted user"]');
    await row.filter({ hasText: 'Deleted user' }).waitFor();
    assert.equal(await page.locator(`[data-testid="dm-link"][data-peer="${alice.username}"]`).count(), 0);
    await page.mouse.move(0, 0);
    await screenshot(page, 'account-deleted');
    assert.deepEqual(B.dialogs, []);
  });
});

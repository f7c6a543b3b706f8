// End-to-end: e-mail verification (issue 18) in Debian's Chromium, with the server mailing a
// real SMTP server (scripts/test-peers/smtp_sink.py, started by scripts/e2e-web.sh, which
// stores each message as JSON in E2E_MAIL_DIR). Alice registers, sees the banner, opens the
// link from her mail: "E-mail verified", and the banner is gone. Bob registers, clicks
// Resend, and a second mail with a new link arrives.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe } from 'node:test';
import { browserFor, eventually, screenshot, unique } from './browser.mjs';
import { register, stepper, waitConnected } from './steps.mjs';

const sfx = unique();
const alice = { username: `alice_${sfx}`, email: `alice_${sfx}@example.test` };
const bob = { username: `bob_${sfx}`, email: `bob_${sfx}@example.test` };
const mailDir = process.env.E2E_MAIL_DIR;

let A;
let B;
const step = stepper();

/** The messages the SMTP server received for `to`, oldest first. */
async function mailsTo(to) {
  const names = (await readdir(mailDir)).filter((n) => n.endsWith('.json')).sort();
  const mails = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(mailDir, n), 'utf8'))));
  return mails.filter((m) => m.rcptTos.includes(to));
}

/** Waits for the `n`th mail to `to` and returns its verification link. */
async function verificationLink(to, n) {
  const mails = await eventually(async () => {
    const got = await mailsTo(to);
    return got.length >= n && got;
  }, { message: `mail ${n} to ${to}` });
  const mail = mails[n - 1];
  assert.equal(mail.subject, 'Confirm your Cloud Chat e-mail address');
  const link = mail.text.match(/https?:\/\/\S+\/verify-email\?token=[\w-]+/)?.[0];
  assert.ok(link, `a verification link in ${mail.text}`);
  return new URL(link);
}

describe('e-mail verification', () => {
  const held = browserFor(2);
  before(() => {
    assert.ok(mailDir, 'E2E_MAIL_DIR is not set: run this suite with scripts/e2e-web.sh, which starts the SMTP server');
    [A, B] = held.people;
  });

  step('alice registers and is asked to confirm her address', async () => {
    const { page } = A;
    await (await register(page, alice))();
    const banner = page.getByTestId('verify-banner');
    await banner.waitFor();
    assert.match(await banner.textContent(), new RegExp(`Confirm your e-mail address: we sent a link to ${alice.email}`));
    // Verification is not required on the quick start: she is connected and may post.
    await waitConnected(page);
    await screenshot(page, 'verify-email');
  });

  step('alice opens the link from her mail: verified, and the banner is gone', async () => {
    const { page } = A;
    const link = await verificationLink(alice.email, 1);
    // The link names the server's PUBLIC_URL; the same path on the address the test uses.
    await page.goto(link.pathname + link.search);
    await page.getByTestId('verify-result').getByText('E-mail verified').waitFor();
    await screenshot(page, 'verify-email-done');
    await page.getByRole('link', { name: 'Go to the chat' }).click();
    await page.getByRole('heading', { name: `Welcome, ${alice.username}` }).waitFor();
    await waitConnected(page);
    assert.equal(await page.getByTestId('verify-banner').count(), 0);
    await page.getByRole('button', { name: /^Profile and settings/ }).click();
    const dlg = page.getByRole('dialog', { name: 'Your profile' });
    await dlg.getByTestId('email-status').getByText('E-mail address verified.').waitFor();
    // The link works once.
    await page.goto(link.pathname + link.search);
    await page.getByTestId('verify-result').getByRole('alert').waitFor();
    assert.match(await page.getByTestId('verify-result').textContent(), /already used/);
  });

  step('bob registers, clicks Resend, and a second mail arrives', async () => {
    const { page } = B;
    await (await register(page, bob))();
    const banner = page.getByTestId('verify-banner');
    await banner.waitFor();
    const first = await verificationLink(bob.email, 1);
    await banner.getByRole('button', { name: 'Resend' }).click();
    await banner.getByTestId('resend-note').getByText('Sent').waitFor();
    const second = await verificationLink(bob.email, 2);
    assert.notEqual(second.searchParams.get('token'), first.searchParams.get('token'));
    // The profile says the same, with its own Resend.
    await page.getByRole('button', { name: /^Profile and settings/ }).click();
    const dlg = page.getByRole('dialog', { name: 'Your profile' });
    await dlg.getByTestId('email-status').getByText('E-mail address not verified', { exact: false }).waitFor();
    // Dismissed, the banner stays away for this session.
    await page.keyboard.press('Escape');
    await banner.getByRole('button', { name: 'Dismiss' }).click();
    await page.reload();
    await page.getByRole('heading', { name: `Welcome, ${bob.username}` }).waitFor();
    assert.equal(await page.getByTestId('verify-banner').count(), 0);
  });
});

// End-to-end: two-factor authentication (issue 18) in Debian's Chromium. Erin turns it on from
// her profile — reading the secret the page shows, as she would type it into an app — with
// codes computed here by an independent TOTP implementation (npm `otpauth`), keeps her recovery
// codes, logs out, and logs in again with her password and then a code (a wrong code first).
// Frank, without it, logs in with his password alone.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import * as OTPAuth from 'otpauth';
import { launch, newUserContext, screenshot, unique } from './browser.mjs';
import { PASSWORD, register, stepper } from './steps.mjs';

const sfx = unique();
const erin = { username: `erin_${sfx}`, email: `erin_${sfx}@example.test` };
const frank = { username: `frank_${sfx}`, email: `frank_${sfx}@example.test` };

let browser;
let E;
let secret;
const step = stepper();

/** The code of `secret` at `ms` (the browser and the server share this machine's clock). */
function codeAt(ms) {
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  return totp.generate({ timestamp: ms });
}

async function logInWithPassword(page, user) {
  await page.goto('/login');
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await page.getByLabel('E-mail', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
}

describe('two-factor authentication (TOTP)', () => {
  before(async () => {
    browser = await launch();
    E = await newUserContext(browser);
  });
  after(async () => {
    await E?.context.close();
    await browser?.close();
  });

  step('erin turns it on: QR code and secret, a code from the app, ten recovery codes', async () => {
    const { page } = E;
    await (await register(page, erin))();
    await page.getByRole('button', { name: /^Profile and settings/ }).click();
    const dlg = page.getByRole('dialog', { name: 'Your profile' });
    const section = dlg.getByTestId('two-factor');
    await section.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await section.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await section.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const shown = section.getByTestId('totp-secret');
    await shown.waitFor();
    secret = (await shown.textContent()).replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/);
    // The QR code is drawn in the page (a canvas with pixels), not fetched from anywhere.
    const qr = section.getByRole('img', { name: 'QR code of the two-factor secret' });
    const drawn = await qr.evaluate((c) => c.width > 0 && c.toDataURL().length > 1000);
    assert.ok(drawn, 'the QR code canvas is drawn');
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, 'totp-enrol');
    // A wrong code first.
    const now = codeAt(Date.now());
    await section.getByLabel('Code from the app', { exact: true }).fill(now === '000000' ? '111111' : '000000');
    await section.getByRole('button', { name: 'Turn on' }).click();
    await section.getByText('That code is not right.', { exact: false }).waitFor();
    await section.getByLabel('Code from the app', { exact: true }).fill(codeAt(Date.now()));
    await section.getByRole('button', { name: 'Turn on' }).click();
    const codes = section.getByTestId('recovery-codes').locator('li');
    await codes.first().waitFor();
    assert.equal(await codes.count(), 10);
    assert.match((await codes.first().textContent()).trim(), /^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
    await screenshot(page, 'totp-recovery-codes');
    await section.getByRole('button', { name: 'I have saved them' }).click();
    await section.getByText('Logging in asks for a code', { exact: false }).waitFor();
    await dlg.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.waitForURL(/\/login/);
  });

  step('erin logs in with her password and then a code', async () => {
    const { page } = E;
    await logInWithPassword(page, erin);
    const form = page.getByTestId('mfa-form');
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    // Not signed in yet: the password alone opened no session.
    assert.equal(new URL(page.url()).pathname, '/login');
    // The code that turned it on was used: a replay is refused, as is a wrong one.
    await form.getByLabel('Code', { exact: true }).fill('12345');
    await form.getByRole('button', { name: 'Verify' }).click();
    await form.getByText('A code is 6 digits', { exact: false }).waitFor();
    const wrong = codeAt(Date.now() + 30_000) === '000000' ? '111111' : '000000';
    await form.getByLabel('Code', { exact: true }).fill(wrong);
    await form.getByRole('button', { name: 'Verify' }).click();
    await form.getByText('That code is wrong or was already used.', { exact: false }).waitFor();
    await screenshot(page, 'totp-login-code');
    // The next step's code (within the server's ±30 s window, and newer than the one used).
    await form.getByLabel('Code', { exact: true }).fill(codeAt(Date.now() + 30_000));
    await form.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: `Welcome, ${erin.username}` }).waitFor();
    assert.deepEqual(E.dialogs, []);
  });

  step('frank, without it, logs in with his password alone', async () => {
    const F = await newUserContext(browser);
    try {
      await (await register(F.page, frank))();
      await F.page.getByRole('button', { name: /^Profile and settings/ }).click();
      const dlg = F.page.getByRole('dialog', { name: 'Your profile' });
      await dlg.getByRole('button', { name: 'Log out', exact: true }).click();
      await F.page.waitForURL(/\/login/);
      await logInWithPassword(F.page, frank);
      await F.page.getByRole('heading', { name: `Welcome, ${frank.username}` }).waitFor();
      assert.deepEqual(F.dialogs, []);
    } finally {
      await F.context.close();
    }
  });
});

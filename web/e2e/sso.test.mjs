// End-to-end: single sign-on (issue 18) in Debian's Chromium through a real OpenID Connect
// provider (oidc-provider, started by scripts/e2e-web.sh beside the server) and its own login
// page. Alice has no account: her first sign-in creates one. Bob already has one with the
// same e-mail: the app asks for his password before linking, refuses a wrong one, then signs
// him in; his next sign-in goes straight in. Erin's account has two-factor authentication on:
// the link asks for her code too. Carol's domain is not allowed: she is told so.

import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import * as OTPAuth from 'otpauth';
import { api, launch, newUserContext, screenshot } from './browser.mjs';
import { PASSWORD, stepper } from './steps.mjs';

// The provider's fixed accounts (scripts/test-peers/oidc_provider.mjs).
const alice = { login: 'alice', username: 'alice', email: 'alice@example.com' };
const bob = { login: 'bob', username: 'bob', email: 'bob@example.com' };
const erin = { login: 'erin', username: 'erin', email: 'erin@example.com' };

let browser;
const step = stepper();

/** From the app's login page through the provider's login page as `login`. */
async function signInWithProvider(page, login, shot) {
  await page.goto('/login');
  const button = page.getByTestId('sso-button');
  await button.waitFor();
  assert.equal((await button.textContent()).trim(), 'Sign in with Example ID');
  await button.click();
  // The provider's own page, on its own origin.
  await page.locator('input[name="login"]').waitFor();
  if (process.env.E2E_OIDC_ISSUER) assert.equal(new URL(page.url()).origin, process.env.E2E_OIDC_ISSUER);
  if (shot) await screenshot(page, shot);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

describe('single sign-on through a real OpenID Connect provider', () => {
  before(async () => {
    const status = await api('/auth/oidc');
    assert.equal(status.status, 200);
    assert.ok(
      status.json.enabled,
      'single sign-on is off on this server: run the suite through scripts/e2e-web.sh, which starts the provider and sets OIDC_*',
    );
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  step('a first sign-in creates the account and lands signed in', async () => {
    const { page, context, dialogs, consoleErrors } = await newUserContext(browser);
    await signInWithProvider(page, alice.login, 'sso-provider-login');
    await page.getByRole('heading', { name: `Welcome, ${alice.username}` }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await screenshot(page, 'sso-signed-in');
    // The session is the refresh cookie the callback set: a reload stays signed in.
    await page.reload();
    await page.getByRole('heading', { name: `Welcome, ${alice.username}` }).waitFor();
    assert.deepEqual(dialogs, []);
    assert.deepEqual(consoleErrors.filter((e) => !/401|Failed to load resource/.test(e)), []);
    await context.close();
  });

  step('an existing account is linked only after its password', async () => {
    const reg = await api('/auth/register', {
      method: 'POST',
      body: { username: bob.username, email: bob.email, password: PASSWORD },
    });
    assert.equal(reg.status, 201, reg.text);
    const { page, context } = await newUserContext(browser);
    await signInWithProvider(page, bob.login);
    await page.getByRole('heading', { name: 'Link your sign-in' }).waitFor();
    assert.ok(new URL(page.url()).searchParams.get('sso_link'));
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Link and log in' }).click();
    await page.getByText('That is not the password of this account.').waitFor();
    await screenshot(page, 'sso-link-wrong-password');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Link and log in' }).click();
    await page.getByRole('heading', { name: `Welcome, ${bob.username}` }).waitFor();
    await context.close();
  });

  step('once linked, the next sign-in goes straight in', async () => {
    const { page, context } = await newUserContext(browser);
    await signInWithProvider(page, bob.login);
    await page.getByRole('heading', { name: `Welcome, ${bob.username}` }).waitFor();
    await context.close();
  });

  step('an account with two-factor on is linked only with its code too', async () => {
    const reg = await api('/auth/register', {
      method: 'POST',
      body: { username: erin.username, email: erin.email, password: PASSWORD },
    });
    assert.equal(reg.status, 201, reg.text);
    const token = reg.json.accessToken;
    const enrol = await api('/auth/mfa/totp/enrol', { method: 'POST', token, body: { password: PASSWORD } });
    assert.equal(enrol.status, 200, enrol.text);
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(enrol.json.secret), algorithm: 'SHA1', digits: 6, period: 30 });
    const confirm = await api('/auth/mfa/totp/confirm', { method: 'POST', token, body: { code: totp.generate() } });
    assert.equal(confirm.status, 200, confirm.text);

    const { page, context } = await newUserContext(browser);
    await signInWithProvider(page, erin.login);
    await page.getByRole('heading', { name: 'Link your sign-in' }).waitFor();
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Link and log in' }).click();
    // The server asks for the code: the form grows a field for it.
    const code = page.getByLabel('Code from your authenticator app, or a recovery code', { exact: true });
    await code.waitFor();
    await screenshot(page, 'sso-link-code');
    // The code that turned it on was used; the next step's is accepted.
    await code.fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole('button', { name: 'Link and log in' }).click();
    await page.getByRole('heading', { name: `Welcome, ${erin.username}` }).waitFor();
    await context.close();
  });

  step('someone from a domain not allowed is sent back to the login page, told why', async () => {
    const { page, context } = await newUserContext(browser);
    // carol@elsewhere.test; the server allows example.com only (OIDC_ALLOWED_DOMAINS).
    await signInWithProvider(page, 'carol');
    await page.getByText('Accounts with that e-mail domain cannot sign in here.').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('sso_error'), 'sso_domain_not_allowed');
    await screenshot(page, 'sso-login-page-error');
    await context.close();
  });
});

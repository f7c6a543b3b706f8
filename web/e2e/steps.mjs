// What the end-to-end suites share: signing up in the page, the composer, the connection
// state, and steps that build on each other.

import { it } from 'node:test';
import { env } from './browser.mjs';

export const PASSWORD = 'correct-horse-battery-1';

export const composer = (page) => page.getByTestId('composer');

export async function waitConnected(page, timeout = env.timeout) {
  await page.locator('[data-testid="connection-status"][data-state="open"]').waitFor({ timeout });
}

/** Fills the sign-up form; the returned function submits it and waits for the home page. */
export async function register(page, user) {
  await page.goto('/login');
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('E-mail', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password', { exact: true }).fill(PASSWORD);
  return async () => {
    await page.getByRole('button', { name: 'Create account', exact: true }).click();
    await page.getByRole('heading', { name: `Welcome, ${user.username}` }).waitFor();
  };
}

export async function send(page, text) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

/** `step(name, fn)`: like `it`, but skipped once an earlier step of the same suite failed. */
export function stepper() {
  let failedStep = null;
  return function step(name, fn) {
    it(name, async (t) => {
      if (failedStep) {
        t.skip(`an earlier step failed: ${failedStep}`);
        return;
      }
      try {
        await fn(t);
      } catch (e) {
        failedStep = name;
        throw e;
      }
    });
  };
}

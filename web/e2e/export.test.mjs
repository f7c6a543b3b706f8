// End-to-end: taking one's data away (issue 18). Gwen and Hank talk in general; Gwen opens her
// profile, downloads her data, and the file the browser saves is JSON Lines with her profile,
// her rooms and her messages — not Hank's — and the closing `end` line. Hank's own download
// has his words and not hers.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe } from 'node:test';
import { browserFor, screenshot, unique } from './browser.mjs';
import { register, send, stepper, waitConnected } from './steps.mjs';

const sfx = unique();
const gwen = { username: `gwen_${sfx}`, email: `gwen_${sfx}@example.test` };
const hank = { username: `hank_${sfx}`, email: `hank_${sfx}@example.test` };
const hers = `gwen's words ${sfx}`;
const his = `hank's words ${sfx}`;

let G;
let H;
const step = stepper();

async function say(page, text) {
  await page.locator('a.room-link[href="/chat/general"]').click();
  await page.getByRole('heading', { name: 'general' }).waitFor();
  await waitConnected(page);
  await send(page, text);
  await page.getByText(text, { exact: true }).waitFor();
}

/** Clicks "Download my data" in the profile and parses the file the browser saves. */
async function download(page, { shot } = {}) {
  await page.getByRole('button', { name: /^Profile and settings/ }).click();
  const dlg = page.getByRole('dialog', { name: 'Your profile' });
  const section = dlg.getByTestId('data-export');
  await section.getByRole('heading', { name: 'Your data' }).waitFor();
  await section.scrollIntoViewIfNeeded();
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    section.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  await section.getByRole('status').waitFor();
  if (shot) await screenshot(page, shot);
  const name = file.suggestedFilename();
  const text = await readFile(await file.path(), 'utf8');
  await dlg.getByRole('button', { name: 'Close' }).first().click();
  return { name, lines: text.trimEnd().split('\n').map((l) => JSON.parse(l)) };
}

const contents = (lines) => lines.filter((l) => l.type === 'message').map((l) => l.content);

describe('data export', () => {
  const held = browserFor(2);
  before(() => {
    [G, H] = held.people;
  });

  step('gwen and hank each say something in general', async () => {
    await (await register(G.page, gwen))();
    await (await register(H.page, hank))();
    await say(G.page, hers);
    await say(H.page, his);
    await G.page.getByText(his, { exact: true }).waitFor();
  });

  step('gwen downloads her data: her profile, rooms and words, not hank’s, and the end line', async () => {
    const { name, lines } = await download(G.page, { shot: 'data-export' });
    assert.match(name, new RegExp(`^cloudchat-${gwen.username}-\\d{4}-\\d{2}-\\d{2}\\.jsonl$`));
    assert.equal(lines[0].type, 'export');
    const profile = lines.find((l) => l.type === 'profile');
    assert.equal(profile.username, gwen.username);
    assert.equal(profile.email, gwen.email);
    assert.ok(lines.some((l) => l.type === 'session'), 'a session line');
    assert.ok(lines.some((l) => l.type === 'room' && l.name === 'general'), 'general is among her rooms');
    assert.deepEqual(contents(lines), [hers]);
    const end = lines[lines.length - 1];
    assert.equal(end.type, 'end');
    assert.equal(end.lines, lines.length - 1);
  });

  step('hank’s download has his words and not hers', async () => {
    const { lines } = await download(H.page);
    assert.equal(lines.find((l) => l.type === 'profile').username, hank.username);
    assert.deepEqual(contents(lines), [his]);
    assert.equal(lines[lines.length - 1].type, 'end');
  });

  step('no page dialog or script error', async () => {
    // (The log-in page's first refresh, without a session, is a 401 the console reports.)
    for (const who of [G, H]) {
      assert.deepEqual(who.dialogs, []);
      assert.deepEqual(who.consoleErrors.filter((e) => e.startsWith('pageerror')), []);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { makeMessage } from '../test/messages';
import { renderMessageItem } from '../test/messageItem';

const viewer = { id: 'a', username: 'alice' };
const bobs = (extra = {}) =>
  makeMessage({ id: 9, seq: 5, userId: 'b', username: 'bob', content: 'a secret <b>text</b>', rev: 5, attachments: [], ...extra });
const noop = () => undefined;

describe('MessageItem and moderation', () => {
  it('a message of a blocked author shows who and when, never the text, files, quote or actions', () => {
    const html = renderMessageItem(bobs(), viewer, { hidden: 'blocked', onReport: noop });
    expect(html).toContain('Message from a blocked user');
    expect(html).toContain('data-hidden="blocked"');
    expect(html).toContain('bob');
    expect(html).not.toContain('secret');
    expect(html).not.toContain('Report');
    expect(html).not.toContain('React');
  });

  it('a message hidden by a moderator says so', () => {
    const html = renderMessageItem(bobs({ content: '', hidden: 'suspended' }), viewer, { hidden: 'suspended' });
    expect(html).toContain('Message hidden by a moderator');
  });

  it('offers Report on others’ messages only, and Delete to who moderates the room', () => {
    const theirs = renderMessageItem(bobs(), viewer, { onReport: noop });
    expect(theirs).toContain('aria-label="Report message from bob');
    expect(theirs).not.toContain('>Delete<');
    expect(renderMessageItem(bobs(), viewer, { onReport: noop, canDelete: true })).toContain('>Delete<');
    const mine = renderMessageItem(bobs({ userId: 'a', username: 'alice' }), viewer, { onReport: noop });
    expect(mine).not.toContain('Report');
  });

  it('a message deleted by a moderator says so', () => {
    expect(renderMessageItem(bobs({ deleted: true, content: '', deletedByModerator: true }), viewer)).toContain('This message was deleted by a moderator.');
    expect(renderMessageItem(bobs({ deleted: true, content: '' }), viewer)).toContain('This message was deleted.');
  });
});

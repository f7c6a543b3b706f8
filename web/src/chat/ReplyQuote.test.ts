import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { Message, ReplyRef } from '../api/types';
import { PendingItem } from './MessageItem';
import { ReplyQuote } from './ReplyQuote';
import { makeMessage } from '../test/messages';
import { renderMessageItem } from '../test/messageItem';

const ref: ReplyRef = { id: 7, seq: 3, userId: 'a', username: 'alice', excerpt: 'the original <b>text</b>' };

function message(extra: Partial<Message> = {}): Message {
  return makeMessage({ id: 9, seq: 5, userId: 'b', username: 'bob', content: 'my answer', rev: 5, replyTo: ref, ...extra });
}

const noop = () => undefined;
// The viewer is alice ('a'); the messages are bob's.
const item = (m: Message) => renderMessageItem(m, { id: 'a', username: 'alice' });

describe('reply quote', () => {
  it('shows the original’s author and excerpt, as text, in a button', () => {
    const html = renderToStaticMarkup(createElement(ReplyQuote, { reply: ref, onJump: noop }));
    expect(html).toMatch(/^<button type="button"/);
    expect(html).toContain('alice');
    expect(html).toContain('the original &lt;b&gt;text&lt;/b&gt;');
    expect(html).not.toContain('<b>');
  });

  it('says the original was deleted when the excerpt is empty', () => {
    const html = renderToStaticMarkup(createElement(ReplyQuote, { reply: { ...ref, excerpt: '' }, onJump: noop }));
    expect(html).toContain('Original message deleted');
    expect(html).toContain('reply-quote-deleted');
  });

  it('a reply shows the quote above its text, and a plain message none; both offer Reply', () => {
    const reply = item(message());
    expect(reply.indexOf('data-testid="reply-quote"')).toBeGreaterThan(-1);
    expect(reply.indexOf('data-testid="reply-quote"')).toBeLessThan(reply.indexOf('my answer'));
    expect(reply).toContain('>Reply</button>');
    const plain = item(message({ replyTo: null }));
    expect(plain).not.toContain('reply-quote');
    expect(plain).toContain('>Reply</button>');
    expect(item(message({ replyTo: undefined }))).not.toContain('reply-quote');
  });

  it('a deleted message offers no Reply', () => {
    expect(item(message({ deleted: true, content: '', replyTo: null }))).not.toContain('>Reply<');
  });

  it('a pending reply shows its quote (not a button)', () => {
    const html = renderToStaticMarkup(
      createElement(PendingItem, {
        item: { clientMsgId: 'c', roomId: 1, content: 'hi', replyToId: 7, replyTo: { ...ref, excerpt: '' }, createdAt: 0, status: 'queued', attempts: 0 },
        username: 'bob',
        userId: 'b',
        online: true,
        onRetry: noop,
        onDiscard: noop,
      }),
    );
    expect(html).toContain('Original message deleted');
    expect(html).not.toContain('<button type="button" class="reply-quote"');
  });
});

describe('reply quote of a hidden original', () => {
  it('says the original’s author is blocked rather than that it was deleted', () => {
    const html = renderToStaticMarkup(createElement(ReplyQuote, { reply: { ...ref, excerpt: '' }, onJump: noop, hidden: 'blocked' }));
    expect(html).toContain('Message from a blocked user');
    expect(html).not.toContain('deleted');
  });
});

import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { Attachment, Message, ReplyRef } from '../api/types';
import { PendingItem } from './MessageItem';
import { quoteText, ReplyQuote } from './ReplyQuote';
import { makeMessage } from '../test/messages';
import { renderMessageItem } from '../test/messageItem';

const photo: Attachment = {
  id: 'f1',
  name: 'sunset.png',
  contentType: 'image/png',
  size: 832_000,
  width: 960,
  height: 600,
  url: '/files/f1',
  thumbnailUrl: '/files/f1/thumbnail',
};
const pdf: Attachment = { id: 'f2', name: 'brief.pdf', contentType: 'application/pdf', size: 606, url: '/files/f2' };
const noThumb: Attachment = { id: 'f3', name: 'tiny.gif', contentType: 'image/gif', size: 43, url: '/files/f3' };

function message(extra: Partial<Message> = {}): Message {
  return makeMessage({ id: 9, seq: 5, userId: 'b', username: 'bob', content: 'look', rev: 5, attachments: [photo, pdf], ...extra });
}
const item = (m: Message) => renderMessageItem(m, { id: 'a', username: 'alice' });

describe('attachments in a message', () => {
  it('shows a picture as a thumbnail button at its aspect ratio, and other files as cards with a download link', () => {
    const html = item(message());
    expect(html).toContain('data-testid="attachment-image"');
    expect(html).toContain('aria-label="Open image sunset.png (813 KB)"');
    // 960×600 drawn in 320×240 at most: 320×200, before the picture loads.
    expect(html).toMatch(/style="width:320px;height:200px"/);
    expect(html).toContain('src="/files/f1/thumbnail"');
    expect(html).toMatch(/data-testid="attachment-file"[^>]*data-kind="pdf"/);
    expect(html).toContain('>PDF</span>');
    expect(html).toContain('>brief.pdf</span>');
    expect(html).toContain('>606 B</span>');
    expect(html).toMatch(/<a class="att-download button button-small" href="\/files\/f2" download="brief.pdf" aria-label="Download brief.pdf \(606 B\)">Download<\/a>/);
    // The text comes before the files.
    expect(html.indexOf('look')).toBeLessThan(html.indexOf('data-testid="attachments"'));
  });

  it('a picture without a thumbnail or a size shows the file itself, unsized', () => {
    const html = item(message({ attachments: [noThumb] }));
    expect(html).toContain('src="/files/f3"');
    expect(html).toContain('att-image-unsized');
    expect(html).not.toContain('style="width');
  });

  it('a message of files alone has no empty text line', () => {
    const html = item(message({ content: '' }));
    expect(html).not.toContain('data-testid="message-text"');
    expect(html).toContain('data-testid="attachments"');
  });

  it('a deleted message shows no files, and a message without any has no attachments block', () => {
    expect(item(message({ deleted: true, content: '' }))).not.toContain('attachments');
    expect(item(message({ attachments: [] }))).not.toContain('data-testid="attachments"');
    expect(item(message({ attachments: undefined }))).not.toContain('data-testid="attachments"');
  });

  it('file names are text, never markup', () => {
    const html = item(message({ attachments: [{ ...pdf, name: '<img src=x onerror=alert(1)>.pdf' }] }));
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;.pdf');
  });

  it('a pending message lists its uploads by name and size, without an empty text line', () => {
    const html = renderToStaticMarkup(
      createElement(PendingItem, {
        item: {
          clientMsgId: 'c',
          roomId: 1,
          content: '',
          attachments: [{ id: 'u1', name: 'brief.pdf', contentType: 'application/pdf', size: 606 }],
          createdAt: 0,
          status: 'queued',
          attempts: 0,
        },
        username: 'alice',
        userId: 'a',
        online: false,
        onRetry: () => undefined,
        onDiscard: () => undefined,
      }),
    );
    expect(html).toContain('brief.pdf');
    expect(html).toContain('(606 B)');
    expect(html).not.toContain('class="msg-text"');
  });
});

describe('replies to a message of files alone', () => {
  const ref: ReplyRef = { id: 9, seq: 5, userId: 'b', username: 'bob', excerpt: '' };

  it('quote its files when the original is loaded, and say "deleted" only when it is', () => {
    expect(quoteText(ref, message({ content: '' }))).toBe('📎 2 files');
    expect(quoteText(ref, message({ content: '', attachments: [photo] }))).toBe('📎 sunset.png');
    expect(quoteText(ref, message({ content: '', deleted: true, attachments: [] }))).toBe('Original message deleted');
    expect(quoteText(ref)).toBe('Original message deleted');
    expect(quoteText(ref, message({ id: 10, content: '' }))).toBe('Original message deleted');
    expect(quoteText({ ...ref, excerpt: 'hello' }, message())).toBe('hello');
  });

  it('the quote button says so too, and is not marked deleted', () => {
    const html = renderToStaticMarkup(createElement(ReplyQuote, { reply: ref, original: message({ content: '', attachments: [photo] }), onJump: () => undefined }));
    expect(html).toContain('📎 sunset.png');
    expect(html).not.toContain('reply-quote-deleted');
    expect(html).toContain('this replies to: 📎 sunset.png');
  });
});

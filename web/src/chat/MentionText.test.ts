import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { makeMessage } from '../test/messages';
import { renderMessageItem } from '../test/messageItem';

const item = (m: Message, meId = 'me') => renderMessageItem(m, { id: meId, username: 'Carol' });

describe('mentions in a message', () => {
  it('shows resolved @names as chips (the viewer’s own stands out) and marks the message', () => {
    const html = item(makeMessage({ userId: 'b', username: 'bob', content: 'hi @carol and @dave.', mentions: ['me', 'dave-id'] }));
    expect(html).toContain('<span class="mention mention-me" data-testid="mention-chip" data-name="carol">@carol</span>');
    expect(html).toContain('<span class="mention" data-testid="mention-chip" data-name="dave">@dave</span>.');
    expect(html).toMatch(/class="msg msg-mentioned" [^>]*data-mentioned="true"/);
    expect(html).toContain('mentions you');
  });

  it('leaves names plain when nothing resolved, and @room plain unless it counted', () => {
    const plain = item(makeMessage({ userId: 'b', content: 'hi @nobody, @room', mentions: [], mentionsRoom: false }));
    expect(plain).not.toContain('mention-chip');
    expect(plain).not.toContain('data-mentioned');
    const room = item(makeMessage({ userId: 'b', content: '@room meeting', mentions: [], mentionsRoom: true }));
    expect(room).toContain('data-name="room">@room</span>');
    expect(room).toContain('data-mentioned="true"');
    // The author's own @room does not mention them.
    expect(item(makeMessage({ userId: 'me', content: '@room', mentions: [], mentionsRoom: true }))).not.toContain('data-mentioned');
  });

  it('keeps markup around a mention as text', () => {
    const html = item(makeMessage({ userId: 'b', content: '<b>@carol</b><img src=x onerror=alert(1)>', mentions: ['me'] }));
    expect(html).toContain('&lt;b&gt;<span class="mention mention-me" data-testid="mention-chip" data-name="carol">@carol</span>&lt;/b&gt;&lt;img');
    expect(html).not.toContain('<img');
  });
});

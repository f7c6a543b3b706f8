import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { excerptOf, locate, replyRefOf, updateReplyExcerpts } from './replies';
import { makeMessage } from '../test/messages';

function m(seq: number, extra: Partial<Message> = {}): Message {
  return makeMessage({ id: 100 + seq, seq, content: `m${seq}`, rev: seq, replyTo: null, ...extra });
}

describe('replies', () => {
  it('an excerpt is the first 120 characters (code points, not UTF-16 units), empty when deleted', () => {
    expect(excerptOf({ content: 'short', deleted: false })).toBe('short');
    expect(excerptOf({ content: 'x'.repeat(130), deleted: false })).toBe('x'.repeat(120));
    expect([...excerptOf({ content: '😀'.repeat(130), deleted: false })]).toHaveLength(120);
    expect(excerptOf({ content: 'gone', deleted: true })).toBe('');
  });

  it('a reply ref describes the original', () => {
    expect(replyRefOf(m(3, { content: 'hello' }))).toEqual({ id: 103, seq: 3, userId: 'u', username: 'alice', excerpt: 'hello' });
  });

  it('updates the excerpt of every reply to the original, and nothing else', () => {
    const ref = replyRefOf(m(1));
    const list = [m(1), m(2, { replyTo: ref }), m(3), m(4, { replyTo: { ...ref, id: 999 } }), m(5, { replyTo: ref })];
    const next = updateReplyExcerpts(list, 101, 'new text');
    expect(next.map((x) => x.replyTo?.excerpt ?? null)).toEqual([null, 'new text', null, 'm1', 'new text']);
    expect(next[0]).toBe(list[0]);
    expect(next[2]).toBe(list[2]);
    expect(updateReplyExcerpts(next, 101, 'new text')).toBe(next);
    expect(updateReplyExcerpts(list, 555, '')).toBe(list);
  });

  it('locates a seq against a loaded window', () => {
    const list = [m(4), m(5), m(7)];
    expect(locate(list, 5)).toBe('loaded');
    expect(locate(list, 2)).toBe('older');
    expect(locate(list, 6)).toBe('missing');
    expect(locate(list, 9)).toBe('missing');
    expect(locate([], 1)).toBe('older');
  });
});

import { describe, expect, it } from 'vitest';
import {
  completeMention,
  matchMentions,
  mentionChecker,
  mentionQueryAt,
  mentionTokens,
  mentionsUser,
  recentAuthors,
  splitMentions,
} from './mentions';
import { makeMessage } from '../test/messages';

const names = (s: string) => mentionTokens(s).map((t) => t.name);

describe('mention tokens', () => {
  it('finds @names at the start or after a non-name character, dropping a trailing dot', () => {
    expect(names('@bob hi')).toEqual(['bob']);
    expect(names('hi @bob.')).toEqual(['bob']);
    expect(names('(@bob), @al.ice-x_1!')).toEqual(['bob', 'al.ice-x_1']);
    expect(names('thanks @Bob...')).toEqual(['Bob']);
    expect(names('@bob@carol')).toEqual(['bob']);
  });

  it('skips e-mail addresses, a lone @, and names shorter than 3 or longer than 32 characters', () => {
    expect(names('mail bob@example.org')).toEqual([]);
    expect(names('a @ b, @. and @')).toEqual([]);
    expect(names(`@ab @${'x'.repeat(33)} @${'y'.repeat(32)}`)).toEqual(['y'.repeat(32)]);
  });

  it('gives the positions of each token', () => {
    expect(mentionTokens('hi @bob.')).toEqual([{ start: 3, end: 7, name: 'bob' }]);
  });
});

describe('mention segments', () => {
  it('cuts the text around the tokens that count', () => {
    expect(splitMentions('hi @bob and @eve.', (n) => n === 'bob')).toEqual([
      { kind: 'text', text: 'hi ' },
      { kind: 'mention', text: '@bob', name: 'bob' },
      { kind: 'text', text: ' and @eve.' },
    ]);
    expect(splitMentions('@bob', () => true)).toEqual([{ kind: 'mention', text: '@bob', name: 'bob' }]);
    expect(splitMentions('', () => true)).toEqual([{ kind: 'text', text: '' }]);
  });

  it('counts names once the server resolved one, and @room only when it took it', () => {
    const none = mentionChecker({ mentions: [], mentionsRoom: false });
    expect(none('bob')).toBe(false);
    expect(none('room')).toBe(false);
    const some = mentionChecker({ mentions: ['u-bob'], mentionsRoom: false });
    expect(some('bob')).toBe(true);
    expect(some('Room')).toBe(false);
    const room = mentionChecker({ mentions: [], mentionsRoom: true });
    expect(room('room')).toBe(true);
    expect(room('bob')).toBe(false);
    // A server from before mentions sends neither field.
    expect(mentionChecker({})('bob')).toBe(false);
  });

  it('a message mentions a user it names or @rooms, unless they wrote it or it is deleted', () => {
    const m = (extra: Parameters<typeof makeMessage>[0]) => makeMessage({ userId: 'alice-id', ...extra });
    expect(mentionsUser(m({ mentions: ['me'] }), 'me')).toBe(true);
    expect(mentionsUser(m({ mentions: ['other'] }), 'me')).toBe(false);
    expect(mentionsUser(m({ mentions: [], mentionsRoom: true }), 'me')).toBe(true);
    expect(mentionsUser(m({ mentionsRoom: true }), 'alice-id')).toBe(false);
    expect(mentionsUser(m({ mentions: ['me'], deleted: true }), 'me')).toBe(false);
    expect(mentionsUser(m({}), 'me')).toBe(false);
  });
});

describe('mention autocomplete', () => {
  it('finds the token the caret is in', () => {
    expect(mentionQueryAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionQueryAt('hi @bob there', 5)).toEqual({ start: 3, query: 'b' });
    expect(mentionQueryAt('hi @bob there', 13)).toBeNull();
    expect(mentionQueryAt('mail bob@ex', 11)).toBeNull();
    expect(mentionQueryAt('no at here', 5)).toBeNull();
  });

  const people = [
    { userId: '1', username: 'bobby' },
    { userId: '2', username: 'Bob' },
    { userId: '3', username: 'jimbo' },
    { userId: '4', username: 'carol' },
    { userId: '2', username: 'Bob' },
  ];

  it('matches prefixes first, then infixes, case-insensitively, once per user', () => {
    expect(matchMentions('bo', people).map((c) => c.username)).toEqual(['Bob', 'bobby', 'jimbo']);
    expect(matchMentions('BOBB', people).map((c) => c.username)).toEqual(['bobby']);
    expect(matchMentions('', people).map((c) => c.username)).toEqual(['Bob', 'bobby', 'carol', 'jimbo']);
    expect(matchMentions('', people, 2)).toHaveLength(2);
    expect(matchMentions('zed', people)).toEqual([]);
  });

  it('replaces the whole token with the picked name and a space', () => {
    expect(completeMention('hi @bo', { start: 3, query: 'bo' }, 6, 'bob')).toEqual({ text: 'hi @bob ', caret: 8 });
    // The caret in the middle of the token: the rest of the token goes too.
    expect(completeMention('hi @bxyz! ok', { start: 3, query: 'b' }, 5, 'bob')).toEqual({ text: 'hi @bob ! ok', caret: 8 });
    // A space already after the token is kept, not doubled.
    expect(completeMention('@ca later', { start: 0, query: 'ca' }, 3, 'carol')).toEqual({ text: '@carol later', caret: 7 });
  });

  it("offers general's recent authors, newest first, without the viewer", () => {
    const msgs = [
      makeMessage({ seq: 1, userId: 'b', username: 'bob' }),
      makeMessage({ seq: 2, userId: 'me', username: 'alice' }),
      makeMessage({ seq: 3, userId: 'c', username: 'carol' }),
      makeMessage({ seq: 4, userId: 'b', username: 'bob' }),
    ];
    expect(recentAuthors(msgs, 'me')).toEqual([
      { userId: 'b', username: 'bob' },
      { userId: 'c', username: 'carol' },
    ]);
  });
});

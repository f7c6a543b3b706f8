import { describe, expect, it } from 'vitest';
import { mergeMarkers, seenBy, seenByText } from './readMarkers';

const A = { userId: 'a', username: 'alice', seq: 5 };
const B = { userId: 'b', username: 'bob', seq: 3 };

describe('mergeMarkers', () => {
  it('adds new members and moves markers forward, never backwards', () => {
    const cur = [A, B];
    expect(mergeMarkers(cur, [{ ...B, seq: 7 }, { userId: 'c', username: 'carol', seq: 1 }])).toEqual([
      A,
      { ...B, seq: 7 },
      { userId: 'c', username: 'carol', seq: 1 },
    ]);
    expect(mergeMarkers(cur, [{ ...A, seq: 2 }])).toBe(cur);
    expect(mergeMarkers(cur, [A, B])).toBe(cur);
  });

  it('keeps a known username when the incoming marker has none', () => {
    expect(mergeMarkers([A], [{ userId: 'a', username: '', seq: 9 }])).toEqual([{ ...A, seq: 9 }]);
  });
});

describe('seenBy', () => {
  const markers = [
    { userId: 'me', username: 'me', seq: 10 },
    { userId: 'b', username: 'bob', seq: 10 },
    { userId: 'c', username: 'carol', seq: 12 },
    { userId: 'd', username: 'dave', seq: 9 },
    { userId: 'e', username: 'erin', seq: 11 },
  ];

  it('lists members at or past the seq, sorted, without the viewer and the author', () => {
    expect(seenBy(markers, { seq: 10, userId: 'e' }, 'me', 6)).toEqual(['bob', 'carol']);
    expect(seenBy(markers, { seq: 10, userId: 'me' }, 'me', 6)).toEqual(['bob', 'carol', 'erin']);
  });

  it('is empty when nobody has read that far, without markers or a message', () => {
    expect(seenBy(markers, { seq: 13, userId: 'b' }, 'me', 6)).toEqual([]);
    expect(seenBy(undefined, { seq: 1, userId: 'b' }, 'me', 6)).toEqual([]);
    expect(seenBy(markers, undefined, 'me', 6)).toEqual([]);
  });

  it('only in rooms of at most 10 members', () => {
    expect(seenBy(markers, { seq: 1, userId: 'me' }, 'me', 10)).toHaveLength(4);
    expect(seenBy(markers, { seq: 1, userId: 'me' }, 'me', 11)).toEqual([]);
  });

  it('skips markers without a known name', () => {
    expect(seenBy([{ userId: 'x', username: '', seq: 5 }], { seq: 5, userId: 'me' }, 'me', 2)).toEqual([]);
  });

  it('reads "Seen by alice, bob", or nothing', () => {
    expect(seenByText(['alice', 'bob'])).toBe('Seen by alice, bob');
    expect(seenByText([])).toBe('');
  });
});

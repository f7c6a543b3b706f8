import { describe, expect, it } from 'vitest';
import { EMPTY_SEARCH, buildSearchQuery, fragmentOf, hitRoomLabel, messagePath, normaliseRanges, sameQuery, searchParams, seqParam, splitHighlights } from './search';

const form = (patch: Partial<typeof EMPTY_SEARCH>) => ({ ...EMPTY_SEARCH, ...patch });
const qs = (patch: Partial<typeof EMPTY_SEARCH>, cursor?: string) => {
  const q = buildSearchQuery(form(patch), cursor);
  return q ? searchParams(q).toString() : null;
};

describe('buildSearchQuery', () => {
  it('nothing to search for: null (blank text, no filter)', () => {
    expect(buildSearchQuery(EMPTY_SEARCH)).toBeNull();
    expect(buildSearchQuery(form({ text: '   ', sort: 'relevance', roomId: '3' }))).toBeNull();
  });

  it('text alone: q and the page size, recent being the default sort', () => {
    expect(qs({ text: '  hello world ' })).toBe('q=hello+world&limit=20');
  });

  it('maps every control to its parameter', () => {
    expect(
      qs({ text: '"release notes" -draft', roomId: '12', from: '@alice', hasFile: true, after: '2024-01-01', before: '2024-02-01', sort: 'relevance' }, 'abc'),
    ).toBe('q=%22release+notes%22+-draft&roomId=12&from=alice&has=file&after=2024-01-01&before=2024-02-01&sort=relevance&limit=20&cursor=abc');
  });

  it('a filter alone is a search too: q says the filter', () => {
    expect(buildSearchQuery(form({ from: 'bob' }))).toMatchObject({ q: 'from:bob', from: 'bob' });
    expect(buildSearchQuery(form({ hasFile: true }))).toMatchObject({ q: 'has:file', has: 'file' });
    expect(buildSearchQuery(form({ after: '2024-03-04' }))).toMatchObject({ q: 'after:2024-03-04', after: '2024-03-04' });
  });

  it('ignores what a control cannot mean (a partial date, a non-numeric room)', () => {
    expect(qs({ text: 'x', after: '2024-1', before: 'soon', roomId: 'general' })).toBe('q=x&limit=20');
  });

  it('keeps q within 500 characters without splitting an emoji', () => {
    const q = buildSearchQuery(form({ text: 'a'.repeat(499) + '😀' }))!;
    expect(q.q).toBe('a'.repeat(499));
  });

  it('sameQuery compares what is asked', () => {
    expect(sameQuery(buildSearchQuery(form({ text: 'a' })), buildSearchQuery(form({ text: ' a ' })))).toBe(true);
    expect(sameQuery(buildSearchQuery(form({ text: 'a' })), buildSearchQuery(form({ text: 'a', hasFile: true })))).toBe(false);
    expect(sameQuery(null, null)).toBe(true);
  });
});

describe('splitHighlights', () => {
  const marked = (text: string, ranges: { start: number; end: number }[]) =>
    splitHighlights(text, ranges)
      .map((p) => (p.mark ? `[${p.text}]` : p.text))
      .join('');

  it('marks the ranges, leaves the rest as plain text', () => {
    expect(splitHighlights('hello world', [{ start: 6, end: 11 }])).toEqual([
      { text: 'hello ', mark: false },
      { text: 'world', mark: true },
    ]);
    expect(marked('hello world', [])).toBe('hello world');
    expect(splitHighlights('', [])).toEqual([{ text: '', mark: false }]);
  });

  it('counts UTF-16 code units: an emoji before the word takes two', () => {
    const text = '👍 ship it';
    expect(marked(text, [{ start: 3, end: 7 }])).toBe('👍 [ship] it');
  });

  it('never splits an emoji: a range ending or starting inside one is widened', () => {
    expect(marked('a😀b', [{ start: 0, end: 2 }])).toBe('[a😀]b');
    expect(marked('a😀b', [{ start: 2, end: 4 }])).toBe('a[😀b]');
    expect(marked('👨‍👩‍👧 family', [{ start: 9, end: 15 }])).toBe('👨‍👩‍👧 [family]');
  });

  it('joins overlapping and touching ranges, sorts them, drops empty and out-of-range ones', () => {
    expect(marked('abcdefgh', [{ start: 4, end: 6 }, { start: 1, end: 3 }, { start: 2, end: 5 }])).toBe('a[bcdef]gh');
    expect(marked('abcdefgh', [{ start: 0, end: 2 }, { start: 2, end: 4 }])).toBe('[abcd]efgh');
    expect(marked('abc', [{ start: 2, end: 2 }, { start: 5, end: 9 }, { start: -3, end: 1 }, { start: NaN, end: 2 }])).toBe('[a]bc');
    expect(marked('abc', [{ start: 1, end: 99 }])).toBe('a[bc]');
    expect(normaliseRanges('abc', [{ start: 2, end: 1 }])).toEqual([]);
  });

  it('marks accented text as the server matched it (cafe ↔ café): ranges are plain indices', () => {
    expect(marked('Un café noir', [{ start: 3, end: 7 }])).toBe('Un [café] noir');
  });
});

describe('fragmentOf', () => {
  it('leaves a short message whole', () => {
    expect(fragmentOf('short one', [{ start: 0, end: 5 }])).toEqual({ text: 'short one', ranges: [{ start: 0, end: 5 }] });
  });

  it('cuts a long one around its first highlight and moves the ranges along', () => {
    const text = 'x '.repeat(300) + 'needle' + ' y'.repeat(300);
    const at = text.indexOf('needle');
    const f = fragmentOf(text, [{ start: at, end: at + 6 }], 100);
    expect(f.text.startsWith('…')).toBe(true);
    expect(f.text.endsWith('…')).toBe(true);
    expect(f.text.length).toBeLessThanOrEqual(103);
    const r = f.ranges[0];
    expect(f.text.slice(r.start, r.end)).toBe('needle');
  });
});

describe('paths and labels', () => {
  it('a hit opens its room at its seq, and the chat page reads the seq back', () => {
    expect(messagePath(12, 17)).toBe('/chat/12?seq=17');
    expect(seqParam('?seq=17')).toBe(17);
    expect(seqParam('?seq=0')).toBeUndefined();
    expect(seqParam('?seq=1e3')).toBeUndefined();
    expect(seqParam('')).toBeUndefined();
  });

  it('names the room like the room list does: a direct room by its other person', () => {
    expect(hitRoomLabel({ id: 1, kind: 'general', name: 'general', peer: null }, 'me')).toBe('general');
    expect(hitRoomLabel({ id: 2, kind: 'group', name: 'team', peer: null }, 'me')).toBe('#team');
    expect(hitRoomLabel({ id: 3, kind: 'direct', name: '', peer: { userId: 'b', username: 'bob' } }, 'me')).toBe('@bob');
  });
});

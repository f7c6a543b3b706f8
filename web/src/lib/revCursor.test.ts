import { describe, expect, it } from 'vitest';
import { RevCursors } from './revCursor';

const page = (revs: number[], rev: number, hasMore = false) => ({ messages: revs.map((r) => ({ rev: r })), rev, hasMore });

describe('RevCursors', () => {
  it('knows no cursor before the first page, but remembers what it saw', () => {
    const c = new RevCursors();
    expect(c.live(1, 5)).toBe('unknown');
    expect(c.get(1)).toBeUndefined();
    expect(c.init(1, 4)).toBe(true); // frame 5 came past the page: sync
    expect(new RevCursors().init(1, 4)).toBe(false);
  });

  it('advances on rev = cursor + 1 only', () => {
    const c = new RevCursors();
    c.init(1, 10);
    expect(c.live(1, 11)).toBe('next');
    expect(c.live(1, 12)).toBe('next');
    expect(c.get(1)).toBe(12);
    expect(c.live(1, 12)).toBe('stale');
    expect(c.live(1, 3)).toBe('stale');
    expect(c.live(1, 14)).toBe('gap');
    expect(c.get(1)).toBe(12);
    expect(c.behind(1)).toBe(true);
  });

  it('moves to the room rev on a last page, to the last message rev on a cut one', () => {
    const c = new RevCursors();
    c.init(1, 2);
    expect(c.page(1, page([4, 7], 20, true))).toBe(true);
    expect(c.get(1)).toBe(7);
    expect(c.page(1, page([9, 15], 20))).toBe(false);
    expect(c.get(1)).toBe(20);
  });

  it('never moves back, and stops on a cut page with nothing in it', () => {
    const c = new RevCursors();
    c.init(1, 2);
    c.live(1, 3);
    c.live(1, 4);
    expect(c.page(1, page([3], 9, true))).toBe(true);
    expect(c.get(1)).toBe(4);
    expect(c.page(1, page([], 9, true))).toBe(false);
    expect(c.get(1)).toBe(4);
  });

  it('is not behind once a page covers what was seen; forget drops everything', () => {
    const c = new RevCursors();
    c.init(1, 2);
    c.live(1, 6);
    expect(c.behind(1)).toBe(true);
    c.page(1, page([5, 6], 6));
    expect(c.behind(1)).toBe(false);
    c.forget(1);
    expect(c.get(1)).toBeUndefined();
    expect(c.seen(1)).toBe(0);
  });
});

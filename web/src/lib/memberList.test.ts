import { describe, expect, it } from 'vitest';
import type { Member } from '../api/types';
import { memberTotal, withPage } from './memberList';

const m = (n: number): Member => ({ userId: `u${n}`, username: `user${n}`, joinedAt: '2025-01-01T00:00:00Z', isOwner: n === 0 });

describe('member list pages', () => {
  it('keeps paging while the server says there is more, then stops', () => {
    let list = withPage(null, { members: [m(0), m(1)], nextCursor: 'c1', hasMore: true }, true);
    expect(list).toMatchObject({ nextCursor: 'c1', hasMore: true });
    expect(memberTotal(list, 5)).toBe(5);
    list = withPage(list, { members: [m(2), m(3)], nextCursor: 'c2', hasMore: true }, false);
    list = withPage(list, { members: [m(4)], nextCursor: null, hasMore: false }, false);
    expect(list.members.map((x) => x.userId)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
    expect(list).toMatchObject({ nextCursor: null, hasMore: false });
    expect(memberTotal(list, 9)).toBe(5);
  });

  it('lists a member seen on two pages once, and a first page starts over', () => {
    let list = withPage(null, { members: [m(0), m(1)], nextCursor: 'c1', hasMore: true }, true);
    list = withPage(list, { members: [m(1), m(2)], nextCursor: null, hasMore: false }, false);
    expect(list.members.map((x) => x.userId)).toEqual(['u0', 'u1', 'u2']);
    list = withPage(list, { members: [m(7)], nextCursor: null, hasMore: false }, true);
    expect(list.members.map((x) => x.userId)).toEqual(['u7']);
  });

  it('does not offer more without a cursor to ask with', () => {
    const list = withPage(null, { members: [m(0)], nextCursor: null, hasMore: true }, true);
    expect(list.hasMore).toBe(false);
    expect(memberTotal(null, 3)).toBeNull();
  });
});

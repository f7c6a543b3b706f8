import { describe, expect, it } from 'vitest';
import { applyPresence, presenceText, sameUsers, watchList } from './presence';

describe('presence state', () => {
  it('takes in snapshots and changes, and stays the same object when nothing changes', () => {
    const a = applyPresence({}, [
      { userId: 'b', online: true, lastSeenAt: null },
      { userId: 'c', online: false, lastSeenAt: '2025-01-01T10:00:00Z' },
    ]);
    expect(a.b).toEqual({ userId: 'b', online: true, lastSeenAt: null });
    expect(applyPresence(a, [{ userId: 'b', online: true, lastSeenAt: null }])).toBe(a);
    const b = applyPresence(a, [{ userId: 'b', online: false, lastSeenAt: '2025-01-01T11:00:00Z' }]);
    expect(b).not.toBe(a);
    expect(b.b.online).toBe(false);
    expect(b.c).toBe(a.c);
    expect(a.b.online).toBe(true);
  });

  it('watches DM peers first, then members, each once, never the viewer, up to the cap', () => {
    expect(watchList(['p1', 'p2'], ['me', 'm1', 'p1', 'm2'], 'me')).toEqual(['p1', 'p2', 'm1', 'm2']);
    expect(watchList(['me'], [], 'me')).toEqual([]);
    expect(watchList(['p1', 'p2'], ['m1', 'm2'], 'me', 3)).toEqual(['p1', 'p2', 'm1']);
    const many = Array.from({ length: 300 }, (_, i) => `u${i}`);
    expect(watchList([], many, 'me')).toHaveLength(200);
  });

  it('compares watch lists as sets', () => {
    expect(sameUsers(['a', 'b'], ['b', 'a'])).toBe(true);
    expect(sameUsers(['a'], ['a', 'b'])).toBe(false);
    expect(sameUsers(['a', 'c'], ['a', 'b'])).toBe(false);
    expect(sameUsers([], [])).toBe(true);
  });
});

describe('presence text', () => {
  const now = new Date(2025, 2, 10, 15, 30);
  const seen = (d: Date) => presenceText({ userId: 'b', online: false, lastSeenAt: d.toISOString() }, now);

  it('says online, or when the user was last seen', () => {
    expect(presenceText(undefined, now)).toBe('');
    expect(presenceText({ userId: 'b', online: true, lastSeenAt: null }, now)).toBe('online');
    expect(presenceText({ userId: 'b', online: false, lastSeenAt: null }, now)).toBe('offline');
    expect(seen(new Date(2025, 2, 10, 15, 29, 40))).toBe('last seen just now');
    expect(seen(new Date(2025, 2, 10, 15, 5))).toBe('last seen 25 min ago');
    expect(seen(new Date(2025, 2, 10, 9, 5))).toMatch(/^last seen today at .*0?9.05/);
    expect(seen(new Date(2025, 2, 9, 23, 0))).toMatch(/^last seen yesterday at /);
    expect(seen(new Date(2025, 1, 3, 12, 0))).toMatch(/^last seen \S/);
    expect(seen(new Date(2025, 1, 3, 12, 0))).not.toMatch(/2025/);
    expect(seen(new Date(2023, 1, 3, 12, 0))).toMatch(/2023/);
  });
});

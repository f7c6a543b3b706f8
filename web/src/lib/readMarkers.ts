// Read receipts: the members' read markers of a group room, and who has seen a message.
// Pure functions so the store stays simple and the rules are unit-tested.

import type { ReadMarker } from '../api/types';

/** Group rooms up to this many members show "Seen by …". */
export const SEEN_BY_MAX_MEMBERS = 10;

/**
 * The markers once `incoming` (a `GET /rooms/{id}/read-markers` answer, or one frame's
 * marker) is taken in: a marker only moves forward, and a known username is kept when the
 * incoming one is empty (frames carry none). Returns `cur` itself when nothing changed.
 */
export function mergeMarkers(cur: readonly ReadMarker[], incoming: readonly ReadMarker[]): ReadMarker[] {
  let out: ReadMarker[] | null = null;
  for (const m of incoming) {
    const list: ReadMarker[] = out ?? (cur as ReadMarker[]);
    const i = list.findIndex((x) => x.userId === m.userId);
    if (i < 0) {
      out = [...list, { userId: m.userId, username: m.username, seq: m.seq }];
      continue;
    }
    const have = list[i];
    const seq = Math.max(have.seq, m.seq);
    const username = m.username || have.username;
    if (seq === have.seq && username === have.username) continue;
    out = list.slice();
    out[i] = { userId: m.userId, username, seq };
  }
  return out ?? (cur as ReadMarker[]);
}

/**
 * Who, by username (sorted), has read up to message `seq` by `authorId` in a room of
 * `memberCount` members: everyone whose marker is at or past it, other than the viewer and
 * the author. Empty for rooms above the size limit, and for markers without a known name.
 */
export function seenBy(
  markers: readonly ReadMarker[] | undefined,
  message: { seq: number; userId: string } | undefined,
  meId: string,
  memberCount: number,
  max = SEEN_BY_MAX_MEMBERS,
): string[] {
  if (!markers || !message || memberCount > max) return [];
  return markers
    .filter((m) => m.seq >= message.seq && m.userId !== meId && m.userId !== message.userId && m.username)
    .map((m) => m.username)
    .sort((a, b) => a.localeCompare(b));
}

/** "Seen by alice, bob", or "" when nobody has. */
export function seenByText(names: readonly string[]): string {
  return names.length ? `Seen by ${names.join(', ')}` : '';
}

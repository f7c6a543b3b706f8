// Presence: who the client watches (`watchPresence`), the state the relay's `presenceList`
// and `presence` frames build, and how it reads ("online", "last seen 5 min ago").
// Pure functions so the store stays simple and the rules are unit-tested.

import type { UserPresence } from '../api/types';

/** The relay's default cap on one connection's watched users (`RELAY_MAX_WATCHED_USERS`). */
export const MAX_WATCHED_USERS = 200;

/** Per user id, what the relay last said. */
export type PresenceMap = Readonly<Record<string, UserPresence>>;

/** The map once `updates` are taken in; `map` itself when none changes anything. */
export function applyPresence(map: PresenceMap, updates: readonly UserPresence[]): PresenceMap {
  let out: Record<string, UserPresence> | null = null;
  for (const u of updates) {
    const have = (out ?? map)[u.userId];
    const lastSeenAt = u.lastSeenAt ?? null;
    if (have && have.online === u.online && have.lastSeenAt === lastSeenAt) continue;
    out ??= { ...map };
    out[u.userId] = { userId: u.userId, online: u.online, lastSeenAt };
  }
  return out ?? map;
}

/**
 * The users to watch: the DM peers first (the room list always shows them), then the open
 * room's loaded members; each once, never the viewer, at most `max`.
 */
export function watchList(
  peers: readonly string[],
  members: readonly string[],
  meId: string,
  max = MAX_WATCHED_USERS,
): string[] {
  const seen = new Set<string>([meId]);
  const out: string[] = [];
  for (const id of [...peers, ...members]) {
    if (out.length >= max) break;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(id);
  }
  return out;
}

/** Whether two watch lists hold the same users (order does not matter to the relay). */
export function sameUsers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/**
 * "online", "last seen just now / 5 min ago / today at 14:03 / yesterday at 09:10 /
 * 3 Mar", "offline" (never seen), or "" when the relay has not said yet.
 */
export function presenceText(p: UserPresence | undefined, now: Date = new Date()): string {
  if (!p) return '';
  if (p.online) return 'online';
  if (!p.lastSeenAt) return 'offline';
  const at = new Date(p.lastSeenAt);
  if (Number.isNaN(at.getTime())) return 'offline';
  const mins = Math.floor((now.getTime() - at.getTime()) / 60_000);
  if (mins < 1) return 'last seen just now';
  if (mins < 60) return `last seen ${mins} min ago`;
  const time = at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (at.toDateString() === now.toDateString()) return `last seen today at ${time}`;
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (at.toDateString() === yesterday.toDateString()) return `last seen yesterday at ${time}`;
  const sameYear = at.getFullYear() === now.getFullYear();
  return `last seen ${at.toLocaleDateString(undefined, sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' })}`;
}

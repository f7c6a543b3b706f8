// Rooms by kind: what a room is called where (a direct room has no name of its own: it shows
// the other person), and how the sidebar splits and orders them. Pure functions, unit-tested.

import type { Room, RoomKind } from '../api/types';
import { displayName } from './deletedUser';

type RoomLike = Pick<Room, 'isGeneral' | 'name'> & Partial<Pick<Room, 'kind' | 'peer'>>;

/** The room's kind (a server from before direct messages sends only `isGeneral`). */
export function roomKind(r: RoomLike): RoomKind {
  return r.kind ?? (r.isGeneral ? 'general' : 'group');
}

export function isDirect(r: RoomLike): boolean {
  return roomKind(r) === 'direct';
}

/** A direct room with oneself: notes. */
export function isSelfDm(r: RoomLike, meId: string): boolean {
  return isDirect(r) && r.peer?.userId === meId;
}

/** The room's name as the room list shows it: the peer's username for a DM ("(you)" for notes). */
export function roomTitle(r: RoomLike, meId: string): string {
  if (!isDirect(r)) return r.name;
  const peer = r.peer ? displayName(r.peer.username) : 'unknown';
  return isSelfDm(r, meId) ? `${peer} (you)` : peer;
}

/** The room's name in running text and titles: `general`, `#name`, `@peer`. */
export function roomLabel(r: RoomLike, meId: string): string {
  switch (roomKind(r)) {
    case 'general':
      return 'general';
    case 'group':
      return `#${r.name}`;
    default:
      return isSelfDm(r, meId) ? 'your notes' : `@${r.peer ? displayName(r.peer.username) : 'unknown'}`;
  }
}

/**
 * The sidebar's two sections: rooms (general first, then the groups as listed) and direct
 * messages (see `compareDms`).
 */
export function splitRooms<R extends Room>(rooms: readonly R[]): { rooms: R[]; directs: R[] } {
  const general = rooms.filter((r) => roomKind(r) === 'general');
  const groups = rooms.filter((r) => roomKind(r) === 'group');
  const directs = rooms.filter((r) => roomKind(r) === 'direct').sort(compareDms);
  return { rooms: [...general, ...groups], directs };
}

/**
 * Direct messages that want attention first (mentions, then unread ones), then by the peer's
 * name; the room id settles ties so the order never flickers.
 */
export function compareDms(a: Room, b: Room): number {
  const want = (r: Room) => ((r.mentionCount ?? 0) > 0 ? 2 : r.unreadCount > 0 ? 1 : 0);
  return (
    want(b) - want(a) ||
    (a.peer?.username ?? '').localeCompare(b.peer?.username ?? '', undefined, { sensitivity: 'base' }) ||
    a.id - b.id
  );
}

/** The user ids of the DM peers (never the viewer: notes have no one to watch). */
export function dmPeerIds(rooms: readonly Room[], meId: string): string[] {
  const out: string[] = [];
  for (const r of rooms) {
    const id = isDirect(r) ? r.peer?.userId : undefined;
    if (id && id !== meId) out.push(id);
  }
  return out;
}

/** The room's page in the app. */
export function roomPath(r: Pick<Room, 'id' | 'isGeneral'>): string {
  return r.isGeneral ? '/chat/general' : `/chat/${r.id}`;
}

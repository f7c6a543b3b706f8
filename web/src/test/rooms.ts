// A room-list entry for unit tests: a group room (general for id 1) with `fields` on top.
import type { Room } from '../api/types';

export function makeRoom(id: number, fields: Partial<Room> = {}): Room {
  return {
    id,
    name: id === 1 ? 'general' : `room${id}`,
    ownerUserId: 'me',
    ownerUsername: 'alice',
    isGeneral: id === 1,
    kind: id === 1 ? 'general' : 'group',
    peer: null,
    memberCount: 2,
    lastSeq: 0,
    lastRev: 0,
    unreadCount: 0,
    mentionCount: 0,
    createdAt: '2025-01-01T00:00:00Z',
    ...fields,
  };
}

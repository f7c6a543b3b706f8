import { describe, expect, it } from 'vitest';
import type { Room } from '../api/types';
import { makeRoom } from '../test/rooms';
import { compareDms, dmPeerIds, isSelfDm, roomKind, roomLabel, roomTitle, splitRooms } from './rooms';

const room = (id: number, extra: Partial<Room> = {}) => makeRoom(id, { isGeneral: false, kind: 'group', ...extra });

const general = room(1, { name: 'general', isGeneral: true, kind: 'general', ownerUserId: null });
const dm = (id: number, username: string, extra: Partial<Room> = {}) =>
  room(id, { name: '', kind: 'direct', ownerUserId: null, ownerUsername: null, peer: { userId: `${username}-id`, username }, ...extra });

describe('rooms by kind', () => {
  it('reads the kind, also from a server that only sends isGeneral', () => {
    expect(roomKind(dm(5, 'bob'))).toBe('direct');
    const old = { name: 'x', isGeneral: true };
    expect(roomKind(old)).toBe('general');
    expect(roomKind({ name: 'x', isGeneral: false })).toBe('group');
  });

  it('names a DM after the peer, and notes with "(you)"', () => {
    expect(roomTitle(dm(5, 'bob'), 'me')).toBe('bob');
    const notes = room(6, { name: '', kind: 'direct', peer: { userId: 'me', username: 'alice' } });
    expect(isSelfDm(notes, 'me')).toBe(true);
    expect(roomTitle(notes, 'me')).toBe('alice (you)');
    expect(roomLabel(notes, 'me')).toBe('your notes');
    expect(roomTitle(room(3), 'me')).toBe('room3');
    expect([roomLabel(general, 'me'), roomLabel(room(3), 'me'), roomLabel(dm(5, 'bob'), 'me')]).toEqual(['general', '#room3', '@bob']);
  });

  it('splits the sidebar into rooms (general first) and DMs', () => {
    const list = [room(3), dm(5, 'bob'), general, room(2), dm(4, 'Carol')];
    const { rooms, directs } = splitRooms(list);
    expect(rooms.map((r) => r.id)).toEqual([1, 3, 2]);
    expect(directs.map((r) => r.id)).toEqual([5, 4]);
  });

  it('orders DMs: mentions, then unread, then by name', () => {
    const list = [dm(1, 'dave'), dm(2, 'Carol', { unreadCount: 2 }), dm(3, 'bob'), dm(4, 'erin', { unreadCount: 1, mentionCount: 1 }), dm(5, 'Bob')];
    expect(list.sort(compareDms).map((r) => r.peer?.username)).toEqual(['erin', 'Carol', 'bob', 'Bob', 'dave']);
  });

  it('lists DM peers to watch, without the viewer', () => {
    const notes = room(6, { kind: 'direct', peer: { userId: 'me', username: 'alice' } });
    expect(dmPeerIds([general, dm(5, 'bob'), notes, room(3)], 'me')).toEqual(['bob-id']);
  });
});

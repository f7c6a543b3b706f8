import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangesPage, ClientFrame, Member, Message, MessagesPage, ReactionChangedFrame, ReadMarker, Room } from '../api/types';
import { ApiError } from '../api/errors';
import { applyReactionChange } from '../lib/reactions';
import { ChatStore, type ChatApi, type SocketPort } from './chatStore';
import { makeMessage } from '../test/messages';
import { makeRoom } from '../test/rooms';

const ME = { id: 'me', username: 'alice' };
const BOB = 'bob-id';

function msg(roomId: number, seq: number, extra: Partial<Message> = {}): Message {
  return makeMessage({
    id: roomId * 1000 + seq,
    roomId,
    seq,
    userId: BOB,
    username: 'bob',
    content: `r${roomId}#${seq}`,
    rev: seq,
    reactions: [],
    ...extra,
  });
}

const room = makeRoom;

class FakePort implements SocketPort {
  isReady = false;
  sent: ClientFrame[] = [];
  start() {}
  stop() {}
  reconnectNow() {}
  send(f: ClientFrame) {
    if (!this.isReady) return false;
    this.sent.push(f);
    return true;
  }
  take<A extends ClientFrame['action']>(action: A) {
    const out = this.sent.filter((f) => f.action === action) as Extract<ClientFrame, { action: A }>[];
    this.sent = this.sent.filter((f) => f.action !== action);
    return out;
  }
}

/**
 * chat-service's side, as far as the store sees it: per room, messages in seq order and a
 * revision counter that every create, edit and delete takes the next value of.
 */
class FakeServer {
  rooms = new Map<number, { rev: number; messages: Message[] }>();
  /** Per room, the read-markers answer. */
  markers = new Map<number, ReadMarker[]>();
  /** Per room, the members answer. */
  members = new Map<number, Member[]>();

  private room(roomId: number) {
    let r = this.rooms.get(roomId);
    if (!r) {
      r = { rev: 0, messages: [] };
      this.rooms.set(roomId, r);
    }
    return r;
  }

  rev(roomId: number): number {
    return this.room(roomId).rev;
  }

  post(roomId: number, extra: Partial<Message> = {}): Message {
    const r = this.room(roomId);
    const m = msg(roomId, r.messages.length + 1, { rev: ++r.rev, ...extra });
    r.messages.push(m);
    return m;
  }

  edit(roomId: number, seq: number, content: string): Message {
    const r = this.room(roomId);
    const m = { ...r.messages[seq - 1], content, editedAt: `2025-01-02T00:00:${String(r.rev % 60).padStart(2, '0')}Z`, rev: ++r.rev };
    r.messages[seq - 1] = m;
    return m;
  }

  del(roomId: number, seq: number): Message {
    const r = this.room(roomId);
    const m = { ...r.messages[seq - 1], content: '', deleted: true, rev: ++r.rev };
    r.messages[seq - 1] = m;
    return m;
  }

  /**
   * A user's reaction added or removed, as chat-service does it: a no-op answers the message
   * unchanged and sends no frame; a real change takes the next rev.
   */
  react(roomId: number, seq: number, emoji: string, userId: string, added: boolean): { message: Message; frame?: ReactionChangedFrame } {
    const r = this.room(roomId);
    const m = r.messages[seq - 1];
    const cur = (m.reactions ?? []).find((x) => x.emoji === emoji);
    const has = cur?.userIds.includes(userId) ?? false;
    if (has === added) return { message: m };
    const count = (cur?.count ?? 0) + (added ? 1 : -1);
    const next = { ...m, rev: ++r.rev, reactions: applyReactionChange(m.reactions ?? [], { emoji, userId, added, count }) };
    r.messages[seq - 1] = next;
    const frame: ReactionChangedFrame = { type: 'reactionChanged', roomId, messageId: m.id, rev: next.rev, emoji, userId, added, count };
    return { message: next, frame };
  }

  page(roomId: number, q: { beforeSeq?: number; afterSeq?: number; aroundSeq?: number; limit?: number }): MessagesPage {
    const r = this.room(roomId);
    const limit = q.limit ?? 50;
    let all = r.messages;
    if (q.afterSeq !== undefined) {
      const after = all.filter((m) => m.seq > q.afterSeq!);
      return { messages: after.slice(0, limit), hasMore: after.length > limit, rev: r.rev };
    }
    if (q.aroundSeq !== undefined) {
      const half = Math.floor(limit / 2);
      const before = all.filter((m) => m.seq < q.aroundSeq!);
      const from = all.filter((m) => m.seq >= q.aroundSeq!);
      const b = before.slice(Math.max(0, before.length - half));
      const a = from.slice(0, limit - b.length);
      return { messages: [...b, ...a], hasMore: false, hasMoreBefore: before.length > b.length, hasMoreAfter: from.length > a.length, rev: r.rev };
    }
    if (q.beforeSeq !== undefined) all = all.filter((m) => m.seq < q.beforeSeq!);
    return { messages: all.slice(-limit), hasMore: all.length > limit, rev: r.rev };
  }

  changes(roomId: number, sinceRev: number, limit = 200): ChangesPage {
    const r = this.room(roomId);
    const all = r.messages.filter((m) => m.rev > sinceRev).sort((a, b) => a.rev - b.rev);
    return { roomId, messages: all.slice(0, limit), rev: r.rev, hasMore: all.length > limit };
  }

  /** The socket's answer to a `sync` frame. */
  answer(f: Extract<ClientFrame, { action: 'sync' }>, limit?: number) {
    return { type: 'changes' as const, id: f.id, ...this.changes(f.roomId, f.sinceRev, limit ?? f.limit) };
  }
}

function fakeApi(server: FakeServer, rooms: Room[]) {
  const calls: string[] = [];
  const api: ChatApi = {
    rooms: vi.fn(async () => rooms.map((r) => ({ ...r }))),
    messages: vi.fn(async (roomId: number, q: { beforeSeq?: number; afterSeq?: number; aroundSeq?: number; limit?: number }) => {
      calls.push(`messages ${roomId} ${JSON.stringify(q)}`);
      return server.page(roomId, q);
    }),
    changes: vi.fn(async (roomId: number, q: { sinceRev: number; limit?: number }) => {
      calls.push(`changes ${roomId} ${JSON.stringify(q)}`);
      return server.changes(roomId, q.sinceRev, q.limit);
    }),
    editMessage: vi.fn(async (id: number, content: string) => server.edit(Math.floor(id / 1000), id % 1000, content)),
    deleteMessage: vi.fn(async () => undefined),
    addReaction: vi.fn(async (id: number, emoji: string) => server.react(Math.floor(id / 1000), id % 1000, emoji, ME.id, true).message),
    removeReaction: vi.fn(async (id: number, emoji: string) => server.react(Math.floor(id / 1000), id % 1000, emoji, ME.id, false).message),
    markRead: vi.fn(async () => undefined),
    readMarkers: vi.fn(async (roomId: number) => {
      calls.push(`readMarkers ${roomId}`);
      return (server.markers.get(roomId) ?? []).map((m) => ({ ...m }));
    }),
    createRoom: vi.fn(),
    deleteRoom: vi.fn(),
    removeMember: vi.fn(),
    members: vi.fn(async (roomId: number) => {
      calls.push(`members ${roomId}`);
      return { members: (server.members.get(roomId) ?? []).map((m) => ({ ...m })), nextCursor: null, hasMore: false };
    }),
    openDm: vi.fn(),
    hideRoom: vi.fn(async () => undefined),
  } as unknown as ChatApi;
  return { api, calls };
}

/** A store over a fake server holding `counts[roomId]` messages per room (seq = rev = 1..n). */
function setup(counts: Record<number, number> = {}, rooms: Room[] = [room(1), room(2)]) {
  let n = 0;
  let now = 1_000_000;
  const server = new FakeServer();
  for (const [roomId, count] of Object.entries(counts)) {
    server.rev(Number(roomId));
    for (let i = 0; i < count; i++) server.post(Number(roomId));
  }
  const { api, calls } = fakeApi(server, rooms);
  const store = new ChatStore({ ...ME, email: 'a@x' }, api, {
    pageSize: 3,
    ackTimeoutMs: 10_000,
    now: () => now,
    newId: () => `cid-${++n}`,
    isVisible: () => true,
  });
  const port = new FakePort();
  store.attach(port);
  const connect = () => {
    port.isReady = true;
    store.onReady();
  };
  const disconnect = () => {
    port.isReady = false;
    store.onDown();
  };
  /** Answers every sync frame sent so far from the server's state, until none is left. */
  const answerSyncs = (limit?: number) => {
    for (let i = 0; i < 50; i++) {
      const syncs = port.take('sync');
      if (syncs.length === 0) return;
      for (const f of syncs) store.onFrame(server.answer(f, limit));
    }
    throw new Error('sync never settles');
  };
  return { store, port, api, calls, server, connect, disconnect, answerSyncs, tick: (ms: number) => (now += ms) };
}

const seqs = (store: ChatStore, roomId: number) => store.getState().timelines[roomId]?.messages.map((m) => m.seq);
const shown = (store: ChatStore, roomId: number) =>
  store.getState().timelines[roomId]?.messages.map((m) => (m.deleted ? `${m.seq}:deleted` : `${m.seq}:${m.content}`));
const syncFrame = (roomId: number, sinceRev: number) => ({ action: 'sync', id: `sync:${roomId}:${sinceRev}`, roomId, sinceRev });
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('ChatStore', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('loads the latest page of a room and older pages on demand, in seq order', async () => {
    const { store } = setup({ 2: 7 });
    await store.openRoom(2);
    expect(seqs(store, 2)).toEqual([5, 6, 7]);
    expect(store.getState().timelines[2].hasMoreOlder).toBe(true);
    await store.loadOlder(2);
    expect(seqs(store, 2)).toEqual([2, 3, 4, 5, 6, 7]);
    await store.loadOlder(2);
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(store.getState().timelines[2].hasMoreOlder).toBe(false);
  });

  it('shows live messages once even when they also come back by sync', async () => {
    const { store, port, server, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    const m2 = server.post(2);
    server.post(2);
    store.onFrame({ type: 'message', message: m2 });
    store.onFrame({ type: 'message', message: m2 });
    store.onFrame({ type: 'changes', ...server.changes(2, 0) });
    expect(seqs(store, 2)).toEqual([1, 2, 3]);
    expect(port.take('sync')).toEqual([]);
  });

  it('after a reconnect, syncs every loaded room from its rev cursor', async () => {
    const { store, port, server, connect, disconnect } = setup({ 1: 2, 2: 1 });
    connect();
    await store.openRoom(1);
    await store.openRoom(2);
    expect(port.take('sync')).toEqual([]); // the pages are current: nothing to catch up on
    disconnect();
    server.post(1);
    server.post(1);
    connect();
    const syncs = port.take('sync');
    expect(syncs).toEqual(expect.arrayContaining([syncFrame(1, 2), syncFrame(2, 1)]));
    expect(syncs).toHaveLength(2);
    expect(store.syncingRooms.sort()).toEqual([1, 2]);
    for (const f of syncs) store.onFrame(server.answer(f));
    expect(seqs(store, 1)).toEqual([1, 2, 3, 4]);
    expect(store.revCursor(1)).toBe(4);
    expect(store.syncingRooms).toEqual([]);
    expect(port.take('sync')).toEqual([]);
  });

  it('does not sync rooms that were never opened', async () => {
    const { store, port, connect } = setup();
    connect();
    await settle();
    expect(port.take('sync')).toEqual([]);
    store.onFrame({ type: 'message', message: msg(2, 9) });
    expect(store.getState().timelines[2]).toBeUndefined();
    expect(port.take('sync')).toEqual([]);
  });

  it('queues sends while offline and writes them, same clientMsgId, after ready', async () => {
    const { store, port, connect } = setup({ 2: 0 });
    await store.openRoom(2);
    store.send(2, 'hello');
    store.send(2, 'again');
    expect(port.sent).toEqual([]);
    expect(store.getState().pending.map((p) => [p.clientMsgId, p.status])).toEqual([
      ['cid-1', 'queued'],
      ['cid-2', 'queued'],
    ]);
    connect();
    const sends = port.take('sendMessage');
    expect(sends.map((f) => [f.clientMsgId, f.content, f.roomId])).toEqual([
      ['cid-1', 'hello', 2],
      ['cid-2', 'again', 2],
    ]);
    expect(store.getState().pending.every((p) => p.status === 'sent')).toBe(true);
  });

  it('resends unacked messages after a drop, and the ack settles them exactly once', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    store.send(2, 'hi');
    expect(port.take('sendMessage')).toHaveLength(1);
    disconnect();
    expect(store.getState().pending[0].status).toBe('queued');
    // The server had stored the first attempt.
    const mine = server.post(2, { userId: 'me', username: 'alice', content: 'hi', clientMsgId: 'cid-1' });
    connect();
    const again = port.take('sendMessage');
    expect(again.map((f) => f.clientMsgId)).toEqual(['cid-1']);
    // Sync brings it back before the ack.
    const [sync] = port.take('sync');
    store.onFrame(server.answer(sync));
    expect(store.getState().pending).toEqual([]);
    store.onFrame({ type: 'ack', clientMsgId: 'cid-1', message: mine });
    store.onFrame({ type: 'message', message: mine });
    expect(seqs(store, 2)).toEqual([1]);
    expect(store.getState().pending).toEqual([]);
    expect(port.take('sync')).toEqual([]);
  });

  it('resends after the ack timeout while connected', async () => {
    const { store, port, connect, tick } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    store.send(2, 'x');
    expect(port.take('sendMessage')).toHaveLength(1);
    tick(10_000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(port.take('sendMessage').map((f) => f.clientMsgId)).toEqual(['cid-1']);
  });

  it('marks a send failed on a permanent error, and retries on request', async () => {
    const { store, port, connect } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    store.send(2, 'x'.repeat(5000));
    port.take('sendMessage');
    store.onFrame({ type: 'error', code: 'content_too_long', message: 'Too long', temporary: false, id: 'cid-1' });
    expect(store.getState().pending[0]).toMatchObject({ status: 'failed', error: 'Too long' });
    store.flush(true);
    expect(port.take('sendMessage')).toEqual([]);
    store.retry('cid-1');
    expect(port.take('sendMessage')).toHaveLength(1);
  });

  it('counts unread for rooms not on screen and clears it when opened', async () => {
    const { store, connect, api } = setup({ 2: 1, 3: 0 }, [room(1), room(2), room(3)]);
    connect();
    await store.loadRooms();
    await store.openRoom(3);
    store.onFrame({ type: 'message', message: msg(2, 1) });
    store.onFrame({ type: 'message', message: msg(2, 1) });
    store.onFrame({ type: 'message', message: msg(2, 2, { userId: 'me' }) });
    const r2 = () => store.getState().rooms.find((r) => r.id === 2)!;
    expect(r2().unreadCount).toBe(1);
    await store.openRoom(2);
    expect(r2().unreadCount).toBe(0);
    expect(api.markRead).not.toHaveBeenCalled(); // sent over the socket instead
  });

  it('counts only new, undeleted messages of a change feed as unread, not edits', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 2, 3: 0 }, [room(1), room(2, { lastSeq: 2 }), room(3)]);
    connect();
    await store.loadRooms();
    await store.openRoom(2);
    await store.openRoom(3); // room 2 stays loaded, off screen
    disconnect();
    server.edit(2, 1, 'edited');
    server.post(2);
    server.post(2);
    server.del(2, 4);
    connect();
    await settle(); // the rooms reload after ready; the feed answer comes after it
    const [sync] = port.take('sync').filter((f) => f.roomId === 2);
    store.onFrame(server.answer(sync));
    expect(shown(store, 2)).toEqual(['1:edited', '2:r2#2', '3:r2#3', '4:deleted']);
    expect(store.getState().rooms.find((r) => r.id === 2)).toMatchObject({ unreadCount: 1, lastSeq: 4 });
  });

  it('sends markRead for the room on screen', async () => {
    const { store, port, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    expect(port.take('markRead')).toEqual([{ action: 'markRead', roomId: 2, seq: 1 }]);
    store.onFrame({ type: 'message', message: msg(2, 2) });
    expect(port.take('markRead')).toEqual([{ action: 'markRead', roomId: 2, seq: 2 }]);
  });

  it('applies edits and deletes from frames', async () => {
    const { store, server, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const edited = server.edit(2, 1, 'changed');
    const deleted = server.del(2, 2);
    store.onFrame({ type: 'messageEdited', roomId: 2, message: edited });
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: deleted.id, seq: 2, rev: deleted.rev });
    const [a, b] = store.getState().timelines[2].messages;
    expect(a).toMatchObject({ content: 'changed', editedAt: edited.editedAt, rev: 3 });
    expect(b).toMatchObject({ deleted: true, content: '', rev: 4 });
    expect(store.revCursor(2)).toBe(4);
  });

  it('keeps an own edit and delete made over REST, and the frames that echo them change nothing', async () => {
    const { store, port, server, api, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const [m1, m2] = store.getState().timelines[2].messages;
    await store.edit(m1, 'mine, edited');
    vi.mocked(api.deleteMessage).mockImplementation(async () => undefined); // a 204
    await store.remove(m2);
    expect(shown(store, 2)).toEqual(['1:mine, edited', '2:deleted']);
    const deleted = server.del(2, 2);
    store.onFrame({ type: 'messageEdited', roomId: 2, message: server.rooms.get(2)!.messages[0] });
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: deleted.id, seq: 2, rev: deleted.rev });
    expect(shown(store, 2)).toEqual(['1:mine, edited', '2:deleted']);
    expect(store.getState().timelines[2].messages[1].rev).toBe(4);
    expect(store.revCursor(2)).toBe(4);
    expect(port.take('sync')).toEqual([]);
  });

  it('shows typing for others, expires it, and clears it when their message lands', async () => {
    const { store, connect, tick } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    store.onFrame({ type: 'typing', roomId: 2, userId: BOB, username: 'bob' });
    store.onFrame({ type: 'typing', roomId: 2, userId: 'me', username: 'alice' });
    expect(store.getState().typing[2].map((t) => t.username)).toEqual(['bob']);
    store.onFrame({ type: 'message', message: msg(2, 1) });
    expect(store.getState().typing[2]).toEqual([]);
    store.onFrame({ type: 'typing', roomId: 2, userId: BOB, username: 'bob' });
    tick(6000);
    store.expireTyping();
    expect(store.getState().typing[2]).toBeUndefined();
  });

  it('throttles outgoing typing frames', async () => {
    const { store, port, connect, tick } = setup();
    connect();
    store.typing(2);
    store.typing(2);
    tick(3000);
    store.typing(2);
    expect(port.take('typing')).toHaveLength(2);
  });

  it('forgets a room when removed from it or when it is deleted', async () => {
    const { store, connect } = setup({ 2: 1 }, [room(1), room(2), room(3)]);
    connect();
    await store.loadRooms();
    await store.openRoom(2);
    store.send(2, 'x');
    store.onFrame({ type: 'memberRemoved', roomId: 2, userId: 'me' });
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1, 3]);
    expect(store.getState().pending).toEqual([]);
    expect(store.getState().notice).toContain('room2');
    expect(store.revCursor(2)).toBeUndefined();
    store.onFrame({ type: 'roomDeleted', roomId: 3 });
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1]);
  });

  it('falls back to the HTTP change feed when a sync is refused', async () => {
    const { store, port, server, connect, disconnect, calls } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    disconnect();
    server.post(2);
    server.edit(2, 1, 'edited offline');
    connect();
    expect(port.take('sync')).toEqual([syncFrame(2, 2)]);
    store.onFrame({ type: 'error', code: 'internal', temporary: true, id: 'sync:2:2' });
    await settle();
    expect(calls.at(-1)).toBe('changes 2 {"sinceRev":2,"limit":200}');
    expect(shown(store, 2)).toEqual(['1:edited offline', '2:r2#2', '3:r2#3']);
    expect(store.revCursor(2)).toBe(4);
    expect(store.syncingRooms).toEqual([]);
  });

  it('pages the HTTP fallback while hasMore, from the cursor each page leaves', async () => {
    const { store, port, server, api, connect, calls } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    for (let i = 0; i < 5; i++) server.post(2);
    // The server cuts every page after two changes (as its byte budget would).
    vi.mocked(api.changes).mockImplementation(async (roomId, q) => {
      calls.push(`since ${q.sinceRev}`);
      return server.changes(roomId, q.sinceRev, 2);
    });
    store.onFrame({ type: 'message', message: server.post(2) }); // rev 7 on cursor 1: a gap
    expect(port.take('sync')).toEqual([syncFrame(2, 1)]);
    store.onFrame({ type: 'error', code: 'busy', temporary: true, id: 'sync:2:1' });
    await settle();
    expect(calls.filter((c) => c.startsWith('since'))).toEqual(['since 1', 'since 3', 'since 5']);
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(store.revCursor(2)).toBe(7);
  });
});

describe('ChatStore rev cursor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('starts from the rev of the first page and advances on contiguous live frames', async () => {
    const { store, port, server, connect } = setup({ 2: 3 });
    server.edit(2, 1, 'older edit'); // rev 4: the page's rev is ahead of its last seq
    connect();
    await store.openRoom(2);
    expect(store.revCursor(2)).toBe(4);
    const m4 = server.post(2);
    store.onFrame({ type: 'message', message: m4 });
    const e = server.edit(2, 4, 'fixed typo');
    store.onFrame({ type: 'messageEdited', roomId: 2, message: e });
    const d = server.del(2, 2);
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: d.id, seq: d.seq, rev: d.rev });
    expect(store.revCursor(2)).toBe(7);
    expect(port.take('sync')).toEqual([]);
    expect(shown(store, 2)).toEqual(['1:older edit', '2:deleted', '3:r2#3', '4:fixed typo']);
  });

  it('syncs at once from the cursor when a live frame jumps ahead, once while in flight', async () => {
    const { store, port, server, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const missedEdit = server.edit(2, 1, 'missed'); // rev 3, never pushed (relay cut off)
    const m3 = server.post(2); // rev 4
    store.onFrame({ type: 'message', message: m3 });
    // Applied per message already; the cursor waits for what was missed.
    expect(seqs(store, 2)).toEqual([1, 2, 3]);
    expect(store.revCursor(2)).toBe(2);
    expect(port.take('sync')).toEqual([syncFrame(2, 2)]);
    const m4 = server.post(2); // rev 5: another jump while the sync is out, no second sync
    store.onFrame({ type: 'message', message: m4 });
    expect(port.take('sync')).toEqual([]);
    store.onFrame({ type: 'changes', ...server.changes(2, 2) });
    expect(shown(store, 2)).toEqual(['1:missed', '2:r2#2', '3:r2#3', '4:r2#4']);
    expect(store.getState().timelines[2].messages[0].rev).toBe(missedEdit.rev);
    expect(store.revCursor(2)).toBe(5);
    expect(port.take('sync')).toEqual([]);
  });

  it('syncs once more when a live frame newer than the answer came while it was out', async () => {
    const { store, port, server, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    server.post(2); // rev 2, missed
    store.onFrame({ type: 'message', message: server.post(2) }); // rev 3: gap
    const [first] = port.take('sync');
    const answer = server.answer(first); // read at rev 3
    server.post(2); // rev 4, missed as well
    store.onFrame({ type: 'message', message: server.post(2) }); // rev 5 overtakes the answer
    store.onFrame(answer);
    expect(store.revCursor(2)).toBe(3);
    expect(port.take('sync')).toEqual([syncFrame(2, 3)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 3) });
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4, 5]);
    expect(store.revCursor(2)).toBe(5);
    expect(port.take('sync')).toEqual([]);
  });

  it('ignores stale frames that arrive out of order, and never regresses a message', async () => {
    const { store, port, server, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const e1 = server.edit(2, 1, 'first edit'); // rev 3
    const e2 = server.edit(2, 1, 'second edit'); // rev 4
    const d = server.del(2, 2); // rev 5
    // The sync path (or the other relay path) delivers the latest state first...
    store.onFrame({ type: 'messageEdited', roomId: 2, message: e2 });
    expect(port.take('sync')).toEqual([syncFrame(2, 2)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 2) });
    expect(store.revCursor(2)).toBe(5);
    // ...then the older frames straggle in: nothing moves back.
    store.onFrame({ type: 'messageEdited', roomId: 2, message: e1 });
    store.onFrame({ type: 'message', message: msg(2, 2) });
    store.onFrame({ type: 'messageEdited', roomId: 2, message: { ...msg(2, 2), content: 'edit before the delete', rev: 4 } });
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: d.id, seq: 2, rev: d.rev });
    expect(shown(store, 2)).toEqual(['1:second edit', '2:deleted']);
    expect(store.revCursor(2)).toBe(5);
    expect(port.take('sync')).toEqual([]);
  });

  it('applies a change feed with edits and deletes made while offline', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 3 });
    connect();
    await store.openRoom(2);
    disconnect();
    server.edit(2, 2, 'edited while you were away');
    server.del(2, 3);
    server.post(2, { content: 'new one' });
    server.del(2, 1); // the window is seqs 1..3: this one is on screen too
    connect();
    expect(port.take('sync')).toEqual([syncFrame(2, 3)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 3) });
    expect(shown(store, 2)).toEqual(['1:deleted', '2:edited while you were away', '3:deleted', '4:new one']);
    expect(store.revCursor(2)).toBe(7);
  });

  it('pages a change feed while hasMore, from the rev of each page’s last message', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    disconnect();
    server.edit(2, 2, 'a'); // rev 3
    server.post(2); // rev 4
    server.edit(2, 1, 'b'); // rev 5
    server.post(2); // rev 6
    server.edit(2, 2, 'c'); // rev 7: message 2's rev 3 is superseded
    connect();
    const [sync] = port.take('sync');
    expect(sync).toEqual(syncFrame(2, 2));
    store.onFrame(server.answer(sync, 2)); // revs 4, 5
    expect(store.revCursor(2)).toBe(5);
    expect(port.take('sync')).toEqual([syncFrame(2, 5)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 5, 2) }); // revs 6, 7: the last page
    expect(store.revCursor(2)).toBe(7);
    expect(port.take('sync')).toEqual([]);
    expect(shown(store, 2)).toEqual(['1:b', '2:c', '3:r2#3', '4:r2#4']);
  });

  it('leaves no holes: a change older than the window is not inserted, and older pages bring it', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 6 });
    connect();
    await store.openRoom(2);
    expect(seqs(store, 2)).toEqual([4, 5, 6]);
    disconnect();
    server.edit(2, 1, 'edited far back');
    server.del(2, 2);
    server.edit(2, 5, 'edited in view');
    server.post(2);
    connect();
    const [sync] = port.take('sync');
    store.onFrame(server.answer(sync));
    expect(shown(store, 2)).toEqual(['4:r2#4', '5:edited in view', '6:r2#6', '7:r2#7']);
    expect(store.revCursor(2)).toBe(10);
    await store.loadOlder(2);
    await store.loadOlder(2);
    expect(shown(store, 2)).toEqual(['1:edited far back', '2:deleted', '3:r2#3', '4:r2#4', '5:edited in view', '6:r2#6', '7:r2#7']);
    expect(port.take('sync')).toEqual([]);
  });

  it('takes every message into a window that is the whole history, even an empty one', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    expect(store.getState().timelines[2]).toMatchObject({ loaded: true, hasMoreOlder: false, messages: [] });
    disconnect();
    server.post(2);
    server.post(2);
    server.edit(2, 1, 'x');
    connect();
    const [sync] = port.take('sync');
    store.onFrame(server.answer(sync));
    expect(shown(store, 2)).toEqual(['1:x', '2:r2#2']);
    expect(store.revCursor(2)).toBe(3);
  });

  it('catches up from a first page that live frames overtook', async () => {
    const { store, port, server, api, connect } = setup({ 2: 2 });
    connect();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pageAtRev2 = server.page(2, { limit: 3 });
    vi.mocked(api.messages).mockImplementationOnce(async () => {
      await gate;
      return pageAtRev2;
    });
    const opening = store.openRoom(2);
    server.post(2); // rev 3: written after the page was read, its frame lost
    store.onFrame({ type: 'message', message: server.post(2) }); // rev 4 lands before the page
    release();
    await opening;
    expect(store.revCursor(2)).toBe(2);
    expect(port.take('sync')).toEqual([syncFrame(2, 2)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 2) });
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4]);
    expect(store.revCursor(2)).toBe(4);
  });

  it('asks again for changes an older page may predate', async () => {
    const { store, port, server, api, connect } = setup({ 2: 6 });
    connect();
    await store.openRoom(2);
    const olderAtRev6 = server.page(2, { beforeSeq: 4, limit: 3 });
    const e = server.edit(2, 2, 'edited while the older page was on its way'); // rev 7
    vi.mocked(api.messages).mockImplementationOnce(async () => {
      // The edit's frame comes while seq 2 is not in the window yet: left out.
      store.onFrame({ type: 'messageEdited', roomId: 2, message: e });
      return olderAtRev6;
    });
    await store.loadOlder(2);
    expect(store.revCursor(2)).toBe(7);
    expect(shown(store, 2)?.[1]).toBe('2:r2#2');
    expect(port.take('sync')).toEqual([syncFrame(2, 6)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 6) });
    expect(shown(store, 2)?.[1]).toBe('2:edited while the older page was on its way');
    expect(store.revCursor(2)).toBe(7);
  });
});

describe('ChatStore reactions', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const reactionsAt = (store: ChatStore, roomId: number, i: number) => store.getState().timelines[roomId].messages[i].reactions;

  it('reacts over the socket when it is up, and the room’s frame brings the result and moves the cursor', async () => {
    const { store, port, server, api, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const m1 = store.getState().timelines[2].messages[0];
    await store.toggleReaction(m1, '👍');
    const [react] = port.take('react');
    expect(react).toEqual({ action: 'react', id: 'react:cid-1', roomId: 2, messageId: m1.id, emoji: '👍' });
    expect(api.addReaction).not.toHaveBeenCalled();
    expect(reactionsAt(store, 2, 0)).toEqual([]); // not optimistic: the frame decides

    const { frame } = server.react(2, 1, '👍', ME.id, true);
    store.onFrame(frame!);
    expect(reactionsAt(store, 2, 0)).toEqual([{ emoji: '👍', count: 1, userIds: [ME.id] }]);
    expect(store.getState().timelines[2].messages[0].rev).toBe(3);
    expect(store.revCursor(2)).toBe(3);
    expect(store.hasReacted(store.getState().timelines[2].messages[0], '👍')).toBe(true);

    // Bob joins in, then alice toggles hers off: an unreact.
    store.onFrame(server.react(2, 1, '👍', BOB, true).frame!);
    expect(reactionsAt(store, 2, 0)).toEqual([{ emoji: '👍', count: 2, userIds: [ME.id, BOB] }]);
    await store.toggleReaction(store.getState().timelines[2].messages[0], '👍');
    expect(port.take('unreact')).toEqual([{ action: 'unreact', id: 'react:cid-2', roomId: 2, messageId: m1.id, emoji: '👍' }]);
    store.onFrame(server.react(2, 1, '👍', ME.id, false).frame!);
    expect(reactionsAt(store, 2, 0)).toEqual([{ emoji: '👍', count: 1, userIds: [BOB] }]);
    store.onFrame(server.react(2, 1, '👍', BOB, false).frame!);
    expect(reactionsAt(store, 2, 0)).toEqual([]);
    expect(store.revCursor(2)).toBe(6);
    expect(port.take('sync')).toEqual([]);
  });

  it('reacts over HTTP while offline, takes the answer, and the echoing frame changes nothing', async () => {
    const { store, port, server, api, connect, disconnect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    disconnect();
    const m2 = store.getState().timelines[2].messages[1];
    await store.toggleReaction(m2, '🎉');
    expect(api.addReaction).toHaveBeenCalledWith(m2.id, '🎉');
    expect(reactionsAt(store, 2, 1)).toEqual([{ emoji: '🎉', count: 1, userIds: [ME.id] }]);
    expect(store.getState().timelines[2].messages[1].rev).toBe(3);
    expect(store.getState().myReactions[m2.id]).toEqual(['🎉']);

    await store.toggleReaction(store.getState().timelines[2].messages[1], '🎉');
    expect(api.removeReaction).toHaveBeenCalledWith(m2.id, '🎉');
    expect(reactionsAt(store, 2, 1)).toEqual([]);
    expect(store.getState().myReactions[m2.id]).toBeUndefined();

    // Back online: the sync brings the message at rev 4; nothing to undo.
    connect();
    answerAll(store, port, server);
    expect(reactionsAt(store, 2, 1)).toEqual([]);
    expect(store.revCursor(2)).toBe(4);
  });

  it('syncs when a reaction frame jumps ahead; the change feed replaces reactions wholesale', async () => {
    const { store, port, server, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    server.react(2, 1, '👍', BOB, true); // rev 3, frame lost
    server.react(2, 1, '🚀', 'carol', true); // rev 4, frame lost
    const { frame } = server.react(2, 1, '👍', 'carol', true); // rev 5
    store.onFrame(frame!);
    // Applied to the message (its rev is older), but the cursor waits for the sync.
    expect(reactionsAt(store, 2, 0)).toEqual([{ emoji: '👍', count: 2, userIds: ['carol'] }]);
    expect(store.revCursor(2)).toBe(2);
    expect(port.take('sync')).toEqual([syncFrame(2, 2)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 2) });
    expect(reactionsAt(store, 2, 0)).toEqual([
      { emoji: '👍', count: 2, userIds: [BOB, 'carol'] },
      { emoji: '🚀', count: 1, userIds: ['carol'] },
    ]);
    expect(store.revCursor(2)).toBe(5);
  });

  it('ignores a stale reaction frame for a message already newer', async () => {
    const { store, port, server, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const early = server.react(2, 1, '👍', BOB, true).frame!; // rev 3
    const late = server.react(2, 1, '👍', BOB, false).frame!; // rev 4
    store.onFrame(late); // a gap: sync
    store.onFrame({ type: 'changes', ...server.changes(2, 2) });
    port.take('sync');
    expect(store.revCursor(2)).toBe(4);
    store.onFrame(early); // straggler
    expect(reactionsAt(store, 2, 0)).toEqual([]);
    expect(store.getState().timelines[2].messages[0].rev).toBe(4);
    expect(store.revCursor(2)).toBe(4);
    expect(port.take('sync')).toEqual([]);
  });

  it('catches up on reactions made while offline, without a reload', async () => {
    const { store, port, server, connect, disconnect } = setup({ 2: 3 });
    connect();
    await store.openRoom(2);
    disconnect();
    server.react(2, 2, '🎉', BOB, true);
    server.react(2, 3, '👍', BOB, true);
    server.react(2, 3, '👍', BOB, false);
    connect();
    expect(port.take('sync')).toEqual([syncFrame(2, 3)]);
    store.onFrame({ type: 'changes', ...server.changes(2, 3) });
    expect(reactionsAt(store, 2, 1)).toEqual([{ emoji: '🎉', count: 1, userIds: [BOB] }]);
    expect(reactionsAt(store, 2, 2)).toEqual([]);
    expect(store.revCursor(2)).toBe(6);
  });

  it('shows a refused reaction for a few seconds: too_many_reactions over the socket, rate_limited', async () => {
    const { store, port, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    const m = store.getState().timelines[2].messages[0];
    await store.react(m, '🤔', true);
    const [f] = port.take('react');
    store.onFrame({ type: 'error', id: f.id, code: 'too_many_reactions', temporary: false, message: 'at most 20' });
    expect(store.getState().reactionErrors[m.id]).toMatch(/as many different reactions/);
    vi.advanceTimersByTime(6_000);
    expect(store.getState().reactionErrors[m.id]).toBeUndefined();

    await store.react(m, '👍', true);
    const [g] = port.take('react');
    store.onFrame({ type: 'error', id: g.id, code: 'rate_limited', temporary: true });
    expect(store.getState().reactionErrors[m.id]).toMatch(/too often/);
    // The next attempt clears it at once.
    await store.react(m, '👍', true);
    expect(store.getState().reactionErrors[m.id]).toBeUndefined();
    // An error for something else is not mistaken for a reaction's.
    store.onFrame({ type: 'error', id: 'other', code: 'rate_limited', temporary: true });
    expect(store.getState().reactionErrors).toEqual({});
  });

  it('shows a refusal over HTTP the same way', async () => {
    const { store, api, connect, disconnect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    disconnect();
    vi.mocked(api.addReaction).mockRejectedValueOnce(new ApiError(409, 'too_many_reactions', 'Conflict', 'too many'));
    const m = store.getState().timelines[2].messages[0];
    await store.react(m, '🤔', true);
    expect(store.getState().reactionErrors[m.id]).toMatch(/as many different reactions/);
    expect(reactionsAt(store, 2, 0)).toEqual([]);
  });

  it('a deleted message loses its reactions and takes none', async () => {
    const { store, port, server, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    store.onFrame(server.react(2, 1, '👍', BOB, true).frame!);
    const d = server.del(2, 1);
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: d.id, seq: 1, rev: d.rev });
    expect(reactionsAt(store, 2, 0)).toEqual([]);
    await store.react(store.getState().timelines[2].messages[0], '👍', true);
    expect(port.take('react')).toEqual([]);
  });

  it('knows its own reaction past the first 50 listed users from the frames it saw', async () => {
    const { store, port, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    const m = store.getState().timelines[2].messages[0];
    let rev = 1;
    for (let i = 0; i < 50; i++) {
      store.onFrame({ type: 'reactionChanged', roomId: 2, messageId: m.id, rev: ++rev, emoji: '👍', userId: `u${i}`, added: true, count: i + 1 });
    }
    store.onFrame({ type: 'reactionChanged', roomId: 2, messageId: m.id, rev: ++rev, emoji: '👍', userId: ME.id, added: true, count: 51 });
    const now = store.getState().timelines[2].messages[0];
    expect(now.reactions?.[0]).toMatchObject({ count: 51 });
    expect(now.reactions?.[0].userIds).toHaveLength(50);
    expect(now.reactions?.[0].userIds).not.toContain(ME.id);
    expect(store.hasReacted(now, '👍')).toBe(true);
    await store.toggleReaction(now, '👍');
    expect(port.take('unreact')).toHaveLength(1);
    expect(store.revCursor(2)).toBe(rev);
  });
});

describe('ChatStore replies', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const replyRef = (m: Message) => ({ id: m.id, seq: m.seq, userId: m.userId, username: m.username, excerpt: m.content });

  it('reply mode: set for a live message, cancelled, never for a deleted one', async () => {
    const { store, server } = setup({ 2: 2 });
    await store.openRoom(2);
    const [a, b] = store.getState().timelines[2].messages;
    store.replyTo(a);
    expect(store.getState().replyingTo[2]).toEqual(replyRef(a));
    store.replyTo(b);
    expect(store.getState().replyingTo[2]?.id).toBe(b.id);
    store.cancelReply(2);
    expect(store.getState().replyingTo[2]).toBeUndefined();
    store.replyTo({ ...server.del(2, 1) });
    expect(store.getState().replyingTo[2]).toBeUndefined();
  });

  it('sending in reply mode carries replyToId and leaves reply mode; the next send is plain', async () => {
    const { store, port, connect } = setup({ 2: 2 });
    connect();
    await store.openRoom(2);
    const a = store.getState().timelines[2].messages[0];
    store.replyTo(a);
    store.send(2, 'answer');
    expect(store.getState().replyingTo[2]).toBeUndefined();
    store.send(2, 'plain');
    const sent = port.take('sendMessage');
    expect(sent.map((f) => [f.content, f.replyToId])).toEqual([
      ['answer', a.id],
      ['plain', undefined],
    ]);
    expect('replyToId' in sent[1]).toBe(false);
    expect(store.getState().pending[0].replyTo).toEqual(replyRef(a));
  });

  it('a queued reply keeps its replyToId across reconnects', async () => {
    const { store, port, connect, disconnect } = setup({ 2: 1 });
    await store.openRoom(2);
    const a = store.getState().timelines[2].messages[0];
    store.replyTo(a);
    store.send(2, 'offline answer');
    expect(port.sent).toEqual([]);
    connect();
    disconnect();
    connect();
    const sent = port.take('sendMessage');
    expect(sent).toHaveLength(2);
    expect(sent.every((f) => f.replyToId === a.id && f.clientMsgId === 'cid-1')).toBe(true);
  });

  it('a message with files sends attachmentIds (content may be empty) and keeps them across reconnects and the ack timeout', async () => {
    const { store, port, server, connect, disconnect, tick } = setup({ 2: 0 });
    await store.openRoom(2);
    const uploads = [
      { id: 'up-1', name: 'photo.png', contentType: 'image/png', size: 2048, width: 64, height: 48, thumbnail: { width: 64, height: 48 } },
      { id: 'up-2', name: 'report.pdf', contentType: 'application/pdf', size: 900 },
    ];
    store.send(2, '', undefined, uploads);
    expect(store.getState().pending[0]).toMatchObject({ content: '', attachments: uploads, status: 'queued' });
    connect();
    disconnect();
    connect();
    tick(10_000);
    store.flush();
    const sent = port.take('sendMessage');
    expect(sent).toHaveLength(3);
    for (const f of sent) expect(f).toMatchObject({ roomId: 2, content: '', clientMsgId: 'cid-1', attachmentIds: ['up-1', 'up-2'] });
    // The ack settles it; the message shows its attachments as the server sent them.
    const attachments = [
      { id: 'up-1', name: 'photo.png', contentType: 'image/png', size: 2048, width: 64, height: 48, url: '/files/up-1', thumbnailUrl: '/files/up-1/thumbnail' },
      { id: 'up-2', name: 'report.pdf', contentType: 'application/pdf', size: 900, url: '/files/up-2' },
    ];
    const mine = server.post(2, { userId: 'me', username: 'alice', content: '', clientMsgId: 'cid-1', attachments });
    store.onFrame({ type: 'ack', clientMsgId: 'cid-1', message: mine });
    expect(store.getState().pending).toEqual([]);
    expect(store.getState().timelines[2].messages[0].attachments).toEqual(attachments);
  });

  it('a message without files sends no attachmentIds field', async () => {
    const { store, port, connect } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    store.send(2, 'plain', undefined, []);
    const [f] = port.take('sendMessage');
    expect('attachmentIds' in f).toBe(false);
    expect(store.getState().pending[0].attachments).toBeUndefined();
  });

  it('a live delete takes the attachments away with the text', async () => {
    const { store, server, connect } = setup({ 2: 0 });
    connect();
    await store.openRoom(2);
    const m = server.post(2, { attachments: [{ id: 'f', name: 'a.txt', contentType: 'text/plain', size: 3, url: '/files/f' }] });
    store.onFrame({ type: 'message', message: m });
    const gone = server.del(2, m.seq);
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: m.id, seq: m.seq, rev: gone.rev });
    expect(store.getState().timelines[2].messages[0]).toMatchObject({ deleted: true, attachments: [] });
  });

  it('reply mode is per room, and follows an edit of the original; a delete ends it', async () => {
    const { store, server, connect } = setup({ 1: 1, 2: 1 });
    connect();
    await store.openRoom(1);
    await store.openRoom(2);
    store.replyTo(store.getState().timelines[2].messages[0]);
    expect(store.getState().replyingTo[1]).toBeUndefined();
    store.onFrame({ type: 'messageEdited', roomId: 2, message: server.edit(2, 1, 'edited text') });
    expect(store.getState().replyingTo[2]?.excerpt).toBe('edited text');
    const d = server.del(2, 1);
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: d.id, seq: 1, rev: d.rev });
    expect(store.getState().replyingTo[2]).toBeUndefined();
  });

  it('excerpts of loaded replies follow live edits (first 120 characters) and deletes of the original', async () => {
    const { store, server, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    const orig = store.getState().timelines[2].messages[0];
    const r1 = server.post(2, { replyTo: replyRef(orig), content: 'reply 1' });
    const r2 = server.post(2, { replyTo: replyRef(orig), content: 'reply 2' });
    store.onFrame({ type: 'message', message: r1 });
    store.onFrame({ type: 'message', message: r2 });
    const excerpts = () => store.getState().timelines[2].messages.map((m) => m.replyTo?.excerpt ?? null);
    const long = 'y'.repeat(200);
    store.onFrame({ type: 'messageEdited', roomId: 2, message: server.edit(2, 1, long) });
    expect(excerpts()).toEqual([null, 'y'.repeat(120), 'y'.repeat(120)]);
    const d = server.del(2, 1);
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: d.id, seq: 1, rev: d.rev });
    expect(excerpts()).toEqual([null, '', '']);
    expect(store.revCursor(2)).toBe(server.rev(2));
  });

  it('excerpts follow an edit of an original outside the loaded window, and one caught up by sync', async () => {
    const { store, server, port, connect, disconnect, answerSyncs } = setup({ 2: 5 });
    connect();
    await store.openRoom(2); // seqs 3..5
    const first = server.rooms.get(2)!.messages[0];
    const reply = server.post(2, { replyTo: replyRef(first), content: 'late reply' });
    store.onFrame({ type: 'message', message: reply });
    store.onFrame({ type: 'messageEdited', roomId: 2, message: server.edit(2, 1, 'edited far back') });
    const last = () => store.getState().timelines[2].messages.at(-1)!;
    expect(last().replyTo?.excerpt).toBe('edited far back');
    expect(seqs(store, 2)).toEqual([3, 4, 5, 6]); // no hole made
    disconnect();
    server.edit(2, 1, 'edited while away');
    connect();
    answerSyncs();
    expect(last().replyTo?.excerpt).toBe('edited while away');
    expect(port.take('sync')).toEqual([]);
  });

  it('an own edit or delete over REST updates the excerpts too', async () => {
    const { store, server, connect } = setup({ 2: 1 });
    connect();
    await store.openRoom(2);
    const orig = store.getState().timelines[2].messages[0];
    store.onFrame({ type: 'message', message: server.post(2, { replyTo: replyRef(orig) }) });
    await store.edit(orig, 'fixed');
    expect(store.getState().timelines[2].messages[1].replyTo?.excerpt).toBe('fixed');
    await store.remove(store.getState().timelines[2].messages[0]);
    expect(store.getState().timelines[2].messages[1].replyTo?.excerpt).toBe('');
  });

  it('jump: an original in the loaded history is found without loading anything', async () => {
    const { store, calls } = setup({ 2: 5 });
    await store.openRoom(2);
    const before = calls.length;
    await expect(store.reveal(2, 4)).resolves.toBe(true);
    expect(calls.length).toBe(before);
    expect(store.getState().notice).toBeNull();
  });

  it('jump: a message within a page before the window comes with the older page (beforeSeq, contiguous)', async () => {
    const { store, calls } = setup({ 2: 10 });
    await store.openRoom(2); // 8..10, pages of 3
    await expect(store.reveal(2, 5)).resolves.toBe(true);
    expect(seqs(store, 2)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(calls.filter((c) => c.includes('beforeSeq'))).toEqual(['messages 2 {"beforeSeq":8,"limit":3}']);
    expect(calls.filter((c) => c.includes('aroundSeq'))).toEqual([]);
    expect(store.getState().notice).toBeNull();
  });

  it('jump: waits for a load already in flight instead of skipping a page', async () => {
    const { store } = setup({ 2: 10 });
    await store.openRoom(2);
    const scrolling = store.loadOlder(2);
    const found = store.reveal(2, 5);
    await scrolling;
    await expect(found).resolves.toBe(true);
    expect(seqs(store, 2)).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it('jump: a message far back is loaded around (aroundSeq), not page by page; one not in the room gives a notice', async () => {
    const { store, calls } = setup({ 2: 40 });
    await store.openRoom(2); // 38..40
    await expect(store.reveal(2, 10)).resolves.toBe(true);
    expect(calls.filter((c) => c.includes('beforeSeq'))).toEqual([]);
    expect(calls.filter((c) => c.includes('aroundSeq'))).toEqual(['messages 2 {"aroundSeq":10,"limit":3}']);
    expect(seqs(store, 2)).toEqual([9, 10, 11]);
    expect(store.getState().timelines[2]).toMatchObject({ hasMoreOlder: true, hasMoreNewer: true });
    expect(store.getState().notice).toBeNull();
    await expect(store.reveal(2, 99)).resolves.toBe(false);
    expect(store.getState().notice).toBe('The original message could not be found.');
  });

  it('jump: a window around an old message takes no live message past its end; load newer fills up to them', async () => {
    const { store, server, connect, answerSyncs, calls } = setup({ 2: 20 });
    connect();
    await store.openRoom(2);
    answerSyncs();
    await store.reveal(2, 5); // 4..6
    answerSyncs();
    expect(seqs(store, 2)).toEqual([4, 5, 6]);
    // Live: a new message (past the end: waits) and an edit inside the window (applied).
    store.onFrame({ type: 'message', message: server.post(2) });
    const edited = server.edit(2, 5, 'fixed');
    store.onFrame({ type: 'messageEdited', roomId: 2, message: edited });
    answerSyncs();
    expect(shown(store, 2)).toEqual(['4:r2#4', '5:fixed', '6:r2#6']);
    // Not at the newest: nothing marked read.
    expect(store.getState().timelines[2].hasMoreNewer).toBe(true);
    for (let i = 0; i < 10 && store.getState().timelines[2].hasMoreNewer; i++) {
      await store.loadNewer(2);
      answerSyncs();
    }
    expect(calls.filter((c) => c.includes('afterSeq'))[0]).toBe('messages 2 {"afterSeq":6,"limit":3}');
    expect(seqs(store, 2)).toEqual(Array.from({ length: 18 }, (_, i) => i + 4));
    // Back at the newest: live messages join again.
    store.onFrame({ type: 'message', message: server.post(2) });
    expect(seqs(store, 2)?.at(-1)).toBe(22);
  });

  it('jump: "show latest" replaces a window around an old message with the newest page', async () => {
    const { store } = setup({ 2: 30 });
    await store.openRoom(2);
    await store.reveal(2, 3);
    expect(store.getState().timelines[2].hasMoreNewer).toBe(true);
    const epoch = store.getState().timelines[2].epoch;
    await store.showLatest(2);
    expect(seqs(store, 2)).toEqual([28, 29, 30]);
    expect(store.getState().timelines[2]).toMatchObject({ hasMoreNewer: false, hasMoreOlder: true, epoch: epoch + 1 });
  });
});

/** Answers sync frames from the server until none is left. */
function answerAll(store: ChatStore, port: FakePort, server: FakeServer) {
  for (let i = 0; i < 50; i++) {
    const syncs = port.take('sync');
    if (syncs.length === 0) return;
    for (const f of syncs) store.onFrame(server.answer(f));
  }
}

describe('ChatStore read markers', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const markers = (store: ChatStore, roomId: number) =>
    store.getState().readMarkers[roomId]?.map((m) => `${m.username}:${m.seq}`).sort();

  it('reads a group room’s markers when it is opened, never general’s', async () => {
    const { store, server, calls } = setup({ 1: 2, 2: 3 });
    server.markers.set(2, [{ userId: BOB, username: 'bob', seq: 2 }]);
    await store.loadRooms();
    await store.openRoom(1);
    await settle();
    expect(store.getState().readMarkers[1]).toBeUndefined();
    await store.openRoom(2);
    await settle();
    expect(markers(store, 2)).toEqual(['bob:2']);
    expect(calls.filter((c) => c.startsWith('readMarkers'))).toEqual(['readMarkers 2']);
  });

  it('moves markers on with frames, never backwards, and a re-read after ready never moves one back', async () => {
    const { store, server, connect, calls } = setup({ 2: 5 });
    server.markers.set(2, [{ userId: BOB, username: 'bob', seq: 2 }]);
    await store.loadRooms();
    connect();
    await store.openRoom(2);
    await settle();
    store.onFrame({ type: 'readMarker', roomId: 2, userId: BOB, seq: 4 });
    expect(markers(store, 2)).toEqual(['bob:4']);
    store.onFrame({ type: 'readMarker', roomId: 2, userId: BOB, seq: 3 });
    expect(markers(store, 2)).toEqual(['bob:4']);
    // A stale answer after a reconnect (bob at 3) keeps 4; carol's marker comes in.
    server.markers.set(2, [
      { userId: BOB, username: 'bob', seq: 3 },
      { userId: 'carol-id', username: 'carol', seq: 5 },
    ]);
    calls.length = 0;
    connect();
    await settle();
    expect(calls.filter((c) => c.startsWith('readMarkers'))).toEqual(['readMarkers 2']);
    expect(markers(store, 2)).toEqual(['bob:4', 'carol:5']);
  });

  it('a frame for a member not known yet reads the markers again (frames carry no name)', async () => {
    const { store, server, calls } = setup({ 2: 5 });
    await store.loadRooms();
    await store.openRoom(2);
    await settle();
    expect(markers(store, 2)).toEqual([]);
    server.markers.set(2, [{ userId: 'dave-id', username: 'dave', seq: 5 }]);
    calls.length = 0;
    store.onFrame({ type: 'readMarker', roomId: 2, userId: 'dave-id', seq: 5 });
    await settle();
    expect(calls.filter((c) => c.startsWith('readMarkers'))).toEqual(['readMarkers 2']);
    expect(markers(store, 2)).toEqual(['dave:5']);
  });

  it('keeps a frame that arrives while the first read is out', async () => {
    const { store, server, api } = setup({ 2: 5 });
    await store.loadRooms();
    let release!: (v: ReadMarker[]) => void;
    vi.mocked(api.readMarkers).mockImplementationOnce(() => new Promise((r) => (release = r)));
    const opened = store.openRoom(2);
    await settle();
    store.onFrame({ type: 'readMarker', roomId: 2, userId: BOB, seq: 5 }); // unknown: asks again later
    release([{ userId: BOB, username: 'bob', seq: 3 }]);
    server.markers.set(2, [{ userId: BOB, username: 'bob', seq: 5 }]);
    await opened;
    await settle();
    expect(markers(store, 2)).toEqual(['bob:5']);
  });

  it('ignores frames for rooms whose markers are not kept, and forgets a room’s markers with it', async () => {
    const { store, server } = setup({ 2: 5, 3: 1 }, [room(1), room(2), room(3)]);
    server.markers.set(2, [{ userId: BOB, username: 'bob', seq: 5 }]);
    await store.loadRooms();
    store.onFrame({ type: 'readMarker', roomId: 3, userId: BOB, seq: 1 });
    expect(store.getState().readMarkers[3]).toBeUndefined();
    await store.openRoom(2);
    await settle();
    store.onFrame({ type: 'roomDeleted', roomId: 2 });
    expect(store.getState().readMarkers[2]).toBeUndefined();
  });

  it('the viewer’s own marker at the room’s last seq clears its unread badge; short of it, leaves it', async () => {
    const { store } = setup({}, [room(1, { lastSeq: 9, unreadCount: 4 }), room(2, { lastSeq: 7, unreadCount: 3 })]);
    await store.loadRooms();
    store.onFrame({ type: 'readMarker', roomId: 2, userId: ME.id, seq: 6 });
    expect(store.getState().rooms.find((r) => r.id === 2)?.unreadCount).toBe(3);
    store.onFrame({ type: 'readMarker', roomId: 2, userId: BOB, seq: 7 });
    expect(store.getState().rooms.find((r) => r.id === 2)?.unreadCount).toBe(3);
    store.onFrame({ type: 'readMarker', roomId: 2, userId: ME.id, seq: 7 });
    expect(store.getState().rooms.find((r) => r.id === 2)?.unreadCount).toBe(0);
    // general too (its frames go only to the mover's own sockets).
    store.onFrame({ type: 'readMarker', roomId: 1, userId: ME.id, seq: 9 });
    expect(store.getState().rooms.find((r) => r.id === 1)?.unreadCount).toBe(0);
  });
});

describe('ChatStore direct messages, mentions and presence', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const dm = (id: number, userId: string, username: string, extra: Partial<Room> = {}) =>
    room(id, { name: '', kind: 'direct', ownerUserId: null, ownerUsername: null, peer: { userId, username }, ...extra });
  const counts = (store: ChatStore, id: number) => {
    const r = store.getState().rooms.find((x) => x.id === id);
    return r && [r.unreadCount, r.mentionCount];
  };
  const member = (userId: string, username: string): Member => ({ userId, username, joinedAt: '2025-01-01T00:00:00Z', isOwner: false });

  it('counts live mentions of the viewer in rooms not open, and clears them when the room is read', async () => {
    const { store, connect } = setup({}, [room(1), room(2), room(3)]);
    connect();
    await store.loadRooms();
    await store.openRoom(3);
    store.onFrame({ type: 'message', message: msg(2, 1, { mentions: [ME.id] }) });
    store.onFrame({ type: 'message', message: msg(2, 2, { mentions: ['someone-else'] }) });
    store.onFrame({ type: 'message', message: msg(2, 3, { mentions: [], mentionsRoom: true }) });
    store.onFrame({ type: 'message', message: msg(2, 3, { mentions: [], mentionsRoom: true }) }); // twice: counted once
    store.onFrame({ type: 'message', message: msg(2, 4, { userId: ME.id, mentions: [ME.id] }) }); // own: never
    expect(counts(store, 2)).toEqual([3, 2]);
    // The room on screen counts nothing.
    store.onFrame({ type: 'message', message: msg(3, 1, { mentions: [ME.id] }) });
    expect(counts(store, 3)).toEqual([0, 0]);
    await store.openRoom(2);
    expect(counts(store, 2)).toEqual([0, 0]);
  });

  it('keeps a locally counted mention that a room list read in flight does not have yet', async () => {
    const rooms = [room(1), room(2, { lastSeq: 1, unreadCount: 1, mentionCount: 1 })];
    const { store } = setup({}, rooms);
    await store.loadRooms();
    store.onFrame({ type: 'message', message: msg(2, 2, { mentions: [ME.id] }) });
    await store.loadRooms();
    expect(counts(store, 2)).toEqual([2, 2]);
  });

  it('a frame for a room it does not know reads the room list again, once for a burst', async () => {
    const rooms = [room(1)];
    const { store, api } = setup({}, rooms);
    await store.loadRooms();
    expect(api.rooms).toHaveBeenCalledTimes(1);
    rooms.push(dm(7, BOB, 'bob'));
    store.onFrame({ type: 'message', message: msg(7, 1) });
    store.onFrame({ type: 'typing', roomId: 7, userId: BOB, username: 'bob' });
    store.onFrame({ type: 'message', message: msg(7, 2) });
    await settle();
    // One read out, one more asked for after it (the first may predate the later frames).
    expect(api.rooms).toHaveBeenCalledTimes(3);
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1, 7]);
    // Known now: no more reads. Frames that say a room is gone read nothing either.
    store.onFrame({ type: 'message', message: msg(7, 3) });
    store.onFrame({ type: 'roomDeleted', roomId: 99 });
    store.onFrame({ type: 'roomHidden', roomId: 98 });
    await settle();
    expect(api.rooms).toHaveBeenCalledTimes(3);
  });

  it('opening a DM lists it at once; hiding it, or roomHidden from another tab, drops it', async () => {
    const { store, api } = setup({}, [room(1), dm(8, 'carol-id', 'carol')]);
    await store.loadRooms();
    vi.mocked(api.openDm).mockResolvedValueOnce(dm(7, BOB, 'bob'));
    const opened = await store.openDm({ username: 'bob' });
    expect(api.openDm).toHaveBeenCalledWith({ username: 'bob' });
    expect(opened.id).toBe(7);
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1, 8, 7]);
    await store.hideRoom(7);
    expect(api.hideRoom).toHaveBeenCalledWith(7);
    store.onFrame({ type: 'roomHidden', roomId: 8 });
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1]);
    expect(store.getState().notice).toBeNull();
  });

  it('watches the DM peers and the open room’s members, after every ready and on each change', async () => {
    const { store, port, server, connect, disconnect } = setup({}, [room(1), room(2), dm(7, BOB, 'bob'), dm(9, ME.id, 'alice')]);
    server.members.set(2, [member(ME.id, 'alice'), member('carol-id', 'carol'), member(BOB, 'bob')]);
    connect();
    await settle();
    expect(port.take('watchPresence').map((f) => f.userIds)).toEqual([[BOB]]);
    await store.openRoom(2);
    await settle();
    expect(store.getState().members[2].map((m) => m.username)).toEqual(['alice', 'carol', 'bob']);
    expect(port.take('watchPresence').map((f) => f.userIds)).toEqual([[BOB, 'carol-id']]);
    // Nothing new: nothing sent.
    await store.loadRooms();
    expect(port.take('watchPresence')).toEqual([]);
    // A new connection watches nobody: the list goes again.
    disconnect();
    connect();
    await settle();
    expect(port.take('watchPresence').map((f) => f.userIds)).toEqual([[BOB, 'carol-id']]);
    // A member added: the members are read again.
    server.members.get(2)!.push(member('dave-id', 'dave'));
    store.onFrame({ type: 'memberAdded', roomId: 2, userId: 'dave-id' });
    await settle();
    expect(port.take('watchPresence').map((f) => f.userIds)).toEqual([[BOB, 'carol-id', 'dave-id']]);
    store.closeRoom(2);
    expect(port.take('watchPresence').map((f) => f.userIds)).toEqual([[BOB]]);
    // general has no member list to read.
    await store.openRoom(1);
    await settle();
    expect(store.getState().members[1]).toBeUndefined();
  });

  it('presenceList seeds the state and presence frames move it', async () => {
    const { store, connect } = setup();
    connect();
    store.onFrame({
      type: 'presenceList',
      id: 'presence:1',
      users: [
        { userId: BOB, online: true, lastSeenAt: null },
        { userId: 'carol-id', online: false, lastSeenAt: null },
      ],
    });
    expect(store.getState().presence[BOB].online).toBe(true);
    const before = store.getState().presence;
    store.onFrame({ type: 'presence', userId: BOB, online: true, lastSeenAt: null });
    expect(store.getState().presence).toBe(before);
    store.onFrame({ type: 'presence', userId: BOB, online: false, lastSeenAt: '2025-01-01T10:00:00Z' });
    expect(store.getState().presence[BOB]).toEqual({ userId: BOB, online: false, lastSeenAt: '2025-01-01T10:00:00Z' });
    expect(store.getState().presence['carol-id'].online).toBe(false);
  });

  it('a jump request waits for the message list to take it', () => {
    const { store } = setup();
    store.jumpTo(2, 14);
    const jump = store.getState().jump!;
    expect(jump).toMatchObject({ roomId: 2, seq: 14 });
    store.clearJump(jump.n + 1);
    expect(store.getState().jump).toBe(jump);
    store.clearJump(jump.n);
    expect(store.getState().jump).toBeNull();
  });
});

describe('ChatStore moderation', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const member = (userId: string, username: string, extra: Partial<Member> = {}): Member => ({
    userId,
    username,
    joinedAt: '2025-01-01T00:00:00Z',
    isOwner: false,
    role: 'member',
    mutedUntil: null,
    ...extra,
  });
  /** 1_000_000 ms after the epoch (the fake clock's start) plus `ms`, as RFC 3339. */
  const at = (ms: number) => new Date(1_000_000 + ms).toISOString();

  function withBlocks(api: ChatApi, initial: { userId: string; username: string }[] = []) {
    const list = initial.map((u) => ({ ...u, createdAt: '2025-01-01T00:00:00Z' }));
    Object.assign(api, {
      blocks: vi.fn(async () => list.map((b) => ({ ...b }))),
      block: vi.fn(async (userId: string) => ({ userId, username: 'bob', createdAt: '2025-01-02T00:00:00Z' })),
      unblock: vi.fn(async () => undefined),
    });
  }

  it('memberRoleChanged, memberMuted and memberUnmuted move the kept member list and bump its version', async () => {
    const { store, server } = setup({ 2: 1 });
    server.members.set(2, [member(ME.id, 'alice', { role: 'owner', isOwner: true }), member(BOB, 'bob')]);
    await store.loadRooms();
    await store.openRoom(2);
    await settle();
    const v0 = store.getState().membersVersion[2] ?? 0;
    store.onFrame({ type: 'memberRoleChanged', roomId: 2, userId: BOB, role: 'moderator' });
    store.onFrame({ type: 'memberMuted', roomId: 2, userId: BOB, until: at(600_000) });
    const bob = () => store.getState().members[2].find((m) => m.userId === BOB)!;
    expect(bob()).toMatchObject({ role: 'moderator', mutedUntil: at(600_000) });
    store.onFrame({ type: 'memberUnmuted', roomId: 2, userId: BOB });
    expect(bob().mutedUntil).toBeNull();
    expect(store.getState().membersVersion[2]).toBe(v0 + 3);
    // Someone else's mute is not the viewer's.
    expect(store.getState().mutes).toEqual({});
  });

  it('the viewer’s own role change reads the room list again (canModerate)', async () => {
    const { store, api } = setup();
    await store.loadRooms();
    const before = vi.mocked(api.rooms).mock.calls.length;
    store.onFrame({ type: 'memberRoleChanged', roomId: 2, userId: ME.id, role: 'moderator' });
    await settle();
    expect(vi.mocked(api.rooms).mock.calls.length).toBe(before + 1);
  });

  it('the viewer muted by a frame: the room’s mute until then, gone when unmuted or when it ends', async () => {
    const { store, tick } = setup();
    store.onFrame({ type: 'memberMuted', roomId: 2, userId: ME.id, until: at(120_000) });
    expect(store.getState().mutes[2]).toEqual({ until: at(120_000), known: true });
    store.onFrame({ type: 'memberUnmuted', roomId: 2, userId: ME.id });
    expect(store.getState().mutes[2]).toBeUndefined();
    store.onFrame({ type: 'memberMuted', roomId: 2, userId: ME.id, until: at(120_000) });
    tick(119_000);
    vi.advanceTimersByTime(1000);
    expect(store.getState().mutes[2]).toBeDefined();
    tick(1_000);
    vi.advanceTimersByTime(1000);
    expect(store.getState().mutes[2]).toBeUndefined();
    // A mute already over when heard of is no mute.
    store.onFrame({ type: 'memberMuted', roomId: 2, userId: ME.id, until: at(0) });
    expect(store.getState().mutes[2]).toBeUndefined();
  });

  it('the member list tells whether the viewer is muted in a room', async () => {
    const { store, server } = setup({ 2: 1 });
    server.members.set(2, [member(ME.id, 'alice', { mutedUntil: at(3_600_000) }), member(BOB, 'bob')]);
    await store.loadRooms();
    await store.openRoom(2);
    await settle();
    expect(store.getState().mutes[2]).toEqual({ until: at(3_600_000), known: true });
    // Read again after an unmute the viewer did not hear of: the mute is gone.
    server.members.set(2, [member(ME.id, 'alice'), member(BOB, 'bob')]);
    await store.loadMembers(2);
    expect(store.getState().mutes[2]).toBeUndefined();
  });

  it('a send refused with `muted` fails in words and turns the composer off until the end it gives', async () => {
    const { store, port, connect } = setup();
    connect();
    store.send(2, 'hello');
    const [f] = port.take('sendMessage');
    store.onFrame({ type: 'error', id: f.id, code: 'muted', temporary: false, message: 'muted until …', until: at(600_000) });
    const p = store.getState().pending[0];
    expect(p.status).toBe('failed');
    expect(p.error).toMatch(/^You are muted in this room until /);
    expect(store.getState().mutes[2]).toEqual({ until: at(600_000), known: true });
  });

  it('a `muted` refusal without an end keeps the composer off a while, and reads the members for the end', async () => {
    const { store, port, connect, api, tick } = setup({}, [room(1), room(2)]);
    await store.loadRooms();
    connect();
    store.send(2, 'hello');
    const [f] = port.take('sendMessage');
    const before = vi.mocked(api.members).mock.calls.length;
    store.onFrame({ type: 'error', id: f.id, code: 'muted', temporary: false, message: 'You are muted' });
    expect(store.getState().mutes[2]?.known).toBe(false);
    expect(store.getState().pending[0].error).toBe('You are muted in this room.');
    expect(vi.mocked(api.members).mock.calls.length).toBe(before + 1);
    await settle();
    tick(60_000);
    vi.advanceTimersByTime(1000);
    expect(store.getState().mutes[2]).toBeUndefined();
    // In general (no member list), nothing to read.
    store.send(1, 'hi');
    const [g] = port.take('sendMessage');
    store.onFrame({ type: 'error', id: g.id, code: 'muted', temporary: false });
    expect(store.getState().mutes[1]?.known).toBe(false);
    expect(vi.mocked(api.members).mock.calls.length).toBe(before + 1);
  });

  it('a socket `muted` refusal says its end in words only: it is read from there', () => {
    const { store, port, connect } = setup();
    connect();
    store.send(2, 'hello');
    const [f] = port.take('sendMessage');
    store.onFrame({ type: 'error', id: f.id, code: 'muted', temporary: false, message: `you are muted in this room until ${at(600_000)}` });
    expect(store.getState().mutes[2]).toEqual({ until: at(600_000), known: true });
    expect(store.getState().pending[0].error).toMatch(/^You are muted in this room until /);
  });

  it('a send into a direct room refused with `blocked` says why', () => {
    const { store, port, connect } = setup();
    connect();
    store.send(2, 'hello');
    const [f] = port.take('sendMessage');
    store.onFrame({ type: 'error', id: f.id, code: 'blocked', temporary: false, message: 'blocked' });
    expect(store.getState().pending[0].error).toMatch(/one of you has blocked the other/);
    expect(store.getState().mutes).toEqual({});
  });

  it('messageDeleted by a moderator is marked so; a moderator’s own delete of another’s message too', async () => {
    const { store, server } = setup({ 2: 3 });
    await store.openRoom(2);
    const d = server.del(2, 2);
    store.onFrame({ type: 'messageDeleted', roomId: 2, id: d.id, seq: 2, rev: d.rev, byModerator: true });
    const held = (seq: number) => store.getState().timelines[2].messages.find((m) => m.seq === seq)!;
    expect(held(2)).toMatchObject({ deleted: true, deletedByModerator: true });
    // The change feed's copy of the same state does not take the mark away.
    store.onFrame({ type: 'changes', roomId: 2, messages: [d], rev: d.rev, hasMore: false });
    expect(held(2).deletedByModerator).toBe(true);
    await store.remove(held(3));
    expect(held(3)).toMatchObject({ deleted: true, deletedByModerator: true });
  });

  it('loads the block list; blocking drops the user’s typing and leaves their live messages out of unread counts', async () => {
    const { store, api, server } = setup({}, [room(1), room(2)]);
    withBlocks(api, [{ userId: 'carol-id', username: 'carol' }]);
    await store.loadRooms();
    await store.loadBlocks();
    expect([...store.getState().blockedIds]).toEqual(['carol-id']);
    store.onFrame({ type: 'typing', roomId: 2, userId: 'carol-id', username: 'carol' });
    expect(store.getState().typing[2]).toBeUndefined();
    store.onFrame({ type: 'typing', roomId: 2, userId: BOB, username: 'bob' });
    await store.block({ userId: BOB, username: 'bob' });
    expect(api.block).toHaveBeenCalledWith(BOB);
    expect(store.getState().typing[2]).toEqual([]);
    expect(store.getState().blocked.map((b) => b.username)).toEqual(['carol', 'bob']);
    store.onFrame({ type: 'message', message: server.post(2) }); // bob's
    store.onFrame({ type: 'message', message: server.post(2, { userId: 'dave-id', username: 'dave' }) });
    expect(store.getState().rooms.find((r) => r.id === 2)!.unreadCount).toBe(1);
  });

  it('unblocking reads again the windows that hold messages the server sent hidden', async () => {
    const { store, api, server, calls } = setup({}, [room(1), room(2), room(3)]);
    withBlocks(api, [{ userId: BOB, username: 'bob' }]);
    server.post(2, { hidden: 'blocked', content: '' });
    server.post(3, { userId: 'dave-id', username: 'dave' });
    await store.loadBlocks();
    await store.openRoom(2);
    await store.openRoom(3);
    calls.length = 0;
    // What the server will say once bob is unblocked.
    server.rooms.get(2)!.messages[0] = { ...server.rooms.get(2)!.messages[0], hidden: undefined, content: 'hi from bob' };
    await store.unblock(BOB);
    await settle();
    expect(api.unblock).toHaveBeenCalledWith(BOB);
    expect(store.getState().blocked).toEqual([]);
    expect(calls.filter((c) => c.startsWith('messages'))).toEqual(['messages 2 {"limit":3}']);
    expect(shown(store, 2)).toEqual(['1:hi from bob']);
  });
});

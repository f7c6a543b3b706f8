import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame, Message, MessagesPage, Room } from '../api/types';
import { ChatStore, type ChatApi, type SocketPort } from './chatStore';

const ME = { id: 'me', username: 'alice' };
const BOB = 'bob-id';

function msg(roomId: number, seq: number, extra: Partial<Message> = {}): Message {
  return {
    id: roomId * 1000 + seq,
    roomId,
    seq,
    userId: BOB,
    username: 'bob',
    type: 'text',
    content: `r${roomId}#${seq}`,
    clientMsgId: null,
    createdAt: '2025-01-01T00:00:00Z',
    editedAt: null,
    deleted: false,
    ...extra,
  };
}

function room(id: number, extra: Partial<Room> = {}): Room {
  return {
    id,
    name: id === 1 ? 'general' : `room${id}`,
    ownerUserId: 'me',
    ownerUsername: 'alice',
    isGeneral: id === 1,
    memberCount: 2,
    lastSeq: 0,
    unreadCount: 0,
    createdAt: '2025-01-01T00:00:00Z',
    ...extra,
  };
}

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

function fakeApi(server: Record<number, Message[]>, rooms: Room[]) {
  const calls: string[] = [];
  const api: ChatApi = {
    rooms: vi.fn(async () => rooms.map((r) => ({ ...r }))),
    messages: vi.fn(async (roomId: number, q: { beforeSeq?: number; afterSeq?: number; limit?: number }): Promise<MessagesPage> => {
      calls.push(`messages ${roomId} ${JSON.stringify(q)}`);
      let all = server[roomId] ?? [];
      if (q.beforeSeq !== undefined) all = all.filter((m) => m.seq < q.beforeSeq!);
      if (q.afterSeq !== undefined) {
        const after = all.filter((m) => m.seq > q.afterSeq!);
        return { messages: after.slice(0, q.limit ?? 50), hasMore: after.length > (q.limit ?? 50) };
      }
      const limit = q.limit ?? 50;
      return { messages: all.slice(-limit), hasMore: all.length > limit };
    }),
    editMessage: vi.fn(async (id: number, content: string) => ({ ...msg(2, id % 1000), content, editedAt: '2025-01-02T00:00:00Z' })),
    deleteMessage: vi.fn(async () => undefined),
    markRead: vi.fn(async () => undefined),
    createRoom: vi.fn(),
    deleteRoom: vi.fn(),
    removeMember: vi.fn(),
  } as unknown as ChatApi;
  return { api, calls };
}

function setup(server: Record<number, Message[]> = {}, rooms: Room[] = [room(1), room(2)]) {
  let n = 0;
  let now = 1_000_000;
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
  return { store, port, api, calls, connect, disconnect, tick: (ms: number) => (now += ms) };
}

const seqs = (store: ChatStore, roomId: number) => store.getState().timelines[roomId]?.messages.map((m) => m.seq);
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('ChatStore', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('loads the latest page of a room and older pages on demand, in seq order', async () => {
    const server = { 2: [1, 2, 3, 4, 5, 6, 7].map((s) => msg(2, s)) };
    const { store } = setup(server);
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
    const server = { 2: [msg(2, 1)] };
    const { store, port, connect } = setup(server);
    connect();
    await store.openRoom(2);
    port.take('sync');
    store.onFrame({ type: 'message', message: msg(2, 2) });
    store.onFrame({ type: 'message', message: msg(2, 2) });
    store.onFrame({ type: 'messages', roomId: 2, messages: [msg(2, 1), msg(2, 2), msg(2, 3)], hasMore: false });
    expect(seqs(store, 2)).toEqual([1, 2, 3]);
  });

  it('after a reconnect, syncs every loaded room from its last seq', async () => {
    const server = { 1: [msg(1, 1), msg(1, 2)], 2: [msg(2, 1)] };
    const { store, port, connect, disconnect } = setup(server);
    connect();
    await store.openRoom(1);
    await store.openRoom(2);
    port.take('sync');
    disconnect();
    connect();
    const syncs = port.take('sync').map((f) => [f.roomId, f.afterSeq]);
    expect(syncs).toEqual(
      expect.arrayContaining([
        [1, 2],
        [2, 1],
      ]),
    );
    expect(store.syncingRooms.sort()).toEqual([1, 2]);
    // Server answers with what was written while we were away, in two pages.
    store.onFrame({ type: 'messages', roomId: 1, messages: [msg(1, 3), msg(1, 4)], hasMore: true });
    expect(port.take('sync')).toEqual([{ action: 'sync', id: 'sync:1:4', roomId: 1, afterSeq: 4 }]);
    store.onFrame({ type: 'messages', roomId: 1, messages: [msg(1, 5)], hasMore: false });
    expect(seqs(store, 1)).toEqual([1, 2, 3, 4, 5]);
    expect(port.take('sync')).toEqual([]);
  });

  it('pages a sync cut short from its own last seq, even after a live message jumped ahead', async () => {
    const server = { 2: [msg(2, 1)] };
    const { store, port, connect } = setup(server);
    connect();
    await store.openRoom(2);
    expect(port.take('sync')).toEqual([{ action: 'sync', id: 'sync:2:1', roomId: 2, afterSeq: 1 }]);
    // While the sync is out, a live message arrives past the hole it is filling.
    store.onFrame({ type: 'message', message: msg(2, 9) });
    expect(port.take('sync')).toEqual([]);
    // The answer stops early (the server's byte budget): paging goes on from seq 4, not 9.
    store.onFrame({ type: 'messages', roomId: 2, messages: [msg(2, 2), msg(2, 3), msg(2, 4)], hasMore: true });
    expect(port.take('sync')).toEqual([{ action: 'sync', id: 'sync:2:4', roomId: 2, afterSeq: 4 }]);
    store.onFrame({ type: 'messages', roomId: 2, messages: [msg(2, 5), msg(2, 6)], hasMore: true });
    expect(port.take('sync')).toEqual([{ action: 'sync', id: 'sync:2:6', roomId: 2, afterSeq: 6 }]);
    store.onFrame({ type: 'messages', roomId: 2, messages: [msg(2, 7), msg(2, 8), msg(2, 9)], hasMore: false });
    expect(port.take('sync')).toEqual([]);
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('does not sync rooms that were never opened', async () => {
    const { store, port, connect } = setup();
    connect();
    await settle();
    expect(port.take('sync')).toEqual([]);
    store.onFrame({ type: 'message', message: msg(2, 9) });
    expect(store.getState().timelines[2]).toBeUndefined();
  });

  it('catches up when a live message reveals a gap', async () => {
    const server = { 2: [msg(2, 1), msg(2, 2)] };
    const { store, port, connect } = setup(server);
    connect();
    await store.openRoom(2);
    expect(port.take('sync')).toHaveLength(1);
    // The sync sent on opening the room comes back empty...
    store.onFrame({ type: 'messages', roomId: 2, messages: [], hasMore: false });
    // ...then a live message with a hole before it starts a catch-up sync.
    store.onFrame({ type: 'message', message: msg(2, 5) });
    expect(port.take('sync')).toEqual([{ action: 'sync', id: 'sync:2:2', roomId: 2, afterSeq: 2 }]);
    store.onFrame({ type: 'messages', roomId: 2, messages: [msg(2, 3), msg(2, 4), msg(2, 5)], hasMore: false });
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4, 5]);
  });

  it('queues sends while offline and writes them, same clientMsgId, after ready', async () => {
    const { store, port, connect } = setup({ 2: [] });
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
    const { store, port, connect, disconnect } = setup({ 2: [] });
    connect();
    await store.openRoom(2);
    store.send(2, 'hi');
    expect(port.take('sendMessage')).toHaveLength(1);
    disconnect();
    expect(store.getState().pending[0].status).toBe('queued');
    connect();
    const again = port.take('sendMessage');
    expect(again.map((f) => f.clientMsgId)).toEqual(['cid-1']);
    const mine = msg(2, 1, { userId: 'me', username: 'alice', content: 'hi', clientMsgId: 'cid-1' });
    // The server had stored the first attempt: sync brings it back before the ack.
    store.onFrame({ type: 'messages', roomId: 2, messages: [mine], hasMore: false });
    expect(store.getState().pending).toEqual([]);
    store.onFrame({ type: 'ack', clientMsgId: 'cid-1', message: mine });
    store.onFrame({ type: 'message', message: mine });
    expect(seqs(store, 2)).toEqual([1]);
    expect(store.getState().pending).toEqual([]);
  });

  it('resends after the ack timeout while connected', async () => {
    const { store, port, connect, tick } = setup({ 2: [] });
    connect();
    await store.openRoom(2);
    store.send(2, 'x');
    expect(port.take('sendMessage')).toHaveLength(1);
    tick(10_000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(port.take('sendMessage').map((f) => f.clientMsgId)).toEqual(['cid-1']);
  });

  it('marks a send failed on a permanent error, and retries on request', async () => {
    const { store, port, connect } = setup({ 2: [] });
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
    const { store, connect, api } = setup({ 2: [msg(2, 1)], 3: [] }, [room(1), room(2), room(3)]);
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

  it('sends markRead for the room on screen', async () => {
    const { store, port, connect } = setup({ 2: [msg(2, 1)] });
    connect();
    await store.openRoom(2);
    expect(port.take('markRead')).toEqual([{ action: 'markRead', roomId: 2, seq: 1 }]);
    store.onFrame({ type: 'message', message: msg(2, 2) });
    expect(port.take('markRead')).toEqual([{ action: 'markRead', roomId: 2, seq: 2 }]);
  });

  it('applies edits and deletes from frames', async () => {
    const { store, connect } = setup({ 2: [msg(2, 1), msg(2, 2)] });
    connect();
    await store.openRoom(2);
    store.onFrame({ type: 'messageEdited', message: { ...msg(2, 1), content: 'changed', editedAt: '2025-01-05T00:00:00Z' } });
    store.onFrame({ type: 'messageDeleted', roomId: 2, messageId: 2002 });
    const [a, b] = store.getState().timelines[2].messages;
    expect(a.content).toBe('changed');
    expect(b.deleted).toBe(true);
  });

  it('shows typing for others, expires it, and clears it when their message lands', async () => {
    const { store, connect, tick } = setup({ 2: [] });
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
    const { store, connect } = setup({ 2: [msg(2, 1)] }, [room(1), room(2), room(3)]);
    connect();
    await store.loadRooms();
    await store.openRoom(2);
    store.send(2, 'x');
    store.onFrame({ type: 'memberRemoved', roomId: 2, userId: 'me' });
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1, 3]);
    expect(store.getState().pending).toEqual([]);
    expect(store.getState().notice).toContain('room2');
    store.onFrame({ type: 'roomDeleted', roomId: 3 });
    expect(store.getState().rooms.map((r) => r.id)).toEqual([1]);
  });

  it('falls back to HTTP when a sync is refused', async () => {
    const server = { 2: [msg(2, 1)] };
    const { store, port, connect, calls } = setup(server);
    connect();
    await store.openRoom(2);
    port.take('sync');
    server[2].push(msg(2, 2));
    store.onFrame({ type: 'error', code: 'internal', temporary: true, id: 'sync:2:1' });
    await settle();
    expect(calls.at(-1)).toBe('messages 2 {"afterSeq":1,"limit":200}');
    expect(seqs(store, 2)).toEqual([1, 2]);
  });

  it('pages the HTTP fallback while hasMore, from the last seq of each page', async () => {
    const server = { 2: [msg(2, 1)] };
    const { store, port, connect, api, calls } = setup(server);
    connect();
    await store.openRoom(2);
    port.take('sync');
    // The server cuts every page after two messages (as its byte budget would).
    const all = [2, 3, 4, 5, 6].map((s) => msg(2, s));
    vi.mocked(api.messages).mockImplementation(async (_roomId, q) => {
      calls.push(`after ${q.afterSeq}`);
      const rest = all.filter((m) => m.seq > (q.afterSeq ?? 0));
      return { messages: rest.slice(0, 2), hasMore: rest.length > 2 };
    });
    store.onFrame({ type: 'message', message: msg(2, 7) });
    port.take('sync');
    store.onFrame({ type: 'error', code: 'busy', temporary: true, id: 'sync:2:1' });
    await settle();
    expect(calls.filter((c) => c.startsWith('after'))).toEqual(['after 1', 'after 3', 'after 5']);
    expect(seqs(store, 2)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

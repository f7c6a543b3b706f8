// The client's chat state: rooms (direct messages among them), message timelines, the offline
// send queue, typing, presence and mention counts, and the bookkeeping that makes reconnects lossless: a revision cursor per loaded
// room, and a sync of each room's change feed from it after every `ready` (new messages,
// edits, deletes and reactions alike). Moderation as the viewer meets it: their block list
// (live messages from blocked users are shown hidden, as the server hides them in reads),
// their mutes per room (the composer is off until the mute ends), members' room roles and
// mutes moved on by frames. Framework-free; React reads it through useSyncExternalStore.

import type { BlockedUser, ChangesPage, ClientFrame, Member, Message, ReactionChangedFrame, ReadMarker, ReadMarkerFrame, ReplyRef, Room, ServerFrame, Upload, User } from '../api/types';
import type { ApiClient } from '../api/client';
import { ApiError, messageOf } from '../api/errors';
import { Outbox, type PendingMessage } from '../lib/outbox';
import { applyReactionFrame, hasReacted, reactionsOf } from '../lib/reactions';
import { excerptOf, locate, replyRefOf, updateReplyExcerpts } from '../lib/replies';
import { mergeMarkers } from '../lib/readMarkers';
import { mentionsUser } from '../lib/mentions';
import { inForce, untilInMessage } from '../lib/moderation';
import { applyPresence, sameUsers, watchList, type PresenceMap } from '../lib/presence';
import { dmPeerIds, roomKind, roomLabel } from '../lib/rooms';
import { newUuid } from '../lib/uuid';
import { RevCursors } from '../lib/revCursor';
import { lastSeqOf, firstSeqOf, mergeChanges, mergeMessages, patchMessage } from '../lib/timeline';
import type { ConnInfo } from '../realtime/socket';

export interface Timeline {
  messages: Message[];
  /** The latest page has arrived (before that, live messages are buffered here). */
  loaded: boolean;
  hasMoreOlder: boolean;
  loadingOlder: boolean;
  /**
   * The window was loaded around a message (a search hit, a mention) and does not reach the
   * room's newest message: live messages past it wait for "load newer" (`afterSeq` pages).
   */
  hasMoreNewer: boolean;
  loadingNewer: boolean;
  /** Bumped each time the window is replaced (around a message, or back to the newest). */
  epoch: number;
  error?: string;
}

/** The viewer is muted in a room. */
export interface MuteEntry {
  /** RFC 3339. When not `known` (a refusal that did not say), a time to look again. */
  until: string;
  known: boolean;
}

export interface TypingEntry {
  userId: string;
  username: string;
  until: number;
}

export interface ChatState {
  me: User;
  connection: ConnInfo;
  rooms: Room[];
  roomsLoaded: boolean;
  roomsError?: string;
  timelines: Record<number, Timeline>;
  pending: PendingMessage[];
  typing: Record<number, TypingEntry[]>;
  /** What the relay said of the watched users' presence (`presenceList`, `presence`). */
  presence: PresenceMap;
  /**
   * The first page (up to 200) of the members of each group or direct room opened, read
   * when it is opened and again when its members change: the composer's `@` suggestions,
   * and (the open room's) users whose presence is watched.
   */
  members: Record<number, Member[]>;
  /** A message to scroll to and highlight once its room's timeline is on screen. */
  jump: { roomId: number; seq: number; n: number } | null;
  /** Bumped when a room's member list changes, so an open members list reloads. */
  membersVersion: Record<number, number>;
  activeRoomId: number | null;
  /** A one-off message for the user (e.g. "you were removed from X"). */
  notice: string | null;
  /**
   * Per message id, the emoji this session saw the user add (and not remove since): decides
   * whether a chip is the user's own once its `userIds` (the first 50 only) leave them out.
   */
  myReactions: Record<number, string[]>;
  /** Per message id, why the user's last reaction there was refused; cleared after a few seconds. */
  reactionErrors: Record<number, string>;
  /** Per room, the message the composer is replying to (reply mode), if any. */
  replyingTo: Record<number, ReplyRef>;
  /**
   * Per opened group room (never `general`), its members' read markers: read when the room
   * is opened and after every `ready`, moved on by `readMarker` frames, never backwards.
   */
  readMarkers: Record<number, ReadMarker[]>;
  /** The users the viewer blocked (`GET /blocks`), and their ids. */
  blocked: BlockedUser[];
  blockedIds: ReadonlySet<string>;
  /** Per room, the viewer's own mute while it is in force. */
  mutes: Record<number, MuteEntry>;
}

/** What the store needs from the socket (RealtimeSocket, or a test double). */
export interface SocketPort {
  isReady: boolean;
  send(frame: ClientFrame): boolean;
  start(): void;
  stop(): void;
  reconnectNow(): void;
}

export type ChatApi = Pick<
  ApiClient,
  | 'rooms'
  | 'messages'
  | 'changes'
  | 'editMessage'
  | 'deleteMessage'
  | 'addReaction'
  | 'removeReaction'
  | 'markRead'
  | 'readMarkers'
  | 'createRoom'
  | 'deleteRoom'
  | 'removeMember'
  | 'members'
  | 'openDm'
  | 'hideRoom'
  | 'blocks'
  | 'block'
  | 'unblock'
>;

export interface ChatStoreOptions {
  pageSize?: number;
  ackTimeoutMs?: number;
  typingTtlMs?: number;
  typingThrottleMs?: number;
  /** How long a refused reaction's message stays on screen. */
  reactionErrorMs?: number;
  now?: () => number;
  newId?: () => string;
  /**
   * How many older pages a jump may load to reach a message at most one page before the
   * window; one further back is loaded around instead (`aroundSeq`).
   */
  jumpMaxPages?: number;
  /** Whether the user can see the page (for read markers). */
  isVisible?: () => boolean;
  /** How long a mute whose end the server did not say keeps the composer off before trying again. */
  unknownMuteMs?: number;
}

const EMPTY: Timeline = { messages: [], loaded: false, hasMoreOlder: true, loadingOlder: false, hasMoreNewer: false, loadingNewer: false, epoch: 0 };

/** Members read per room (the server's largest page, and the relay's watch cap). */
const MEMBERS_READ = 200;
/** Frames whose room may rightly be unknown: they tell that it is gone. */
const GONE_FRAMES = new Set<ServerFrame['type']>(['roomDeleted', 'roomHidden', 'memberRemoved']);
const NOBODY: ReadonlySet<string> = new Set();

export class ChatStore {
  private state: ChatState;
  private listeners = new Set<() => void>();
  private readonly outbox: Outbox;
  private socket: SocketPort | null = null;
  /** Rooms with a sync in flight: the rev it was asked from, and the highest live rev seen then. */
  private syncing = new Map<number, { from: number; seen: number }>();
  private readonly revs = new RevCursors();
  private lastMarked = new Map<number, number>();
  private lastTypingSent = new Map<number, number>();
  private timers: ReturnType<typeof setInterval>[] = [];
  /** Reactions written to the socket, by frame id, so a refusal finds its message. */
  private reactionsSent = new Map<string, { messageId: number; at: number }>();
  private errorTimers = new Map<number, ReturnType<typeof setTimeout>>();
  /** The older-page load in flight per room, so a jump can wait for it. */
  private olderInFlight = new Map<number, Promise<void>>();
  /** Rooms with a read-markers request out, and whether another is due once it is back. */
  private markersInFlight = new Map<number, { again: boolean }>();
  /** Rooms with a members request out, and whether another is due once it is back. */
  private membersInFlight = new Map<number, { again: boolean }>();
  /** The room list request out (frames for unknown rooms share it), and whether another is due. */
  private roomsInFlight: { again: boolean } | null = null;
  /** The users the connection watches (as last sent since the last `ready`). */
  private watched: string[] = [];
  private watchSeq = 0;
  private readonly newId: () => string;
  private readonly opts: Required<Omit<ChatStoreOptions, 'newId'>>;

  constructor(
    me: User,
    private readonly api: ChatApi,
    options: ChatStoreOptions = {},
  ) {
    this.opts = {
      pageSize: options.pageSize ?? 50,
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
      typingTtlMs: options.typingTtlMs ?? 5_000,
      typingThrottleMs: options.typingThrottleMs ?? 3_000,
      reactionErrorMs: options.reactionErrorMs ?? 6_000,
      jumpMaxPages: options.jumpMaxPages ?? 5,
      now: options.now ?? Date.now,
      isVisible: options.isVisible ?? (() => typeof document === 'undefined' || document.visibilityState === 'visible'),
      unknownMuteMs: options.unknownMuteMs ?? 60_000,
    };
    this.outbox = new Outbox(options.newId);
    this.newId = options.newId ?? newUuid;
    this.state = {
      me,
      connection: { state: 'idle', attempt: 0 },
      rooms: [],
      roomsLoaded: false,
      timelines: {},
      pending: [],
      typing: {},
      presence: {},
      members: {},
      jump: null,
      membersVersion: {},
      activeRoomId: null,
      notice: null,
      myReactions: {},
      reactionErrors: {},
      replyingTo: {},
      readMarkers: {},
      blocked: [],
      blockedIds: NOBODY,
      mutes: {},
    };
  }

  // ---- store plumbing ----

  getState = (): ChatState => this.state;

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  private setTimeline(roomId: number, f: (t: Timeline) => Timeline): void {
    const cur = this.state.timelines[roomId] ?? EMPTY;
    const next = f(cur);
    if (next === cur) return;
    this.set({ timelines: { ...this.state.timelines, [roomId]: next } });
  }

  private syncPending(): void {
    this.set({ pending: this.outbox.list() });
  }

  /** Starts the periodic work (ack timeouts, typing expiry) and the socket. */
  attach(socket: SocketPort): void {
    this.socket = socket;
    this.timers.push(setInterval(() => this.flush(), Math.max(1000, this.opts.ackTimeoutMs / 2)));
    this.timers.push(
      setInterval(() => {
        this.expireTyping();
        this.expireMutes();
      }, 1000),
    );
    socket.start();
  }

  dispose(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const t of this.errorTimers.values()) clearTimeout(t);
    this.errorTimers.clear();
    this.socket?.stop();
    this.socket = null;
    this.listeners.clear();
  }

  // ---- socket events ----

  onConnection(info: ConnInfo): void {
    this.set({ connection: info });
  }

  /** After every (re)connect: catch up every loaded room, then resend what is queued. */
  onReady(): void {
    this.syncing.clear();
    for (const [id, t] of Object.entries(this.state.timelines)) {
      if (t.loaded) this.requestSync(Number(id));
    }
    // Read markers are not in the change feed, and frames are throttled: read them again.
    for (const id of Object.keys(this.state.readMarkers)) void this.loadReadMarkers(Number(id));
    // Unread counts and memberships may have changed while we were away.
    void this.loadRooms();
    // A new connection watches nobody: watch again (the answer is a fresh snapshot).
    this.watched = [];
    this.updateWatch();
    this.flush(true);
    const active = this.state.activeRoomId;
    if (active !== null) {
      this.lastMarked.delete(active);
      this.markActiveRead();
    }
  }

  onDown(): void {
    this.outbox.requeueInFlight();
    this.syncing.clear();
    this.syncPending();
  }

  onFrame(frame: ServerFrame): void {
    // A room this client does not know (a new DM, one hidden and back): read the list again.
    const roomId = roomOf(frame);
    if (roomId !== undefined && this.state.roomsLoaded && !GONE_FRAMES.has(frame.type) && !this.state.rooms.some((r) => r.id === roomId)) {
      void this.loadRooms();
    }
    switch (frame.type) {
      case 'message':
        this.receive([frame.message], 'live');
        this.liveRev(frame.message.roomId, frame.message.rev);
        break;
      case 'ack':
        // Drop the pending copy first so the message is never on screen twice.
        if (this.outbox.settle(frame.clientMsgId)) this.syncPending();
        if (frame.message) {
          this.receive([frame.message], 'own');
          this.liveRev(frame.message.roomId, frame.message.rev);
        }
        break;
      case 'changes':
        this.onChanges(frame);
        break;
      case 'messageEdited':
        this.patch(frame.message);
        this.liveRev(frame.roomId, frame.message.rev);
        break;
      case 'messageDeleted':
        this.patch({
          id: frame.id,
          roomId: frame.roomId,
          seq: frame.seq,
          rev: frame.rev,
          deleted: true,
          content: '',
          reactions: [],
          attachments: [],
          ...(frame.byModerator ? { deletedByModerator: true } : {}),
        });
        this.liveRev(frame.roomId, frame.rev);
        break;
      case 'reactionChanged':
        this.onReactionChanged(frame);
        this.liveRev(frame.roomId, frame.rev);
        break;
      case 'typing':
        if (frame.userId !== this.state.me.id && !this.state.blockedIds.has(frame.userId)) this.addTyping(frame.roomId, frame.userId, frame.username);
        break;
      case 'presence':
      case 'presenceList': {
        const presence = applyPresence(this.state.presence, frame.type === 'presence' ? [frame] : frame.users ?? []);
        if (presence !== this.state.presence) this.set({ presence });
        break;
      }
      case 'roomHidden':
        this.forgetRoom(frame.roomId);
        break;
      case 'memberAdded':
      case 'memberRemoved': {
        const who = frame.type === 'memberAdded' ? frame.userId ?? frame.member?.userId : frame.userId;
        this.bumpMembers(frame.roomId);
        if (this.state.members[frame.roomId]) void this.loadMembers(frame.roomId);
        if (frame.type === 'memberRemoved' && who === this.state.me.id) {
          this.forgetRoom(frame.roomId, 'You are no longer a member of');
        } else {
          void this.loadRooms();
        }
        break;
      }
      case 'roomDeleted':
        this.forgetRoom(frame.roomId, 'This room was deleted:');
        break;
      case 'readMarker':
        this.onReadMarker(frame);
        break;
      case 'memberRoleChanged':
        this.patchMember(frame.roomId, frame.userId, { role: frame.role });
        // The viewer's own role moved: what they may do in the room (`canModerate`) too.
        if (frame.userId === this.state.me.id) void this.loadRooms();
        break;
      case 'memberMuted':
        this.patchMember(frame.roomId, frame.userId, { mutedUntil: frame.until });
        if (frame.userId === this.state.me.id) this.setMute(frame.roomId, frame.until);
        break;
      case 'memberUnmuted':
        this.patchMember(frame.roomId, frame.userId, { mutedUntil: null });
        if (frame.userId === this.state.me.id) this.setMute(frame.roomId, null);
        break;
      case 'error':
        this.onError(frame);
        break;
      default:
        break; // ready, pong, tokenRefreshed, messages (answers afterSeq syncs, not sent): nothing to do
    }
  }

  private onError(frame: Extract<ServerFrame, { type: 'error' }>): void {
    const id = frame.id;
    const sent = id ? this.outbox.get(id) : undefined;
    if (id && sent) {
      if (frame.temporary) {
        // e.g. rate_limited: leave it in flight; the ack timeout resends it later.
        return;
      }
      const until = frame.code === 'muted' ? frame.until ?? untilInMessage(frame.message) : null;
      if (frame.code === 'muted') this.mutedBySend(sent.roomId, until);
      this.outbox.fail(id, sendRefusal(frame, until));
      this.syncPending();
      return;
    }
    const reaction = id ? this.reactionsSent.get(id) : undefined;
    if (id && reaction) {
      this.reactionsSent.delete(id);
      const status = frame.code === 'rate_limited' ? 429 : 400;
      this.showReactionError(reaction.messageId, new ApiError(status, frame.code, humanCode(frame.code), frame.message).userMessage);
      return;
    }
    if (id?.startsWith('sync:')) {
      // `sync:<roomId>:<sinceRev>`: go on over HTTP from the cursor (which is at or past it).
      const roomId = Number(id.split(':')[1]);
      this.syncing.delete(roomId);
      void this.syncOverHttp(roomId);
    }
  }

  /**
   * Takes whole messages from any path: live (`message`), own (`ack`), the change feed, a
   * history page. Only rooms whose timeline exists keep them; other rooms just count unread.
   * The revision cursor is the caller's business.
   */
  private receive(messages: readonly Message[], how: 'live' | 'own' | 'changes' | 'history'): void {
    if (messages.length === 0) return;
    const me = this.state.me.id;
    let settled = false;
    const byRoom = new Map<number, Message[]>();
    for (const m of messages) {
      if (m.userId === me && m.clientMsgId && this.outbox.settle(m.clientMsgId)) settled = true;
      const list = byRoom.get(m.roomId) ?? [];
      list.push(m);
      byRoom.set(m.roomId, list);
    }
    if (settled) this.syncPending();

    for (const [roomId, list] of byRoom) {
      if (this.state.timelines[roomId] && how !== 'history') {
        this.setTimeline(roomId, (cur) => {
          // Before the first page, keep everything (it is newer than that page); after it,
          // nothing older than the loaded window unless that window is the whole history.
          const merged = mergeChanges(cur.messages, list, !cur.loaded || !cur.hasMoreOlder, cur.hasMoreNewer);
          return merged === cur.messages ? cur : { ...cur, messages: merged };
        });
      }
      // Originals edited or deleted while we were away: their loaded replies show it.
      if (how === 'changes') for (const m of list) this.followOriginal(roomId, m);
      // Typing stops when the typist's message lands.
      for (const m of list) this.removeTyping(roomId, m.userId);
      this.updateRoomCounters(roomId, list, how === 'live' || how === 'changes');
    }
    this.markActiveRead();
  }

  /** Applies an edit or delete (a whole message, or the fields a delete frame carries) by id. */
  private patch(change: Partial<Message> & { id: number; roomId: number }): void {
    this.setTimeline(change.roomId, (t) => {
      const messages = patchMessage(t.messages, change);
      return messages === t.messages ? t : { ...t, messages };
    });
    if (change.content !== undefined || change.deleted) this.followOriginal(change.roomId, change);
  }

  /**
   * Message `change.id` was edited or deleted: the loaded replies to it (and the composer's
   * reply bar) show its new excerpt, `""` once deleted. The loaded copy, when there is one,
   * is the judge of what is current (a stale change was not applied to it).
   */
  private followOriginal(roomId: number, change: Partial<Message> & { id: number }): void {
    const t = this.state.timelines[roomId];
    const held = t?.messages.find((m) => m.id === change.id);
    const src = held ?? change;
    if (src.content === undefined && !src.deleted) return;
    const excerpt = excerptOf({ content: src.content ?? '', deleted: !!src.deleted });
    if (t) {
      this.setTimeline(roomId, (cur) => {
        const messages = updateReplyExcerpts(cur.messages, change.id, excerpt);
        return messages === cur.messages ? cur : { ...cur, messages };
      });
    }
    const r = this.state.replyingTo[roomId];
    if (r?.id === change.id) {
      // A deleted message cannot be answered any more: leave reply mode.
      if (src.deleted) this.cancelReply(roomId);
      else if (r.excerpt !== excerpt) this.set({ replyingTo: { ...this.state.replyingTo, [roomId]: { ...r, excerpt } } });
    }
  }

  /** Someone's reaction changed: that emoji's count and users on the message, if newer than it. */
  private onReactionChanged(f: ReactionChangedFrame): void {
    this.setTimeline(f.roomId, (t) => {
      const messages = applyReactionFrame(t.messages, f);
      return messages === t.messages ? t : { ...t, messages };
    });
    if (f.userId === this.state.me.id) this.noteMine(f.messageId, f.emoji, f.added);
  }

  /** A live frame made room revision `rev`: move the cursor on, or catch up on a gap. */
  private liveRev(roomId: number, rev: number): void {
    if (!this.state.timelines[roomId]) return;
    if (this.revs.live(roomId, rev) === 'gap' && !this.syncing.has(roomId)) this.requestSync(roomId);
  }

  private updateRoomCounters(roomId: number, list: Message[], countUnread: boolean): void {
    const idx = this.state.rooms.findIndex((r) => r.id === roomId);
    if (idx < 0) return;
    const room = this.state.rooms[idx];
    const maxSeq = Math.max(room.lastSeq, ...list.map((m) => m.seq));
    let unread = room.unreadCount;
    let mentioned = room.mentionCount ?? 0;
    if (countUnread && !this.isReading(roomId)) {
      const me = this.state.me.id;
      // Only what is newer than what the room already counted.
      const blocked = this.state.blockedIds;
      const fresh = list.filter((m) => m.userId !== me && m.seq > room.lastSeq && !m.deleted && !m.hidden && !blocked.has(m.userId));
      unread += fresh.length;
      mentioned += fresh.filter((m) => mentionsUser(m, me)).length;
    }
    if (maxSeq === room.lastSeq && unread === room.unreadCount && mentioned === (room.mentionCount ?? 0)) return;
    const rooms = this.state.rooms.slice();
    rooms[idx] = { ...room, lastSeq: maxSeq, unreadCount: unread, mentionCount: mentioned };
    this.set({ rooms });
  }

  private isReading(roomId: number): boolean {
    return this.state.activeRoomId === roomId && this.opts.isVisible();
  }

  // ---- sync ----

  /** Asks for the room's changes since `from` (default: its cursor), unless that is in flight. */
  private requestSync(roomId: number, from = this.revs.get(roomId)): void {
    if (from === undefined || this.syncing.get(roomId)?.from === from) return;
    const ok = this.socket?.send({ action: 'sync', id: `sync:${roomId}:${from}`, roomId, sinceRev: from });
    if (ok) this.syncing.set(roomId, { from, seen: this.revs.seen(roomId) });
  }

  private onChanges(page: ChangesPage): void {
    const asked = this.syncing.get(page.roomId);
    this.syncing.delete(page.roomId);
    const { more, behind } = this.applyChanges(page, asked?.seen ?? 0);
    if (more || behind) this.requestSync(page.roomId);
  }

  /**
   * Applies a page of a room's change feed and moves its cursor. `more`: the feed goes on
   * from the cursor. `behind`: a live frame newer than the page came in after the sync was
   * asked for (a change the page's snapshot may predate), so one more sync is due.
   */
  private applyChanges(page: ChangesPage, seenWhenAsked: number): { more: boolean; behind: boolean } {
    if (!this.state.timelines[page.roomId]?.loaded) return { more: false, behind: false };
    this.receive(page.messages, 'changes');
    const more = this.revs.page(page.roomId, page);
    const behind = !more && this.revs.behind(page.roomId) && this.revs.seen(page.roomId) > seenWhenAsked;
    return { more, behind };
  }

  /** The change feed over HTTP, from the cursor, when the socket refused a sync. */
  private async syncOverHttp(roomId: number): Promise<void> {
    for (;;) {
      const from = this.revs.get(roomId);
      if (from === undefined) return;
      const seen = this.revs.seen(roomId);
      let page: ChangesPage;
      try {
        page = await this.api.changes(roomId, { sinceRev: from, limit: 200 });
      } catch {
        return; // the next reconnect syncs again
      }
      const { more, behind } = this.applyChanges(page, seen);
      if (!more && !behind) return;
    }
  }

  /** Rooms currently waiting for a sync answer (for tests and diagnostics). */
  get syncingRooms(): number[] {
    return [...this.syncing.keys()];
  }

  /** A room's revision cursor, undefined before its first page (for tests and diagnostics). */
  revCursor(roomId: number): number | undefined {
    return this.revs.get(roomId);
  }

  // ---- rooms ----

  /**
   * Reads the room list. One request at a time: a call while one is out (frames for unknown
   * rooms come in bursts) asks once more after it.
   */
  async loadRooms(): Promise<void> {
    if (this.roomsInFlight) {
      this.roomsInFlight.again = true;
      return;
    }
    const entry = { again: false };
    this.roomsInFlight = entry;
    try {
      const rooms = await this.api.rooms();
      // Keep locally-known higher counters (messages that arrived during the request).
      const prev = new Map(this.state.rooms.map((r) => [r.id, r]));
      const merged = rooms.map((r) => {
        const p = prev.get(r.id);
        if (this.isReading(r.id)) return { ...r, unreadCount: 0, mentionCount: 0, lastSeq: Math.max(r.lastSeq, p?.lastSeq ?? 0) };
        if (!p || p.lastSeq <= r.lastSeq) return r;
        return {
          ...r,
          lastSeq: p.lastSeq,
          unreadCount: Math.max(r.unreadCount, p.unreadCount),
          mentionCount: Math.max(r.mentionCount ?? 0, p.mentionCount ?? 0),
        };
      });
      this.set({ rooms: merged, roomsLoaded: true, roomsError: undefined });
      this.updateWatch();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      this.set({ roomsLoaded: true, roomsError: e instanceof Error ? e.message : String(e) });
    } finally {
      this.roomsInFlight = null;
      if (entry.again) void this.loadRooms();
    }
  }

  /**
   * The direct room with a user (created, or the one there is, shown again if hidden):
   * listed at once, then the caller opens it.
   */
  async openDm(to: { userId: string } | { username: string }): Promise<Room> {
    const room = await this.api.openDm(to);
    this.upsertRoom({ ...DM_DEFAULTS, ...room });
    this.updateWatch();
    return room;
  }

  /** Hides a direct room from the list until its next message (the server tells every tab). */
  async hideRoom(roomId: number): Promise<void> {
    await this.api.hideRoom(roomId);
    this.forgetRoom(roomId);
  }

  // ---- members and presence ----

  /** Reads the first page of a room's members. One request per room at a time. */
  async loadMembers(roomId: number): Promise<void> {
    const out = this.membersInFlight.get(roomId);
    if (out) {
      out.again = true;
      return;
    }
    const entry = { again: false };
    this.membersInFlight.set(roomId, entry);
    try {
      const page = await this.api.members(roomId, { limit: MEMBERS_READ });
      if (this.membersInFlight.get(roomId) !== entry) return; // forgotten meanwhile
      this.set({ members: { ...this.state.members, [roomId]: page.members } });
      // The list says whether the viewer is muted here (the first page: the viewer may be on
      // a later one, then only frames and refusals tell).
      const mine = page.members.find((m) => m.userId === this.state.me.id);
      if (mine && mine.mutedUntil !== undefined) this.setMute(roomId, inForce(mine.mutedUntil, this.opts.now()) ? mine.mutedUntil : null);
      this.updateWatch();
    } catch {
      // No suggestions and no dots for them; the next open reads them again.
    } finally {
      if (this.membersInFlight.get(roomId) === entry) {
        this.membersInFlight.delete(roomId);
        if (entry.again) void this.loadMembers(roomId);
      }
    }
  }

  /**
   * Tells the relay whom to watch when that changed: the DM peers and the open room's
   * loaded members (see `watchList`). Nothing to say to a connection that is not ready;
   * `onReady` sends the list again.
   */
  private updateWatch(): void {
    if (!this.socket?.isReady) return;
    const active = this.state.activeRoomId;
    const members = active !== null ? (this.state.members[active] ?? []).map((m) => m.userId) : [];
    const next = watchList(dmPeerIds(this.state.rooms, this.state.me.id), members, this.state.me.id);
    if (sameUsers(next, this.watched)) return;
    if (this.socket.send({ action: 'watchPresence', id: `presence:${++this.watchSeq}`, userIds: next })) this.watched = next;
  }

  upsertRoom(room: Room): void {
    const rooms = this.state.rooms.some((r) => r.id === room.id)
      ? this.state.rooms.map((r) => (r.id === room.id ? room : r))
      : [...this.state.rooms, room];
    this.set({ rooms });
  }

  /** The user left, was removed, or the room is gone. */
  forgetRoom(roomId: number, why?: string): void {
    const room = this.state.rooms.find((r) => r.id === roomId);
    const timelines = { ...this.state.timelines };
    delete timelines[roomId];
    this.outbox.dropRoom(roomId);
    this.syncing.delete(roomId);
    this.revs.forget(roomId);
    const replyingTo = { ...this.state.replyingTo };
    delete replyingTo[roomId];
    const readMarkers = { ...this.state.readMarkers };
    delete readMarkers[roomId];
    this.markersInFlight.delete(roomId);
    const members = { ...this.state.members };
    delete members[roomId];
    this.membersInFlight.delete(roomId);
    const mutes = { ...this.state.mutes };
    delete mutes[roomId];
    this.set({
      mutes,
      members,
      readMarkers,
      replyingTo,
      rooms: this.state.rooms.filter((r) => r.id !== roomId),
      timelines,
      pending: this.outbox.list(),
      notice: why && room ? `${why} ${roomLabel(room, this.state.me.id)}` : this.state.notice,
    });
    this.updateWatch();
  }

  clearNotice(): void {
    this.set({ notice: null });
  }

  private bumpMembers(roomId: number): void {
    const v = (this.state.membersVersion[roomId] ?? 0) + 1;
    this.set({ membersVersion: { ...this.state.membersVersion, [roomId]: v } });
  }

  // ---- timelines ----

  /** The user opened a room: load its latest page once, then keep it current. */
  async openRoom(roomId: number): Promise<void> {
    this.set({ activeRoomId: roomId });
    this.zeroUnread(roomId);
    const room = this.state.rooms.find((r) => r.id === roomId);
    if (room && roomKind(room) === 'group') void this.loadReadMarkers(roomId);
    if (room && roomKind(room) !== 'general') void this.loadMembers(roomId);
    this.updateWatch();
    const t = this.state.timelines[roomId];
    if (t?.loaded) {
      this.markActiveRead();
      return;
    }
    if (!t) this.setTimeline(roomId, () => ({ ...EMPTY }));
    try {
      const page = await this.api.messages(roomId, { limit: this.opts.pageSize });
      this.setTimeline(roomId, (cur) => ({
        ...cur,
        messages: mergeMessages(cur.messages, page.messages),
        loaded: true,
        hasMoreOlder: page.hasMore,
        error: undefined,
      }));
      // Settle sends whose message already came back in the page.
      this.receive(page.messages, 'history');
      // The page is the room at `page.rev`; live frames past it that came in meanwhile may
      // have skipped a change: catch up from the page (after a reconnect, onReady does).
      if (this.revs.init(roomId, page.rev) && this.socket?.isReady) this.requestSync(roomId);
      this.markActiveRead();
    } catch (e) {
      this.setTimeline(roomId, (cur) => ({ ...cur, error: e instanceof Error ? e.message : String(e) }));
    }
  }

  closeRoom(roomId: number): void {
    if (this.state.activeRoomId === roomId) this.set({ activeRoomId: null });
    this.updateWatch();
  }

  loadOlder(roomId: number): Promise<void> {
    const inFlight = this.olderInFlight.get(roomId);
    if (inFlight) return inFlight;
    const p = this.loadOlderPage(roomId).finally(() => this.olderInFlight.delete(roomId));
    this.olderInFlight.set(roomId, p);
    return p;
  }

  private async loadOlderPage(roomId: number): Promise<void> {
    const t = this.state.timelines[roomId];
    if (!t || !t.loaded || !t.hasMoreOlder || t.loadingOlder) return;
    const first = firstSeqOf(t.messages);
    if (first === undefined || first <= 1) {
      this.setTimeline(roomId, (cur) => ({ ...cur, hasMoreOlder: false }));
      return;
    }
    this.setTimeline(roomId, (cur) => ({ ...cur, loadingOlder: true }));
    try {
      const page = await this.api.messages(roomId, { beforeSeq: first, limit: this.opts.pageSize });
      // The window was replaced meanwhile (a jump): this page may not join it.
      if (this.state.timelines[roomId]?.epoch !== t.epoch) return;
      this.setTimeline(roomId, (cur) => ({
        ...cur,
        messages: mergeMessages(cur.messages, page.messages),
        hasMoreOlder: page.hasMore && page.messages.length > 0,
        loadingOlder: false,
      }));
      this.syncFromPage(roomId, page.rev);
    } catch (e) {
      this.setTimeline(roomId, (cur) => ({ ...cur, loadingOlder: false, error: e instanceof Error ? e.message : String(e) }));
    }
  }

  // ---- sending ----

  /**
   * Queues a message; it is written now if connected, else after the next `ready`. It answers
   * `replyTo` (by default the message the room's composer is replying to), and the room
   * leaves reply mode. `attachments` are uploads already made; `content` may then be empty.
   */
  send(
    roomId: number,
    content: string,
    replyTo: ReplyRef | undefined = this.state.replyingTo[roomId],
    attachments?: readonly Upload[],
  ): PendingMessage {
    const item = this.outbox.enqueue(roomId, content, this.opts.now(), replyTo, attachments);
    if (this.state.replyingTo[roomId]) this.cancelReply(roomId);
    this.syncPending();
    this.flush();
    return this.outbox.get(item.clientMsgId) ?? item;
  }

  retry(clientMsgId: string): void {
    this.outbox.retry(clientMsgId);
    this.syncPending();
    this.flush();
  }

  discard(clientMsgId: string): void {
    this.outbox.discard(clientMsgId);
    this.syncPending();
  }

  /** Writes what is due. `all` resends every unacked item (after a reconnect). */
  flush(all = false): void {
    if (!this.socket?.isReady) return;
    const now = this.opts.now();
    const due = all ? this.outbox.list().filter((m) => m.status !== 'failed') : this.outbox.due(now, this.opts.ackTimeoutMs);
    let changed = false;
    for (const m of due) {
      const ok = this.socket.send({
        action: 'sendMessage',
        id: m.clientMsgId,
        roomId: m.roomId,
        content: m.content,
        clientMsgId: m.clientMsgId,
        ...(m.replyToId !== undefined ? { replyToId: m.replyToId } : {}),
        ...(m.attachments?.length ? { attachmentIds: Outbox.attachmentIds(m) } : {}),
      });
      if (!ok) break;
      this.outbox.markSent(m.clientMsgId, now);
      changed = true;
    }
    if (changed) this.syncPending();
  }

  // ---- replies ----

  /** Puts the room's composer into reply mode for `m` (a live message). */
  replyTo(m: Message): void {
    if (m.deleted) return;
    this.set({ replyingTo: { ...this.state.replyingTo, [m.roomId]: replyRefOf(m) } });
  }

  cancelReply(roomId: number): void {
    if (!(roomId in this.state.replyingTo)) return;
    const replyingTo = { ...this.state.replyingTo };
    delete replyingTo[roomId];
    this.set({ replyingTo });
  }

  /**
   * Makes sure the message with `seq` is in the room's loaded timeline. Close before the
   * window (within a page), older pages are loaded (the ordinary "load older" path, so the
   * view stays where it is), at most `jumpMaxPages`; further away, or past the end of a
   * window that does not reach the newest message, the window is replaced by the page
   * around it (`aroundSeq`). Resolves whether it is there; when not, tells the user with
   * `notFound`.
   */
  async reveal(roomId: number, seq: number, notFound = 'The original message could not be found.'): Promise<boolean> {
    let around = false;
    for (let pages = 0; ; pages++) {
      const t = this.state.timelines[roomId];
      if (!t?.loaded) break;
      const where = locate(t.messages, seq);
      if (where === 'loaded') return true;
      const first = firstSeqOf(t.messages) ?? 0;
      const beyond = t.hasMoreNewer && seq > lastSeqOf(t.messages);
      const near = where === 'older' && t.hasMoreOlder && first - seq <= this.opts.pageSize && pages < this.opts.jumpMaxPages;
      if (near) {
        const before = t.messages.length;
        await this.loadOlder(roomId);
        const after = this.state.timelines[roomId];
        if (!after || (after.messages.length === before && !after.loadingOlder && after.error)) break;
        continue;
      }
      if (around || (where === 'missing' && !beyond) || (where === 'older' && !t.hasMoreOlder)) break;
      around = true;
      if (!(await this.loadAround(roomId, seq))) break;
    }
    this.set({ notice: notFound });
    return false;
  }

  /**
   * Replaces the room's window by the page around `seq` (or by the newest page when `seq` is
   * undefined). Changes made after the page was read come from the change feed from its rev.
   */
  private async loadAround(roomId: number, seq?: number): Promise<boolean> {
    try {
      const page = await this.api.messages(roomId, seq === undefined ? { limit: this.opts.pageSize } : { aroundSeq: seq, limit: this.opts.pageSize });
      if (!this.state.timelines[roomId]) return false; // forgotten meanwhile
      const detached = seq !== undefined && (page.hasMoreAfter ?? false);
      this.setTimeline(roomId, (cur) => ({
        ...cur,
        messages: page.messages,
        loaded: true,
        hasMoreOlder: (seq === undefined ? page.hasMore : page.hasMoreBefore ?? page.hasMore) && page.messages.length > 0,
        loadingOlder: false,
        hasMoreNewer: detached,
        loadingNewer: false,
        epoch: cur.epoch + 1,
        error: undefined,
      }));
      this.receive(page.messages, 'history');
      this.syncFromPage(roomId, page.rev);
      return true;
    } catch (e) {
      this.setTimeline(roomId, (cur) => ({ ...cur, error: e instanceof Error ? e.message : String(e) }));
      return false;
    }
  }

  /** Back to the room's newest messages from a window loaded around an old one. */
  showLatest(roomId: number): Promise<boolean> {
    return this.loadAround(roomId);
  }

  /** The next page after a window that does not reach the newest message (`afterSeq`). */
  async loadNewer(roomId: number): Promise<void> {
    const t = this.state.timelines[roomId];
    if (!t?.loaded || !t.hasMoreNewer || t.loadingNewer) return;
    const epoch = t.epoch;
    this.setTimeline(roomId, (cur) => ({ ...cur, loadingNewer: true }));
    try {
      const page = await this.api.messages(roomId, { afterSeq: lastSeqOf(t.messages), limit: this.opts.pageSize });
      if (this.state.timelines[roomId]?.epoch !== epoch) return; // replaced meanwhile
      this.setTimeline(roomId, (cur) => ({
        ...cur,
        messages: mergeMessages(cur.messages, page.messages),
        hasMoreNewer: page.hasMore && page.messages.length > 0,
        loadingNewer: false,
      }));
      this.receive(page.messages, 'history');
      this.syncFromPage(roomId, page.rev);
      if (!this.state.timelines[roomId]?.hasMoreNewer) this.markActiveRead();
    } catch (e) {
      this.setTimeline(roomId, (cur) => ({ ...cur, loadingNewer: false, error: e instanceof Error ? e.message : String(e) }));
    }
  }

  /**
   * A page read at room revision `rev` was put in the window: changes after it, to messages
   * that were outside the window when they came, were left out; ask for them again.
   */
  private syncFromPage(roomId: number, rev: number): void {
    const cursor = this.revs.get(roomId);
    if (cursor !== undefined && rev < cursor) this.requestSync(roomId, rev);
  }

  /** Asks the room's message list to show message `seq` (e.g. from the Mentions panel). */
  jumpTo(roomId: number, seq: number): void {
    this.set({ jump: { roomId, seq, n: (this.state.jump?.n ?? 0) + 1 } });
  }

  /** The message list took the jump `n` over. */
  clearJump(n: number): void {
    if (this.state.jump?.n === n) this.set({ jump: null });
  }

  async edit(message: Message, content: string): Promise<void> {
    const updated = await this.api.editMessage(message.id, content);
    // The answer carries the new rev; a copy without one only wins over the same rev.
    const patch = updated && typeof updated === 'object' ? updated : { ...message, content, editedAt: new Date().toISOString() };
    this.patch({ ...patch, id: message.id, roomId: message.roomId });
  }

  async remove(message: Message): Promise<void> {
    const updated = await this.api.deleteMessage(message.id);
    const patch = updated && typeof updated === 'object' ? { ...updated, deleted: true } : { ...message, deleted: true, content: '', attachments: [] };
    // Someone else's message: the viewer deleted it as a moderator of the room.
    const byModerator = message.userId !== this.state.me.id ? { deletedByModerator: true } : {};
    this.patch({ ...patch, ...byModerator, id: message.id, roomId: message.roomId });
  }

  // ---- reactions ----

  /** Whether the user has reacted to `m` with `emoji`, as far as this client knows. */
  hasReacted(m: Message, emoji: string): boolean {
    const r = reactionsOf(m).find((x) => x.emoji === emoji);
    return r ? hasReacted(r, this.state.me.id, this.state.myReactions[m.id]) : false;
  }

  /** Adds the user's reaction, or takes it back if they have it. */
  toggleReaction(m: Message, emoji: string): Promise<void> {
    return this.react(m, emoji, !this.hasReacted(m, emoji));
  }

  /**
   * Adds (`add`) or removes the user's reaction: over the socket when it is up (the room's
   * `reactionChanged` frame brings the result; a refusal comes back as an `error` frame with
   * the action's id), else over HTTP (the answer is the whole message). Refusals land in
   * `reactionErrors`; the promise does not reject.
   */
  async react(m: Message, emoji: string, add: boolean): Promise<void> {
    if (m.deleted) return;
    this.clearReactionError(m.id);
    const id = `react:${this.newId()}`;
    const frame: ClientFrame = { action: add ? 'react' : 'unreact', id, roomId: m.roomId, messageId: m.id, emoji };
    if (this.socket?.isReady && this.socket.send(frame)) {
      this.trackReaction(id, m.id);
      return;
    }
    try {
      const updated = add ? await this.api.addReaction(m.id, emoji) : await this.api.removeReaction(m.id, emoji);
      if (updated && typeof updated === 'object') this.patch({ ...updated, id: m.id, roomId: m.roomId });
      this.noteMine(m.id, emoji, add);
    } catch (e) {
      this.showReactionError(m.id, messageOf(e));
    }
  }

  private trackReaction(id: string, messageId: number): void {
    const now = this.opts.now();
    this.reactionsSent.set(id, { messageId, at: now });
    // Success has no answer: forget what is surely settled (a minute on, or past 200 entries).
    for (const [k, v] of this.reactionsSent) {
      if (now - v.at < 60_000 && this.reactionsSent.size <= 200) break;
      this.reactionsSent.delete(k);
    }
  }

  private noteMine(messageId: number, emoji: string, added: boolean): void {
    const cur = this.state.myReactions[messageId] ?? [];
    if (cur.includes(emoji) === added) return;
    const next = added ? [...cur, emoji] : cur.filter((e) => e !== emoji);
    const myReactions = { ...this.state.myReactions };
    if (next.length) myReactions[messageId] = next;
    else delete myReactions[messageId];
    this.set({ myReactions });
  }

  private showReactionError(messageId: number, text: string): void {
    clearTimeout(this.errorTimers.get(messageId));
    this.set({ reactionErrors: { ...this.state.reactionErrors, [messageId]: text } });
    this.errorTimers.set(
      messageId,
      setTimeout(() => this.clearReactionError(messageId), this.opts.reactionErrorMs),
    );
  }

  clearReactionError(messageId: number): void {
    clearTimeout(this.errorTimers.get(messageId));
    this.errorTimers.delete(messageId);
    if (!(messageId in this.state.reactionErrors)) return;
    const reactionErrors = { ...this.state.reactionErrors };
    delete reactionErrors[messageId];
    this.set({ reactionErrors });
  }

  // ---- typing and read markers ----

  /** The user is typing in a room: tell the others, at most once per throttle window. */
  typing(roomId: number): void {
    const now = this.opts.now();
    const last = this.lastTypingSent.get(roomId) ?? 0;
    if (now - last < this.opts.typingThrottleMs) return;
    if (this.socket?.send({ action: 'typing', roomId })) this.lastTypingSent.set(roomId, now);
  }

  private addTyping(roomId: number, userId: string, username: string): void {
    const until = this.opts.now() + this.opts.typingTtlMs;
    const cur = (this.state.typing[roomId] ?? []).filter((e) => e.userId !== userId);
    this.set({ typing: { ...this.state.typing, [roomId]: [...cur, { userId, username, until }] } });
  }

  private removeTyping(roomId: number, userId: string): void {
    const cur = this.state.typing[roomId];
    if (!cur?.some((e) => e.userId === userId)) return;
    this.set({ typing: { ...this.state.typing, [roomId]: cur.filter((e) => e.userId !== userId) } });
  }

  expireTyping(): void {
    const now = this.opts.now();
    let changed = false;
    const next: Record<number, TypingEntry[]> = {};
    for (const [room, list] of Object.entries(this.state.typing)) {
      const kept = list.filter((e) => e.until > now);
      if (kept.length !== list.length) changed = true;
      if (kept.length) next[Number(room)] = kept;
    }
    if (changed) this.set({ typing: next });
  }

  /** Moves the read marker of the room on screen to its last message. */
  markActiveRead(): void {
    const roomId = this.state.activeRoomId;
    if (roomId === null || !this.opts.isVisible()) return;
    const t = this.state.timelines[roomId];
    // A window around an old message: the newest ones are not on screen, so not read.
    if (!t?.loaded || t.hasMoreNewer) return;
    const seq = lastSeqOf(t.messages);
    this.zeroUnread(roomId);
    if (seq === 0 || (this.lastMarked.get(roomId) ?? 0) >= seq) return;
    this.lastMarked.set(roomId, seq);
    if (!this.socket?.send({ action: 'markRead', roomId, seq })) {
      this.api.markRead(roomId, seq).catch(() => this.lastMarked.delete(roomId));
    }
  }

  private zeroUnread(roomId: number): void {
    const idx = this.state.rooms.findIndex((r) => r.id === roomId);
    if (idx < 0 || (this.state.rooms[idx].unreadCount === 0 && !this.state.rooms[idx].mentionCount)) return;
    const rooms = this.state.rooms.slice();
    rooms[idx] = { ...rooms[idx], unreadCount: 0, mentionCount: 0 };
    this.set({ rooms });
  }

  /**
   * Reads a group room's markers and merges them in (never backwards). The room's entry
   * exists from the first call, so frames that arrive meanwhile are kept. One request per
   * room at a time; a call while one is out asks once more after it.
   */
  async loadReadMarkers(roomId: number): Promise<void> {
    const out = this.markersInFlight.get(roomId);
    if (out) {
      out.again = true;
      return;
    }
    if (!this.state.readMarkers[roomId]) this.set({ readMarkers: { ...this.state.readMarkers, [roomId]: [] } });
    const entry = { again: false };
    this.markersInFlight.set(roomId, entry);
    try {
      const answer = await this.api.readMarkers(roomId);
      if (this.markersInFlight.get(roomId) !== entry) return; // forgotten meanwhile
      this.mergeReadMarkers(roomId, answer);
    } catch {
      // Shown as nobody having read yet; the next open or reconnect reads them again.
    } finally {
      if (this.markersInFlight.get(roomId) === entry) {
        this.markersInFlight.delete(roomId);
        if (entry.again) void this.loadReadMarkers(roomId);
      }
    }
  }

  private mergeReadMarkers(roomId: number, incoming: readonly ReadMarker[]): void {
    const cur = this.state.readMarkers[roomId];
    if (!cur) return;
    const next = mergeMarkers(cur, incoming);
    if (next !== cur) this.set({ readMarkers: { ...this.state.readMarkers, [roomId]: next } });
  }

  /**
   * A member's marker moved. In a room whose markers are kept, it moves on (a member not
   * known yet has no name in the frame: the markers are read again for it). The viewer's
   * own marker reaching the room's last message (another tab or device read it) clears the
   * room's unread badge.
   */
  private onReadMarker(f: ReadMarkerFrame): void {
    const cur = this.state.readMarkers[f.roomId];
    if (cur) {
      const known = cur.find((m) => m.userId === f.userId);
      if (known) this.mergeReadMarkers(f.roomId, [{ userId: f.userId, username: known.username, seq: f.seq }]);
      else void this.loadReadMarkers(f.roomId);
    }
    if (f.userId === this.state.me.id) {
      const room = this.state.rooms.find((r) => r.id === f.roomId);
      if (room && f.seq >= room.lastSeq) this.zeroUnread(f.roomId);
    }
  }

  /** The browser tab became visible again. */
  onVisible(): void {
    this.markActiveRead();
  }

  // ---- moderation: blocks, mutes, members' roles ----

  /** A one-off message for the user (a toast). */
  say(text: string): void {
    this.set({ notice: text });
  }

  /** Reads the viewer's block list (at start). Failing leaves it as it was. */
  async loadBlocks(): Promise<void> {
    try {
      this.setBlocked(await this.api.blocks());
    } catch {
      // A server from before blocks, or a passing failure: nobody is hidden client-side.
    }
  }

  /**
   * Blocks a user: their messages are hidden at once everywhere (the loaded ones and live ones
   * by the block list; the server hides them in every read from now on).
   */
  async block(user: { userId: string; username: string }): Promise<void> {
    const entry = await this.api.block(user.userId);
    const item: BlockedUser = entry && typeof entry === 'object' ? entry : { ...user, createdAt: new Date(this.opts.now()).toISOString() };
    this.setBlocked([...this.state.blocked.filter((b) => b.userId !== user.userId), item]);
    // They stop typing, as far as this viewer is concerned.
    for (const roomId of Object.keys(this.state.typing)) this.removeTyping(Number(roomId), user.userId);
  }

  /**
   * Unblocks a user. Messages the server sent hidden (`hidden: "blocked"`, without their text)
   * come back only by reading them again: each loaded window holding one is read anew.
   */
  async unblock(userId: string): Promise<void> {
    await this.api.unblock(userId);
    this.setBlocked(this.state.blocked.filter((b) => b.userId !== userId));
    for (const [id, t] of Object.entries(this.state.timelines)) {
      const hidden = t.messages.find((m) => m.userId === userId && m.hidden === 'blocked');
      if (t.loaded && hidden) void this.loadAround(Number(id), t.hasMoreNewer ? hidden.seq : undefined);
    }
  }

  private setBlocked(list: BlockedUser[]): void {
    this.set({ blocked: list, blockedIds: new Set(list.map((b) => b.userId)) });
  }

  /** A member's role or mute moved: the first page kept for the room, and open member lists. */
  private patchMember(roomId: number, userId: string, patch: Partial<Member>): void {
    const list = this.state.members[roomId];
    if (list?.some((m) => m.userId === userId)) {
      this.set({ members: { ...this.state.members, [roomId]: list.map((m) => (m.userId === userId ? { ...m, ...patch } : m)) } });
    }
    this.bumpMembers(roomId);
  }

  /** The viewer's mute in a room: until `until` (a known end), or none (null). */
  private setMute(roomId: number, until: string | null): void {
    const cur = this.state.mutes[roomId];
    if (until === null || !inForce(until, this.opts.now())) {
      if (!cur) return;
      const mutes = { ...this.state.mutes };
      delete mutes[roomId];
      this.set({ mutes });
      return;
    }
    if (cur?.known && cur.until === until) return;
    this.set({ mutes: { ...this.state.mutes, [roomId]: { until, known: true } } });
  }

  /**
   * A send was refused with `muted`. Without the end in the refusal, the composer stays off
   * for a while (then the user may try again), and a room with a member list reads it again
   * to learn the end.
   */
  private mutedBySend(roomId: number, until: string | null): void {
    if (until) {
      this.setMute(roomId, until);
      return;
    }
    if (this.state.mutes[roomId]) return;
    const guess = new Date(this.opts.now() + this.opts.unknownMuteMs).toISOString();
    this.set({ mutes: { ...this.state.mutes, [roomId]: { until: guess, known: false } } });
    const room = this.state.rooms.find((r) => r.id === roomId);
    if (room && roomKind(room) !== 'general') void this.loadMembers(roomId);
  }

  /** Mutes whose end has come: the composer is on again, with nothing to ask the server. */
  expireMutes(): void {
    const now = this.opts.now();
    const ended = Object.entries(this.state.mutes).filter(([, m]) => !inForce(m.until, now));
    if (ended.length === 0) return;
    const mutes = { ...this.state.mutes };
    for (const [roomId] of ended) delete mutes[Number(roomId)];
    this.set({ mutes });
  }
}

/** Why a send was refused, in words (the moderation refusals in the app's own). */
function sendRefusal(frame: Extract<ServerFrame, { type: 'error' }>, until: string | null): string {
  if (frame.code === 'muted' || frame.code === 'blocked') {
    return new ApiError(403, frame.code, humanCode(frame.code), frame.message, {}, undefined, until ? { until } : {}).userMessage;
  }
  return frame.message || humanCode(frame.code);
}

/** What a DM answer may leave out of a room-list entry. */
const DM_DEFAULTS: Omit<Room, 'id' | 'name' | 'ownerUserId' | 'ownerUsername' | 'memberCount' | 'createdAt' | 'peer'> = {
  isGeneral: false,
  kind: 'direct',
  lastSeq: 0,
  lastRev: 0,
  unreadCount: 0,
  mentionCount: 0,
};

/** The room a frame is about, if it names one. */
function roomOf(f: ServerFrame): number | undefined {
  if ('roomId' in f && typeof f.roomId === 'number') return f.roomId;
  if ((f.type === 'message' || f.type === 'ack') && f.message) return f.message.roomId;
  return undefined;
}

function humanCode(code: string): string {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

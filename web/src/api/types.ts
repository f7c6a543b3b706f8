// Wire types of the public HTTP API and the WebSocket protocol (the services' OpenAPI documents, docs/protocol.md).

/** The instance role: moderators and admins are "staff"; only admins change roles and suspend. */
export type InstanceRole = 'user' | 'moderator' | 'admin';

export interface User {
  id: string;
  username: string;
  email?: string;
  createdAt?: string;
  updatedAt?: string;
  /** From `GET /users/me` (a login answer may leave it out: read as `user`). */
  role?: InstanceRole;
  /** Two-factor authentication (TOTP) is on: log-in asks for a code. */
  mfaEnabled?: boolean;
  /** The current e-mail address was verified (a link mailed to it was opened). */
  emailVerified?: boolean;
}

/** A pending TOTP enrolment: the secret (base32) and the URI an authenticator app scans. */
export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
}

export interface PublicUser {
  id: string;
  username: string;
}

export interface LoginAnswer {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken?: string;
  user: User;
}

/** `general` (everyone), `group` (a named room with an owner), `direct` (two people, or one: notes). */
export type RoomKind = 'general' | 'group' | 'direct';

/** The other person of a direct room (the viewer themself in a self-DM). */
export interface DirectPeer {
  userId: string;
  username: string;
}

export interface Room {
  id: number;
  /** `""` for a direct room (clients show `peer.username`). */
  name: string;
  ownerUserId: string | null;
  ownerUsername: string | null;
  /** True only for `general` (kept beside `kind`). */
  isGeneral: boolean;
  kind: RoomKind;
  /** The other person of a direct room; null for general and group rooms. */
  peer: DirectPeer | null;
  memberCount: number;
  lastSeq: number;
  /** The room's current revision (every change to its messages takes the next one). */
  lastRev: number;
  unreadCount: number;
  /** Unread mentions of the caller (past their read marker; at most 1000). */
  mentionCount: number;
  createdAt: string;
  /**
   * The caller may moderate the room (delete others' messages, mute, remove): a group room's
   * owner and moderators, staff in group rooms and `general`; nobody in a direct room.
   * Absent on servers from before moderation (read as false).
   */
  canModerate?: boolean;
}

/** A member's role in a group room (the owner is `rooms.ownerUserId`). */
export type RoomRole = 'owner' | 'moderator' | 'member';

export interface Member {
  userId: string;
  username: string;
  joinedAt: string;
  isOwner: boolean;
  /** Absent on servers from before moderation (read from `isOwner`). */
  role?: RoomRole;
  /** RFC 3339 while a mute is in force, else null. */
  mutedUntil?: string | null;
}

/** A page of a room's member list (`GET /rooms/{id}/members?limit=…&after=…`). */
export interface MembersPage {
  members: Member[];
  /** Send as `after` for the next page; null on the last one. */
  nextCursor: string | null;
  hasMore: boolean;
}

export interface Message {
  id: number;
  roomId: number;
  seq: number;
  userId: string;
  username: string;
  type: string;
  content: string;
  clientMsgId: string | null;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
  /** The room revision of this message's last change (create, edit, delete or reaction); only grows. */
  rev: number;
  /**
   * Reactions in the order each emoji was first used on the message; `[]` when none and on a
   * deleted message. Optional only for servers from before reactions (read as `[]`).
   */
  reactions?: Reaction[];
  /**
   * The message this one answers, or null. Its `excerpt` is the first 120 characters of the
   * original's text when the reply was read; `""` once the original is deleted. Optional
   * only for servers from before replies (read as null).
   */
  replyTo?: ReplyRef | null;
  /**
   * The users the text names with `@username` (resolved against the room when sent or
   * edited); `[]` when none. Optional only for servers from before mentions (read as `[]`).
   */
  mentions?: string[];
  /** `@room` was used (a group room's owner naming every member). */
  mentionsRoom?: boolean;
  /**
   * Files sent with the message, in the order they were attached; `[]` when none and on a
   * deleted message. Optional only for servers from before attachments (read as `[]`).
   */
  attachments?: Attachment[];
  /**
   * Set when the reader may not see the message: `blocked` (its author is on the reader's
   * block list), `suspended` (its author is suspended with their messages hidden). `content`
   * is then `""`, with no files, mentions or quote. Absent when visible.
   */
  hidden?: HiddenReason;
  /** Client-side only: the live `messageDeleted` frame said a moderator deleted it. */
  deletedByModerator?: boolean;
}

export type HiddenReason = 'blocked' | 'suspended';

/** A file sent with a message. `url` and `thumbnailUrl` are relative to the API base. */
export interface Attachment {
  id: string;
  /** The sanitised file name. */
  name: string;
  /** Sniffed from the bytes by the server. */
  contentType: string;
  /** Bytes. */
  size: number;
  /** Pixels, for images the server could read. */
  width?: number;
  height?: number;
  /** `/files/{id}`: the file itself (inline for images, a download for the rest). */
  url: string;
  /** `/files/{id}/thumbnail`: at most 480 px on its longest side; only for images that have one. */
  thumbnailUrl?: string;
}

/** `POST /uploads` → 201: an upload not attached to any message yet. */
export interface Upload {
  id: string;
  name: string;
  contentType: string;
  size: number;
  width?: number;
  height?: number;
  /** Present when the server made a thumbnail, with its size. */
  thumbnail?: { width: number; height: number };
}

/** `GET /mentions`: the caller's mentions, newest first; the next page is `before` = the last `id`. */
export interface MentionsPage {
  messages: Message[];
  hasMore: boolean;
}

/** One user's presence (`presenceList`, `presence` frames). */
export interface UserPresence {
  userId: string;
  online: boolean;
  /** When they were last online (RFC 3339); null while online and for users never seen. */
  lastSeenAt: string | null;
}

/** What a reply shows of the message it answers. */
export interface ReplyRef {
  id: number;
  seq: number;
  userId: string;
  username: string;
  excerpt: string;
}

/** One emoji's reactions on a message. */
export interface Reaction {
  /** A single Unicode emoji, or a `:shortcode:` from the server's fixed list. */
  emoji: string;
  /** How many users reacted with it. */
  count: number;
  /** The first 50 of them, by time (so a user may have reacted without being listed). */
  userIds: string[];
}

export interface MessagesPage {
  messages: Message[];
  hasMore: boolean;
  /** Only on `aroundSeq` pages. */
  hasMoreBefore?: boolean;
  hasMoreAfter?: boolean;
  /** The room's revision in the same snapshot as the page. */
  rev: number;
}

/**
 * A page of a room's change feed (`GET /rooms/{id}/changes`, or the socket's `changes` frame):
 * every message whose `rev` is above `sinceRev`, whole, in `rev` order. `rev` is the room's
 * current revision; when `hasMore` is true the next page starts at the last message's `rev`.
 */
export interface ChangesPage {
  roomId: number;
  messages: Message[];
  rev: number;
  hasMore: boolean;
}

export interface Session {
  id: string | number;
  device?: string | null;
  userAgent?: string | null;
  ip?: string | null;
  createdAt?: string;
  lastUsedAt?: string | null;
  current?: boolean;
}

export interface Ticket {
  ticket: string;
  expiresIn: number;
}

/** Client → relay frames: the action's body sits next to `action`. */
export type ClientFrame =
  | {
      action: 'sendMessage';
      id?: string;
      roomId: number;
      /** May be empty when `attachmentIds` is not. */
      content: string;
      clientMsgId: string;
      replyToId?: number;
      /** At most 10 of the sender's uploads not attached yet. */
      attachmentIds?: string[];
    }
  | { action: 'sync'; id?: string; roomId: number; sinceRev: number; limit?: number }
  | { action: 'typing'; id?: string; roomId: number }
  | { action: 'markRead'; id?: string; roomId: number; seq: number }
  | { action: 'react'; id?: string; roomId: number; messageId: number; emoji: string }
  | { action: 'unreact'; id?: string; roomId: number; messageId: number; emoji: string }
  | { action: 'refreshToken'; id?: string; token: string }
  /** Replaces the connection's watched users (`[]` stops); answered by `presenceList`. */
  | { action: 'watchPresence'; id?: string; userIds: string[] }
  | { action: 'ping'; id?: string };

/** Relay → client frames. Fields the client does not need are left loose. */
export type ServerFrame =
  | {
      type: 'ready';
      connectionId?: string;
      userId?: string;
      rooms?: number[];
      /** Unix seconds: when the access token behind this connection expires. */
      expiresAt: number;
    }
  | { type: 'message'; message: Message }
  | { type: 'ack'; clientMsgId: string; message: Message; id?: string }
  // The answer to `sync {afterSeq}`, which this client no longer sends (it syncs by rev).
  | { type: 'messages'; roomId: number; messages: Message[]; hasMore: boolean; rev: number; id?: string }
  | ({ type: 'changes'; id?: string } & ChangesPage)
  | { type: 'messageEdited'; roomId: number; message: Message }
  | { type: 'messageDeleted'; roomId: number; id: number; seq: number; rev: number; byModerator?: boolean }
  | ReactionChangedFrame
  | { type: 'typing'; roomId: number; userId: string; username: string }
  | ({ type: 'presence' } & UserPresence)
  /** The snapshot of the watched users, answering `watchPresence` (its `id` echoed). */
  | { type: 'presenceList'; id?: string; users: UserPresence[] }
  /** The caller hid this direct room (on any of their devices). */
  | { type: 'roomHidden'; roomId: number }
  | { type: 'memberAdded'; roomId: number; userId?: string; username?: string; member?: Member; room?: Room }
  | { type: 'memberRemoved'; roomId: number; userId?: string }
  | { type: 'roomDeleted'; roomId: number }
  /** A group room's owner (or staff) made a member a moderator, or a member again. */
  | { type: 'memberRoleChanged'; roomId: number; userId: string; role: RoomRole }
  /** A member's sends to the room are refused until `until` (RFC 3339). */
  | { type: 'memberMuted'; roomId: number; userId: string; until: string }
  | { type: 'memberUnmuted'; roomId: number; userId: string }
  | ReadMarkerFrame
  | { type: 'tokenRefreshed'; expiresAt: number; id?: string }
  | { type: 'pong'; id?: string }
  /** `until` (RFC 3339) may come with code `muted`. */
  | { type: 'error'; code: string; message?: string; temporary?: boolean; id?: string; until?: string | null };


/** A reaction was added or removed: `count` is that emoji's total after it, `rev` the message's new rev. */
export interface ReactionChangedFrame {
  type: 'reactionChanged';
  roomId: number;
  messageId: number;
  rev: number;
  emoji: string;
  userId: string;
  added: boolean;
  count: number;
}

/**
 * A member's read marker moved (to the room's sockets in a group room; in `general` only to
 * the mover's own sockets). At most one per user and room every 2 s: moves in between are
 * stored but not sent, so `GET /rooms/{id}/read-markers` is the exact answer.
 */
export interface ReadMarkerFrame {
  type: 'readMarker';
  roomId: number;
  userId: string;
  seq: number;
}

/** One member's read marker (`GET /rooms/{id}/read-markers` answers the members that have one). */
export interface ReadMarker {
  userId: string;
  username: string;
  seq: number;
}

// ---- search (`GET /search`) ----

/** What a search hit says of its room: a direct room has `name` `""` and the other person as `peer`. */
export interface SearchRoom {
  id: number;
  kind: RoomKind;
  name: string;
  peer: DirectPeer | null;
}

/** A range of `message.content` in UTF-16 code units (JavaScript string indices): start inclusive, end exclusive. */
export interface HighlightRange {
  start: number;
  end: number;
}

export interface SearchHit {
  message: Message;
  room: SearchRoom;
  /** Every occurrence of a searched word or phrase, sorted and not overlapping. */
  highlights: HighlightRange[];
}

export interface SearchPage {
  hits: SearchHit[];
  /** Send as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** `recent` (newest first, the default) or `relevance` (rank, then newest). */
export type SearchSort = 'recent' | 'relevance';

/** The query parameters of `GET /search` (see lib/search.ts for how the UI fills them). */
export interface SearchQuery {
  q: string;
  roomId?: number;
  /** A username. */
  from?: string;
  /** `YYYY-MM-DD` (UTC; exclusive) or an RFC 3339 date-time. */
  before?: string;
  /** `YYYY-MM-DD` (UTC; from the next day on) or an RFC 3339 date-time. */
  after?: string;
  has?: 'file';
  sort?: SearchSort;
  limit?: number;
  cursor?: string;
}

// ---- notifications (`/notification-settings`, `/push`) ----

/** `all` messages, `mentions` (direct messages and mentions), or `none`. */
export type NotificationLevel = 'all' | 'mentions' | 'none';

export interface RoomNotificationSettings {
  roomId: number;
  /** null: the user's level applies. */
  level: NotificationLevel | null;
  /** RFC 3339; a time in the past means not muted. */
  mutedUntil: string | null;
}

export interface NotificationSettings {
  level: NotificationLevel;
  mutedUntil: string | null;
  emailDigest: boolean;
  /** Only the rooms the user set something for (and can still read). */
  rooms: RoomNotificationSettings[];
}

/** The browser's `PushSubscription.toJSON()`. */
export interface PushSubscriptionBody {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

export interface PushSubscriptionView {
  id: string;
  endpoint: string;
  createdAt: string;
  lastSuccessAt?: string | null;
}

/** The decrypted Web Push payload the service worker receives. */
export interface PushPayload {
  type: 'message';
  roomId: number;
  roomKind: RoomKind;
  roomName: string;
  senderUsername: string;
  messageId: number;
  seq: number;
  title: string;
  body: string;
  /** More than 1 for a collapsed follow-up ("3 new messages"). */
  count: number;
  /** The app path to open, e.g. `/chat/12?seq=17`. */
  url: string;
  /** `room-<id>`: a room's notifications replace each other. */
  tag: string;
}

// ---- moderation (issue 16) ----

/** `GET /blocks`: the users the caller blocked. */
export interface BlockedUser {
  userId: string;
  username: string;
  createdAt: string;
}

/** A live mute in a room (`PUT /rooms/{id}/mutes/{userId}`, `GET /rooms/{id}/mutes`). */
export interface RoomMute {
  roomId: number;
  userId: string;
  username: string;
  until: string;
  reason: string | null;
  mutedBy: string;
}

export interface Suspension {
  reason: string;
  since: string;
  /** null: until lifted. */
  until: string | null;
  hideMessages: boolean;
  by: string | null;
}

/** An account as staff see it (`GET /admin/users`). */
export interface AdminUser {
  id: string;
  username: string;
  email: string;
  role: InstanceRole;
  /** `suspended` only while the suspension is in force. */
  status: 'active' | 'suspended';
  suspension: Suspension | null;
  createdAt: string;
  lastSeenAt: string | null;
}

export interface AdminUsersPage {
  users: AdminUser[];
  nextCursor: string | null;
  hasMore: boolean;
}

export interface AdminUsersQuery {
  q?: string;
  role?: InstanceRole;
  status?: 'active' | 'suspended';
  limit?: number;
  cursor?: string;
}

/** `GET /admin/stats`: each part is null when the service that knows it did not answer. */
export interface AdminStats {
  users: number | null;
  suspendedUsers: number | null;
  admins: number | null;
  moderators: number | null;
  rooms: number | null;
  directRooms: number | null;
  messages: number | null;
  messagesLast24h: number | null;
  openReports: number | null;
  onlineUsers: number | null;
  connections: number | null;
}

export interface AuditEntry {
  id: string;
  at: string;
  /** `id` null for the command line. */
  actor: { id: string | null; name: string };
  action: string;
  target: { id: string; name: string } | null;
  roomId: number | null;
  messageId: number | null;
  reason: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  source: 'auth' | 'chat';
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
  hasMore: boolean;
}

export interface AuditQuery {
  actorId?: string;
  targetUserId?: string;
  action?: string;
  /** RFC 3339. */
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

export type ReportAction = 'dismiss' | 'delete_message' | 'mute' | 'suspend';

export interface Report {
  id: number;
  status: 'open' | 'resolved';
  reason: string;
  createdAt: string;
  reporter: { id: string; username: string };
  message: {
    id: number;
    roomId: number;
    seq: number;
    author: { id: string; username: string };
    /** The text as it was when reported. */
    content: string;
    deleted: boolean;
  };
  room: { id: number; name: string | null; kind: RoomKind };
  resolution: { action: ReportAction; note: string | null; by: { id: string; username: string }; at: string } | null;
}

export interface ReportsPage {
  reports: Report[];
  nextCursor: string | null;
  hasMore: boolean;
}

export interface ReportsQuery {
  status?: 'open' | 'resolved';
  roomId?: number;
  limit?: number;
  cursor?: string;
}

export interface ResolveReport {
  action: ReportAction;
  note?: string;
  /** Required for `mute`; optional for `suspend` (none: until lifted). */
  durationSeconds?: number;
  hideMessages?: boolean;
}

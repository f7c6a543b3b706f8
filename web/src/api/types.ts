// Wire types of the public HTTP API and the WebSocket protocol (the services' OpenAPI documents, docs/protocol.md).

export interface User {
  id: string;
  username: string;
  email?: string;
  createdAt?: string;
  updatedAt?: string;
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

export interface Room {
  id: number;
  name: string;
  ownerUserId: string | null;
  ownerUsername: string | null;
  isGeneral: boolean;
  memberCount: number;
  lastSeq: number;
  unreadCount: number;
  createdAt: string;
}

export interface Member {
  userId: string;
  username: string;
  joinedAt: string;
  isOwner: boolean;
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
}

export interface MessagesPage {
  messages: Message[];
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
  | { action: 'sendMessage'; id?: string; roomId: number; content: string; clientMsgId: string }
  | { action: 'sync'; id?: string; roomId: number; afterSeq: number }
  | { action: 'typing'; id?: string; roomId: number }
  | { action: 'markRead'; id?: string; roomId: number; seq: number }
  | { action: 'refreshToken'; id?: string; token: string }
  | { action: 'ping'; id?: string };

/** Relay → client frames. Fields the client does not need are left loose. */
export type ServerFrame =
  | { type: 'ready'; connectionId?: string; userId?: string; rooms?: number[] }
  | { type: 'message'; message: Message }
  | { type: 'ack'; clientMsgId: string; message: Message; id?: string }
  | { type: 'messages'; roomId: number; messages: Message[]; hasMore: boolean; id?: string }
  | MessageChangeFrame<'messageEdited'>
  | MessageChangeFrame<'messageDeleted'>
  | { type: 'typing'; roomId: number; userId: string; username: string }
  | { type: 'presence'; roomId: number; userId: string; online: boolean }
  | { type: 'memberAdded'; roomId: number; userId?: string; username?: string; member?: Member; room?: Room }
  | { type: 'memberRemoved'; roomId: number; userId?: string }
  | { type: 'roomDeleted'; roomId: number }
  | { type: 'pong'; id?: string }
  | { type: 'error'; code: string; message?: string; temporary?: boolean; id?: string };

/**
 * docs/protocol.md names these frames without fixing all their fields; the client accepts either a
 * full `message` or loose `{roomId, id|messageId, seq, content, editedAt}` fields.
 */
export interface MessageChangeFrame<T extends string> {
  type: T;
  message?: Partial<Message> & { id: number };
  roomId?: number;
  id?: number;
  messageId?: number;
  seq?: number;
  content?: string;
  editedAt?: string | null;
}

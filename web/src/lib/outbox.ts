// Sends that the server has not acknowledged yet. Each keeps its clientMsgId for its whole
// life, so a retry after a reconnect is recognised by the server as the same message
// (`(userId, clientMsgId)` is unique: docs/protocol.md, "Reconnect and sync") and never shows up twice.
// Its files were uploaded before it was queued: only their ids travel with every retry.

import type { ReplyRef, Upload } from '../api/types';
import { newUuid } from './uuid';

export type PendingStatus =
  /** Waiting for a connection, never written to a socket yet (or the socket dropped). */
  | 'queued'
  /** Written to an open socket; waiting for the ack. */
  | 'sent'
  /** Refused for good by the server (e.g. too long); needs the user to retry or discard. */
  | 'failed';

export interface PendingMessage {
  clientMsgId: string;
  roomId: number;
  content: string;
  /** The message it answers (kept for every retry), and what the pending copy shows of it. */
  replyToId?: number;
  replyTo?: ReplyRef;
  /** Uploads sent with it (`attachmentIds`, kept for every retry), and what the pending copy shows. */
  attachments?: Upload[];
  createdAt: number;
  status: PendingStatus;
  /** When it was last written to a socket (ms), for the ack timeout. */
  sentAt?: number;
  attempts: number;
  error?: string;
}

export class Outbox {
  private items: PendingMessage[] = [];

  constructor(private readonly newId: () => string = newUuid) {}

  enqueue(roomId: number, content: string, now: number, replyTo?: ReplyRef, attachments?: readonly Upload[]): PendingMessage {
    const item: PendingMessage = {
      clientMsgId: this.newId(),
      roomId,
      content,
      ...(replyTo ? { replyToId: replyTo.id, replyTo } : {}),
      ...(attachments?.length ? { attachments: [...attachments] } : {}),
      createdAt: now,
      status: 'queued',
      attempts: 0,
    };
    this.items = [...this.items, item];
    return item;
  }

  /** All pending messages in the order they were written, optionally for one room. */
  list(roomId?: number): PendingMessage[] {
    return roomId === undefined ? this.items : this.items.filter((m) => m.roomId === roomId);
  }

  /** The `attachmentIds` of a pending message's `sendMessage` (undefined when it has none). */
  static attachmentIds(m: PendingMessage): string[] | undefined {
    return m.attachments?.length ? m.attachments.map((a) => a.id) : undefined;
  }

  get(clientMsgId: string): PendingMessage | undefined {
    return this.items.find((m) => m.clientMsgId === clientMsgId);
  }

  get size(): number {
    return this.items.length;
  }

  /**
   * What should be written to the socket now, oldest first: everything queued, plus what
   * was sent more than `ackTimeoutMs` ago without an ack. Failed items wait for the user.
   */
  due(now: number, ackTimeoutMs: number): PendingMessage[] {
    return this.items.filter(
      (m) => m.status === 'queued' || (m.status === 'sent' && now - (m.sentAt ?? 0) >= ackTimeoutMs),
    );
  }

  markSent(clientMsgId: string, now: number): void {
    this.update(clientMsgId, (m) => ({ ...m, status: 'sent', sentAt: now, attempts: m.attempts + 1 }));
  }

  /** The socket dropped: whatever was in flight goes back to the queue. */
  requeueInFlight(): void {
    if (!this.items.some((m) => m.status === 'sent')) return;
    this.items = this.items.map((m) => (m.status === 'sent' ? { ...m, status: 'queued', sentAt: undefined } : m));
  }

  /** The server acknowledged it (or the message came back by another path). */
  settle(clientMsgId: string): boolean {
    const before = this.items.length;
    this.items = this.items.filter((m) => m.clientMsgId !== clientMsgId);
    return this.items.length !== before;
  }

  fail(clientMsgId: string, error: string): void {
    this.update(clientMsgId, (m) => ({ ...m, status: 'failed', error }));
  }

  /** The user asked to try a failed message again. */
  retry(clientMsgId: string): void {
    this.update(clientMsgId, (m) => ({ ...m, status: 'queued', error: undefined, sentAt: undefined }));
  }

  discard(clientMsgId: string): void {
    this.settle(clientMsgId);
  }

  /** Drops everything for a room the user no longer belongs to. */
  dropRoom(roomId: number): void {
    this.items = this.items.filter((m) => m.roomId !== roomId);
  }

  clear(): void {
    this.items = [];
  }

  private update(clientMsgId: string, f: (m: PendingMessage) => PendingMessage): void {
    this.items = this.items.map((m) => (m.clientMsgId === clientMsgId ? f(m) : m));
  }
}

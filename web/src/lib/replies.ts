// Replies: what a reply shows of the message it answers (docs: the `replyTo` field), and how
// the excerpts of loaded replies follow their original when it is edited or deleted live.

import type { Message, ReplyRef } from '../api/types';

/** How many characters of the original a reply shows (the server's rule). */
export const EXCERPT_CHARS = 120;

/** The excerpt of a message's text: its first 120 characters (code points), `""` when deleted. */
export function excerptOf(m: Pick<Message, 'content' | 'deleted'>): string {
  if (m.deleted) return '';
  return Array.from(m.content).slice(0, EXCERPT_CHARS).join('');
}

/** What a reply to `m` shows of it. */
export function replyRefOf(m: Message): ReplyRef {
  return { id: m.id, seq: m.seq, userId: m.userId, username: m.username, excerpt: excerptOf(m) };
}

/**
 * Sets the excerpt shown by every reply to message `originalId` in `messages`. Returns
 * `messages` itself when no reply changes.
 */
export function updateReplyExcerpts(messages: readonly Message[], originalId: number, excerpt: string): Message[] {
  let out: Message[] | null = null;
  messages.forEach((m, i) => {
    const r = m.replyTo;
    if (!r || r.id !== originalId || r.excerpt === excerpt) return;
    out ??= messages.slice();
    out[i] = { ...m, replyTo: { ...r, excerpt } };
  });
  return out ?? (messages as Message[]);
}

/** Where a message with `seq` stands against a loaded window (sorted by seq). */
export function locate(messages: readonly Message[], seq: number): 'loaded' | 'older' | 'missing' {
  if (messages.some((m) => m.seq === seq)) return 'loaded';
  if (messages.length === 0 || seq < messages[0].seq) return 'older';
  return 'missing';
}

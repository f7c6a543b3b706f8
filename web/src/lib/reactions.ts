// Message reactions: how an emoji is shown, and how a `reactionChanged` frame changes a
// message. Pure functions over immutable values, like timeline.ts.

import type { Message, Reaction, ReactionChangedFrame } from '../api/types';

/** The server lists at most this many `userIds` per emoji (the first, by time). */
export const USER_IDS_CAP = 50;

/** The server's fixed list of shortcodes, with the emoji each stands for. */
export const SHORTCODES: Readonly<Record<string, string>> = {
  ':thumbsup:': '👍',
  ':thumbsdown:': '👎',
  ':heart:': '❤️',
  ':joy:': '😂',
  ':tada:': '🎉',
  ':eyes:': '👀',
  ':rocket:': '🚀',
  ':fire:': '🔥',
  ':pray:': '🙏',
  ':white_check_mark:': '✅',
  ':100:': '💯',
  ':thinking:': '🤔',
};

/** What the "add reaction" picker offers. */
export const PICKER_EMOJI: readonly string[] = ['👍', '❤️', '😂', '🎉', '👀', '🚀', '🔥', '🙏', '✅', '💯', '🤔', '👎'];

/** How a reaction's emoji is shown: a known `:shortcode:` as its emoji, anything else as it is. */
export function displayEmoji(emoji: string): string {
  return SHORTCODES[emoji] ?? emoji;
}

/** A message's reactions; `[]` for a deleted message and for servers from before reactions. */
export function reactionsOf(m: Pick<Message, 'reactions' | 'deleted'>): Reaction[] {
  return m.deleted ? [] : (m.reactions ?? []);
}

/**
 * Whether `me` has reacted with this emoji. `userIds` names only the first 50, so past that
 * the client's own record (`mine`: what this session saw the user add or remove) decides.
 */
export function hasReacted(r: Reaction, me: string, mine: readonly string[] | undefined): boolean {
  if (r.userIds.includes(me)) return true;
  return r.count > r.userIds.length && (mine?.includes(r.emoji) ?? false);
}

/**
 * One emoji's change applied to a list of reactions: its count becomes the frame's, the user
 * joins `userIds` (if there is room under the cap) or leaves it, and at 0 the emoji is gone.
 * A new emoji goes last (reactions are ordered by first use).
 */
export function applyReactionChange(
  reactions: readonly Reaction[],
  change: Pick<ReactionChangedFrame, 'emoji' | 'userId' | 'added' | 'count'>,
): Reaction[] {
  const i = reactions.findIndex((r) => r.emoji === change.emoji);
  if (change.count <= 0) return i < 0 ? reactions.slice() : reactions.filter((_, j) => j !== i);
  const cur: Reaction = i < 0 ? { emoji: change.emoji, count: 0, userIds: [] } : reactions[i];
  let userIds = cur.userIds;
  if (change.added) {
    if (!userIds.includes(change.userId) && userIds.length < USER_IDS_CAP) userIds = [...userIds, change.userId];
  } else {
    userIds = userIds.filter((u) => u !== change.userId);
  }
  // Never list more users than there are reactions (a list read before a missed removal).
  if (userIds.length > change.count) userIds = userIds.slice(0, change.count);
  const next: Reaction = { emoji: cur.emoji, count: change.count, userIds };
  if (i < 0) return [...reactions, next];
  const out = reactions.slice();
  out[i] = next;
  return out;
}

/**
 * Applies a `reactionChanged` frame to the message it names, if held and if the frame is newer
 * than the message (`rev`): a frame that a sync or a REST answer already covered changes
 * nothing. Returns `messages` itself when nothing changed.
 */
export function applyReactionFrame(messages: readonly Message[], f: ReactionChangedFrame): Message[] {
  const i = messages.findIndex((m) => m.id === f.messageId);
  if (i < 0) return messages as Message[];
  const m = messages[i];
  if (f.rev <= (m.rev ?? 0) || m.deleted) return messages as Message[];
  const out = messages.slice();
  out[i] = { ...m, rev: f.rev, reactions: applyReactionChange(m.reactions ?? [], f) };
  return out;
}

/** Two reaction lists are the same state (order included). */
export function sameReactions(a: readonly Reaction[] | undefined, b: readonly Reaction[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const p = x[i];
    const q = y[i];
    if (p.emoji !== q.emoji || p.count !== q.count || p.userIds.length !== q.userIds.length) return false;
    for (let j = 0; j < p.userIds.length; j++) if (p.userIds[j] !== q.userIds[j]) return false;
  }
  return true;
}

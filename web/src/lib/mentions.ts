// Mentions: the `@username` tokens of a message's text (shown as chips), whether a message
// mentions the viewer, and the composer's `@` autocomplete (the token being typed, the names
// that match it, the text once one is picked). Pure functions so the rules are unit-tested.
//
// The token rule is the server's: `@` at the start or after a character that cannot be part
// of a username (`[A-Za-z0-9_.-]`), then the longest run of username characters less trailing
// dots (the end of a sentence), when that is 3 to 32 characters long (a username's length).

import type { Message } from '../api/types';

/** The pseudo-name that mentions every member of a group room (its owner only). */
export const ROOM_MENTION = 'room';

const NAME_CHAR = /[A-Za-z0-9_.-]/;

export interface MentionToken {
  /** Index of the `@`. */
  start: number;
  /** Index just past the name. */
  end: number;
  /** The name as written (without `@`). */
  name: string;
}

export type Segment = { kind: 'text'; text: string } | { kind: 'mention'; text: string; name: string };

/** Every `@name` token of `content`, in order. */
export function mentionTokens(content: string): MentionToken[] {
  const out: MentionToken[] = [];
  for (let i = content.indexOf('@'); i >= 0; i = content.indexOf('@', i + 1)) {
    if (i > 0 && NAME_CHAR.test(content[i - 1])) continue;
    let end = i + 1;
    while (end < content.length && NAME_CHAR.test(content[end])) end++;
    while (end > i + 1 && content[end - 1] === '.') end--;
    const len = end - i - 1;
    if (len < 3 || len > 32) continue;
    out.push({ start: i, end, name: content.slice(i + 1, end) });
  }
  return out;
}

/**
 * `content` cut into text and mention segments; a token is a mention only when `isMention`
 * says so for its name (the message's resolved mentions decide, see `mentionChecker`).
 */
export function splitMentions(content: string, isMention: (name: string) => boolean): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const t of mentionTokens(content)) {
    if (!isMention(t.name)) continue;
    if (t.start > at) out.push({ kind: 'text', text: content.slice(at, t.start) });
    out.push({ kind: 'mention', text: content.slice(t.start, t.end), name: t.name });
    at = t.end;
  }
  if (at < content.length || out.length === 0) out.push({ kind: 'text', text: content.slice(at) });
  return out;
}

/**
 * Which tokens of `m` to show as mentions. The message carries user ids, not names, so a
 * name token counts once the server resolved at least one (a typo beside a real mention is
 * chipped too; a message whose names all missed shows plain text), and `@room` counts when
 * the server took it as one (it is plain text in direct rooms, and when refused).
 */
export function mentionChecker(m: Pick<Message, 'mentions' | 'mentionsRoom'>): (name: string) => boolean {
  const names = (m.mentions?.length ?? 0) > 0;
  const room = !!m.mentionsRoom;
  return (name) => (name.toLowerCase() === ROOM_MENTION ? room : names);
}

/** Whether `m` mentions user `userId`: named, or `@room`, by someone else, and still there. */
export function mentionsUser(m: Pick<Message, 'userId' | 'deleted' | 'mentions' | 'mentionsRoom'>, userId: string): boolean {
  if (m.deleted || m.userId === userId) return false;
  return !!m.mentionsRoom || (m.mentions?.includes(userId) ?? false);
}

// ---- the composer's autocomplete ----

export interface MentionQuery {
  /** Index of the `@` being completed. */
  start: number;
  /** What is typed after it, up to the caret (may be empty). */
  query: string;
}

export interface MentionCandidate {
  userId: string;
  username: string;
}

/** The `@name` token the caret is in (or just after), if any. */
export function mentionQueryAt(text: string, caret: number): MentionQuery | null {
  let i = caret;
  while (i > 0 && NAME_CHAR.test(text[i - 1])) i--;
  if (i === 0 || text[i - 1] !== '@') return null;
  const at = i - 1;
  if (at > 0 && NAME_CHAR.test(text[at - 1])) return null;
  return { start: at, query: text.slice(i, caret) };
}

/**
 * The candidates whose username matches `query` (case-insensitive): those that start with
 * it first, then those that contain it, each group by name; one entry per user, at most `max`.
 */
export function matchMentions(query: string, candidates: readonly MentionCandidate[], max = 8): MentionCandidate[] {
  const q = query.toLowerCase();
  const seen = new Set<string>();
  const starts: MentionCandidate[] = [];
  const contains: MentionCandidate[] = [];
  for (const c of candidates) {
    if (seen.has(c.userId)) continue;
    seen.add(c.userId);
    const name = c.username.toLowerCase();
    if (name.startsWith(q)) starts.push(c);
    else if (q && name.includes(q)) contains.push(c);
  }
  const byName = (a: MentionCandidate, b: MentionCandidate) => a.username.localeCompare(b.username, undefined, { sensitivity: 'base' });
  return [...starts.sort(byName), ...contains.sort(byName)].slice(0, max);
}

/**
 * The text once `username` is picked for the token at `q`: the whole token (also what
 * follows the caret up to the token's end) becomes `@username` and a space, and the caret
 * goes after it.
 */
export function completeMention(text: string, q: MentionQuery, caret: number, username: string): { text: string; caret: number } {
  let end = caret;
  while (end < text.length && NAME_CHAR.test(text[end])) end++;
  const rest = text.slice(end);
  const inserted = `@${username}${rest.startsWith(' ') ? '' : ' '}`;
  const next = text.slice(0, q.start) + inserted + rest;
  return { text: next, caret: q.start + inserted.length + (rest.startsWith(' ') ? 1 : 0) };
}

/**
 * Who to offer in `general` (which has no member list): the authors of the loaded messages,
 * most recent first, without the viewer.
 */
export function recentAuthors(messages: readonly Pick<Message, 'userId' | 'username' | 'deleted'>[], meId: string): MentionCandidate[] {
  const seen = new Set<string>([meId]);
  const out: MentionCandidate[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (seen.has(m.userId)) continue;
    seen.add(m.userId);
    out.push({ userId: m.userId, username: m.username });
  }
  return out;
}

// A room's message history kept in `seq` order with one entry per seq.
// Pure functions over immutable arrays so React can compare by reference.

import type { Message } from '../api/types';
import { sameReactions } from './reactions';

/** How far along a copy of a message is when two copies carry the same rev. */
function rank(m: Message): [number, number] {
  return [m.deleted ? 1 : 0, m.editedAt ? Date.parse(m.editedAt) || 0 : 0];
}

/**
 * Picks the most recent state of two copies of the same message (same seq). The higher `rev`
 * wins: it is the room revision of the message's last change, so a stale copy (a late frame,
 * an old page) never undoes an edit, a delete or a reaction; the winner's `reactions` replace
 * the other's wholesale. Same rev (or none, e.g. a local copy patched
 * after a REST call that answered 204): a deleted or later-edited copy wins.
 */
export function newerCopy(a: Message, b: Message): Message {
  const ra = a.rev ?? 0;
  const rb = b.rev ?? 0;
  if (ra !== rb) return ra > rb ? a : b;
  const [da, ea] = rank(a);
  const [db, eb] = rank(b);
  if (da !== db) return da > db ? a : b;
  if (ea !== eb) return ea > eb ? a : b;
  return b; // same state: take the later-arrived copy
}

/**
 * Merges `incoming` into `existing` (sorted by seq, unique). Returns `existing` itself when
 * nothing changed so callers can skip re-rendering.
 */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const last = existing.length ? existing[existing.length - 1].seq : 0;
  // Fast path: live traffic arrives in order, after everything we have.
  if (isStrictlyIncreasing(incoming) && incoming[0].seq > last) {
    return existing.concat(incoming);
  }
  const bySeq = new Map<number, Message>();
  for (const m of existing) bySeq.set(m.seq, m);
  let changed = false;
  for (const m of incoming) {
    const prev = bySeq.get(m.seq);
    if (!prev) {
      bySeq.set(m.seq, m);
      changed = true;
    } else {
      const winner = newerCopy(prev, m);
      if (winner !== prev && !sameState(prev, winner)) {
        bySeq.set(m.seq, winner);
        changed = true;
      }
    }
  }
  if (!changed) return existing as Message[];
  return Array.from(bySeq.values()).sort((x, y) => x.seq - y.seq);
}

/**
 * Merges changes (live frames, the change feed) into a loaded window of history. A message
 * the window does not hold is added only if it is not older than the window's first seq,
 * unless the window is the room's whole history: inserting an old message edited far back
 * would leave a hole that "load older" never fills. A `detached` window (loaded around a
 * message, its newest messages not loaded yet) takes nothing newer than its last seq either.
 */
export function mergeChanges(existing: readonly Message[], incoming: readonly Message[], wholeHistory: boolean, detached = false): Message[] {
  if (incoming.length === 0) return existing as Message[];
  // A window loaded around an old message (not reaching the newest) takes nothing past its
  // end either: "load newer" brings those, in order.
  const last = lastSeqOf(existing);
  const kept = detached ? incoming.filter((m) => m.seq <= last) : incoming;
  if (wholeHistory) return mergeMessages(existing, kept);
  const first = firstSeqOf(existing);
  if (first === undefined) return existing as Message[];
  return mergeMessages(
    existing,
    kept.filter((m) => m.seq >= first),
  );
}

function isStrictlyIncreasing(ms: readonly Message[]): boolean {
  for (let i = 1; i < ms.length; i++) if (ms[i].seq <= ms[i - 1].seq) return false;
  return true;
}

function sameState(a: Message, b: Message): boolean {
  return (
    a.id === b.id &&
    a.content === b.content &&
    a.deleted === b.deleted &&
    a.editedAt === b.editedAt &&
    a.hidden === b.hidden &&
    (a.rev ?? 0) === (b.rev ?? 0) &&
    sameReactions(a.reactions, b.reactions)
  );
}

/** Applies a partial update (edit or delete) to the message with that id, if present. */
export function patchMessage(
  existing: readonly Message[],
  patch: Partial<Message> & { id: number },
): Message[] {
  const i = existing.findIndex((m) => m.id === patch.id);
  if (i < 0) return existing as Message[];
  const current = existing[i];
  const candidate: Message = { ...current, ...stripUndefined(patch) };
  const next = newerCopy(current, candidate);
  if (next === current || sameState(current, next)) return existing as Message[];
  const copy = existing.slice();
  copy[i] = next;
  return copy;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Highest seq held, 0 when empty. */
export function lastSeqOf(ms: readonly Message[]): number {
  return ms.length ? ms[ms.length - 1].seq : 0;
}

/** Lowest seq held, or undefined when empty. */
export function firstSeqOf(ms: readonly Message[]): number | undefined {
  return ms.length ? ms[0].seq : undefined;
}

// Per-room revision cursors: the highest room revision whose changes have all been applied.
// Every change to a room's messages takes the next revision, so a live frame whose rev is
// cursor + 1 moves the cursor on, and one further ahead means a change was missed in
// between (a sync from the cursor brings it). Framework-free; ChatStore owns one.

/** What a live frame's rev means for its room. */
export type LiveRev =
  /** rev === cursor + 1: applied, the cursor moved on. */
  | 'next'
  /** rev <= cursor: already covered; apply only if newer than the message held. */
  | 'stale'
  /** rev > cursor + 1: something in between was missed; sync from the cursor. */
  | 'gap'
  /** The room has no cursor yet (its first page has not arrived). */
  | 'unknown';

export class RevCursors {
  private cursors = new Map<number, number>();
  /** The highest rev seen in a live frame per room, to tell whether a sync left it behind. */
  private highest = new Map<number, number>();

  get(roomId: number): number | undefined {
    return this.cursors.get(roomId);
  }

  /**
   * The room's first history page arrived, read at revision `rev`. Returns true when live
   * frames beyond it came in meanwhile (so a sync should follow).
   */
  init(roomId: number, rev: number): boolean {
    this.cursors.set(roomId, rev);
    return this.behind(roomId);
  }

  /** A live frame carrying `rev` arrived (message, ack, messageEdited, messageDeleted). */
  live(roomId: number, rev: number): LiveRev {
    if ((this.highest.get(roomId) ?? 0) < rev) this.highest.set(roomId, rev);
    const cursor = this.cursors.get(roomId);
    if (cursor === undefined) return 'unknown';
    if (rev === cursor + 1) {
      this.cursors.set(roomId, rev);
      return 'next';
    }
    return rev <= cursor ? 'stale' : 'gap';
  }

  /**
   * A page of the change feed was applied. It covers every change in (sinceRev, its end],
   * where its end is the room's rev when it is the last page, else the rev of its last
   * message. Returns true when more pages follow (sync again from the cursor).
   */
  page(roomId: number, page: { messages: readonly { rev: number }[]; rev: number; hasMore: boolean }): boolean {
    const cursor = this.cursors.get(roomId);
    if (cursor === undefined) return false;
    const more = page.hasMore && page.messages.length > 0;
    const end = more ? Math.max(...page.messages.map((m) => m.rev)) : page.hasMore ? cursor : page.rev;
    // Never back: live frames may have moved the cursor past this page meanwhile.
    if (end > cursor) this.cursors.set(roomId, end);
    return more;
  }

  /** The highest rev a live frame of the room carried, 0 if none. */
  seen(roomId: number): number {
    return this.highest.get(roomId) ?? 0;
  }

  /** A live frame beyond the cursor was seen: what has been synced does not cover it yet. */
  behind(roomId: number): boolean {
    const cursor = this.cursors.get(roomId);
    return cursor !== undefined && (this.highest.get(roomId) ?? 0) > cursor;
  }

  forget(roomId: number): void {
    this.cursors.delete(roomId);
    this.highest.delete(roomId);
  }
}

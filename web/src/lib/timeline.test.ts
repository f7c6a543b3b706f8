import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { firstSeqOf, lastSeqOf, mergeChanges, mergeMessages, newerCopy, patchMessage } from './timeline';
import { makeMessage } from '../test/messages';

function msg(seq: number, extra: Partial<Message> = {}): Message {
  return makeMessage({ id: 1000 + seq, seq, userId: 'u1', content: `m${seq}`, rev: seq, ...extra });
}
const seqs = (ms: Message[]) => ms.map((m) => m.seq);

describe('mergeMessages', () => {
  it('appends in-order live messages', () => {
    const out = mergeMessages([msg(1), msg(2)], [msg(3)]);
    expect(seqs(out)).toEqual([1, 2, 3]);
  });

  it('keeps seq order when messages arrive out of order', () => {
    const out = mergeMessages([msg(1), msg(4)], [msg(3), msg(2), msg(6), msg(5)]);
    expect(seqs(out)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('prepends an older page', () => {
    const out = mergeMessages([msg(51), msg(52)], [msg(49), msg(50)]);
    expect(seqs(out)).toEqual([49, 50, 51, 52]);
  });

  it('drops duplicates (same message from ack, live frame and sync)', () => {
    let tl: Message[] = [];
    tl = mergeMessages(tl, [msg(1)]);
    tl = mergeMessages(tl, [msg(2)]); // ack
    tl = mergeMessages(tl, [msg(2)]); // room broadcast
    tl = mergeMessages(tl, [msg(1), msg(2), msg(3)]); // sync overlapping
    expect(seqs(tl)).toEqual([1, 2, 3]);
  });

  it('dedups within a single incoming batch', () => {
    expect(seqs(mergeMessages([], [msg(2), msg(1), msg(2)]))).toEqual([1, 2]);
  });

  it('returns the same array when nothing changes', () => {
    const tl = [msg(1), msg(2)];
    expect(mergeMessages(tl, [msg(1)])).toBe(tl);
    expect(mergeMessages(tl, [])).toBe(tl);
  });

  it('never lets a stale copy undo an edit or a delete', () => {
    const edited = msg(2, { content: 'new', editedAt: '2025-01-01T00:05:00Z' });
    let tl = mergeMessages([msg(1), edited], [msg(2)]);
    expect(tl[1].content).toBe('new');
    tl = mergeMessages(tl, [msg(2, { deleted: true, content: '' })]);
    expect(tl[1].deleted).toBe(true);
    tl = mergeMessages(tl, [edited]);
    expect(tl[1].deleted).toBe(true);
  });

  it('takes a newer edit', () => {
    const tl = mergeMessages([msg(1)], [msg(1, { content: 'x', editedAt: '2025-01-01T01:00:00Z' })]);
    expect(tl[0].content).toBe('x');
  });
});

describe('patchMessage', () => {
  it('applies an edit by id', () => {
    const tl = [msg(1), msg(2)];
    const out = patchMessage(tl, { id: 1002, content: 'edited', editedAt: '2025-01-02T00:00:00Z' });
    expect(out[1].content).toBe('edited');
    expect(out[0]).toBe(tl[0]);
  });

  it('marks a delete', () => {
    const out = patchMessage([msg(1)], { id: 1001, deleted: true });
    expect(out[0].deleted).toBe(true);
  });

  it('ignores unknown ids', () => {
    const tl = [msg(1)];
    expect(patchMessage(tl, { id: 5, deleted: true })).toBe(tl);
  });
});

describe('helpers', () => {
  it('gives first and last seq', () => {
    expect(lastSeqOf([])).toBe(0);
    expect(firstSeqOf([])).toBeUndefined();
    expect(lastSeqOf([msg(3), msg(7)])).toBe(7);
    expect(firstSeqOf([msg(3), msg(7)])).toBe(3);
  });

  it('newerCopy prefers deleted over edited', () => {
    const a = msg(1, { editedAt: '2025-01-03T00:00:00Z' });
    const b = msg(1, { deleted: true });
    expect(newerCopy(a, b)).toBe(b);
    expect(newerCopy(b, a)).toBe(b);
  });
});

describe('rev order', () => {
  it('takes the copy with the higher rev, whatever else it says', () => {
    const deletedAt5 = msg(1, { deleted: true, content: '', rev: 5 });
    const editedAt4 = msg(1, { content: 'late edit', editedAt: '2025-01-09T00:00:00Z', rev: 4 });
    expect(newerCopy(deletedAt5, editedAt4)).toBe(deletedAt5);
    expect(newerCopy(editedAt4, deletedAt5)).toBe(deletedAt5);
    const editedAt6 = msg(1, { content: 'edit', editedAt: '2025-01-01T00:00:00Z', rev: 6 });
    expect(newerCopy(editedAt4, editedAt6)).toBe(editedAt6);
  });

  it('keeps the higher rev even when the visible state is the same', () => {
    const localDelete = msg(1, { deleted: true, content: '', rev: 1 });
    const tl = mergeMessages([localDelete], [msg(1, { deleted: true, content: '', rev: 3 })]);
    expect(tl[0].rev).toBe(3);
    // so an edit made before the delete (rev 2) cannot bring the message back
    expect(mergeMessages(tl, [msg(1, { content: 'back?', rev: 2 })])).toBe(tl);
  });
});

describe('mergeChanges', () => {
  const window = [msg(4), msg(5), msg(6)];

  it('updates held messages and adds newer ones', () => {
    const out = mergeChanges(window, [msg(5, { content: 'e', rev: 9 }), msg(7)], false);
    expect(out.map((m) => `${m.seq}:${m.content}`)).toEqual(['4:m4', '5:e', '6:m6', '7:m7']);
  });

  it('leaves out messages older than the window, so it never gets a hole', () => {
    const out = mergeChanges(window, [msg(1, { content: 'e', rev: 9 }), msg(3, { deleted: true, rev: 10 })], false);
    expect(out).toBe(window);
  });

  it('takes anything into the whole history, even an empty one', () => {
    expect(seqs(mergeChanges([], [msg(2), msg(1)], true))).toEqual([1, 2]);
    expect(mergeChanges([], [msg(1)], false)).toEqual([]);
  });

  it('a detached window (around an old message) takes nothing past its end either', () => {
    const out = mergeChanges(window, [msg(5, { content: 'e', rev: 9 }), msg(7), msg(3)], false, true);
    expect(out.map((m) => `${m.seq}:${m.content}`)).toEqual(['4:m4', '5:e', '6:m6']);
    expect(seqs(mergeChanges(window, [msg(2), msg(9)], true, true))).toEqual([2, 4, 5, 6]);
    expect(mergeChanges(window, [msg(8)], false, true)).toBe(window);
  });
});

describe('hidden messages', () => {
  it('a copy read again at the same rev replaces a hidden one (unblocked), and the other way round', () => {
    const hidden = msg(1, { hidden: 'blocked', content: '' });
    const shown = msg(1, { content: 'hello' });
    expect(mergeMessages([hidden], [shown])[0]).toBe(shown);
    const again = mergeMessages([shown], [msg(1, { hidden: 'suspended', content: 'hello' })]);
    expect(again[0].hidden).toBe('suspended');
  });
});

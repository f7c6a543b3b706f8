import { describe, expect, it } from 'vitest';
import type { Message, Reaction, ReactionChangedFrame } from '../api/types';
import {
  PICKER_EMOJI,
  SHORTCODES,
  USER_IDS_CAP,
  applyReactionChange,
  applyReactionFrame,
  displayEmoji,
  hasReacted,
  reactionsOf,
  sameReactions,
} from './reactions';
import { mergeMessages } from './timeline';
import { makeMessage } from '../test/messages';

function msg(extra: Partial<Message> = {}): Message {
  return makeMessage({ id: 7, roomId: 2, userId: 'bob', username: 'bob', content: 'hi', rev: 5, reactions: [], ...extra });
}

function frame(extra: Partial<ReactionChangedFrame>): ReactionChangedFrame {
  return { type: 'reactionChanged', roomId: 2, messageId: 7, rev: 6, emoji: '👍', userId: 'alice', added: true, count: 1, ...extra };
}

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `u${from + i}`);

describe('displayEmoji', () => {
  it('shows every shortcode of the server’s list as its emoji', () => {
    expect(displayEmoji(':thumbsup:')).toBe('👍');
    expect(displayEmoji(':white_check_mark:')).toBe('✅');
    expect(displayEmoji(':100:')).toBe('💯');
    expect(Object.keys(SHORTCODES)).toHaveLength(12);
    // The picker offers exactly the emoji the shortcodes stand for.
    expect([...Object.values(SHORTCODES)].sort()).toEqual([...PICKER_EMOJI].sort());
  });

  it('shows a Unicode emoji (modifiers, flags, variation selectors) as it is, and unknown codes verbatim', () => {
    for (const e of ['👍', '👍🏽', '🇫🇷', '❤️', '👨‍👩‍👧']) expect(displayEmoji(e)).toBe(e);
    expect(displayEmoji(':smile:')).toBe(':smile:');
    expect(displayEmoji('thumbsup')).toBe('thumbsup');
  });
});

describe('applyReactionChange', () => {
  it('adds a new emoji last, with the user and the frame’s count', () => {
    const before: Reaction[] = [{ emoji: '🎉', count: 1, userIds: ['bob'] }];
    const after = applyReactionChange(before, { emoji: '👍', userId: 'alice', added: true, count: 1 });
    expect(after).toEqual([
      { emoji: '🎉', count: 1, userIds: ['bob'] },
      { emoji: '👍', count: 1, userIds: ['alice'] },
    ]);
    expect(before).toHaveLength(1); // not mutated
  });

  it('adds a user to an existing emoji, in place, and never twice', () => {
    const before: Reaction[] = [{ emoji: '👍', count: 1, userIds: ['bob'] }, { emoji: '🎉', count: 1, userIds: ['bob'] }];
    const after = applyReactionChange(before, { emoji: '👍', userId: 'alice', added: true, count: 2 });
    expect(after[0]).toEqual({ emoji: '👍', count: 2, userIds: ['bob', 'alice'] });
    expect(after[1]).toBe(before[1]);
    expect(applyReactionChange(after, { emoji: '👍', userId: 'alice', added: true, count: 2 })[0].userIds).toEqual(['bob', 'alice']);
  });

  it('removes a user and takes the count from the frame', () => {
    const before: Reaction[] = [{ emoji: '👍', count: 3, userIds: ['bob', 'alice', 'carol'] }];
    expect(applyReactionChange(before, { emoji: '👍', userId: 'alice', added: false, count: 2 })).toEqual([
      { emoji: '👍', count: 2, userIds: ['bob', 'carol'] },
    ]);
  });

  it('drops the chip when the count reaches 0', () => {
    const before: Reaction[] = [{ emoji: '👍', count: 1, userIds: ['alice'] }, { emoji: '🎉', count: 1, userIds: ['bob'] }];
    expect(applyReactionChange(before, { emoji: '👍', userId: 'alice', added: false, count: 0 })).toEqual([
      { emoji: '🎉', count: 1, userIds: ['bob'] },
    ]);
    // A removal of an emoji not held (and at 0) adds nothing.
    expect(applyReactionChange(before, { emoji: '🚀', userId: 'alice', added: false, count: 0 })).toEqual(before);
  });

  it('lists at most the first 50 users: the 51st counts but is not listed', () => {
    const before: Reaction[] = [{ emoji: '👍', count: USER_IDS_CAP, userIds: ids(USER_IDS_CAP) }];
    const after = applyReactionChange(before, { emoji: '👍', userId: 'late', added: true, count: USER_IDS_CAP + 1 });
    expect(after[0].count).toBe(51);
    expect(after[0].userIds).toHaveLength(50);
    expect(after[0].userIds).not.toContain('late');
    // The late one leaving changes only the count; a listed one leaving frees a place.
    const gone = applyReactionChange(after, { emoji: '👍', userId: 'late', added: false, count: 50 });
    expect(gone[0]).toEqual({ emoji: '👍', count: 50, userIds: ids(50) });
    const listedGone = applyReactionChange(after, { emoji: '👍', userId: 'u0', added: false, count: 50 });
    expect(listedGone[0].userIds).toEqual(ids(49, 1));
  });

  it('keeps a shortcode and its emoji apart (they are different reactions to the server)', () => {
    const before: Reaction[] = [{ emoji: ':thumbsup:', count: 1, userIds: ['bob'] }];
    const after = applyReactionChange(before, { emoji: '👍', userId: 'alice', added: true, count: 1 });
    expect(after.map((r) => r.emoji)).toEqual([':thumbsup:', '👍']);
  });
});

describe('applyReactionFrame', () => {
  it('applies a newer frame to the message it names and moves its rev', () => {
    const ms = [msg({ id: 6, seq: 1, rev: 2 }), msg({ id: 7, seq: 2, rev: 5 })];
    const out = applyReactionFrame(ms, frame({ rev: 6 }));
    expect(out[1]).toMatchObject({ rev: 6, reactions: [{ emoji: '👍', count: 1, userIds: ['alice'] }] });
    expect(out[0]).toBe(ms[0]);
  });

  it('ignores a frame not newer than the message (a sync or a REST answer already had it)', () => {
    const ms = [msg({ rev: 6, reactions: [{ emoji: '👍', count: 1, userIds: ['alice'] }] })];
    expect(applyReactionFrame(ms, frame({ rev: 6 }))).toBe(ms);
    expect(applyReactionFrame(ms, frame({ rev: 4, added: false, count: 0 }))).toBe(ms);
  });

  it('ignores frames for messages not held, and for deleted ones', () => {
    const ms = [msg()];
    expect(applyReactionFrame(ms, frame({ messageId: 99 }))).toBe(ms);
    const del = [msg({ deleted: true, content: '' })];
    expect(applyReactionFrame(del, frame({ rev: 9 }))).toBe(del);
  });

  it('reads a message without `reactions` (an older server) as having none', () => {
    const ms = [msg({ reactions: undefined })];
    expect(applyReactionFrame(ms, frame({}))[0].reactions).toEqual([{ emoji: '👍', count: 1, userIds: ['alice'] }]);
  });
});

describe('a message coming back whole replaces its reactions', () => {
  it('the higher rev wins wholesale', () => {
    const live = msg({ rev: 6, reactions: [{ emoji: '👍', count: 1, userIds: ['alice'] }] });
    const synced = msg({ rev: 8, reactions: [{ emoji: '🎉', count: 2, userIds: ['bob', 'carol'] }] });
    expect(mergeMessages([live], [synced])[0].reactions).toEqual(synced.reactions);
    expect(mergeMessages([synced], [live])[0].reactions).toEqual(synced.reactions);
  });

  it('at the same rev, the copy from the server replaces one patched from frames', () => {
    // Patched from frames: a listed user left, so the 51st is missing from the list.
    const patched = msg({ rev: 9, reactions: [{ emoji: '👍', count: 50, userIds: ids(49, 1) }] });
    const whole = msg({ rev: 9, reactions: [{ emoji: '👍', count: 50, userIds: [...ids(49, 1), 'late'] }] });
    expect(mergeMessages([patched], [whole])[0]).toBe(whole);
  });
});

describe('hasReacted', () => {
  it('is true when listed, and past the cap falls back to what this session saw', () => {
    const listed: Reaction = { emoji: '👍', count: 2, userIds: ['me', 'bob'] };
    expect(hasReacted(listed, 'me', undefined)).toBe(true);
    const full: Reaction = { emoji: '👍', count: 60, userIds: ids(50) };
    expect(hasReacted(full, 'me', undefined)).toBe(false);
    expect(hasReacted(full, 'me', ['👍'])).toBe(true);
    // A complete list that leaves the user out is the truth, whatever the session saw.
    expect(hasReacted({ emoji: '👍', count: 1, userIds: ['bob'] }, 'me', ['👍'])).toBe(false);
  });

  it('reactionsOf: none on a deleted message', () => {
    expect(reactionsOf(msg({ deleted: true, reactions: [{ emoji: '👍', count: 1, userIds: ['a'] }] }))).toEqual([]);
    expect(reactionsOf(msg({ reactions: undefined }))).toEqual([]);
  });

  it('sameReactions compares order, counts and users', () => {
    const a: Reaction[] = [{ emoji: '👍', count: 1, userIds: ['x'] }];
    expect(sameReactions(a, [{ emoji: '👍', count: 1, userIds: ['x'] }])).toBe(true);
    expect(sameReactions(a, [{ emoji: '👍', count: 2, userIds: ['x'] }])).toBe(false);
    expect(sameReactions(a, [{ emoji: '👍', count: 1, userIds: ['y'] }])).toBe(false);
    expect(sameReactions(undefined, [])).toBe(true);
  });
});

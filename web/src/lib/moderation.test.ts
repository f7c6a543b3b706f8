import { describe, expect, it } from 'vitest';
import {
  auditDetails,
  hiddenReason,
  inForce,
  isAdmin,
  isStaff,
  memberRights,
  memberRole,
  mutedText,
  reportRoomWords,
  statText,
  suspendedText,
  untilFrom,
  untilInMessage,
  untilWords,
} from './moderation';

const NOW = new Date('2025-06-10T12:00:00Z');
const member = (userId: string, role?: 'owner' | 'moderator' | 'member', isOwner = role === 'owner') => ({ userId, role, isOwner });

describe('roles', () => {
  it('staff are moderators and admins; admins only admins', () => {
    expect([isStaff('user'), isStaff('moderator'), isStaff('admin'), isStaff(undefined)]).toEqual([false, true, true, false]);
    expect([isAdmin('moderator'), isAdmin('admin')]).toEqual([false, true]);
  });

  it('reads a member’s room role, from isOwner on a server from before roles', () => {
    expect(memberRole({ role: 'moderator', isOwner: false })).toBe('moderator');
    expect(memberRole({ isOwner: true })).toBe('owner');
    expect(memberRole({ isOwner: false })).toBe('member');
  });
});

describe('memberRights', () => {
  const owner = { id: 'o', isOwner: true, canModerate: true };
  const mod = { id: 'm', isOwner: false, canModerate: true };
  const plain = { id: 'p', isOwner: false, canModerate: false };
  const staff = { id: 's', role: 'moderator' as const, isOwner: false, canModerate: true };

  it('the owner moderates everyone but themself and names moderators', () => {
    expect(memberRights(owner, member('x', 'member'))).toEqual({ moderate: true, setRole: true });
    expect(memberRights(owner, member('m', 'moderator'))).toEqual({ moderate: true, setRole: true });
    expect(memberRights(owner, member('o', 'owner'))).toEqual({ moderate: false, setRole: false });
  });

  it('a room moderator acts on plain members only, and names nobody', () => {
    expect(memberRights(mod, member('x', 'member'))).toEqual({ moderate: true, setRole: false });
    expect(memberRights(mod, member('m2', 'moderator'))).toEqual({ moderate: false, setRole: false });
    expect(memberRights(mod, member('o', 'owner'))).toEqual({ moderate: false, setRole: false });
    expect(memberRights(mod, member('m', 'moderator'))).toEqual({ moderate: false, setRole: false });
  });

  it('staff act as the owner would; a plain member does nothing', () => {
    expect(memberRights(staff, member('m2', 'moderator'))).toEqual({ moderate: true, setRole: true });
    expect(memberRights(staff, member('o', 'owner'))).toEqual({ moderate: false, setRole: false });
    expect(memberRights(plain, member('x', 'member'))).toEqual({ moderate: false, setRole: false });
  });
});

describe('times and words', () => {
  it('a mute is in force until its end', () => {
    expect(inForce('2025-06-10T12:00:01Z', NOW.getTime())).toBe(true);
    expect(inForce('2025-06-10T12:00:00Z', NOW.getTime())).toBe(false);
    expect(inForce(null, NOW.getTime())).toBe(false);
    expect(inForce('garbage', NOW.getTime())).toBe(false);
  });

  it('until: a time, or until further notice', () => {
    expect(untilWords(null, NOW)).toBe('until further notice');
    expect(untilWords('2025-06-10T13:30:00Z', NOW)).toMatch(/^until \d{1,2}:\d{2}/);
    expect(untilWords('2025-07-01T13:30:00Z', NOW)).toMatch(/^until .*Jul/);
    expect(untilFrom(3600, NOW.getTime())).toBe('2025-06-10T13:00:00.000Z');
    expect(untilFrom(null, NOW.getTime())).toBeNull();
  });

  it('says a suspension with its end and reason', () => {
    expect(suspendedText(null, 'spam', NOW)).toBe('This account is suspended until further notice. Reason: spam');
    expect(suspendedText('2025-07-01T13:30:00Z', undefined, NOW)).toMatch(/^This account is suspended until .*Jul.*\.$/);
  });

  it('says a mute with its end, or without one', () => {
    expect(mutedText('2025-07-01T13:30:00Z', NOW)).toMatch(/^You are muted in this room until .*Jul.*\.$/);
    expect(mutedText(null, NOW)).toBe('You are muted in this room.');
  });
});

describe('hiddenReason', () => {
  const blocked = new Set(['b']);
  it('what the server said comes first; a live message of a blocked author is hidden too', () => {
    expect(hiddenReason({ hidden: 'suspended', userId: 'x', deleted: false }, blocked, 'me')).toBe('suspended');
    expect(hiddenReason({ userId: 'b', deleted: false }, blocked, 'me')).toBe('blocked');
    expect(hiddenReason({ userId: 'x', deleted: false }, blocked, 'me')).toBeUndefined();
  });

  it('never one’s own, never a deleted message', () => {
    expect(hiddenReason({ userId: 'me', deleted: false }, new Set(['me']), 'me')).toBeUndefined();
    expect(hiddenReason({ userId: 'b', deleted: true, hidden: 'blocked' }, blocked, 'me')).toBeUndefined();
  });
});

describe('admin page words', () => {
  it('a missing figure is a dash', () => {
    expect(statText(null)).toBe('—');
    expect(statText(undefined)).toBe('—');
    expect(statText(0)).toBe('0');
    expect(statText(12345)).toBe('12,345');
  });

  it('audit details in words', () => {
    expect(auditDetails({ action: 'role.change', details: { from: 'user', to: 'moderator' } })).toBe('user → moderator');
    expect(auditDetails({ action: 'suspension.create', details: { until: null, hideMessages: true } }, NOW)).toBe('until further notice, messages hidden');
    expect(auditDetails({ action: 'member.role', details: { role: 'moderator' } })).toBe('now moderator');
    expect(auditDetails({ action: 'report.resolve', details: { reportIds: [3, 4], resolution: 'delete_message' } })).toBe('Message deleted; reports 3, 4');
    expect(auditDetails({ action: 'member.mute', details: { until: '2025-07-01T13:30:00Z' } }, NOW)).toMatch(/^until .*Jul/);
    expect(auditDetails({ action: 'suspension.lift', details: null })).toBe('');
    expect(auditDetails({ action: 'something.new', details: { x: 1 } })).toBe('');
  });

  it('where a reported message is', () => {
    expect(reportRoomWords({ id: 1, name: null, kind: 'general' })).toBe('general');
    expect(reportRoomWords({ id: 2, name: 'team', kind: 'group' })).toBe('#team');
    expect(reportRoomWords({ id: 3, name: null, kind: 'direct' })).toBe('a direct conversation');
  });
});

describe('untilInMessage', () => {
  it('finds the RFC 3339 end in a socket refusal’s words', () => {
    expect(untilInMessage('you are muted in this room until 2025-06-10T13:00:00Z')).toBe('2025-06-10T13:00:00Z');
    expect(untilInMessage('muted until 2025-06-10T13:00:00.123+02:00, sorry')).toBe('2025-06-10T13:00:00.123+02:00');
    expect(untilInMessage('you are muted')).toBeNull();
    expect(untilInMessage(undefined)).toBeNull();
  });
});

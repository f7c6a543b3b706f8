// Moderation as the app shows it: who may do what to whom (the server decides; this only
// chooses which buttons to offer), the words for roles, mutes, suspensions, hidden messages,
// audit entries and report resolutions, and the durations the dialogs offer. Pure functions,
// unit-tested.

import type { AdminStats, AuditEntry, HiddenReason, InstanceRole, Member, Message, Report, ReportAction, RoomRole } from '../api/types';
import { formatTime } from './format';

// ---- roles ----

/** Moderators and admins: they see the Admin page, the report queue and the audit log. */
export function isStaff(role: InstanceRole | undefined | null): boolean {
  return role === 'moderator' || role === 'admin';
}

export function isAdmin(role: InstanceRole | undefined | null): boolean {
  return role === 'admin';
}

export const ROLE_LABELS: Record<InstanceRole, string> = { user: 'User', moderator: 'Moderator', admin: 'Admin' };

/** A member's room role (a server from before moderation says only `isOwner`). */
export function memberRole(m: Pick<Member, 'role' | 'isOwner'>): RoomRole {
  return m.role ?? (m.isOwner ? 'owner' : 'member');
}

/** What the viewer of a group room's member list may do to one member. */
export interface MemberRights {
  /** Mute, unmute, remove from the room. */
  moderate: boolean;
  /** Make moderator / remove moderator. */
  setRole: boolean;
}

const NO_RIGHTS: MemberRights = { moderate: false, setRole: false };

/**
 * The buttons a member row offers. The owner and staff act on anyone but the owner; a room
 * moderator on plain members only; nobody on themself. Setting roles is the owner's (and
 * staff's). The server checks all of it again (and refuses staff targets, which the list
 * cannot tell).
 */
export function memberRights(
  viewer: { id: string; role?: InstanceRole; isOwner: boolean; canModerate: boolean },
  target: Pick<Member, 'userId' | 'role' | 'isOwner'>,
): MemberRights {
  const role = memberRole(target);
  if (target.userId === viewer.id || role === 'owner') return NO_RIGHTS;
  const senior = viewer.isOwner || isStaff(viewer.role);
  return {
    moderate: viewer.canModerate && (role !== 'moderator' || senior),
    setRole: senior,
  };
}

// ---- time ----

/** Whether a mute (or a suspension) ending at `until` is still in force. */
export function inForce(until: string | null | undefined, now = Date.now()): boolean {
  if (!until) return false;
  const t = Date.parse(until);
  return Number.isFinite(t) && t > now;
}

/** "until 14:05", "until 3 Jun, 14:05"; null or absent: "until further notice". */
export function untilWords(until: string | null | undefined, now: Date = new Date()): string {
  const when = until ? formatTime(until, now) : '';
  return when ? `until ${when}` : 'until further notice';
}

/** An ISO time `seconds` from `now`; null (indefinite) stays null. */
export function untilFrom(seconds: number | null, now = Date.now()): string | null {
  return seconds === null ? null : new Date(now + seconds * 1000).toISOString();
}

export interface DurationOption {
  label: string;
  /** null: indefinite. */
  seconds: number | null;
}

export const MUTE_DURATIONS: readonly DurationOption[] = [
  { label: '10 minutes', seconds: 600 },
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
];

export const SUSPEND_DURATIONS: readonly DurationOption[] = [
  { label: '1 hour', seconds: 3_600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
  { label: 'Indefinitely (until lifted)', seconds: null },
];

// ---- what people read ----

/** The login page's words for a suspended account (problem `account_suspended`). */
export function suspendedText(until: string | null | undefined, reason?: string | null, now: Date = new Date()): string {
  const base = `This account is suspended ${untilWords(until, now)}.`;
  return reason ? `${base} Reason: ${reason}` : base;
}

/**
 * The end of a mute as a socket's `muted` error says it in words ("… until 2025-06-10T13:00:00Z"):
 * the frame has no field for it.
 */
export function untilInMessage(message: string | undefined): string | null {
  const m = message?.match(/until (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))/);
  return m && Number.isFinite(Date.parse(m[1])) ? m[1] : null;
}

/** The composer's words while the viewer is muted; `until` null: not known yet. */
export function mutedText(until: string | null | undefined, now: Date = new Date()): string {
  const when = until ? formatTime(until, now) : '';
  return when ? `You are muted in this room until ${when}.` : 'You are muted in this room.';
}

export const HIDDEN_TEXT: Record<HiddenReason, string> = {
  blocked: 'Message from a blocked user',
  suspended: 'Message hidden by a moderator',
};

/**
 * Why the viewer does not see a message, if they do not: what the server said (`hidden`), or,
 * for a live frame (never filtered by the server), its author is on the viewer's block list.
 * A deleted message is just deleted.
 */
export function hiddenReason(m: Pick<Message, 'hidden' | 'userId' | 'deleted'>, blocked: ReadonlySet<string>, meId: string): HiddenReason | undefined {
  if (m.deleted) return undefined;
  if (m.hidden) return m.hidden;
  return m.userId !== meId && blocked.has(m.userId) ? 'blocked' : undefined;
}

// ---- the admin page ----

/** The Overview tab's figures, in order. */
export const STAT_FIELDS: readonly { key: keyof AdminStats; label: string }[] = [
  { key: 'users', label: 'Users' },
  { key: 'suspendedUsers', label: 'Suspended' },
  { key: 'admins', label: 'Admins' },
  { key: 'moderators', label: 'Moderators' },
  { key: 'rooms', label: 'Group rooms' },
  { key: 'directRooms', label: 'Direct conversations' },
  { key: 'messages', label: 'Messages' },
  { key: 'messagesLast24h', label: 'Messages (last 24 h)' },
  { key: 'openReports', label: 'Open reports' },
  { key: 'onlineUsers', label: 'Online users' },
  { key: 'connections', label: 'Connections' },
];

/** A figure, or "—" where the service that knows it did not answer. */
export function statText(v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toLocaleString('en') : '—';
}

export const AUDIT_ACTIONS: Record<string, string> = {
  'role.change': 'Role changed',
  'suspension.create': 'Account suspended',
  'suspension.lift': 'Suspension lifted',
  'message.delete': 'Message deleted',
  'member.remove': 'Member removed',
  'member.mute': 'Member muted',
  'member.unmute': 'Member unmuted',
  'member.role': 'Room role changed',
  'report.resolve': 'Report resolved',
};

export function auditActionLabel(action: string): string {
  return AUDIT_ACTIONS[action] ?? action;
}

export const REPORT_ACTIONS: Record<ReportAction, string> = {
  dismiss: 'Dismissed',
  delete_message: 'Message deleted',
  mute: 'Author muted',
  suspend: 'Author suspended',
};

/** What an audit entry's `details` say, in words ("" when nothing to add). */
export function auditDetails(e: Pick<AuditEntry, 'action' | 'details'>, now: Date = new Date()): string {
  const d = e.details ?? {};
  const str = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  switch (e.action) {
    case 'role.change':
      return str('from') && str('to') ? `${roleWord(str('from'))} → ${roleWord(str('to'))}` : '';
    case 'suspension.create': {
      const parts = [untilWords(str('until') ?? null, now)];
      if (d.hideMessages === true) parts.push('messages hidden');
      return parts.join(', ');
    }
    case 'member.mute':
      return str('until') ? untilWords(str('until'), now) : '';
    case 'member.role':
      return str('role') ? `now ${str('role')}` : '';
    case 'report.resolve': {
      const resolution = str('resolution');
      const ids = Array.isArray(d.reportIds) ? (d.reportIds as unknown[]).map(String) : [];
      const parts: string[] = [];
      if (resolution) parts.push(REPORT_ACTIONS[resolution as ReportAction] ?? resolution);
      if (ids.length) parts.push(`report${ids.length === 1 ? '' : 's'} ${ids.join(', ')}`);
      return parts.join('; ');
    }
    default:
      return '';
  }
}

function roleWord(r: string | undefined): string {
  return r && r in ROLE_LABELS ? ROLE_LABELS[r as InstanceRole].toLowerCase() : r ?? '';
}

/** Where a reported message is, in words: "general", "#room", "a direct conversation". */
export function reportRoomWords(room: Report['room']): string {
  if (room.kind === 'general') return 'general';
  if (room.kind === 'direct') return 'a direct conversation';
  return room.name ? `#${room.name}` : `room ${room.id}`;
}

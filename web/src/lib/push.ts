// Notifications, the pure parts: the push payload → what the service worker shows, the URL a
// click opens, which window it goes to, the VAPID key's base64url → bytes, and mute times.
// Used by the service worker (src/sw.ts) and the settings panel; unit-tested. The payload is
// chat-service's (docs/architecture.md, "Notifications").

import type { NotificationLevel } from '../api/types';

/** What the service worker passes to `registration.showNotification(title, options)`. */
export interface ShownNotification {
  title: string;
  options: {
    body: string;
    tag: string;
    /** A room's follow-up replaces its earlier notification and still alerts. */
    renotify: boolean;
    icon: string;
    timestamp?: number;
    data: { url: string; roomId: number | null; seq: number | null };
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/**
 * The app path a notification opens: the payload's `url` when it is a path of this app
 * (never another origin, never `//host`), else the room at the message, else home.
 */
export function notificationPath(p: { url?: unknown; roomId?: unknown; seq?: unknown }): string {
  const url = str(p.url);
  if (url && /^\/(?![/\\])/.test(url) && !/[\s\\]/.test(url)) return url;
  const roomId = num(p.roomId);
  const seq = num(p.seq);
  if (roomId !== null) return seq !== null ? `/chat/${roomId}?seq=${seq}` : `/chat/${roomId}`;
  return '/';
}

/**
 * The notification for a push payload (JSON, or text that is not JSON: shown as it is). A
 * payload without a title still shows something: a push must end in a notification
 * (`userVisibleOnly`).
 */
export function notificationFor(payload: unknown): ShownNotification {
  const p = (payload && typeof payload === 'object' ? payload : { body: typeof payload === 'string' ? payload : '' }) as Record<string, unknown>;
  const roomId = num(p.roomId);
  const count = num(p.count) ?? 1;
  const sender = str(p.senderUsername);
  const title = str(p.title) ?? (sender ? sender : 'Cloud Chat');
  const body = str(p.body) ?? (count > 1 ? `${count} new messages` : 'New message');
  const tag = str(p.tag) ?? (roomId !== null ? `room-${roomId}` : 'cloudchat');
  return {
    title,
    options: {
      body,
      tag,
      renotify: true,
      icon: '/favicon.svg',
      data: { url: notificationPath(p), roomId, seq: num(p.seq) },
    },
  };
}

/** What a window looks like to the service worker (`WindowClient`). */
export interface WindowLike {
  url: string;
  focused?: boolean;
  visibilityState?: string;
}

/**
 * The window a click goes to: one of this app's (same origin), preferring the focused one,
 * then a visible one, then the first; undefined when none is open (a new one is opened).
 */
export function pickWindow<W extends WindowLike>(windows: readonly W[], origin: string): W | undefined {
  const ours = windows.filter((w) => {
    try {
      return new URL(w.url).origin === origin;
    } catch {
      return false;
    }
  });
  return ours.find((w) => w.focused) ?? ours.find((w) => w.visibilityState === 'visible') ?? ours[0];
}

/** The message a service worker posts to a window to make it open `url` (an app path). */
export interface OpenMessage {
  type: 'cloudchat:open';
  url: string;
}

export function openMessage(url: string): OpenMessage {
  return { type: 'cloudchat:open', url };
}

/** The app path of an `OpenMessage` received by a page, if it is one (and a safe path). */
export function openMessagePath(data: unknown): string | undefined {
  if (!data || typeof data !== 'object' || (data as OpenMessage).type !== 'cloudchat:open') return undefined;
  const url = (data as OpenMessage).url;
  return notificationPath({ url }) === url ? url : undefined;
}

/** base64url (with or without padding) → bytes: the VAPID key for `pushManager.subscribe`. */
export function base64UrlToBytes(s: string): Uint8Array<ArrayBuffer> {
  const clean = s.trim().replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(clean) || clean.length % 4 === 1) throw new Error('not base64url');
  const b64 = clean.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (clean.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Mute choices in the settings. `forever` is "until I unmute". */
export type MuteChoice = '1h' | '8h' | '24h' | 'forever';

/** "Until I unmute": a time no one reaches. */
export const MUTED_FOREVER = '9999-12-31T23:59:59Z';
const HOURS: Record<Exclude<MuteChoice, 'forever'>, number> = { '1h': 1, '8h': 8, '24h': 24 };

/** The `mutedUntil` to send for a choice (null: unmute). */
export function mutedUntilFor(choice: MuteChoice | null, now: number = Date.now()): string | null {
  if (choice === null) return null;
  if (choice === 'forever') return MUTED_FOREVER;
  return new Date(now + HOURS[choice] * 3_600_000).toISOString();
}

/** Whether `mutedUntil` still mutes (a past time means not muted). */
export function isMuted(mutedUntil: string | null | undefined, now: number = Date.now()): boolean {
  if (!mutedUntil) return false;
  const t = Date.parse(mutedUntil);
  return Number.isFinite(t) && t > now;
}

/** "Not muted", "Muted until you unmute", "Muted until 14:05" / "Muted until 3 Dec, 09:00". */
export function muteText(mutedUntil: string | null | undefined, now: number = Date.now(), format: (iso: string) => string = (iso) => iso): string {
  if (!isMuted(mutedUntil, now)) return 'Not muted';
  const t = Date.parse(mutedUntil!);
  if (t - now > 50 * 365 * 86_400_000) return 'Muted until you unmute';
  return `Muted until ${format(mutedUntil!)}`;
}

export const LEVEL_TEXT: Record<NotificationLevel, string> = {
  all: 'All messages',
  mentions: 'Direct messages and mentions',
  none: 'Nothing',
};

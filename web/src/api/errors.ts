// Errors from the API (RFC 9457 problem+json) turned into something a form can show.

import { mutedText, suspendedText } from '../lib/moderation';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string | undefined,
    /** Per-field messages, keyed by the JSON field name. */
    readonly fieldErrors: Record<string, string> = {},
    /** Seconds from Retry-After, on 429. */
    readonly retryAfter?: number,
    /** The problem's other members (RFC 9457 extensions): `challenge` of `mfa_required`, `until` of `muted`, `suspendedUntil` and `reason` of `account_suspended`. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail || title || `Request failed (${status})`);
    this.name = 'ApiError';
  }

  /** What to show the user. */
  get userMessage(): string {
    if (this.code === 'account_suspended') return suspendedText(this.extra('suspendedUntil'), this.extra('reason'));
    if (this.code === 'muted') return mutedText(this.extra('until'));
    const plain = PLAIN_WORDS[this.code];
    if (plain) return plain;
    if (this.status === 429) {
      const wait = this.retryAfter ? ` Try again in ${this.retryAfter} s.` : ' Try again in a moment.';
      // The server's own wording speaks of headers; say it for people.
      if (this.code === 'rate_limited') return `You are doing that too often.${wait}`;
      return (this.detail || 'Too many attempts.') + (this.detail?.includes('again') ? '' : wait);
    }
    if (this.status === 0) return this.detail || 'Cannot reach the server. Check your connection.';
    if (this.status >= 500 && !this.detail) {
      return `The server is having trouble (${this.status}${this.title ? ` ${this.title}` : ''}). Try again in a moment.`;
    }
    return this.detail || this.title || `Request failed (${this.status}).`;
  }

  /** A string extension member, if the problem has one. */
  extra(name: string): string | undefined {
    const v = this.extensions[name];
    return typeof v === 'string' ? v : undefined;
  }
}

/** Refusals the user can act on, said in the app's own words whatever the server's detail. */
const PLAIN_WORDS: Record<string, string> = {
  too_many_rooms_owned: 'You own as many rooms as one person may. Delete a room you no longer need, then try again.',
  too_many_rooms: 'That person is already in as many rooms as one person may join. They need to leave a room first.',
  room_full: 'This room has as many members as a room may have. Remove someone before adding more.',
  too_many_reactions: 'This message has as many different reactions as it may have. Use one of those.',
  invalid_mfa_code: 'That code is wrong or was already used. Enter the current code from your app, or a recovery code.',
  mfa_code_required: 'Enter the code from your authenticator app, or a recovery code.',
  invalid_mfa_challenge: 'This sign-in expired or had too many wrong codes. Log in again.',
  // moderation
  staff_required: 'Only moderators and administrators can do that.',
  admin_required: 'Only administrators can do that.',
  moderator_required: 'Only the moderators of this room can do that.',
  cannot_target_self: 'You cannot do that to yourself.',
  target_is_admin: 'Administrators cannot be suspended. Change their role first.',
  blocked: 'You cannot message this person: one of you has blocked the other.',
  too_many_blocks: 'You have blocked as many people as you may. Unblock someone first.',
  already_reported: 'You have already reported this message. A moderator will look at it.',
  report_resolved: 'This report has already been resolved.',
  report_not_found: 'This report no longer exists.',
  email_unverified: 'Verify your e-mail address to post: open the link we sent you.',
  invalid_verification_token: 'This link is invalid, has expired, was already used, or was sent to an earlier address. Ask for a new one.',
  auth_unavailable: 'The account service is not answering right now. Try again in a moment.',
  // account deletion
  last_admin: 'You are the only administrator. Make someone else an administrator before deleting your account.',
};

/** What the log-in page says after an account's deletion. */
export const ACCOUNT_DELETED_TEXT = 'Your account has been deleted.';

/** Why the session ended after `DELETE /users/me` succeeded (the log-in page shows it). */
export function accountDeleted(): ApiError {
  return new ApiError(204, 'account_deleted', 'Account deleted', ACCOUNT_DELETED_TEXT);
}


/**
 * Field errors may come as `[{field, message}]`, `[{name, reason}]`, `{field: "msg"}` or
 * `{field: ["msg", ...]}`; all become `{field: "msg"}`.
 */
export function normalizeFieldErrors(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const e of raw) {
      if (!e || typeof e !== 'object') continue;
      const o = e as Record<string, unknown>;
      const field = firstString(o.field, o.name, o.pointer, o.path);
      const msg = firstString(o.message, o.detail, o.reason, o.code);
      if (field) out[cleanField(field)] = msg ?? 'Invalid value';
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const msg = Array.isArray(v) ? firstString(...v) : firstString(v, (v as Record<string, unknown> | null)?.message);
      out[cleanField(k)] = msg ?? 'Invalid value';
    }
  }
  return out;
}

function firstString(...vs: unknown[]): string | undefined {
  for (const v of vs) if (typeof v === 'string' && v.length) return v;
  return undefined;
}

/** "/password" (JSON pointer) or "body.password" → "password". */
function cleanField(f: string): string {
  const parts = f.split(/[/.]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : f;
}

export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    const text = await res.text();
    if (text) body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (e.g. a proxy's HTML error page): fall back to the status line
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(
    res.status,
    typeof body.code === 'string' ? body.code : `http_${res.status}`,
    typeof body.title === 'string' ? body.title : res.statusText,
    typeof body.detail === 'string' ? body.detail : undefined,
    normalizeFieldErrors(body.errors ?? body.fields ?? body.invalidParams ?? body['invalid-params']),
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
    body,
  );
}

export function networkError(cause: unknown): ApiError {
  const e = new ApiError(0, 'network_error', 'Network error', 'Cannot reach the server. Check your connection.');
  (e as { cause?: unknown }).cause = cause;
  return e;
}

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.userMessage;
  if (e instanceof Error) return e.message;
  return String(e);
}

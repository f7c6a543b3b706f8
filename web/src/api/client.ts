// HTTP client for the public API. The access token lives only in this object (memory);
// the refresh token is the HttpOnly cookie at Path=/auth, which the browser sends on
// /auth/* calls. A 401 on an authenticated call triggers one refresh and one retry.
// Files: uploads go over XMLHttpRequest (progress events, abort), and after every log-in and
// refresh a cookie scoped to /files is asked for, so <img> and download links need no header.

import { ApiError, accountDeleted, errorFromResponse, networkError } from './errors';
import { endsWithEndLine, exportFileName } from '../lib/dataExport';
import { searchParams } from '../lib/search';
import type { SsoStatus } from '../lib/sso';
import type {
  AdminStats,
  AdminUser,
  AdminUsersPage,
  AdminUsersQuery,
  AuditPage,
  AuditQuery,
  BlockedUser,
  ChangesPage,
  InstanceRole,
  LoginAnswer,
  Member,
  MembersPage,
  MentionsPage,
  Message,
  MessagesPage,
  NotificationSettings,
  PublicUser,
  PushSubscriptionBody,
  PushSubscriptionView,
  ReadMarker,
  Report,
  ReportsPage,
  ReportsQuery,
  ResolveReport,
  Room,
  RoomMute,
  RoomRole,
  RoomNotificationSettings,
  SearchPage,
  SearchQuery,
  Session,
  Ticket,
  TotpEnrolment,
  Upload,
  User,
} from './types';

type Fetch = typeof fetch;

/** Members asked for per page (the server allows up to 200). */
export const MEMBERS_PAGE = 100;
/** Runs `fn` while holding a lock shared by every tab of this origin. */
type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export interface ApiClientOptions {
  baseUrl: string;
  fetch?: Fetch;
  lock?: LockRunner;
  /** Refresh this long before the access token expires. */
  refreshMarginMs?: number;
  /**
   * Ask for the /files cookie (`POST /files/cookie`) after every log-in and refresh, and drop
   * it on log-out (the app does; off by default so tests see only the calls they make).
   */
  filesCookie?: boolean;
  /** Makes the XMLHttpRequest an upload goes over (tests pass a fake). */
  xhr?: () => XhrLike;
}

/** The part of XMLHttpRequest an upload uses. */
export interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: FormData): void;
  abort(): void;
  getResponseHeader(name: string): string | null;
  readonly status: number;
  readonly responseText: string;
  readonly upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  ontimeout: (() => void) | null;
}

/** An upload under way: its answer, and a way to cancel it (the promise then rejects with an AbortError). */
export interface UploadHandle {
  promise: Promise<Upload>;
  abort(): void;
}

/** What the upload needs of a file (a browser File is one). */
export type UploadFile = Blob & { name?: string };

interface RequestOptions {
  body?: unknown;
  /** Send the Bearer token (default true). */
  auth?: boolean;
  /** Send cookies cross-origin too (the /auth endpoints). */
  cookies?: boolean;
  signal?: AbortSignal;
}

export type SessionListener = (session: LoginAnswer | null) => void;

/** navigator.locks when the browser has it, so two tabs never rotate the same cookie at once. */
export function browserLock(): LockRunner | undefined {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return undefined;
  return (name, fn) => locks.request(name, fn) as ReturnType<typeof fn>;
}

export class ApiClient {
  private accessToken: string | null = null;
  private accessExpiresAt: number | null = null;
  private refreshing: Promise<LoginAnswer | null> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<SessionListener>();
  private readonly fetchImpl: Fetch;
  private readonly lock: LockRunner;
  private readonly margin: number;
  /** The latest /files cookie request (after a log-in, a refresh, or a renewal). */
  private filesCookieRun: Promise<boolean> | null = null;
  private filesCookieInFlight: Promise<boolean> | null = null;
  private ended: ApiError | null = null;

  constructor(private readonly opts: ApiClientOptions) {
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
    this.lock = opts.lock ?? ((_n, fn) => fn());
    this.margin = opts.refreshMarginMs ?? 60_000;
  }

  get token(): string | null {
    return this.accessToken;
  }

  /** When the access token in memory expires (ms since epoch, this browser's clock), if known. */
  get tokenExpiresAt(): number | null {
    return this.accessExpiresAt;
  }

  /**
   * Why the server ended the session, when it said so: a refresh refused with
   * `account_suspended` (the log-in page shows it). Cleared by the next session.
   */
  get endReason(): ApiError | null {
    return this.ended;
  }

  /** Called with the new login answer after every refresh, and with null when the session ends. */
  onSession(l: SessionListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  setSession(answer: LoginAnswer): void {
    this.ended = null;
    this.accessToken = answer.accessToken;
    this.accessExpiresAt = Date.now() + answer.expiresIn * 1000;
    this.scheduleRefresh(answer.expiresIn);
    // A new token: the /files cookie carries it (the old cookie expires with the old token).
    if (this.opts.filesCookie) this.filesCookieRun = this.issueFilesCookie();
    for (const l of this.listeners) l(answer);
  }

  clearSession(): void {
    const had = this.accessToken !== null;
    this.accessToken = null;
    this.accessExpiresAt = null;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (had) for (const l of this.listeners) l(null);
  }

  /**
   * Trades the refresh cookie for a new access token. Concurrent callers share one request.
   * Resolves null when there is no valid session; rejects on network trouble.
   */
  refresh(): Promise<LoginAnswer | null> {
    if (!this.refreshing) {
      this.refreshing = this.lock('cloudchat-auth-refresh', () => this.doRefresh()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<LoginAnswer | null> {
    try {
      const answer = await this.request<LoginAnswer>('POST', '/auth/refresh', { body: {}, auth: false, cookies: true });
      this.setSession(answer);
      return answer;
    } catch (e) {
      if (e instanceof ApiError && e.status !== 0 && e.status !== 429 && e.status < 500) {
        if (e.code === 'account_suspended') this.ended = e;
        this.clearSession();
        return null;
      }
      throw e;
    }
  }

  private scheduleRefresh(expiresInSec: number): void {
    clearTimeout(this.refreshTimer);
    const ms = Math.max(10_000, expiresInSec * 1000 - this.margin);
    this.refreshTimer = setTimeout(() => {
      this.refresh().catch(() => {
        // offline: try again soon; the 401 path also covers it when the user acts
        if (this.accessToken) this.scheduleRefresh(this.margin / 1000 + 30);
      });
    }, ms);
  }

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    return this.parse<T>(await this.exchange(method, path, o));
  }

  /** Sends the request; a 401 with a session renews the token once and sends it again. */
  private async exchange(method: string, path: string, o: RequestOptions): Promise<Response> {
    const auth = o.auth ?? true;
    const res = await this.send(method, path, o, auth);
    if (res.status === 401 && auth && this.accessToken !== null && !(await answers401(res))) {
      const renewed = await this.refresh().catch(() => null);
      if (renewed) return this.send(method, path, o, auth);
      this.clearSession();
    }
    return res;
  }

  private async send(method: string, path: string, o: RequestOptions, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
    try {
      return await this.fetchImpl(this.opts.baseUrl + path, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        credentials: o.cookies ? 'include' : 'same-origin',
        signal: o.signal,
      });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw networkError(e);
    }
  }

  private async parse<T>(res: Response): Promise<T> {
    if (!res.ok) throw await errorFromResponse(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  // ---- auth-service ----

  async login(email: string, password: string): Promise<LoginAnswer> {
    const a = await this.request<LoginAnswer>('POST', '/auth/login', { body: { email, password }, auth: false, cookies: true });
    this.setSession(a);
    return a;
  }

  async register(username: string, email: string, password: string): Promise<LoginAnswer> {
    const a = await this.request<LoginAnswer>('POST', '/auth/register', {
      body: { username, email, password },
      auth: false,
      cookies: true,
    });
    this.setSession(a);
    return a;
  }

  /** Whether single sign-on is on, and the provider's name for the button. */
  ssoStatus(): Promise<SsoStatus> {
    return this.request<SsoStatus>('GET', '/auth/oidc', { auth: false });
  }

  /**
   * Completes a log-in that answered `mfa_required` (an ApiError whose `extensions.challenge`
   * is the challenge) with a code from the authenticator app or a recovery code.
   */
  async loginMfa(challenge: string, code: string): Promise<LoginAnswer> {
    const a = await this.request<LoginAnswer>('POST', '/auth/login/mfa', {
      body: { challenge, code },
      auth: false,
      cookies: true,
    });
    this.setSession(a);
    return a;
  }

  /** Starts (or restarts) a TOTP enrolment: the secret to show, as a QR code and as text. */
  enrolTotp(password: string): Promise<TotpEnrolment> {
    return this.request('POST', '/auth/mfa/totp/enrol', { body: { password } });
  }

  /** Turns TOTP on with a code from the new secret: the ten recovery codes, shown once. */
  confirmTotp(code: string): Promise<{ recoveryCodes: string[] }> {
    return this.request('POST', '/auth/mfa/totp/confirm', { body: { code } });
  }

  /** Turns TOTP off (password and a code, or a recovery code). */
  disableTotp(password: string, code: string): Promise<void> {
    return this.request('DELETE', '/auth/mfa/totp', { body: { password, code } });
  }

  /**
   * `POST /users/me/export`: everything the account holds, as the JSON Lines file the server
   * names. Rejects with `export_incomplete` when the file lacks its closing `end` line (the
   * download was cut short).
   */
  async exportData(): Promise<{ blob: Blob; filename: string }> {
    const res = await this.exchange('POST', '/users/me/export', {});
    if (!res.ok) throw await errorFromResponse(res);
    const blob = await res.blob();
    if (!endsWithEndLine(await blob.slice(Math.max(0, blob.size - 256)).text())) {
      throw new ApiError(0, 'export_incomplete', 'Export cut short', 'The download was cut short. Try again.');
    }
    return { blob, filename: exportFileName(res.headers.get('Content-Disposition')) };
  }

  /** Ten new recovery codes; the old ones stop working. */
  newRecoveryCodes(password: string, code: string): Promise<{ recoveryCodes: string[] }> {
    return this.request('POST', '/auth/mfa/recovery-codes', { body: { password, code } });
  }

  /**
   * Links a single sign-on identity to the account with its e-mail (the account's password,
   * and its second factor's code when it has one) and logs in.
   */
  async linkSso(linkToken: string, password: string, code?: string): Promise<LoginAnswer> {
    const a = await this.request<LoginAnswer>('POST', '/auth/oidc/link', {
      body: code ? { linkToken, password, code } : { linkToken, password },
      auth: false,
      cookies: true,
    });
    this.setSession(a);
    return a;
  }

  async logout(): Promise<void> {
    await this.dropFilesCookie();
    try {
      await this.request<void>('POST', '/auth/logout', { body: {}, auth: false, cookies: true });
    } finally {
      this.clearSession();
    }
  }

  async logoutAll(): Promise<void> {
    await this.dropFilesCookie();
    try {
      await this.request<void>('POST', '/auth/logout-all', { cookies: true });
    } finally {
      this.clearSession();
    }
  }

  /**
   * Deletes the account (`DELETE /users/me`): the password, the second factor's code when it
   * is on, and whether the messages go too. On success the session ends with the reason
   * `account_deleted` (the log-in page says so).
   */
  async deleteAccount(password: string, code: string | undefined, deleteMessages: boolean): Promise<void> {
    const body = code ? { password, code, deleteMessages } : { password, deleteMessages };
    await this.request<void>('DELETE', '/users/me', { body });
    await this.dropFilesCookie();
    this.ended = accountDeleted();
    this.clearSession();
  }

  forgotPassword(email: string): Promise<unknown> {
    return this.request('POST', '/auth/forgot-password', { body: { email }, auth: false });
  }

  resetPassword(token: string, newPassword: string): Promise<void> {
    return this.request('POST', '/auth/reset-password', { body: { token, newPassword }, auth: false });
  }

  /** Opens an e-mail verification link (no log-in needed): the account, now verified. */
  verifyEmail(token: string): Promise<{ user: User }> {
    return this.request('POST', '/auth/verify-email', { body: { token }, auth: false });
  }

  /** Asks for a new verification link (the same answer whatever the address). */
  resendVerification(email: string): Promise<unknown> {
    return this.request('POST', '/auth/resend-verification', { body: { email }, auth: false });
  }

  async sessions(): Promise<Session[]> {
    const r = await this.request<Session[] | { sessions: Session[] }>('GET', '/auth/sessions');
    return Array.isArray(r) ? r : r.sessions ?? [];
  }

  revokeSession(id: string | number): Promise<void> {
    return this.request('DELETE', `/auth/sessions/${encodeURIComponent(String(id))}`);
  }

  me(): Promise<User> {
    return this.request('GET', '/users/me');
  }

  /** A new `email` needs `currentPassword`. */
  updateMe(patch: { username?: string; email?: string; currentPassword?: string }): Promise<User> {
    return this.request('PATCH', '/users/me', { body: patch });
  }

  /** `code`: the second factor's, when it is on. */
  changePassword(currentPassword: string, newPassword: string, code?: string): Promise<void> {
    const body = code ? { currentPassword, newPassword, code } : { currentPassword, newPassword };
    return this.request('POST', '/users/me/password', { body });
  }

  async searchUsers(prefix: string, signal?: AbortSignal): Promise<PublicUser[]> {
    const r = await this.request<PublicUser[] | { users: PublicUser[] }>(
      'GET',
      `/users?prefix=${encodeURIComponent(prefix)}`,
      { signal },
    );
    return Array.isArray(r) ? r : r.users ?? [];
  }

  // ---- chat-service ----

  rooms(): Promise<Room[]> {
    return this.request('GET', '/rooms');
  }

  room(id: number): Promise<Room> {
    return this.request('GET', `/rooms/${id}`);
  }

  createRoom(name: string): Promise<Room> {
    return this.request('POST', '/rooms', { body: { name } });
  }

  deleteRoom(id: number): Promise<void> {
    return this.request('DELETE', `/rooms/${id}`);
  }

  /**
   * The direct room with a user (by id or by username), created if need be (201) or the one
   * that exists (200, shown again if the caller had hidden it).
   */
  openDm(to: { userId: string } | { username: string }): Promise<Room> {
    return this.request('POST', '/dms', { body: to });
  }

  /** Hides a direct room from the caller's list until its next message. */
  hideRoom(id: number): Promise<void> {
    return this.request('POST', `/rooms/${id}/hide`);
  }

  /** The caller's mentions, newest first; `before` is the previous page's last message id. */
  mentions(q: { before?: number; limit?: number } = {}): Promise<MentionsPage> {
    const p = new URLSearchParams();
    if (q.before !== undefined) p.set('before', String(q.before));
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request('GET', `/mentions${qs ? `?${qs}` : ''}`);
  }

  /** One page of members by join time; `after` is the previous page's `nextCursor`. */
  members(roomId: number, q: { after?: string | null; limit?: number } = {}): Promise<MembersPage> {
    const p = new URLSearchParams();
    // Asking with a limit is what selects the page object (a bare call gets a plain array).
    p.set('limit', String(q.limit ?? MEMBERS_PAGE));
    if (q.after) p.set('after', q.after);
    return this.request('GET', `/rooms/${roomId}/members?${p.toString()}`);
  }

  addMember(roomId: number, username: string): Promise<Member> {
    return this.request('POST', `/rooms/${roomId}/members`, { body: { username } });
  }

  removeMember(roomId: number, userId: string): Promise<void> {
    return this.request('DELETE', `/rooms/${roomId}/members/${encodeURIComponent(userId)}`);
  }

  /** The read markers of a group room's members that have one, in no particular order. */
  readMarkers(roomId: number): Promise<ReadMarker[]> {
    return this.request('GET', `/rooms/${roomId}/read-markers`);
  }

  /**
   * The latest page, the page before `beforeSeq`, the page after `afterSeq` (oldest first), or
   * the page around `aroundSeq` (with `hasMoreBefore`/`hasMoreAfter`). Only one of the three.
   */
  messages(roomId: number, q: { beforeSeq?: number; afterSeq?: number; aroundSeq?: number; limit?: number }): Promise<MessagesPage> {
    const p = new URLSearchParams();
    if (q.beforeSeq !== undefined) p.set('beforeSeq', String(q.beforeSeq));
    if (q.afterSeq !== undefined) p.set('afterSeq', String(q.afterSeq));
    if (q.aroundSeq !== undefined) p.set('aroundSeq', String(q.aroundSeq));
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    const qs = p.toString();
    return this.request('GET', `/rooms/${roomId}/messages${qs ? `?${qs}` : ''}`);
  }

  /** The room's change feed: every message changed after `sinceRev`, in rev order. */
  changes(roomId: number, q: { sinceRev: number; limit?: number }): Promise<ChangesPage> {
    const p = new URLSearchParams({ sinceRev: String(q.sinceRev) });
    if (q.limit !== undefined) p.set('limit', String(q.limit));
    return this.request('GET', `/rooms/${roomId}/changes?${p.toString()}`);
  }

  /** Posts a message; `replyToId` makes it a reply to that (live) message of the room. */
  postMessage(roomId: number, content: string, clientMsgId?: string, replyToId?: number): Promise<Message> {
    const body: Record<string, unknown> = { content, clientMsgId };
    if (replyToId !== undefined) body.replyToId = replyToId;
    return this.request('POST', `/rooms/${roomId}/messages`, { body });
  }

  editMessage(id: number, content: string): Promise<Message> {
    return this.request('PATCH', `/messages/${id}`, { body: { content } });
  }

  /** The author deletes their message; a room moderator anyone's (`reason` goes to the audit log). */
  deleteMessage(id: number, reason?: string): Promise<Message | undefined> {
    return this.request('DELETE', `/messages/${id}${queryString({ reason })}`);
  }

  /** Adds the caller's reaction (a no-op if they have it); answers the whole message. */
  addReaction(messageId: number, emoji: string): Promise<Message> {
    return this.request('POST', `/messages/${messageId}/reactions`, { body: { emoji } });
  }

  /** Removes the caller's reaction (a no-op if they do not have it); answers the whole message. */
  removeReaction(messageId: number, emoji: string): Promise<Message> {
    return this.request('DELETE', `/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
  }

  markRead(roomId: number, seq: number): Promise<void> {
    return this.request('POST', `/rooms/${roomId}/read`, { body: { seq } });
  }

  /** Full-text search over the messages of every room the caller can read now. */
  search(q: SearchQuery, signal?: AbortSignal): Promise<SearchPage> {
    return this.request('GET', `/search?${searchParams(q).toString()}`, { signal });
  }

  // ---- notifications ----

  notificationSettings(): Promise<NotificationSettings> {
    return this.request('GET', '/notification-settings');
  }

  /** Every field is required; answers the settings as stored (rooms included). */
  putNotificationSettings(s: Pick<NotificationSettings, 'level' | 'mutedUntil' | 'emailDigest'>): Promise<NotificationSettings> {
    return this.request('PUT', '/notification-settings', { body: { level: s.level, mutedUntil: s.mutedUntil, emailDigest: s.emailDigest } });
  }

  /** A room's override; both null removes it. */
  putRoomNotificationSettings(roomId: number, s: Pick<RoomNotificationSettings, 'level' | 'mutedUntil'>): Promise<RoomNotificationSettings> {
    return this.request('PUT', `/notification-settings/rooms/${roomId}`, { body: { level: s.level, mutedUntil: s.mutedUntil } });
  }

  /** The server's VAPID public key (base64url); 503 `push_disabled` when push is off. */
  async vapidPublicKey(): Promise<string> {
    const r = await this.request<{ publicKey: string }>('GET', '/push/vapid-public-key');
    return r.publicKey;
  }

  /** 201 for a new endpoint, 200 with the existing id for one already known. */
  addPushSubscription(sub: PushSubscriptionBody): Promise<PushSubscriptionView> {
    return this.request('POST', '/push/subscriptions', { body: sub });
  }

  pushSubscriptions(): Promise<PushSubscriptionView[]> {
    return this.request('GET', '/push/subscriptions');
  }

  deletePushSubscription(id: string): Promise<void> {
    return this.request('DELETE', `/push/subscriptions/${encodeURIComponent(id)}`);
  }

  // ---- moderation: reports, blocks, room roles and mutes (chat-service) ----

  /** Reports a message the caller can read (not their own) to the room's moderators. */
  reportMessage(messageId: number, reason: string): Promise<Report> {
    return this.request('POST', `/messages/${messageId}/reports`, { body: { reason } });
  }

  /** Newest first: staff see every report, room owners and moderators those of their rooms. */
  reports(q: ReportsQuery = {}): Promise<ReportsPage> {
    return this.request('GET', `/reports${queryString(q)}`);
  }

  /** Resolves the report and every other open report of the same message. */
  resolveReport(id: number, r: ResolveReport): Promise<Report> {
    return this.request('POST', `/reports/${id}/resolve`, { body: r });
  }

  async blocks(): Promise<BlockedUser[]> {
    const r = await this.request<{ users: BlockedUser[] }>('GET', '/blocks');
    return r.users ?? [];
  }

  /** Idempotent. */
  block(userId: string): Promise<BlockedUser> {
    return this.request('PUT', `/blocks/${encodeURIComponent(userId)}`);
  }

  unblock(userId: string): Promise<void> {
    return this.request('DELETE', `/blocks/${encodeURIComponent(userId)}`);
  }

  /** The owner (or staff) makes a group room's member a moderator, or a member again. */
  setMemberRole(roomId: number, userId: string, role: Exclude<RoomRole, 'owner'>): Promise<Member> {
    return this.request('PUT', `/rooms/${roomId}/members/${encodeURIComponent(userId)}/role`, { body: { role } });
  }

  mute(roomId: number, userId: string, durationSeconds: number, reason?: string): Promise<RoomMute> {
    return this.request('PUT', `/rooms/${roomId}/mutes/${encodeURIComponent(userId)}`, {
      body: reason ? { durationSeconds, reason } : { durationSeconds },
    });
  }

  unmute(roomId: number, userId: string): Promise<void> {
    return this.request('DELETE', `/rooms/${roomId}/mutes/${encodeURIComponent(userId)}`);
  }

  async mutes(roomId: number): Promise<RoomMute[]> {
    const r = await this.request<{ mutes: RoomMute[] }>('GET', `/rooms/${roomId}/mutes`);
    return r.mutes ?? [];
  }

  // ---- administration (staff) ----

  /** Accounts, newest first; `q` matches the start of a username or an e-mail. */
  adminUsers(q: AdminUsersQuery = {}): Promise<AdminUsersPage> {
    return this.request('GET', `/admin/users${queryString(q)}`);
  }

  /** Admins only. */
  setUserRole(userId: string, role: InstanceRole, reason?: string): Promise<AdminUser> {
    return this.request('PUT', `/admin/users/${encodeURIComponent(userId)}/role`, { body: reason ? { role, reason } : { role } });
  }

  /** Admins only. `until` absent: until lifted. Revokes every session of the account. */
  suspendUser(userId: string, s: { reason: string; until?: string | null; hideMessages?: boolean }): Promise<AdminUser> {
    const body: Record<string, unknown> = { reason: s.reason };
    if (s.until) body.until = s.until;
    if (s.hideMessages !== undefined) body.hideMessages = s.hideMessages;
    return this.request('PUT', `/admin/users/${encodeURIComponent(userId)}/suspension`, { body });
  }

  /** Admins only. */
  unsuspendUser(userId: string): Promise<AdminUser> {
    return this.request('DELETE', `/admin/users/${encodeURIComponent(userId)}/suspension`);
  }

  adminStats(): Promise<AdminStats> {
    return this.request('GET', '/admin/stats');
  }

  audit(q: AuditQuery = {}): Promise<AuditPage> {
    return this.request('GET', `/admin/audit${queryString(q)}`);
  }

  wsTicket(): Promise<Ticket> {
    return this.request('POST', '/ws-tickets', { body: {} });
  }

  // ---- files ----

  /**
   * Resolves once the latest /files cookie request is answered: true when the cookie was
   * set. A picture that failed to load waits for this (or `renewFilesCookie`) and tries again.
   */
  filesCookieReady(): Promise<boolean> {
    return this.filesCookieRun ?? Promise.resolve(false);
  }

  /** Asks for the /files cookie again (e.g. a picture got a 401); shared with one in flight. */
  renewFilesCookie(): Promise<boolean> {
    if (!this.filesCookieInFlight) {
      this.filesCookieInFlight = this.issueFilesCookie().finally(() => {
        this.filesCookieInFlight = null;
      });
      this.filesCookieRun = this.filesCookieInFlight;
    }
    return this.filesCookieInFlight;
  }

  /** `POST /files/cookie` with the token in memory (no refresh-and-retry: a refresh calls this). */
  private async issueFilesCookie(): Promise<boolean> {
    if (!this.accessToken) return false;
    try {
      const res = await this.send('POST', '/files/cookie', { cookies: true }, true);
      return res.ok;
    } catch {
      return false;
    }
  }

  /** `DELETE /files/cookie` (it needs no token: the session may be over already). */
  private async dropFilesCookie(): Promise<void> {
    if (!this.opts.filesCookie) return;
    this.filesCookieRun = null;
    await this.send('DELETE', '/files/cookie', { cookies: true }, true).catch(() => undefined);
  }

  /**
   * `POST /uploads` (multipart/form-data, one part named `file`) over XMLHttpRequest, so the
   * caller sees the bytes go (`onProgress(loaded, total)`, in the file's own bytes) and can
   * cancel. A 401 refreshes the token once and sends the file again.
   */
  upload(file: UploadFile, onProgress?: (loaded: number, total: number) => void): UploadHandle {
    let current: XhrLike | null = null;
    let aborted = false;
    const size = file.size;
    const once = (): Promise<{ status: number; text: string; header(n: string): string | null }> =>
      new Promise((resolve, reject) => {
        if (aborted) {
          reject(abortError());
          return;
        }
        const x = this.opts.xhr ? this.opts.xhr() : (new XMLHttpRequest() as unknown as XhrLike);
        current = x;
        x.open('POST', `${this.opts.baseUrl}/uploads`);
        x.setRequestHeader('Accept', 'application/json');
        if (this.accessToken) x.setRequestHeader('Authorization', `Bearer ${this.accessToken}`);
        x.upload.onprogress = (e) => {
          // `total` counts the multipart framing too: report the file's share of it.
          if (e.lengthComputable && e.total > 0) onProgress?.(Math.round((e.loaded / e.total) * size), size);
        };
        x.onload = () => resolve({ status: x.status, text: x.responseText, header: (n) => x.getResponseHeader(n) });
        x.onerror = () => reject(networkError(new Error('upload failed')));
        x.ontimeout = () => reject(networkError(new Error('upload timed out')));
        x.onabort = () => reject(abortError());
        const form = new FormData();
        form.append('file', file, file.name || 'file');
        x.send(form);
      });
    const run = async (): Promise<Upload> => {
      let res = await once();
      if (res.status === 401 && this.accessToken !== null && !aborted) {
        const renewed = await this.refresh().catch(() => null);
        if (!renewed) this.clearSession();
        else res = await once();
      }
      if (res.status >= 200 && res.status < 300) {
        onProgress?.(size, size);
        return JSON.parse(res.text) as Upload;
      }
      const headers = new Headers();
      for (const h of ['content-type', 'retry-after']) {
        const v = res.header(h);
        if (v) headers.set(h, v);
      }
      throw await errorFromResponse(new Response(res.text || null, { status: res.status, headers }));
    };
    return {
      promise: run(),
      abort: () => {
        aborted = true;
        current?.abort();
      },
    };
  }
}

/** `?a=1&b=x` from the defined, non-empty values (`""` when there are none). */
export function queryString(q: object): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

function abortError(): Error {
  const e = new Error('The upload was cancelled.');
  e.name = 'AbortError';
  return e;
}

/**
 * Whether a 401 answers the request itself (a wrong password or code on `DELETE /users/me`)
 * rather than saying the token is no good: no refresh and no retry then, which would count
 * the same guess twice.
 */
async function answers401(res: Response): Promise<boolean> {
  try {
    const body = (await res.clone().json()) as { code?: unknown };
    return typeof body.code === 'string' && ANSWERS_401.has(body.code);
  } catch {
    return false;
  }
}

const ANSWERS_401 = new Set(['invalid_credentials', 'mfa_code_required', 'invalid_mfa_code']);

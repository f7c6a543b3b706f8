// One WebSocket for all rooms: ticket, connect, keep alive, reconnect with backoff.
// It knows nothing about rooms or messages; ChatStore decides what to do on `ready`.

import { Backoff, retryHintMs } from '../lib/backoff';
import type { ClientFrame, ServerFrame } from '../api/types';

export type ConnState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'stopped';

export interface ConnInfo {
  state: ConnState;
  /** Failed attempts since the last healthy connection. */
  attempt: number;
  /** When the next attempt starts (ms since epoch), while reconnecting. */
  nextRetryAt?: number;
  /** Close code of the last drop, for diagnostics. */
  lastCloseCode?: number;
  /** Why the connection stopped for good (a ticket refused for a reason retrying cannot fix). */
  refusal?: string;
}

/** The part of the browser's WebSocket this module uses (a test double can provide it). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

const OPEN = 1;

export interface SocketDeps {
  url: string;
  /** Gets a fresh single-use ticket; rejects with `authLost` when the session is gone. */
  getTicket: () => Promise<string>;
  isAuthLost?: (e: unknown) => boolean;
  /**
   * A ticket refusal that retrying cannot fix (403 `email_unverified`): the text to show. The
   * socket then stops, with `refusal` set, until `start()` is called again.
   */
  refusal?: (e: unknown) => string | undefined;
  /**
   * After a 4003 close (logged out, session revoked): resolves false when this tab's session
   * is gone, true when it lives on (a password change made in this tab closes its sockets
   * too). Without it, 4003 ends the connection for good.
   */
  sessionAlive?: () => Promise<boolean>;
  createSocket?: (url: string) => WebSocketLike;
  backoff?: Backoff;
  now?: () => number;
  pingIntervalMs?: number;
  /** Drop the connection after this long without any frame from the server. */
  idleTimeoutMs?: number;
  /** A connection that stayed ready this long resets the backoff when it drops. */
  stableAfterMs?: number;
  /** Act as ready if the relay sends no `ready` frame this long after open. */
  readyFallbackMs?: number;
}

export interface SocketHandlers {
  onFrame(frame: ServerFrame): void;
  /** The connection is usable (after `ready`): sync and flush queued sends now. */
  onReady(): void;
  /** The connection dropped (in-flight sends should be re-queued). */
  onDown(): void;
  onState(info: ConnInfo): void;
  /** Getting a ticket failed because the session is gone. */
  onAuthLost(): void;
}

export class RealtimeSocket {
  private ws: WebSocketLike | null = null;
  private ready = false;
  private stopped = true;
  private info: ConnInfo = { state: 'idle', attempt: 0 };
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private readyFallback: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;
  private readyAt = 0;
  private generation = 0;
  private expiredInARow = 0;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly createSocket: (url: string) => WebSocketLike;

  constructor(
    private readonly deps: SocketDeps,
    private readonly handlers: SocketHandlers,
  ) {
    this.backoff = deps.backoff ?? new Backoff();
    this.now = deps.now ?? Date.now;
    this.createSocket = deps.createSocket ?? ((u) => new WebSocket(u) as unknown as WebSocketLike);
  }

  get isReady(): boolean {
    return this.ready && this.ws?.readyState === OPEN;
  }

  get connInfo(): ConnInfo {
    return this.info;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closing
      }
    }
    this.setState({ state: 'stopped', attempt: 0 });
  }

  /** Skip the wait (the browser came back online, or the user clicked "retry now"). */
  reconnectNow(): void {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    void this.connect();
  }

  /** Writes a frame if the connection is ready; false otherwise (caller keeps it queued). */
  send(frame: ClientFrame): boolean {
    if (!this.isReady || !this.ws) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    this.setState({ state: this.info.attempt > 0 ? 'reconnecting' : 'connecting', attempt: this.info.attempt });
    let ticket: string;
    try {
      ticket = await this.deps.getTicket();
    } catch (e) {
      if (gen !== this.generation || this.stopped) return;
      if (this.deps.isAuthLost?.(e)) {
        this.stop();
        this.handlers.onAuthLost();
        return;
      }
      const refusal = this.deps.refusal?.(e);
      if (refusal) {
        this.stop();
        this.setState({ state: 'stopped', attempt: 0, refusal });
        return;
      }
      this.scheduleRetry(undefined);
      return;
    }
    if (gen !== this.generation || this.stopped) return;

    const sep = this.deps.url.includes('?') ? '&' : '?';
    let ws: WebSocketLike;
    try {
      ws = this.createSocket(`${this.deps.url}${sep}ticket=${encodeURIComponent(ticket)}`);
    } catch {
      this.scheduleRetry(undefined);
      return;
    }
    this.ws = ws;
    this.ready = false;
    this.lastFrameAt = this.now();

    ws.onopen = () => {
      if (gen !== this.generation) return;
      this.lastFrameAt = this.now();
      this.readyFallback = setTimeout(() => this.becomeReady(gen), this.deps.readyFallbackMs ?? 3000);
    };
    ws.onmessage = (ev) => {
      if (gen !== this.generation) return;
      this.lastFrameAt = this.now();
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return; // not JSON: ignore rather than crash the socket
      }
      if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
      if (frame.type === 'ready') {
        this.becomeReady(gen);
      }
      this.handlers.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (gen !== this.generation) return;
      this.dropped(ev.code, ev.reason);
    };
    ws.onerror = () => {
      // onclose follows; nothing to do here
    };
  }

  private becomeReady(gen: number): void {
    if (gen !== this.generation || this.ready || !this.ws) return;
    clearTimeout(this.readyFallback);
    this.ready = true;
    this.readyAt = this.now();
    this.expiredInARow = 0;
    this.setState({ state: 'open', attempt: this.info.attempt });
    this.startPing(gen);
    this.handlers.onReady();
  }

  private startPing(gen: number): void {
    clearInterval(this.pingTimer);
    const every = this.deps.pingIntervalMs ?? 25_000;
    const idle = this.deps.idleTimeoutMs ?? 60_000;
    this.pingTimer = setInterval(() => {
      if (gen !== this.generation || !this.ws) return;
      if (this.now() - this.lastFrameAt > idle) {
        // A dead TCP connection may take minutes to report close: give up on it now.
        const ws = this.ws;
        detach(ws);
        try {
          ws.close(4000, 'idle');
        } catch {
          // ignore
        }
        this.dropped(4000, 'idle');
        return;
      }
      this.send({ action: 'ping' });
    }, every);
  }

  private dropped(code: number, reason: string): void {
    const wasReady = this.ready;
    const healthy = wasReady && this.now() - this.readyAt >= (this.deps.stableAfterMs ?? 5000);
    this.generation += 1;
    this.clearTimers();
    this.ws = null;
    this.ready = false;
    if (wasReady) this.handlers.onDown();
    if (this.stopped) return;
    if (healthy) {
      this.backoff.reset();
      this.info = { ...this.info, attempt: 0 };
    }
    if (code === 4003) {
      this.afterLogout();
      return;
    }
    let delay: number | undefined;
    if (code === 4001 && this.expiredInARow === 0) {
      // Token expired: a fresh ticket is all it takes, no need to wait.
      this.expiredInARow += 1;
      delay = 0;
    } else if (code === 1012) {
      const hint = retryHintMs(reason);
      const d = this.backoff.next();
      delay = hint !== undefined ? Math.max(hint, Math.min(d, hint * 2)) : d;
      this.info = { ...this.info, attempt: this.info.attempt + 1 };
    }
    this.scheduleRetry(delay, code);
  }

  /** 4003: never reconnect blindly; ask whether this tab is still signed in. */
  private afterLogout(): void {
    const gen = this.generation;
    this.setState({ state: 'reconnecting', attempt: this.info.attempt, lastCloseCode: 4003 });
    const check = this.deps.sessionAlive?.() ?? Promise.resolve(false);
    void check
      // Cannot tell (offline): retry as after any drop; a ticket then tells.
      .catch(() => true)
      .then((alive) => {
        if (gen !== this.generation || this.stopped) return;
        if (alive) {
          this.scheduleRetry(undefined, 4003);
        } else {
          this.stop();
          this.handlers.onAuthLost();
        }
      });
  }

  private scheduleRetry(delay: number | undefined, code?: number): void {
    let d = delay;
    let attempt = this.info.attempt;
    if (d === undefined) {
      d = this.backoff.next();
      attempt += 1;
    }
    const nextRetryAt = this.now() + d;
    this.setState({ state: 'reconnecting', attempt, nextRetryAt, lastCloseCode: code ?? this.info.lastCloseCode });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), d);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.readyFallback);
    clearInterval(this.pingTimer);
  }

  private setState(info: ConnInfo): void {
    this.info = info;
    this.handlers.onState(info);
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

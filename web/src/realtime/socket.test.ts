import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from '../lib/backoff';
import type { ServerFrame } from '../api/types';
import { RealtimeSocket, type ConnInfo, type WebSocketLike } from './socket';

/** A stand-in for the browser's WebSocket, driven by the test. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: unknown[] = [];
  closedWith?: number;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code?: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(f: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

function setup(opts: { ticket?: () => Promise<string>; sessionAlive?: () => Promise<boolean> } = {}) {
  const sockets: FakeSocket[] = [];
  const states: ConnInfo[] = [];
  const events: string[] = [];
  let tickets = 0;
  const sock = new RealtimeSocket(
    {
      url: 'ws://host/ws',
      getTicket: opts.ticket ?? (async () => `t${++tickets}`),
      isAuthLost: (e) => (e as Error).message === 'auth',
      refusal: (e) => ((e as Error).message === 'unverified' ? 'Verify your e-mail address to post' : undefined),
      sessionAlive: opts.sessionAlive,
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
      backoff: new Backoff({ baseMs: 1000, capMs: 8000 }, () => 0.5),
      pingIntervalMs: 25_000,
      idleTimeoutMs: 60_000,
      stableAfterMs: 5000,
    },
    {
      onFrame: (f) => events.push(`frame:${f.type}`),
      onReady: () => events.push('ready'),
      onDown: () => events.push('down'),
      onState: (i) => states.push(i),
      onAuthLost: () => events.push('authLost'),
    },
  );
  return { sock, sockets, states, events };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('RealtimeSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('connects with a fresh ticket per connection and becomes ready on `ready`', async () => {
    const { sock, sockets, events, states } = setup();
    sock.start();
    await flush();
    expect(sockets[0].url).toBe('ws://host/ws?ticket=t1');
    expect(states.at(-1)?.state).toBe('connecting');
    sockets[0].open();
    expect(sock.isReady).toBe(false);
    sockets[0].frame({ type: 'ready', expiresAt: 1767225600, connectionId: 'c', userId: 'u', rooms: [1] });
    expect(sock.isReady).toBe(true);
    expect(events).toEqual(['ready', 'frame:ready']);
    expect(states.at(-1)?.state).toBe('open');
  });

  it('reconnects with growing backoff and a new ticket each time', async () => {
    const { sock, sockets, states } = setup();
    sock.start();
    await flush();
    sockets[0].drop(1006);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1 });
    await vi.advanceTimersByTimeAsync(749);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(2);
    expect(sockets[1].url).toContain('ticket=t2');
    sockets[1].drop(1006);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 2 });
    await vi.advanceTimersByTimeAsync(1500);
    expect(sockets).toHaveLength(3);
    sockets[2].drop(1006);
    await vi.advanceTimersByTimeAsync(3000);
    expect(sockets).toHaveLength(4);
  });

  it('resets the backoff after a connection that stayed up', async () => {
    const { sock, sockets, states } = setup();
    sock.start();
    await flush();
    sockets[0].drop(1006);
    await vi.advanceTimersByTimeAsync(750);
    sockets[1].drop(1006);
    await vi.advanceTimersByTimeAsync(1500);
    sockets[2].open();
    sockets[2].frame({ type: 'ready', expiresAt: 0 });
    await vi.advanceTimersByTimeAsync(10_000);
    sockets[2].drop(1012);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1 });
    await vi.advanceTimersByTimeAsync(750);
    expect(sockets).toHaveLength(4);
  });

  it('does not reset the backoff when a connection flaps right after ready', async () => {
    const { sock, sockets, states } = setup();
    sock.start();
    await flush();
    sockets[0].drop(1006);
    await vi.advanceTimersByTimeAsync(750);
    sockets[1].open();
    sockets[1].frame({ type: 'ready', expiresAt: 0 });
    sockets[1].drop(1006);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 2 });
  });

  it('reconnects at once with a new ticket on 4001 (token expired)', async () => {
    const { sock, sockets, events } = setup();
    sock.start();
    await flush();
    sockets[0].open();
    sockets[0].frame({ type: 'ready', expiresAt: 0 });
    sockets[0].drop(4001, 'token expired');
    expect(events).toContain('down');
    await flush();
    expect(sockets).toHaveLength(2);
    expect(sockets[1].url).toContain('ticket=t2');
  });

  it('logs the tab out on 4003 when its session is gone, without reconnecting', async () => {
    let asked = 0;
    const { sock, sockets, events } = setup({
      sessionAlive: async () => {
        asked += 1;
        return false;
      },
    });
    sock.start();
    await flush();
    sockets[0].open();
    sockets[0].frame({ type: 'ready', expiresAt: 0 });
    sockets[0].drop(4003, 'session revoked');
    await flush();
    expect(asked).toBe(1);
    expect(events).toEqual(['ready', 'frame:ready', 'down', 'authLost']);
    expect(sock.connInfo.state).toBe('stopped');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('reconnects after 4003 when this tab is still signed in (password changed here)', async () => {
    const { sock, sockets, events } = setup({ sessionAlive: async () => true });
    sock.start();
    await flush();
    sockets[0].open();
    sockets[0].frame({ type: 'ready', expiresAt: 0 });
    sockets[0].drop(4003, 'logged out');
    await flush();
    expect(events).not.toContain('authLost');
    await vi.advanceTimersByTimeAsync(750);
    expect(sockets).toHaveLength(2);
  });

  it('ends the connection on 4003 when it cannot ask about the session', async () => {
    const { sock, sockets, events } = setup();
    sock.start();
    await flush();
    sockets[0].drop(4003);
    await flush();
    expect(events).toContain('authLost');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('honours a retry hint on 1012 (service restart)', async () => {
    const { sock, sockets } = setup();
    sock.start();
    await flush();
    sockets[0].drop(1012, 'retry after 4000ms');
    await vi.advanceTimersByTimeAsync(3999);
    expect(sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets).toHaveLength(2);
  });

  it('retries when the ticket request fails, and gives up when the session is gone', async () => {
    let n = 0;
    const { sock, sockets, events } = setup({
      ticket: async () => {
        n += 1;
        if (n === 1) throw new Error('offline');
        if (n === 2) return 'ok';
        throw new Error('auth');
      },
    });
    sock.start();
    await flush();
    expect(sockets).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(750);
    expect(sockets).toHaveLength(1);
    sockets[0].drop(1008);
    await vi.advanceTimersByTimeAsync(2000);
    expect(events).toContain('authLost');
    expect(sock.connInfo.state).toBe('stopped');
  });

  it('stops without retrying when a ticket is refused for good, and tries again when started', async () => {
    let verified = false;
    let asked = 0;
    const { sock, sockets, events } = setup({
      ticket: async () => {
        asked += 1;
        if (!verified) throw new Error('unverified');
        return 'ok';
      },
    });
    sock.start();
    await flush();
    expect(sock.connInfo).toEqual({ state: 'stopped', attempt: 0, refusal: 'Verify your e-mail address to post' });
    // No loop of refused tickets.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(asked).toBe(1);
    expect(sockets).toHaveLength(0);
    expect(events).not.toContain('authLost');
    // Verified, with a new token: started again, it connects.
    verified = true;
    sock.start();
    await flush();
    expect(sockets).toHaveLength(1);
    expect(sock.connInfo.refusal).toBeUndefined();
  });

  it('pings, and drops a silent connection', async () => {
    const { sock, sockets, events } = setup();
    sock.start();
    await flush();
    sockets[0].open();
    sockets[0].frame({ type: 'ready', expiresAt: 0 });
    await vi.advanceTimersByTimeAsync(25_000);
    expect(sockets[0].sent).toContainEqual({ action: 'ping' });
    await vi.advanceTimersByTimeAsync(50_000);
    expect(events).toContain('down');
    expect(sockets[0].closedWith).toBe(4000);
    expect(sock.connInfo.state).toBe('reconnecting');
  });

  it('refuses to send while not ready, and stop() closes for good', async () => {
    const { sock, sockets } = setup();
    expect(sock.send({ action: 'ping' })).toBe(false);
    sock.start();
    await flush();
    sockets[0].open();
    expect(sock.send({ action: 'ping' })).toBe(false);
    sockets[0].frame({ type: 'ready', expiresAt: 0 });
    expect(sock.send({ action: 'ping' })).toBe(true);
    sock.stop();
    expect(sockets[0].closedWith).toBe(1000);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('treats an open socket without `ready` as ready after a grace period', async () => {
    const { sock, sockets, events } = setup();
    sock.start();
    await flush();
    sockets[0].open();
    await vi.advanceTimersByTimeAsync(3000);
    expect(sock.isReady).toBe(true);
    expect(events).toEqual(['ready']);
  });

  it('ignores garbage frames', async () => {
    const { sock, sockets, events } = setup();
    sock.start();
    await flush();
    sockets[0].open();
    sockets[0].onmessage?.({ data: 'not json' });
    sockets[0].onmessage?.({ data: '{"no":"type"}' });
    expect(events).toEqual([]);
  });
});

// Reconnect delays: exponential growth, capped, with "equal jitter" (half fixed, half
// random) so a fleet of clients dropped by one relay restart does not return in lockstep,
// yet no client retries immediately in a tight loop.

export interface BackoffOptions {
  /** First delay's ceiling, in ms. */
  baseMs: number;
  /** Largest delay, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/** Ceiling of the delay before retry number `attempt` (0-based): min(cap, base·2^attempt). */
export function backoffCeiling(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const exp = opts.baseMs * Math.pow(2, Math.max(0, Math.min(attempt, 30)));
  return Math.min(opts.capMs, exp);
}

/** Delay before retry `attempt`, in [ceiling/2, ceiling). `random` returns [0, 1). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeiling(attempt, opts);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}

/** Stateful schedule: `next()` gives the next delay, `reset()` after a healthy connection. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const d = backoffDelay(this.attempt, this.opts, this.random);
    this.attempt += 1;
    return d;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * Reads a retry hint from a close reason such as "retry after 1500ms" or "retry=2s" and
 * returns it in ms, capped; undefined when the reason carries none.
 */
export function retryHintMs(reason: string | undefined, capMs: number = DEFAULT_BACKOFF.capMs): number | undefined {
  if (!reason) return undefined;
  const m = /(\d+(?:\.\d+)?)\s*(ms|s)?\b/i.exec(reason);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  const ms = (m[2] ?? 'ms').toLowerCase() === 's' ? n * 1000 : n;
  return Math.min(capMs, Math.max(0, Math.round(ms)));
}

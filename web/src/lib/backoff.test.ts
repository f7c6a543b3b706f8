import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, backoffDelay, retryHintMs } from './backoff';

const opts = { baseMs: 500, capMs: 30_000 };

describe('backoff schedule', () => {
  it('doubles the ceiling each attempt up to the cap', () => {
    const ceilings = Array.from({ length: 10 }, (_, i) => backoffCeiling(i, opts));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('stays within [ceiling/2, ceiling] whatever the random draw', () => {
    for (let a = 0; a < 12; a++) {
      const c = backoffCeiling(a, opts);
      expect(backoffDelay(a, opts, () => 0)).toBe(c / 2);
      expect(backoffDelay(a, opts, () => 0.999999)).toBeLessThanOrEqual(c);
      const d = backoffDelay(a, opts, Math.random);
      expect(d).toBeGreaterThanOrEqual(c / 2);
      expect(d).toBeLessThanOrEqual(c);
    }
  });

  it('is jittered: different draws give different delays', () => {
    expect(backoffDelay(4, opts, () => 0.1)).not.toBe(backoffDelay(4, opts, () => 0.9));
  });

  it('never exceeds the cap, even for huge attempt numbers', () => {
    expect(backoffDelay(10_000, opts, () => 0.999)).toBeLessThanOrEqual(30_000);
  });

  it('Backoff walks the schedule and resets', () => {
    const b = new Backoff(opts, () => 0.5);
    expect([b.next(), b.next(), b.next()]).toEqual([375, 750, 1500]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(375);
  });
});

describe('retryHintMs', () => {
  it('reads hints from close reasons', () => {
    expect(retryHintMs('service restart; retry after 1500ms')).toBe(1500);
    expect(retryHintMs('retry=2s')).toBe(2000);
    expect(retryHintMs('1200')).toBe(1200);
    expect(retryHintMs('restart')).toBeUndefined();
    expect(retryHintMs('')).toBeUndefined();
    expect(retryHintMs('retry in 999s')).toBe(30_000);
  });
});

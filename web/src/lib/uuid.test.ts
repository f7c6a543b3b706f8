import { describe, expect, it } from 'vitest';
import { newUuid } from './uuid';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
type CryptoArg = Parameters<typeof newUuid>[0];

describe('newUuid', () => {
  it('uses crypto.randomUUID when present', () => {
    const c = { randomUUID: () => 'x', getRandomValues: (a: unknown) => a } as unknown as CryptoArg;
    expect(newUuid(c)).toBe('x');
  });
  it('falls back to getRandomValues outside secure contexts', () => {
    const c = { getRandomValues: (a: Uint8Array) => globalThis.crypto.getRandomValues(a) } as unknown as CryptoArg;
    const ids = new Set(Array.from({ length: 100 }, () => newUuid(c)));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(V4);
  });
});

import { describe, expect, it } from 'vitest';
import { socketTokenIsOlder } from './tokenExpiry';

describe('socketTokenIsOlder', () => {
  const exp = 1_767_225_600; // the socket's token, Unix seconds
  it('is true for a token that clearly outlives the socket’s', () => {
    expect(socketTokenIsOlder(exp, exp * 1000 + 14 * 60_000)).toBe(true);
  });
  it('is false for the same token seen through skewed clocks', () => {
    expect(socketTokenIsOlder(exp, exp * 1000 + 20_000)).toBe(false);
    expect(socketTokenIsOlder(exp, exp * 1000 - 20_000)).toBe(false);
  });
  it('is false when either side is unknown', () => {
    expect(socketTokenIsOlder(undefined, exp * 1000 + 14 * 60_000)).toBe(false);
    expect(socketTokenIsOlder(exp, null)).toBe(false);
  });
});

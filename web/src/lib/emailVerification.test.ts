import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import { dismissKey, isEmailUnverified, needsVerification, tokenFromQuery } from './emailVerification';

describe('e-mail verification', () => {
  it('recognises only the 403 email_unverified refusal', () => {
    expect(isEmailUnverified(new ApiError(403, 'email_unverified', 'Forbidden', 'verify'))).toBe(true);
    expect(isEmailUnverified(new ApiError(403, 'muted', 'Forbidden', 'muted'))).toBe(false);
    expect(isEmailUnverified(new ApiError(401, 'email_unverified', 'Unauthorized', undefined))).toBe(false);
    expect(isEmailUnverified(new Error('email_unverified'))).toBe(false);
    expect(isEmailUnverified(undefined)).toBe(false);
  });

  it('asks only when the server says the address is unverified', () => {
    expect(needsVerification({ emailVerified: false })).toBe(true);
    expect(needsVerification({ emailVerified: true })).toBe(false);
    // An older server (or a login answer without the field) does not nag.
    expect(needsVerification({})).toBe(false);
    expect(needsVerification(null)).toBe(false);
  });

  it('keeps a dismissal per account and address', () => {
    const a = dismissKey({ id: 'u1', email: 'a@example.com' });
    expect(a).not.toBe(dismissKey({ id: 'u1', email: 'b@example.com' }));
    expect(a).not.toBe(dismissKey({ id: 'u2', email: 'a@example.com' }));
  });

  it('reads the token from the link', () => {
    expect(tokenFromQuery('?token=abc-_9')).toBe('abc-_9');
    expect(tokenFromQuery('?token=%20abc%20')).toBe('abc');
    expect(tokenFromQuery('?other=1')).toBe('');
    expect(tokenFromQuery('')).toBe('');
  });
});

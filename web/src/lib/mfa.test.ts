import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import { codeError, groupSecret, mfaChallengeOf, recoveryCodesText } from './mfa';

describe('mfa helpers', () => {
  it('finds the challenge of an mfa_required answer only', () => {
    const required = new ApiError(401, 'mfa_required', 'Unauthorized', 'send a code', {}, undefined, {
      challenge: 'abc',
      expiresAt: '2026-01-01T00:00:00Z',
    });
    expect(mfaChallengeOf(required)).toBe('abc');
    expect(mfaChallengeOf(new ApiError(401, 'invalid_credentials', 'Unauthorized', undefined))).toBeNull();
    expect(mfaChallengeOf(new ApiError(401, 'mfa_required', 'Unauthorized', undefined))).toBeNull();
    expect(mfaChallengeOf(new Error('x'))).toBeNull();
  });

  it('accepts six digits or a recovery code', () => {
    expect(codeError('123456')).toBeUndefined();
    expect(codeError(' 123 456 ')).toBeUndefined();
    expect(codeError('abcde-fgh23')).toBeUndefined();
    expect(codeError('abcde-fgh23', false)).toBe('The code is 6 digits.');
    expect(codeError('')).toMatch(/Enter the code/);
    expect(codeError('12345')).toMatch(/6 digits/);
    expect(codeError('1234567')).toMatch(/6 digits/);
  });

  it('groups the secret and lists the codes', () => {
    expect(groupSecret('ABCDEFGHIJ')).toBe('ABCD EFGH IJ');
    expect(groupSecret('ABCDEFGH')).toBe('ABCD EFGH');
    expect(recoveryCodesText(['AAAAA-BBBBB', 'CCCCC-DDDDD'])).toBe('AAAAA-BBBBB\nCCCCC-DDDDD\n');
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import { needsPassword, profileErrors, profilePatch } from './profile';

const user = { username: 'alice', email: 'alice@example.com' };

describe('profilePatch', () => {
  it('sends a username change alone, without a password', () => {
    const { patch, errors } = profilePatch(user, { username: 'alicia', email: 'alice@example.com', currentPassword: '' });
    expect(patch).toEqual({ username: 'alicia' });
    expect(errors).toEqual({});
  });

  it('asks for the current password with a new e-mail address', () => {
    const missing = profilePatch(user, { username: 'alice', email: 'new@example.org', currentPassword: '' });
    expect(missing.errors.currentPassword).toMatch(/current password/);
    const { patch, errors } = profilePatch(user, { username: 'alice', email: ' new@example.org ', currentPassword: 'secret pw' });
    expect(errors).toEqual({});
    expect(patch).toEqual({ email: 'new@example.org', currentPassword: 'secret pw' });
  });

  it('treats the same address in another case as no change', () => {
    expect(needsPassword(user, 'Alice@Example.com')).toBe(false);
    expect(needsPassword(user, 'bob@example.com')).toBe(true);
    expect(profilePatch(user, { username: 'alice', email: 'ALICE@example.com', currentPassword: '' }).patch).toEqual({});
  });
});

describe('profileErrors', () => {
  it('puts each refusal under its field', () => {
    expect(profileErrors(new ApiError(403, 'wrong_current_password', 'Forbidden', 'the current password is wrong')).fields).toEqual({
      currentPassword: 'The current password is wrong.',
    });
    expect(profileErrors(new ApiError(409, 'email_taken', 'Conflict', undefined)).fields.email).toMatch(/already exists/);
    expect(
      profileErrors(new ApiError(400, 'validation_failed', 'Bad Request', undefined, { currentPassword: 'is required' })).fields,
    ).toEqual({ currentPassword: 'is required' });
  });

  it('shows a rate limit as a form message with the wait', () => {
    const out = profileErrors(new ApiError(429, 'rate_limited', 'Too Many Requests', undefined, {}, 1200));
    expect(out.fields).toEqual({});
    expect(out.form).toMatch(/1200 s/);
  });
});

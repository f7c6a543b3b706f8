import { describe, expect, it } from 'vitest';
import { DELETED_USER_NAME, deletionErrorField, deletionRequest, displayName, isDeletedUser } from './deletedUser';
import { roomLabel, roomTitle } from './rooms';

describe('deleted users', () => {
  it('shows the neutral name as "Deleted user", and real names as they are', () => {
    expect(isDeletedUser(DELETED_USER_NAME)).toBe(true);
    expect(isDeletedUser('deleted_user')).toBe(false);
    expect(isDeletedUser(undefined)).toBe(false);
    expect(displayName(DELETED_USER_NAME)).toBe('Deleted user');
    expect(displayName('alice')).toBe('alice');
  });

  it('names a direct room with a deleted person "Deleted user"', () => {
    const room = { isGeneral: false, name: '', kind: 'direct' as const, peer: { userId: 'z', username: DELETED_USER_NAME } };
    expect(roomTitle(room, 'me')).toBe('Deleted user');
    expect(roomLabel(room, 'me')).toBe('@Deleted user');
  });

  it('asks for the password, and for the code when two-factor is on', () => {
    expect(deletionRequest({ password: '', code: '', deleteMessages: false }, true)).toEqual({
      ok: false,
      errors: { password: 'Enter your password.', code: 'Enter the code from your authenticator app, or a recovery code.' },
    });
    expect(deletionRequest({ password: 'pw', code: ' 123456 ', deleteMessages: true }, true)).toEqual({
      ok: true,
      password: 'pw',
      code: '123456',
      deleteMessages: true,
    });
    expect(deletionRequest({ password: 'pw', code: 'ignored', deleteMessages: false }, false)).toEqual({
      ok: true,
      password: 'pw',
      code: undefined,
      deleteMessages: false,
    });
  });

  it('puts each refusal under its field', () => {
    expect(deletionErrorField('invalid_credentials')).toBe('password');
    expect(deletionErrorField('mfa_code_required')).toBe('code');
    expect(deletionErrorField('invalid_mfa_code')).toBe('code');
    expect(deletionErrorField('last_admin')).toBe(null);
  });
});

import { describe, expect, it } from 'vitest';
import { compact, emailError, messageError, passwordError, usernameError } from './validate';

describe('validation', () => {
  it('checks usernames like the server', () => {
    expect(usernameError('al')).toBeDefined();
    expect(usernameError('alice_01.x-y')).toBeUndefined();
    expect(usernameError('a'.repeat(33))).toBeDefined();
    expect(usernameError('bad name')).toBeDefined();
  });
  it('counts password characters like the server', () => {
    expect(passwordError('short')).toBeDefined();
    expect(passwordError('longenough')).toBeUndefined();
    expect(passwordError('😀'.repeat(8))).toBeUndefined(); // 8 characters, 32 bytes
    expect(passwordError('é'.repeat(300))).toBeUndefined();
    expect(passwordError('p'.repeat(1025))).toContain('1024');
  });
  it('checks e-mails and messages', () => {
    expect(emailError('a@b')).toBeUndefined();
    expect(emailError('nope')).toBeDefined();
    expect(messageError('   ')).toBeDefined();
    expect(messageError('x'.repeat(4000))).toBeUndefined();
    expect(messageError('x'.repeat(4001))).toBeDefined();
  });
  it('compacts', () => {
    expect(compact({ a: undefined, b: 'x' })).toEqual({ b: 'x' });
  });
});

// Two-factor authentication (TOTP) helpers the forms share: what a typed code looks like, the
// log-in challenge in an `mfa_required` answer, and the forms the secret and codes are shown in.

import { ApiError } from '../api/errors';

/** The challenge of a log-in that answered `mfa_required`, else null. */
export function mfaChallengeOf(err: unknown): string | null {
  if (!(err instanceof ApiError) || err.code !== 'mfa_required') return null;
  const c = err.extensions.challenge;
  return typeof c === 'string' && c ? c : null;
}

/**
 * What is wrong with a typed code, or undefined: six digits from the app (spaces allowed) or a
 * recovery code (ten letters and digits, dash optional) when `recovery` is allowed.
 */
export function codeError(raw: string, recovery = true): string | undefined {
  const compact = raw.replace(/[\s-]/g, '');
  if (!compact) return recovery ? 'Enter the code from your app, or a recovery code.' : 'Enter the code from your app.';
  if (/^\d{6}$/.test(compact)) return undefined;
  if (recovery && /^[A-Za-z2-7]{10,}$/.test(compact)) return undefined;
  return recovery ? 'A code is 6 digits (or a recovery code, like ABCDE-FGH23).' : 'The code is 6 digits.';
}

/** The secret in groups of four, easier to type into an app by hand. */
export function groupSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/** The recovery codes as the text copied to the clipboard: one a line. */
export function recoveryCodesText(codes: string[]): string {
  return codes.join('\n') + '\n';
}

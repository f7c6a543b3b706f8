// E-mail verification in the web app: which refusals mean "verify your address first", what
// the banner and the verify page say, and the banner's dismissal for this browser session
// (docs/architecture.md, "E-mail verification").

import { ApiError } from '../api/errors';
import type { User } from '../api/types';

/** chat-service's refusal of a write (a post, a socket ticket) by an unverified account. */
export const EMAIL_UNVERIFIED = 'email_unverified';

/** What the composer and the connection status say while writes are refused. */
export const VERIFY_TO_POST = 'Verify your e-mail address to post';

/** Whether `e` is the refusal retrying cannot fix until the address is verified. */
export function isEmailUnverified(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403 && e.code === EMAIL_UNVERIFIED;
}

/** Whether the banner asks this user to confirm their address (unknown reads as verified). */
export function needsVerification(user: Pick<User, 'emailVerified'> | null | undefined): boolean {
  return user?.emailVerified === false;
}

/** The key under which a dismissal is kept: per account and address, so a new address asks again. */
export function dismissKey(user: Pick<User, 'id' | 'email'>): string {
  return `cloudchat.verifyBanner.${user.id}.${user.email ?? ''}`;
}

/** The verification token of the page's query (`/verify-email?token=`), trimmed; '' when none. */
export function tokenFromQuery(search: string): string {
  return (new URLSearchParams(search).get('token') ?? '').trim();
}

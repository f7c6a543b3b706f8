// The account form's logic, kept out of React so it can be tested: what to send to
// PATCH /users/me, and which field shows which server refusal. A new e-mail address needs the
// current password (the server answers 400 without it and 403 when it is wrong).

import { ApiError } from '../api/errors';
import { compact, emailError, usernameError } from './validate';

export interface ProfilePatch {
  username?: string;
  email?: string;
  currentPassword?: string;
}

export interface ProfileForm {
  username: string;
  email: string;
  currentPassword: string;
}

/** The changes to send (empty when nothing changed) and the client-side errors. */
export function profilePatch(
  user: { username: string; email?: string } | null,
  form: ProfileForm,
): { patch: ProfilePatch; errors: Record<string, string> } {
  const patch: ProfilePatch = {};
  const username = form.username.trim();
  const email = form.email.trim();
  if (username !== user?.username) patch.username = username;
  if (email.toLowerCase() !== (user?.email ?? '').toLowerCase()) {
    patch.email = email;
    patch.currentPassword = form.currentPassword;
  }
  const errors = compact({
    username: patch.username !== undefined ? usernameError(patch.username) : undefined,
    email: patch.email !== undefined ? emailError(patch.email) : undefined,
    currentPassword:
      patch.email !== undefined && !form.currentPassword
        ? 'Enter your current password to change your e-mail address.'
        : undefined,
  });
  return { patch, errors };
}

/** Whether the form should ask for the current password (the e-mail is being changed). */
export function needsPassword(user: { email?: string } | null, email: string): boolean {
  return email.trim().toLowerCase() !== (user?.email ?? '').toLowerCase();
}

/** Field errors (and a form-level message) for a refused PATCH /users/me. */
export function profileErrors(x: ApiError): { fields: Record<string, string>; form?: string } {
  switch (x.code) {
    case 'wrong_current_password':
      return { fields: { currentPassword: 'The current password is wrong.' } };
    case 'email_taken':
      return { fields: { email: 'An account with that e-mail address already exists.' } };
    case 'username_taken':
      return { fields: { username: 'That username is already taken.' } };
    case 'validation_failed':
      return Object.keys(x.fieldErrors).length ? { fields: x.fieldErrors } : { fields: {}, form: x.userMessage };
    default:
      return { fields: {}, form: x.userMessage };
  }
}

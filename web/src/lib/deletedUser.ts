// A deleted account: the services replace the person's name everywhere they kept it by one
// name no account can have (usernames allow no spaces; the same constant as
// `wire::DELETED_USER_NAME`). The app shows it as "Deleted user", with no profile or DM
// action.

/** The name a deleted account's messages, rooms and reports carry. */
export const DELETED_USER_NAME = 'deleted user';

/** How the app shows it. */
export const DELETED_USER_LABEL = 'Deleted user';

export function isDeletedUser(username: string | null | undefined): boolean {
  return username === DELETED_USER_NAME;
}

/** A username as the app shows it: "Deleted user" for a deleted account. */
export function displayName(username: string): string {
  return isDeletedUser(username) ? DELETED_USER_LABEL : username;
}

/** What a delete-account form sends, or the field errors to show instead. */
export function deletionRequest(
  input: { password: string; code: string; deleteMessages: boolean },
  askCode: boolean,
): { ok: true; password: string; code: string | undefined; deleteMessages: boolean } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (!input.password) errors.password = 'Enter your password.';
  const code = input.code.trim();
  if (askCode && !code) errors.code = 'Enter the code from your authenticator app, or a recovery code.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return { ok: true, password: input.password, code: askCode ? code : undefined, deleteMessages: input.deleteMessages };
}

/** Where a refusal of `DELETE /users/me` shows: under a field, or for the whole form. */
export function deletionErrorField(code: string): 'password' | 'code' | null {
  if (code === 'invalid_credentials') return 'password';
  if (code === 'invalid_mfa_code' || code === 'mfa_code_required') return 'code';
  return null;
}

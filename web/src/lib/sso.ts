// Single sign-on in the web app: the button's link to auth-service, what the login page
// says for each `sso_error` code the callback sends back, and the link confirmation the
// callback asks for with `sso_link` (docs/architecture.md, "Single sign-on").

/** What `GET /auth/oidc` answers. */
export interface SsoStatus {
  enabled: boolean;
  displayName: string | null;
}

/** Where the "Sign in with …" button goes: auth-service, then the provider. */
export function ssoStartUrl(apiBase: string, returnTo: string): string {
  const to = returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : '/';
  return `${apiBase}/auth/oidc/start?returnTo=${encodeURIComponent(to)}`;
}

const MESSAGES: Record<string, string> = {
  sso_state_invalid: 'That sign-in link has expired or was opened in another browser. Please try again.',
  sso_domain_not_allowed: 'Accounts with that e-mail domain cannot sign in here. Ask your administrator.',
  sso_email_unverified: 'Your identity provider has not verified your e-mail address, so it cannot be used here.',
  account_suspended: 'This account is suspended. Ask your administrator.',
  sso_failed: 'Single sign-on did not work. Please try again, or log in with your password.',
};

/** The sentence for a callback's `sso_error` code (an unknown code reads as a failure). */
export function ssoErrorMessage(code: string): string {
  return MESSAGES[code] ?? MESSAGES.sso_failed;
}

/** The single sign-on parameters of the login page's query string. */
export function ssoParams(search: URLSearchParams): { error: string | null; linkToken: string | null } {
  return { error: search.get('sso_error'), linkToken: search.get('sso_link') };
}

/** The button's words. */
export function ssoButtonLabel(status: SsoStatus | null): string | null {
  return status?.enabled ? `Sign in with ${status.displayName || 'single sign-on'}` : null;
}

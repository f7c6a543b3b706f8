// Single sign-on on the login page: the "Sign in with …" button (when auth-service has a
// provider), and the form that links a provider identity to the existing account with the
// same e-mail by that account's password (the callback's `sso_link`).

import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { useAuth } from './AuthProvider';
import { ApiError, messageOf } from '../api/errors';
import { Field, FormError, focusFirstInvalid } from '../components/Field';
import { config } from '../config';
import { ssoButtonLabel, ssoStartUrl, type SsoStatus } from '../lib/sso';
import { codeError } from '../lib/mfa';

/** The button, once `GET /auth/oidc` says single sign-on is on; nothing otherwise. */
export function SsoButton({ returnTo }: { returnTo: string }) {
  const { api } = useAuth();
  const [status, setStatus] = useState<SsoStatus | null>(null);
  useEffect(() => {
    let live = true;
    api
      .ssoStatus()
      .then((s) => live && setStatus(s))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [api]);
  const label = ssoButtonLabel(status);
  if (!label) return null;
  return (
    <>
      <p className="auth-or" aria-hidden="true">
        or
      </p>
      <a className="button button-block" href={ssoStartUrl(config().apiBase, returnTo)} data-testid="sso-button">
        {label}
      </a>
    </>
  );
}

/** Confirms a link request with the existing account's password, then logs in. */
export function SsoLinkForm({ linkToken }: { linkToken: string }) {
  const { api } = useAuth();
  const navigate = useNavigate();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  // Asked for once the server says the account has two-factor authentication on.
  const [askCode, setAskCode] = useState(false);
  const [code, setCode] = useState('');
  const [codeErr, setCodeErr] = useState<string | undefined>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    setFormError(null);
    if (!password) {
      setError('Enter the password of your account.');
      focusFirstInvalid(form);
      return;
    }
    setError(undefined);
    const badCode = askCode ? codeError(code) : undefined;
    setCodeErr(badCode);
    if (badCode) {
      focusFirstInvalid(form);
      return;
    }
    setBusy(true);
    try {
      await api.linkSso(linkToken, password, askCode ? code.trim() : undefined);
      navigate('/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'mfa_code_required') {
        setAskCode(true);
        setCodeErr(undefined);
      } else if (err instanceof ApiError && err.code === 'invalid_mfa_code') {
        setCodeErr(err.userMessage);
        focusFirstInvalid(form);
      } else if (err instanceof ApiError && err.status === 401) {
        setError('That is not the password of this account.');
        focusFirstInvalid(form);
      } else if (err instanceof ApiError && err.status === 404) {
        setFormError('This link has expired or was already used. Sign in with your provider again.');
      } else {
        setFormError(err instanceof ApiError ? err.userMessage : messageOf(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Link your sign-in</h1>
      <p className="auth-note">
        An account with your e-mail address already exists. Enter its password to link your single sign-on to it; from
        then on, single sign-on logs you straight in.
      </p>
      <form onSubmit={submit} noValidate data-testid="sso-link-form">
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={error}
        />
        {askCode && (
          <Field
            label="Code from your authenticator app, or a recovery code"
            name="code"
            autoComplete="one-time-code"
            autoFocus
            value={code}
            onChange={(e) => setCode(e.target.value)}
            error={codeErr}
            hint="This account has two-factor authentication on."
          />
        )}
        <FormError message={formError} />
        <button className="button button-primary button-block" type="submit" disabled={busy}>
          {busy ? 'Please wait…' : 'Link and log in'}
        </button>
      </form>
      <p className="auth-switch">
        <Link to="/login" replace>
          Cancel
        </Link>
      </p>
    </>
  );
}

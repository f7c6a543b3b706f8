// One page for logging in and registering, with a toggle between the two.

import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate, useSearchParams } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { ACCOUNT_DELETED_TEXT, ApiError, messageOf } from '../api/errors';
import { Field, FormError, focusFirstInvalid } from '../components/Field';
import { compact, emailError, passwordError, usernameError } from '../lib/validate';
import { SsoButton, SsoLinkForm } from '../auth/SingleSignOn';
import { ssoErrorMessage, ssoParams } from '../lib/sso';
import { codeError, mfaChallengeOf } from '../lib/mfa';

export function AuthPage() {
  const { status, login, loginMfa, register, endedBecause } = useAuth();
  const [params, setParams] = useSearchParams();
  const mode = params.get('mode') === 'register' ? 'register' : 'login';
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  const sso = ssoParams(params);

  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The second step of a log-in with two-factor authentication on.
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState('');

  if (status === 'signedIn') return <Navigate to={from} replace />;

  const toggle = () => {
    setErrors({});
    setFormError(null);
    setParams(mode === 'login' ? { mode: 'register' } : {}, { replace: true, state: location.state });
  };

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    setFormError(null);
    const errs =
      mode === 'register'
        ? compact({
            username: usernameError(username.trim()),
            email: emailError(email),
            password: passwordError(password),
            confirm: confirm !== password ? 'The passwords differ.' : undefined,
          })
        : compact({
            email: emailError(email),
            password: password ? undefined : 'Enter your password.',
          });
    setErrors(errs);
    if (Object.keys(errs).length) {
      focusFirstInvalid(form);
      return;
    }
    setBusy(true);
    try {
      if (mode === 'register') await register(username.trim(), email.trim(), password);
      else await login(email.trim(), password);
      navigate(from, { replace: true });
    } catch (err) {
      const mfa = mfaChallengeOf(err);
      if (mfa) {
        setChallenge(mfa);
        setErrors({});
        setCode('');
      } else if (err instanceof ApiError) {
        setErrors(err.fieldErrors);
        const field = fieldForCode(err.code);
        if (field && !err.fieldErrors[field]) setErrors({ ...err.fieldErrors, [field]: err.userMessage });
        else setFormError(err.userMessage);
        focusFirstInvalid(form);
      } else {
        setFormError(messageOf(err));
      }
    } finally {
      setBusy(false);
    }
  }

  async function submitCode(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    setFormError(null);
    const bad = codeError(code);
    setErrors(bad ? { code: bad } : {});
    if (bad || !challenge) {
      focusFirstInvalid(form);
      return;
    }
    setBusy(true);
    try {
      await loginMfa(challenge, code.trim());
      navigate(from, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_mfa_code') {
        setErrors({ code: err.userMessage });
        focusFirstInvalid(form);
      } else if (err instanceof ApiError && err.code === 'invalid_mfa_challenge') {
        // Expired or dead: back to the password.
        setChallenge(null);
        setPassword('');
        setFormError(err.userMessage);
      } else {
        setFormError(messageOf(err));
      }
    } finally {
      setBusy(false);
    }
  }

  const title = mode === 'login' ? 'Log in' : 'Create an account';
  const brand = (
    <div className="brand brand-large" aria-hidden="true">
      <span className="brand-mark">☁</span> Cloud Chat
    </div>
  );
  if (sso.linkToken) {
    return (
      <main className="auth-page">
        <div className="auth-card">
          {brand}
          <SsoLinkForm linkToken={sso.linkToken} />
        </div>
      </main>
    );
  }
  if (challenge && mode === 'login') {
    return (
      <main className="auth-page">
        <div className="auth-card">
          {brand}
          <h1>Two-factor authentication</h1>
          <p className="auth-note">Enter the code your authenticator app shows for Cloud Chat, or one of your recovery codes.</p>
          <form onSubmit={submitCode} noValidate data-testid="mfa-form">
            <Field
              label="Code"
              name="code"
              autoComplete="one-time-code"
              autoFocus
              value={code}
              onChange={(e) => setCode(e.target.value)}
              error={errors.code}
            />
            <FormError message={formError} />
            <button className="button button-primary button-block" type="submit" disabled={busy}>
              {busy ? 'Please wait…' : 'Verify'}
            </button>
          </form>
          <p className="auth-switch">
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setChallenge(null);
                setFormError(null);
              }}
            >
              Back
            </button>
          </p>
        </div>
      </main>
    );
  }
  return (
    <main className="auth-page">
      <div className="auth-card">
        {brand}
        <h1>{title}</h1>
        {sso.error && mode === 'login' && <FormError message={ssoErrorMessage(sso.error)} />}
        {status === 'unreachable' && <FormError message="Cannot reach the server right now. Check your connection and try again." />}
        {endedBecause && !formError && (
          <div className="form-error" role="alert" data-testid="session-ended">
            {endedBecause === ACCOUNT_DELETED_TEXT ? endedBecause : `You were logged out. ${endedBecause}`}
          </div>
        )}
        <form onSubmit={submit} noValidate>
          {mode === 'register' && (
            <Field
              label="Username"
              name="username"
              autoComplete="username"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              error={errors.username}
              hint="3–32 characters: letters, digits, _ . -"
            />
          )}
          <Field
            label="E-mail"
            name="email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={errors.email}
          />
          <Field
            label="Password"
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password ?? errors.newPassword}
          />
          {mode === 'register' && (
            <Field
              label="Confirm password"
              name="confirm"
              type="password"
              autoComplete="new-password"
              value={confirm}
              onChange={(e) => setConfirm(e.target.value)}
              error={errors.confirm}
            />
          )}
          <FormError message={formError} />
          <button className="button button-primary button-block" type="submit" disabled={busy}>
            {busy ? 'Please wait…' : mode === 'login' ? 'Log in' : 'Create account'}
          </button>
        </form>
        {mode === 'login' && <SsoButton returnTo={from} />}
        <p className="auth-switch">
          {mode === 'login' ? 'New here?' : 'Already have an account?'}{' '}
          <button type="button" className="link-button" onClick={toggle}>
            {mode === 'login' ? 'Create an account' : 'Log in'}
          </button>
        </p>
        {mode === 'login' && (
          <p className="auth-switch">
            <Link to="/forgot-password">Forgot your password?</Link>
          </p>
        )}
      </div>
    </main>
  );
}

/** Puts a 409 next to the field it is about. */
function fieldForCode(code: string): string | undefined {
  if (code.includes('username')) return 'username';
  if (code.includes('email')) return 'email';
  if (code.includes('password')) return 'password';
  return undefined;
}

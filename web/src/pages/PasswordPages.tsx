// Forgot password (asks for the reset link by e-mail) and reset password (the page the
// link opens: /reset-password?token=...).

import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { ApiError, messageOf } from '../api/errors';
import { Field, FormError } from '../components/Field';
import { emailError, passwordError } from '../lib/validate';

export function AuthShell({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">☁</span> Cloud Chat
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

export function ForgotPasswordPage() {
  const { api } = useAuth();
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string>();
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const err = emailError(email);
    setError(err);
    setFormError(null);
    if (err) return;
    setBusy(true);
    try {
      await api.forgotPassword(email.trim());
      setDone(true);
    } catch (x) {
      setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthShell title="Forgot your password?">
      {done ? (
        <div className="notice" role="status">
          <p>
            If an account exists for <strong>{email.trim()}</strong>, a link to reset its password is on its way. The link
            works once, for one hour.
          </p>
          <p>
            <Link to="/login">Back to log in</Link>
          </p>
        </div>
      ) : (
        <form onSubmit={submit} noValidate>
          <p className="muted">Enter the e-mail address of your account and we will send you a reset link.</p>
          <Field label="E-mail" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={error} />
          <FormError message={formError} />
          <button className="button button-primary button-block" type="submit" disabled={busy}>
            {busy ? 'Sending…' : 'Send reset link'}
          </button>
          <p className="auth-switch">
            <Link to="/login">Back to log in</Link>
          </p>
        </form>
      )}
    </AuthShell>
  );
}

export function ResetPasswordPage() {
  const { api } = useAuth();
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs = { password: passwordError(password), confirm: confirm !== password ? 'The passwords differ.' : undefined };
    setErrors(errs);
    setFormError(null);
    if (errs.password || errs.confirm) return;
    setBusy(true);
    try {
      await api.resetPassword(token, password);
      setDone(true);
    } catch (x) {
      if (x instanceof ApiError && x.fieldErrors.newPassword) setErrors({ password: x.fieldErrors.newPassword });
      else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <AuthShell title="Reset your password">
        <FormError message="This link is incomplete. Open the link from the e-mail again, or ask for a new one." />
        <p className="auth-switch">
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </AuthShell>
    );
  }

  return (
    <AuthShell title="Choose a new password">
      {done ? (
        <div className="notice" role="status">
          <p>Your password has been changed. For safety, every session was logged out.</p>
          <p>
            <Link to="/login">Log in with the new password</Link>
          </p>
        </div>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password}
          />
          <Field
            label="Confirm new password"
            type="password"
            autoComplete="new-password"
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            error={errors.confirm}
          />
          <FormError message={formError} />
          <button className="button button-primary button-block" type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Set new password'}
          </button>
          <p className="auth-switch">
            <Link to="/forgot-password">Link expired? Ask for a new one</Link>
          </p>
        </form>
      )}
    </AuthShell>
  );
}

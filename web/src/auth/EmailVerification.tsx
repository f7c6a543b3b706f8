// E-mail verification (docs/architecture.md, "E-mail verification"): the banner the Layout
// shows while the address is unverified, the account section's status line, and the page a
// mailed link opens (/verify-email?token=...).

import { useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'react-router-dom';
import { useAuth } from './AuthProvider';
import { messageOf } from '../api/errors';
import type { User } from '../api/types';
import { FormError } from '../components/Field';
import { dismissKey, needsVerification, tokenFromQuery } from '../lib/emailVerification';
import { AuthShell } from '../pages/PasswordPages';

/** A "Resend" button's state: asks auth-service for a new link and says "Sent" or why not. */
function useResend(email: string | undefined) {
  const { api } = useAuth();
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  async function resend() {
    if (!email) return;
    setBusy(true);
    setNote(null);
    try {
      await api.resendVerification(email);
      setNote({ ok: true, text: 'Sent' });
    } catch (x) {
      setNote({ ok: false, text: messageOf(x) });
    } finally {
      setBusy(false);
    }
  }
  return { busy, note, resend };
}

function ResendButton({ email }: { email: string | undefined }) {
  const { busy, note, resend } = useResend(email);
  return (
    <>
      <button type="button" className="link-button" onClick={resend} disabled={busy} data-testid="resend-verification">
        {busy ? 'Sending…' : 'Resend'}
      </button>
      {note && (
        <span className={note.ok ? 'success' : 'field-error'} role="status" data-testid="resend-note">
          {' '}
          {note.text}
        </span>
      )}
    </>
  );
}

function dismissed(user: User): boolean {
  try {
    return sessionStorage.getItem(dismissKey(user)) === '1';
  } catch {
    return false;
  }
}

/** The Layout's banner while the signed-in user's address is unverified; dismissible. */
export function VerificationBanner() {
  const { user } = useAuth();
  const [hidden, setHidden] = useState(() => !!user && dismissed(user));
  if (!user || !needsVerification(user) || hidden) return null;
  return (
    <div className="verify-banner" role="status" data-testid="verify-banner">
      <span>
        Confirm your e-mail address: we sent a link to <strong>{user.email}</strong>. <ResendButton email={user.email} />
      </span>
      <button
        type="button"
        className="icon-button"
        aria-label="Dismiss"
        onClick={() => {
          try {
            sessionStorage.setItem(dismissKey(user), '1');
          } catch {
            // private mode: hidden until the next load
          }
          setHidden(true);
        }}
      >
        ×
      </button>
    </div>
  );
}

/** The account section's line: "verified", or "not verified — resend". */
export function VerificationStatus({ user }: { user: User | null }) {
  if (!user || user.emailVerified === undefined) return null;
  if (user.emailVerified) {
    return (
      <p className="muted small" data-testid="email-status">
        E-mail address verified.
      </p>
    );
  }
  return (
    <p className="muted small" data-testid="email-status">
      E-mail address not verified — <ResendButton email={user.email} />
    </p>
  );
}

/** Each token is posted once per page load, even when React runs the effect twice. */
const opened = new Map<string, Promise<User>>();

/** `/verify-email?token=`: opens the link, refreshes the session if there is one. */
export function VerifyEmailPage() {
  const { api, status, setUser, user } = useAuth();
  const token = tokenFromQuery(useLocation().search);
  const [result, setResult] = useState<{ ok: true } | { ok: false; error: string } | null>(null);
  const started = useRef(false);

  useEffect(() => {
    // After the page load's silent refresh, so that the refresh below comes after the link.
    if (!token || status === 'loading' || started.current) return;
    started.current = true;
    let promise = opened.get(token);
    if (!promise) {
      promise = api.verifyEmail(token).then((a) => a.user);
      opened.set(token, promise);
    }
    promise
      .then(async (verified) => {
        if (status === 'signedIn') {
          // The next access token no longer carries `unverified`.
          const answer = await api.refresh().catch(() => null);
          if (!answer && user?.id === verified.id) setUser({ ...user, ...verified });
        }
        setResult({ ok: true });
      })
      .catch((x) => setResult({ ok: false, error: messageOf(x) }));
  }, [api, token, status, setUser, user]);

  if (!token) {
    return (
      <AuthShell title="Confirm your e-mail address">
        <FormError message="This link is incomplete. Open the link from the e-mail again, or ask for a new one." />
        <p className="auth-switch">
          <Link to="/">Go to the chat</Link>
        </p>
      </AuthShell>
    );
  }
  return (
    <AuthShell title="Confirm your e-mail address">
      {result === null && <p role="status">Checking the link…</p>}
      {result?.ok && (
        <div className="notice" role="status" data-testid="verify-result">
          E-mail verified. Thank you!
        </div>
      )}
      {result && !result.ok && (
        <div data-testid="verify-result">
          <FormError message={result.error} />
          <p className="muted small">
            {status === 'signedIn' ? 'Ask for a new link from the banner in the chat.' : 'Log in to ask for a new link.'}
          </p>
        </div>
      )}
      <p className="auth-switch">
        <Link to="/">Go to the chat</Link>
      </p>
    </AuthShell>
  );
}

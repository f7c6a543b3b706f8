// Profile: change username, e-mail and password; two-factor authentication; active sessions;
// the users you blocked (with unblock); log out (here or everywhere); the way to the
// notification settings; deleting the account (auth/DeleteAccount.tsx).

import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { DataExportSection } from '../auth/DataExport';
import { TwoFactorSection } from '../auth/TwoFactor';
import { DeleteAccount } from '../auth/DeleteAccount';
import { VerificationStatus } from '../auth/EmailVerification';
import { ApiError, messageOf } from '../api/errors';
import type { Session } from '../api/types';
import { Dialog } from '../components/Dialog';
import { Field, FormError, MfaCodeField } from '../components/Field';
import { formatFull } from '../lib/format';
import { needsPassword, profileErrors, profilePatch } from '../lib/profile';
import { codeError } from '../lib/mfa';
import { compact, passwordError } from '../lib/validate';
import { useChat, useChatStore } from '../state/ChatProvider';

export function ProfileDialog({ onClose, onNotifications }: { onClose: () => void; onNotifications?: () => void }) {
  const { user, logout, logoutAll } = useAuth();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function doLogout(all: boolean) {
    setBusy(true);
    setError(null);
    try {
      if (all) await logoutAll();
      else await logout();
      navigate('/login', { replace: true });
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Your profile" onClose={onClose} wide>
      <p className="muted">
        Signed in as <strong>{user?.username}</strong>
        {user?.email ? ` (${user.email})` : ''}
      </p>
      {onNotifications && (
        <section className="dialog-section">
          <h3>Notifications</h3>
          <p className="muted small">Push notifications on this device, what to be told about, muting, the e-mail digest.</p>
          <button type="button" className="button" onClick={onNotifications} aria-haspopup="dialog">
            Notification settings…
          </button>
        </section>
      )}
      <AccountForm />
      <PasswordForm />
      <TwoFactorSection />
      <SessionsList />
      <BlockedUsers />
      <DataExportSection />
      <section className="dialog-section">
        <h3>Log out</h3>
        <FormError message={error} />
        <div className="dialog-actions start">
          <button type="button" className="button" onClick={() => doLogout(false)} disabled={busy}>
            Log out
          </button>
          <button type="button" className="button button-danger" onClick={() => doLogout(true)} disabled={busy}>
            Log out everywhere
          </button>
        </div>
        <p className="muted small">“Log out everywhere” ends every session of your account, on all devices.</p>
      </section>
      <DeleteAccount />
    </Dialog>
  );
}

function AccountForm() {
  const { api, user, setUser } = useAuth();
  const [username, setUsername] = useState(user?.username ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [currentPassword, setCurrentPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState<'profile' | 'email' | false>(false);
  const [busy, setBusy] = useState(false);
  const askPassword = needsPassword(user, email);

  // The login answer may not carry the e-mail: fetch the full profile once.
  useEffect(() => {
    let live = true;
    api
      .me()
      .then((me) => {
        if (!live) return;
        setUser(me);
        setEmail((e) => e || me.email || '');
        setUsername((u) => u || me.username);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    setFormError(null);
    const { patch, errors: errs } = profilePatch(user, { username, email, currentPassword });
    setErrors(errs);
    if (Object.keys(errs).length || Object.keys(patch).length === 0) return;
    setBusy(true);
    try {
      const me = await api.updateMe(patch);
      setUser(me);
      setCurrentPassword('');
      setSaved(patch.email !== undefined ? 'email' : 'profile');
    } catch (x) {
      if (x instanceof ApiError) {
        const { fields, form } = profileErrors(x);
        setErrors(fields);
        setFormError(form ?? null);
      } else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="dialog-section">
      <h3>Account</h3>
      <form onSubmit={submit} noValidate>
        <Field label="Username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} error={errors.username} />
        <Field label="E-mail" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
        <VerificationStatus user={user} />
        {askPassword && (
          <Field
            label="Current password"
            type="password"
            autoComplete="current-password"
            hint="Needed to change your e-mail address. Your old address is told, and your other sessions are logged out."
            value={currentPassword}
            onChange={(e) => setCurrentPassword(e.target.value)}
            error={errors.currentPassword}
          />
        )}
        <FormError message={formError} />
        {saved === 'profile' && (
          <p className="success" role="status">
            Saved. New messages show your new name; earlier ones keep the name they were sent with.
          </p>
        )}
        {saved === 'email' && (
          <p className="success" role="status">
            Saved. Your previous address was told of the change, and your other sessions were logged out. Open the link
            we sent to the new address to verify it.
          </p>
        )}
        <div className="dialog-actions start">
          <button type="submit" className="button button-primary" disabled={busy}>
            Save changes
          </button>
        </div>
      </form>
    </section>
  );
}

function PasswordForm() {
  const { api, user } = useAuth();
  const askCode = !!user?.mfaEnabled;
  const [code, setCode] = useState('');
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setSaved(false);
    setFormError(null);
    const errs = compact({
      currentPassword: current ? undefined : 'Enter your current password.',
      newPassword: passwordError(next),
      confirm: confirm !== next ? 'The passwords differ.' : undefined,
      code: askCode ? codeError(code) : undefined,
    });
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      await api.changePassword(current, next, askCode ? code.trim() : undefined);
      setSaved(true);
      setCode('');
      setCurrent('');
      setNext('');
      setConfirm('');
    } catch (x) {
      if (x instanceof ApiError && (x.code === 'invalid_mfa_code' || x.code === 'mfa_code_required')) setErrors({ code: x.userMessage });
      else if (x instanceof ApiError && x.code === 'wrong_current_password') setErrors({ currentPassword: x.userMessage });
      else if (x instanceof ApiError && Object.keys(x.fieldErrors).length) setErrors(x.fieldErrors);
      else if (x instanceof ApiError && x.status === 401 && x.code.includes('password')) setErrors({ currentPassword: x.userMessage });
      else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="dialog-section">
      <h3>Password</h3>
      <form onSubmit={submit} noValidate>
        <Field label="Current password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={errors.currentPassword} />
        <Field label="New password" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} error={errors.newPassword} />
        <Field label="Confirm new password" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} error={errors.confirm} />
        {askCode && (
          <MfaCodeField value={code} onChange={(e) => setCode(e.target.value)} error={errors.code} />
        )}
        <FormError message={formError} />
        {saved && (
          <p className="success" role="status">
            Password changed. Your other sessions were logged out.
          </p>
        )}
        <div className="dialog-actions start">
          <button type="submit" className="button button-primary" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}

function SessionsList() {
  const { api } = useAuth();
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () =>
    api
      .sessions()
      .then(setSessions)
      .catch((x) => setError(messageOf(x)));

  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api]);

  async function revoke(id: Session['id']) {
    setError(null);
    try {
      await api.revokeSession(id);
      await load();
    } catch (x) {
      setError(messageOf(x));
    }
  }

  return (
    <section className="dialog-section">
      <h3>Active sessions</h3>
      <FormError message={error} />
      {sessions === null && !error && <p className="muted small">Loading…</p>}
      {sessions && sessions.length === 0 && <p className="muted small">No other sessions.</p>}
      {sessions && sessions.length > 0 && (
        <ul className="session-list">
          {sessions.map((s) => (
            <li key={String(s.id)}>
              <div>
                <strong>{s.device || s.userAgent || 'Unknown device'}</strong>
                {s.current && <span className="tag">This device</span>}
                <div className="muted small">
                  {s.ip ? `${s.ip} · ` : ''}signed in {formatFull(s.createdAt)}
                  {s.lastUsedAt ? ` · last used ${formatFull(s.lastUsedAt)}` : ''}
                </div>
              </div>
              {!s.current && (
                <button type="button" className="button button-small" onClick={() => revoke(s.id)}>
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function BlockedUsers() {
  const store = useChatStore();
  const blocked = useChat((s) => s.blocked);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function unblock(userId: string, username: string) {
    setError(null);
    setBusy(userId);
    try {
      await store.unblock(userId);
      store.say(`You unblocked ${username}.`);
    } catch (x) {
      setError(messageOf(x));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="dialog-section" data-testid="blocked-users">
      <h3>Blocked users</h3>
      <p className="muted small">Their messages are hidden from you, and neither of you can send the other a direct message.</p>
      <FormError message={error} />
      {blocked.length === 0 ? (
        <p className="muted small">You have not blocked anyone.</p>
      ) : (
        <ul className="session-list" aria-label="Blocked users">
          {blocked.map((b) => (
            <li key={b.userId}>
              <div>
                <strong>{b.username}</strong>
                <div className="muted small">blocked {formatFull(b.createdAt)}</div>
              </div>
              <button type="button" className="button button-small" onClick={() => void unblock(b.userId, b.username)} disabled={busy === b.userId} aria-label={`Unblock ${b.username}`}>
                Unblock
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

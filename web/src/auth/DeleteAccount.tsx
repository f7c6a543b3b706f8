// The profile's "Delete account" section: what deleting does, the password (and the second
// factor's code when it is on), whether the messages go too, then a last confirmation. On
// success the session ends and the log-in page says the account was deleted.

import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { useAuth } from './AuthProvider';
import { ApiError, messageOf } from '../api/errors';
import { Field, FormError, MfaCodeField } from '../components/Field';
import { deletionErrorField, deletionRequest } from '../lib/deletedUser';

export function DeleteAccount() {
  const { api, user } = useAuth();
  const navigate = useNavigate();
  const askCode = !!user?.mfaEnabled;
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [deleteMessages, setDeleteMessages] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function review(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const checked = deletionRequest({ password, code, deleteMessages }, askCode);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) setConfirming(true);
  }

  async function remove() {
    const checked = deletionRequest({ password, code, deleteMessages }, askCode);
    if (!checked.ok) return;
    setBusy(true);
    try {
      await api.deleteAccount(checked.password, checked.code, checked.deleteMessages);
      navigate('/login', { replace: true });
    } catch (x) {
      setConfirming(false);
      setBusy(false);
      const field = x instanceof ApiError ? deletionErrorField(x.code) : null;
      if (field === 'password') setErrors({ password: 'That password is wrong.' });
      else if (field === 'code' && x instanceof ApiError) setErrors({ code: x.userMessage });
      else setFormError(messageOf(x));
    }
  }

  function cancel() {
    setOpen(false);
    setConfirming(false);
    setPassword('');
    setCode('');
    setErrors({});
    setFormError(null);
  }

  return (
    <section className="dialog-section" data-testid="delete-account">
      <h3>Delete account</h3>
      <p className="muted small">
        Deleting your account logs you out everywhere and erases your name, e-mail address and settings. Your
        messages stay, shown as from “Deleted user”, unless you choose to delete them too. People you wrote to
        directly can still read those conversations. This cannot be undone.
      </p>
      {!open ? (
        <div className="dialog-actions start">
          <button type="button" className="button button-danger" onClick={() => setOpen(true)}>
            Delete my account…
          </button>
        </div>
      ) : (
        <form onSubmit={review} noValidate>
          <Field
            label="Password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password}
            disabled={confirming}
          />
          {askCode && (
            <MfaCodeField value={code} onChange={(e) => setCode(e.target.value)} error={errors.code} disabled={confirming} />
          )}
          <label className="check">
            <input
              type="checkbox"
              checked={deleteMessages}
              onChange={(e) => setDeleteMessages(e.target.checked)}
              disabled={confirming}
              data-testid="delete-messages"
            />
            Also delete my messages
          </label>
          <FormError message={formError} />
          {confirming ? (
            <div role="alertdialog" aria-label="Confirm account deletion" className="form-error">
              <p>
                <strong>Delete your account now?</strong>{' '}
                {deleteMessages ? 'Your messages will be deleted too.' : 'Your messages will stay, as from “Deleted user”.'}
              </p>
              <div className="dialog-actions start">
                <button type="button" className="button button-danger" onClick={() => void remove()} disabled={busy}>
                  Yes, delete my account
                </button>
                <button type="button" className="button" onClick={() => setConfirming(false)} disabled={busy}>
                  Go back
                </button>
              </div>
            </div>
          ) : (
            <div className="dialog-actions start">
              <button type="submit" className="button button-danger">
                Delete account
              </button>
              <button type="button" className="button" onClick={cancel}>
                Cancel
              </button>
            </div>
          )}
        </form>
      )}
    </section>
  );
}

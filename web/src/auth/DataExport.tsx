// The profile's "Your data" section: download everything the account holds (profile,
// sessions, rooms, memberships, messages with their files' metadata...) as one JSON Lines
// file, from POST /users/me/export.

import { useState } from 'react';
import { useAuth } from './AuthProvider';
import { messageOf } from '../api/errors';
import { FormError } from '../components/Field';

export function DataExportSection() {
  const { api } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const { blob, filename } = await api.exportData();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
      // The browser has taken the file once the click is handled.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setDone(filename);
    } catch (x) {
      setError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="dialog-section" data-testid="data-export">
      <h3>Your data</h3>
      <p className="muted small">
        Download a copy of everything your account holds: your profile, sessions, rooms and memberships, your messages
        with the details of their files, your reactions, blocks and notification settings — one JSON object per line.
      </p>
      <FormError message={error} />
      <div className="dialog-actions start">
        <button type="button" className="button" onClick={download} disabled={busy}>
          {busy ? 'Preparing your data…' : 'Download my data'}
        </button>
      </div>
      {done && (
        <p className="muted small" role="status">
          Downloaded {done}.
        </p>
      )}
    </section>
  );
}

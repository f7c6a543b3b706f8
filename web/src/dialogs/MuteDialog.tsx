// Mute a member of a room for a while (`PUT /rooms/{id}/mutes/{userId}`): they keep reading,
// their messages are refused until it ends.

import { useId, useState, type FormEvent } from 'react';
import { messageOf } from '../api/errors';
import { useAuth } from '../auth/AuthProvider';
import { Dialog } from '../components/Dialog';
import { DialogButtons } from '../components/DialogButtons';
import { FormError } from '../components/Field';
import { MUTE_DURATIONS } from '../lib/moderation';
import { reasonError } from '../lib/validate';

interface Props {
  roomId: number;
  roomName: string;
  user: { userId: string; username: string };
  onClose(): void;
  onMuted?(): void;
}

export function MuteDialog({ roomId, roomName, user, onClose, onMuted }: Props) {
  const { api } = useAuth();
  const [seconds, setSeconds] = useState(MUTE_DURATIONS[1].seconds ?? 3600);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const bad = reasonError(reason, 500);
    if (bad) {
      setError(`Reason: ${bad}`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.mute(roomId, user.userId, seconds, reason.trim() || undefined);
      onMuted?.();
      onClose();
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Mute ${user.username}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p className="muted small">
          {user.username} keeps reading {roomName}; what they send is refused until the mute ends.
        </p>
        <fieldset className="choice-list">
          <legend>For how long?</legend>
          {MUTE_DURATIONS.map((d) => (
            <label key={d.label}>
              <input type="radio" name={`${id}-duration`} checked={seconds === d.seconds} onChange={() => setSeconds(d.seconds ?? 3600)} />
              {d.label}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-reason`}>Reason (optional)</label>
          <input id={`${id}-reason`} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
        </div>
        <FormError message={error} />
        <DialogButtons onCancel={onClose} label="Mute" busy={busy} danger />
      </form>
    </Dialog>
  );
}

// Suspend an account: a reason, how long (1 hour … 30 days, or until lifted), and whether its
// messages are hidden from everyone but staff meanwhile. The account's sessions end at once.
// Used from the Users tab (the reason is required) and from a report (the note is optional).

import { useId, useState, type FormEvent } from 'react';
import { messageOf } from '../api/errors';
import { Dialog } from '../components/Dialog';
import { DialogButtons } from '../components/DialogButtons';
import { FormError } from '../components/Field';
import { SUSPEND_DURATIONS } from '../lib/moderation';
import { reasonError } from '../lib/validate';

export interface SuspendChoice {
  reason: string;
  /** null: until lifted. */
  seconds: number | null;
  hideMessages: boolean;
}

interface Props {
  username: string;
  /** Whether a reason must be given (what the field is called follows). */
  reasonRequired: boolean;
  reasonLabel: string;
  maxReason: number;
  onSubmit(choice: SuspendChoice): Promise<void>;
  onClose(): void;
}

export function SuspendDialog({ username, reasonRequired, reasonLabel, maxReason, onSubmit, onClose }: Props) {
  const [reason, setReason] = useState('');
  const [duration, setDuration] = useState(1); // 1 day
  const [hide, setHide] = useState(false);
  const [reasonErr, setReasonErr] = useState<string>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const bad = reasonError(reason, maxReason, reasonRequired ? 'Say why (the person sees it when they try to log in).' : undefined);
    setReasonErr(bad);
    setError(null);
    if (bad) return;
    setBusy(true);
    try {
      await onSubmit({ reason: reason.trim(), seconds: SUSPEND_DURATIONS[duration].seconds, hideMessages: hide });
      onClose();
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Suspend ${username}`} onClose={onClose} initialFocus="textarea">
      <form onSubmit={submit} noValidate>
        <p className="muted small">
          {username} is logged out everywhere at once and cannot log in until the suspension ends or is lifted. Their
          messages stay, unless you hide them.
        </p>
        <div className={reasonErr ? 'field field-invalid' : 'field'}>
          <label htmlFor={`${id}-reason`}>{reasonLabel}</label>
          <textarea
            id={`${id}-reason`}
            rows={2}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            aria-invalid={reasonErr ? true : undefined}
            aria-describedby={reasonErr ? `${id}-err` : undefined}
            data-testid="suspend-reason"
          />
          {reasonErr && (
            <p id={`${id}-err`} className="field-error" role="alert">
              {reasonErr}
            </p>
          )}
        </div>
        <fieldset className="choice-list">
          <legend>For how long?</legend>
          {SUSPEND_DURATIONS.map((d, i) => (
            <label key={d.label}>
              <input type="radio" name={`${id}-duration`} checked={duration === i} onChange={() => setDuration(i)} />
              {d.label}
            </label>
          ))}
        </fieldset>
        <label className="check suspend-hide">
          <input type="checkbox" checked={hide} onChange={(e) => setHide(e.target.checked)} data-testid="suspend-hide" />
          Hide their messages from everyone but moderators while suspended
        </label>
        <FormError message={error} />
        <DialogButtons onCancel={onClose} label={busy ? 'Suspending…' : 'Suspend'} busy={busy} danger />
      </form>
    </Dialog>
  );
}

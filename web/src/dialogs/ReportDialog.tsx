// Report a message to the room's moderators (`POST /messages/{id}/reports`): a reason, then
// thanks in a toast. Reporting the same message twice is explained, not an error.

import { useId, useState, type FormEvent } from 'react';
import { ApiError, messageOf } from '../api/errors';
import type { Message } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { Dialog } from '../components/Dialog';
import { DialogButtons } from '../components/DialogButtons';
import { FormError } from '../components/Field';
import { useChatStore } from '../state/ChatProvider';
import { reportReasonError } from '../lib/validate';

export function ReportDialog({ message, onClose }: { message: Message; onClose: () => void }) {
  const { api } = useAuth();
  const store = useChatStore();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const err = reportReasonError(reason);
    setError(err);
    setFormError(null);
    if (err) return;
    setBusy(true);
    try {
      await api.reportMessage(message.id, reason.trim());
      store.say('Thank you. The report was sent to the moderators.');
      onClose();
    } catch (x) {
      if (x instanceof ApiError && x.code === 'already_reported') {
        store.say(x.userMessage);
        onClose();
        return;
      }
      setFormError(messageOf(x));
      setBusy(false);
    }
  }

  const excerpt = message.content.length > 200 ? `${message.content.slice(0, 200)}…` : message.content;
  return (
    <Dialog title="Report message" onClose={onClose} initialFocus="textarea">
      <form onSubmit={submit} noValidate>
        <blockquote className="report-quote">
          <strong>{message.username}</strong>
          {excerpt && <span className="report-quote-text">{excerpt}</span>}
        </blockquote>
        <div className={error ? 'field field-invalid' : 'field'}>
          <label htmlFor={id}>Why are you reporting it?</label>
          <textarea
            id={id}
            rows={3}
            maxLength={1000}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-err` : `${id}-hint`}
            data-testid="report-reason"
          />
          {error ? (
            <p id={`${id}-err`} className="field-error" role="alert">
              {error}
            </p>
          ) : (
            <p id={`${id}-hint`} className="field-hint">
              The room's moderators see the message, your name and this reason.
            </p>
          )}
        </div>
        <FormError message={formError} />
        <DialogButtons onCancel={onClose} label={busy ? 'Sending…' : 'Send report'} busy={busy} />
      </form>
    </Dialog>
  );
}

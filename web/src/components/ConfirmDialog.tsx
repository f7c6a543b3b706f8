// "Are you sure?" as a modal dialog: what will happen, a button that does it (showing why it
// failed, if it does) and Cancel.

import { useState, type ReactNode } from 'react';
import { messageOf } from '../api/errors';
import { Dialog } from './Dialog';
import { FormError } from './Field';

interface Props {
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  /** Resolves when done (the dialog then closes); a rejection is shown in the dialog. */
  onConfirm(): Promise<void>;
  onClose(): void;
}

export function ConfirmDialog({ title, children, confirm, danger, onConfirm, onClose }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <Dialog title={title} onClose={onClose} initialFocus=".confirm-cancel">
      {children}
      <FormError message={error} />
      <div className="dialog-actions">
        <button type="button" className="button confirm-cancel" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className={danger ? 'button button-danger' : 'button button-primary'} onClick={() => void run()} disabled={busy}>
          {confirm}
        </button>
      </div>
    </Dialog>
  );
}

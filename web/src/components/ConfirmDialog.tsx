// "Are you sure?" as a modal dialog: what will happen, a button that does it (showing why it
// failed, if it does) and Cancel.

import { useState, type FormEvent, type ReactNode } from 'react';
import { messageOf } from '../api/errors';
import { Dialog } from './Dialog';
import { DialogButtons } from './DialogButtons';
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

  async function run(e: FormEvent) {
    e.preventDefault();
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
    <Dialog title={title} onClose={onClose} initialFocus=".dialog-cancel">
      <form onSubmit={(e) => void run(e)}>
        {children}
        <FormError message={error} />
        <DialogButtons onCancel={onClose} label={confirm} busy={busy} danger={danger} />
      </form>
    </Dialog>
  );
}

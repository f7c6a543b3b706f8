// The buttons at the foot of a dialog's form: Cancel, and the submit that does the thing
// (off while it runs).

export function DialogButtons({ onCancel, label, busy, danger }: { onCancel(): void; label: string; busy: boolean; danger?: boolean }) {
  return (
    <div className="dialog-actions">
      <button type="button" className="button dialog-cancel" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className={danger ? 'button button-danger' : 'button button-primary'} disabled={busy}>
        {label}
      </button>
    </div>
  );
}

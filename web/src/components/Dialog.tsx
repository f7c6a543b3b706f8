// A modal dialog on the native <dialog> element: showModal() makes the rest of the page
// inert and closes on Escape; we move focus in on open and give it back on close.

import { useId, type ReactNode } from 'react';
import { useModalDialog } from './useModalDialog';

interface Props {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Element to focus first (defaults to the first focusable field). */
  initialFocus?: string;
  wide?: boolean;
}

export function Dialog({ title, onClose, children, initialFocus, wide }: Props) {
  const titleId = useId();
  // Focus moves in once, on open.
  const ref = useModalDialog(
    onClose,
    (dlg) =>
      (initialFocus ? dlg.querySelector<HTMLElement>(initialFocus) : null) ||
      dlg.querySelector<HTMLElement>('input, textarea, select, button:not(.dialog-close)'),
  );

  return (
    <dialog
      ref={ref}
      className={wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby={titleId}
      onMouseDown={(e) => {
        // A click on the backdrop (the dialog element itself, outside its content) closes.
        if (e.target === ref.current) onClose();
      }}
    >
      <div className="dialog-body">
        <header className="dialog-header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" className="icon-button dialog-close" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </dialog>
  );
}

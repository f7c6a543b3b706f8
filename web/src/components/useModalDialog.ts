// The life of a modal <dialog>, shared by Dialog and the image lightbox: showModal() on mount
// (the page behind becomes inert and Escape closes), focus moved in, Escape handed to
// `onClose`, and on unmount the dialog closed and the focus given back to what had it.

import { useEffect, useRef, type RefObject } from 'react';

export function useModalDialog(
  onClose: () => void,
  /** What gets the focus once the dialog is open (null: the dialog itself). */
  focusFirst: (dialog: HTMLDialogElement) => HTMLElement | null,
): RefObject<HTMLDialogElement | null> {
  const ref = useRef<HTMLDialogElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  const focusFirstRef = useRef(focusFirst);

  useEffect(() => {
    const dlg = ref.current;
    if (!dlg) return;
    // The page behind a modal dialog is inert until it closes: the opener gets the focus
    // back after close(), not before.
    const opener = document.activeElement as HTMLElement | null;
    if (!dlg.open) dlg.showModal();
    (focusFirstRef.current(dlg) ?? dlg).focus();
    const onCancel = (e: Event) => {
      e.preventDefault();
      onCloseRef.current();
    };
    dlg.addEventListener('cancel', onCancel);
    return () => {
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);

  return ref;
}

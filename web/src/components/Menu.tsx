// A small menu behind a button (the ARIA menu button pattern): the button opens it with the
// focus on the first item; arrow keys move, Home/End jump, Escape closes and gives the focus
// back, Tab or a click elsewhere closes it. Items run their action and close the menu.

import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';

export interface MenuItem {
  label: string;
  onSelect(): void;
  danger?: boolean;
  /** Test hook (`data-testid`). */
  testId?: string;
}

interface Props {
  /** The button's accessible name (e.g. "Actions for bob"). */
  label: string;
  /** What the button shows (a name, or ⋯). */
  children: ReactNode;
  items: readonly MenuItem[];
  buttonClass?: string;
  /** Test hook for the button. */
  testId?: string;
}

export function Menu({ label, children, items, buttonClass = 'icon-button', testId }: Props) {
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLSpanElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();

  useEffect(() => {
    if (!open) return;
    list.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: MouseEvent) => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);

  function close(refocus: boolean) {
    setOpen(false);
    if (refocus) button.current?.focus();
  }

  function onKey(e: KeyboardEvent<HTMLUListElement>) {
    const entries = Array.from(list.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
    const at = entries.indexOf(document.activeElement as HTMLElement);
    const go = (i: number) => entries[(i + entries.length) % entries.length]?.focus();
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        go(at + 1);
        break;
      case 'ArrowUp':
        e.preventDefault();
        go(at - 1);
        break;
      case 'Home':
        e.preventDefault();
        go(0);
        break;
      case 'End':
        e.preventDefault();
        go(entries.length - 1);
        break;
      case 'Escape':
        // Not the dialog around it (Escape would close that too).
        e.preventDefault();
        e.stopPropagation();
        close(true);
        break;
      case 'Tab':
        close(false);
        break;
      default:
        break;
    }
  }

  if (items.length === 0) return null;
  return (
    <span className="menu" ref={wrap}>
      <button
        ref={button}
        type="button"
        className={buttonClass}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        aria-label={label}
        title={label}
        onClick={() => setOpen((o) => !o)}
        data-testid={testId}
      >
        {children}
      </button>
      {open && (
        <ul id={id} role="menu" aria-label={label} className="menu-list" ref={list} onKeyDown={onKey}>
          {items.map((item) => (
            <li key={item.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                className={item.danger ? 'menu-item menu-danger' : 'menu-item'}
                data-testid={item.testId}
                onClick={() => {
                  close(true);
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

// A username input that suggests matches from GET /users?prefix= (ARIA combobox pattern:
// arrow keys move through the list, Enter picks, Escape closes).

import { useEffect, useId, useRef, useState } from 'react';
import { useAuth } from '../auth/AuthProvider';
import type { PublicUser } from '../api/types';

interface Props {
  value: string;
  onChange(v: string): void;
  /** A suggestion was picked (click or Enter). */
  onPick(u: PublicUser): void;
  exclude: Set<string>;
  error?: string;
  label: string;
}

export function UserAutocomplete({ value, onChange, onPick, exclude, error, label }: Props) {
  const { api } = useAuth();
  const id = useId();
  const listId = `${id}-list`;
  const errId = `${id}-err`;
  const [options, setOptions] = useState<PublicUser[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const picked = useRef<string | null>(null);

  useEffect(() => {
    const prefix = value.trim();
    if (prefix.length < 1 || picked.current === prefix) {
      setOptions([]);
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      api
        .searchUsers(prefix, ctl.signal)
        .then((users) => {
          const list = users.filter((u) => !exclude.has(u.id));
          setOptions(list);
          setOpen(list.length > 0);
          setActive(-1);
        })
        .catch(() => undefined);
    }, 200);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [api, value, exclude]);

  function pick(u: PublicUser) {
    picked.current = u.username;
    onChange(u.username);
    setOpen(false);
    setOptions([]);
    onPick(u);
  }

  const shown = open && options.length > 0;
  return (
    <div className={error ? 'field field-invalid combobox' : 'field combobox'}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls={listId}
        aria-activedescendant={shown && active >= 0 ? `${id}-opt-${active}` : undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errId : undefined}
        autoComplete="off"
        spellCheck={false}
        value={value}
        onChange={(e) => {
          picked.current = null;
          onChange(e.target.value);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onFocus={() => options.length && setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && options.length) {
            e.preventDefault();
            setOpen(true);
            setActive((a) => (a + 1) % options.length);
          } else if (e.key === 'ArrowUp' && options.length) {
            e.preventDefault();
            setOpen(true);
            setActive((a) => (a <= 0 ? options.length - 1 : a - 1));
          } else if (e.key === 'Enter' && shown && active >= 0) {
            e.preventDefault();
            pick(options[active]);
          } else if (e.key === 'Escape' && shown) {
            e.preventDefault();
            e.stopPropagation();
            setOpen(false);
          }
        }}
      />
      <ul id={listId} role="listbox" className="combobox-list" hidden={!shown} aria-label="Matching users">
        {options.map((u, i) => (
          <li
            key={u.id}
            id={`${id}-opt-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'active' : undefined}
            onMouseDown={(e) => {
              e.preventDefault();
              pick(u);
            }}
          >
            {u.username}
          </li>
        ))}
      </ul>
      {error && (
        <p id={errId} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

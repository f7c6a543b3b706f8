// A one-field dialog form (a room's name, a username): the value, its error, a form-wide
// error, the busy flag, and a submit that trims, refuses an empty value, runs the request
// and sorts a refusal under the field or above the buttons.

import { useState, type FormEvent } from 'react';
import { messageOf } from '../api/errors';

interface Options<T> {
  /** What to say when the field is empty. */
  empty: string;
  /** The request, with the trimmed value. */
  run(value: string): Promise<T>;
  /** A refusal that belongs under the field, said for it; anything else goes above the buttons. */
  fieldError(x: unknown, value: string): string | undefined;
  done(result: T): void;
}

export function useFieldForm<T>({ empty, run, fieldError, done }: Options<T>) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const v = value.trim();
    setFormError(null);
    if (!v) {
      setError(empty);
      return;
    }
    setError(undefined);
    setBusy(true);
    try {
      done(await run(v));
    } catch (x) {
      const forField = fieldError(x, v);
      if (forField) setError(forField);
      else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return { value, setValue, error, setError, formError, busy, submit };
}

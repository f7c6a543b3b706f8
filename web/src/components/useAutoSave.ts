// Settings that are read once and saved on every change (the notification settings, a room's
// override): the value shown at once, put back as it was if the server refuses it.

import { useEffect, useState } from 'react';
import { messageOf } from '../api/errors';

export interface AutoSaved<T> {
  /** null until read. */
  value: T | null;
  error: string | null;
  saving: boolean;
  /** The last change was saved (for a "Saved." status). */
  saved: boolean;
  save(patch: Partial<T>): Promise<void>;
}

/** `load` runs when `key` changes; `put` gets the whole new value and answers what was stored. */
export function useAutoSave<T extends object>(key: unknown, load: () => Promise<T>, put: (next: T) => Promise<Partial<T>>): AutoSaved<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    load()
      .then(setValue)
      .catch((x) => setError(messageOf(x)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  async function save(patch: Partial<T>) {
    if (!value) return;
    const before = value;
    const next = { ...value, ...patch };
    setValue(next);
    setSaving(true);
    setSaved(false);
    setError(null);
    try {
      const stored = await put(next);
      setValue({ ...next, ...stored });
      setSaved(true);
    } catch (x) {
      setValue(before);
      setError(messageOf(x));
    } finally {
      setSaving(false);
    }
  }

  return { value, error, saving, saved, save };
}

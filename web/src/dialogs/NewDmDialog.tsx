// New message: type (or pick) a username and open the direct conversation with them,
// creating it if need be (POST /dms {username}).

import { useState, type FormEvent } from 'react';
import { ApiError, messageOf } from '../api/errors';
import type { Room } from '../api/types';
import { Dialog } from '../components/Dialog';
import { FormError } from '../components/Field';
import { UserAutocomplete } from '../components/UserAutocomplete';
import { useChatStore } from '../state/ChatProvider';

const NOBODY = new Set<string>();

export function NewDmDialog({ onClose, onOpened }: { onClose: () => void; onOpened: (r: Room) => void }) {
  const store = useChatStore();
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const n = username.trim();
    setFormError(null);
    if (!n) {
      setError('Type a username.');
      return;
    }
    setError(undefined);
    setBusy(true);
    try {
      onOpened(await store.openDm({ username: n }));
    } catch (x) {
      if (x instanceof ApiError && x.code === 'user_not_found') setError(`Nobody is called “${n}”.`);
      else if (x instanceof ApiError && x.fieldErrors.username) setError(x.fieldErrors.username);
      else setFormError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New message" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <UserAutocomplete label="Username" value={username} onChange={setUsername} onPick={() => setError(undefined)} exclude={NOBODY} error={error} />
        <p className="field-hint">Your own name opens your notes.</p>
        <FormError message={formError} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Opening…' : 'Open conversation'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

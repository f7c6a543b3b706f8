// New message: type (or pick) a username and open the direct conversation with them,
// creating it if need be (POST /dms {username}).

import { ApiError } from '../api/errors';
import type { Room } from '../api/types';
import { Dialog } from '../components/Dialog';
import { FormError } from '../components/Field';
import { UserAutocomplete } from '../components/UserAutocomplete';
import { useFieldForm } from '../components/useFieldForm';
import { useChatStore } from '../state/ChatProvider';

const NOBODY = new Set<string>();

export function NewDmDialog({ onClose, onOpened }: { onClose: () => void; onOpened: (r: Room) => void }) {
  const store = useChatStore();
  const form = useFieldForm({
    empty: 'Type a username.',
    run: (username) => store.openDm({ username }),
    fieldError: (x, username) =>
      x instanceof ApiError ? (x.code === 'user_not_found' ? `Nobody is called “${username}”.` : x.fieldErrors.username) : undefined,
    done: onOpened,
  });

  return (
    <Dialog title="New message" onClose={onClose}>
      <form onSubmit={form.submit} noValidate>
        <UserAutocomplete
          label="Username"
          value={form.value}
          onChange={form.setValue}
          onPick={() => form.setError(undefined)}
          exclude={NOBODY}
          error={form.error}
        />
        <p className="field-hint">Your own name opens your notes.</p>
        <FormError message={form.formError} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={form.busy}>
            {form.busy ? 'Opening…' : 'Open conversation'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// Create a room: the caller becomes its owner and first member.

import { useState, type FormEvent } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { ApiError, messageOf } from '../api/errors';
import type { Room } from '../api/types';
import { Dialog } from '../components/Dialog';
import { Field, FormError } from '../components/Field';
import { useChatStore } from '../state/ChatProvider';

export function CreateRoomDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (r: Room) => void }) {
  const { api } = useAuth();
  const store = useChatStore();
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const n = name.trim();
    setFormError(null);
    if (!n) {
      setError('Give the room a name.');
      return;
    }
    setError(undefined);
    setBusy(true);
    try {
      const room = await api.createRoom(n);
      // Defaults in case the answer leaves out the list-only fields.
      store.upsertRoom({ unreadCount: 0, lastSeq: 0, lastRev: 0, memberCount: 1, isGeneral: false, ...(room as Partial<Room>) } as Room);
      onCreated(room);
    } catch (x) {
      if (x instanceof ApiError && (x.fieldErrors.name || x.code === 'room_name_taken')) {
        setError(x.fieldErrors.name ?? x.userMessage);
      } else {
        setFormError(messageOf(x));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Create a room" onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <Field
          label="Room name"
          name="roomName"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={error}
          hint="Room names are unique. You will own the room and can add people to it."
          autoComplete="off"
          maxLength={64}
        />
        <FormError message={formError} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create room'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// Create a room: the caller becomes its owner and first member.

import { ApiError } from '../api/errors';
import type { Room } from '../api/types';
import { Dialog } from '../components/Dialog';
import { Field, FormError } from '../components/Field';
import { useFieldForm } from '../components/useFieldForm';
import { useChatStore } from '../state/ChatProvider';
import { useAuth } from '../auth/AuthProvider';

export function CreateRoomDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (r: Room) => void }) {
  const { api } = useAuth();
  const store = useChatStore();
  const form = useFieldForm({
    empty: 'Give the room a name.',
    run: async (name) => {
      const room = await api.createRoom(name);
      // Defaults in case the answer leaves out the list-only fields.
      store.upsertRoom({
        unreadCount: 0,
        mentionCount: 0,
        lastSeq: 0,
        lastRev: 0,
        memberCount: 1,
        isGeneral: false,
        kind: 'group',
        peer: null,
        ...(room as Partial<Room>),
      } as Room);
      return room;
    },
    fieldError: (x) =>
      x instanceof ApiError && (x.fieldErrors.name || x.code === 'room_name_taken') ? (x.fieldErrors.name ?? x.userMessage) : undefined,
    done: onCreated,
  });

  return (
    <Dialog title="Create a room" onClose={onClose}>
      <form onSubmit={form.submit} noValidate>
        <Field
          label="Room name"
          name="roomName"
          value={form.value}
          onChange={(e) => form.setValue(e.target.value)}
          error={form.error}
          hint="Room names are unique. You will own the room and can add people to it."
          autoComplete="off"
          maxLength={64}
        />
        <FormError message={form.formError} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={form.busy}>
            {form.busy ? 'Creating…' : 'Create room'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// A room's notification override: its level (or the user's default) and its mute
// (PUT /notification-settings/rooms/{id}; both unset removes the override). Saved at once.

import { useId } from 'react';
import { useAuth } from '../auth/AuthProvider';
import type { NotificationLevel, RoomNotificationSettings } from '../api/types';
import { FormError } from './Field';
import { MuteControls } from './MuteControls';
import { useAutoSave } from './useAutoSave';
import { LEVEL_TEXT } from '../lib/push';

export function RoomNotifications({ roomId }: { roomId: number }) {
  const { api } = useAuth();
  const id = useId();
  // The user's own level comes along, to say what "Default" means.
  const {
    value: entry,
    error,
    saving,
    saved,
    save,
  } = useAutoSave<RoomNotificationSettings & { userLevel?: NotificationLevel }>(
    `${roomId}`,
    async () => {
      const s = await api.notificationSettings();
      return { ...(s.rooms.find((r) => r.roomId === roomId) ?? { roomId, level: null, mutedUntil: null }), userLevel: s.level };
    },
    (next) => api.putRoomNotificationSettings(roomId, next),
  );
  const userLevel = entry?.userLevel;

  return (
    <section className="dialog-section" aria-labelledby={`${id}-h`} data-testid="room-notifications">
      <h3 id={`${id}-h`}>Notifications</h3>
      {!entry && !error && <p className="muted small">Loading…</p>}
      {entry && (
        <>
          <div className="field">
            <label htmlFor={`${id}-level`}>Notify me about</label>
            <select
              id={`${id}-level`}
              value={entry.level ?? ''}
              disabled={saving}
              onChange={(e) => void save({ level: (e.target.value || null) as NotificationLevel | null })}
              data-testid="room-level"
            >
              <option value="">Default{userLevel ? ` (${LEVEL_TEXT[userLevel].toLowerCase()})` : ''}</option>
              <option value="all">{LEVEL_TEXT.all}</option>
              <option value="mentions">Mentions only</option>
              <option value="none">{LEVEL_TEXT.none}</option>
            </select>
          </div>
          <MuteControls mutedUntil={entry.mutedUntil} onChange={(mutedUntil) => void save({ mutedUntil })} disabled={saving} what="this room" />
        </>
      )}
      <FormError message={error} />
      <p className="success small" role="status" data-testid="room-notifications-saved">
        {saved && !saving ? 'Saved.' : ''}
      </p>
    </section>
  );
}

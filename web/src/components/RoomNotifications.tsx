// A room's notification override: its level (or the user's default) and its mute
// (PUT /notification-settings/rooms/{id}; both unset removes the override). Saved at once.

import { useEffect, useId, useState } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { messageOf } from '../api/errors';
import type { NotificationLevel, RoomNotificationSettings } from '../api/types';
import { FormError } from './Field';
import { MuteControls } from './MuteControls';
import { LEVEL_TEXT } from '../lib/push';

export function RoomNotifications({ roomId }: { roomId: number }) {
  const { api } = useAuth();
  const id = useId();
  const [entry, setEntry] = useState<RoomNotificationSettings | null>(null);
  const [userLevel, setUserLevel] = useState<NotificationLevel | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api
      .notificationSettings()
      .then((s) => {
        setUserLevel(s.level);
        setEntry(s.rooms.find((r) => r.roomId === roomId) ?? { roomId, level: null, mutedUntil: null });
      })
      .catch((x) => setError(messageOf(x)));
  }, [api, roomId]);

  async function save(patch: Partial<Pick<RoomNotificationSettings, 'level' | 'mutedUntil'>>) {
    if (!entry) return;
    const next = { ...entry, ...patch };
    setEntry(next);
    setSaving(true);
    setSaved(false);
    setError(null);
    try {
      const answer = await api.putRoomNotificationSettings(roomId, next);
      setEntry({ ...next, ...answer });
      setSaved(true);
    } catch (x) {
      setEntry(entry);
      setError(messageOf(x));
    } finally {
      setSaving(false);
    }
  }

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

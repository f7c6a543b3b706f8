// Mute for 1 h / 8 h / 24 h / until unmuted, or unmute: the same buttons for the user's
// notifications and for a room's (NotificationsDialog, RoomSettingsDialog).

import { formatTime } from '../lib/format';
import { isMuted, muteText, mutedUntilFor, type MuteChoice } from '../lib/push';

const CHOICES: { choice: MuteChoice; label: string; name: string }[] = [
  { choice: '1h', label: '1 hour', name: 'for 1 hour' },
  { choice: '8h', label: '8 hours', name: 'for 8 hours' },
  { choice: '24h', label: '24 hours', name: 'for 24 hours' },
  { choice: 'forever', label: 'Until I unmute', name: 'until I unmute' },
];

export function MuteControls({
  mutedUntil,
  onChange,
  disabled,
  what,
}: {
  mutedUntil: string | null;
  onChange: (mutedUntil: string | null) => void;
  disabled?: boolean;
  /** "notifications" / "this room", for the buttons' names. */
  what: string;
}) {
  const muted = isMuted(mutedUntil);
  return (
    <div className="mute-controls" role="group" aria-label={`Mute ${what}`}>
      <p className="small" data-testid="mute-state">
        {muteText(mutedUntil, Date.now(), (iso) => formatTime(iso))}
      </p>
      <div className="dialog-actions start">
        {CHOICES.map((c) => (
          <button
            key={c.choice}
            type="button"
            className="button button-small"
            disabled={disabled}
            onClick={() => onChange(mutedUntilFor(c.choice))}
            aria-label={`Mute ${what} ${c.name}`}
          >
            {c.label}
          </button>
        ))}
        {muted && (
          <button type="button" className="button button-small button-primary" disabled={disabled} onClick={() => onChange(null)}>
            Unmute
          </button>
        )}
      </div>
    </div>
  );
}

// Notification settings: push on this device (the permission is asked only on the click),
// what to be told about, mute for a while, and the e-mail digest (GET/PUT
// /notification-settings; every change is saved at once).

import { useEffect, useId, useState } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { messageOf } from '../api/errors';
import type { NotificationLevel, NotificationSettings } from '../api/types';
import { Dialog } from '../components/Dialog';
import { useAutoSave } from '../components/useAutoSave';
import { FormError } from '../components/Field';
import { MuteControls } from '../components/MuteControls';
import { LEVEL_TEXT } from '../lib/push';
import { PushError, disablePush, enablePush, pushState, type PushState } from '../lib/pushDevice';

const LEVELS: NotificationLevel[] = ['all', 'mentions', 'none'];

export function NotificationsDialog({ onClose }: { onClose: () => void }) {
  const { api } = useAuth();
  const id = useId();
  const { value: settings, error, saving, saved, save } = useAutoSave<NotificationSettings>(
    api,
    () => api.notificationSettings(),
    (next) => api.putNotificationSettings(next),
  );

  return (
    <Dialog title="Notifications" onClose={onClose} wide>
      <DevicePush />
      {!settings && !error && <p className="muted small">Loading…</p>}
      {settings && (
        <>
          <section className="dialog-section">
            <fieldset className="choice-list">
              <legend>Notify me about</legend>
              {LEVELS.map((l) => (
                <label key={l}>
                  <input
                    type="radio"
                    name={`${id}-level`}
                    value={l}
                    checked={settings.level === l}
                    onChange={() => void save({ level: l })}
                    data-testid={`level-${l}`}
                  />
                  {LEVEL_TEXT[l]}
                </label>
              ))}
            </fieldset>
            <p className="muted small">
              A room can say otherwise in its Room settings. In general, only mentions of you count.
            </p>
          </section>
          <section className="dialog-section">
            <h3>Mute</h3>
            <MuteControls mutedUntil={settings.mutedUntil} onChange={(mutedUntil) => void save({ mutedUntil })} disabled={saving} what="notifications" />
          </section>
          <section className="dialog-section">
            <h3>E-mail</h3>
            <label className="check">
              <input type="checkbox" checked={settings.emailDigest} onChange={(e) => void save({ emailDigest: e.target.checked })} data-testid="email-digest" />
              E-mail me a digest of direct messages and mentions I missed while away
            </label>
            <p className="muted small">Sent only while none of your devices has notifications enabled.</p>
          </section>
        </>
      )}
      <FormError message={error} />
      <p className="success small" role="status" data-testid="notifications-saved">
        {saved && !saving ? 'Saved.' : ''}
      </p>
    </Dialog>
  );
}

/** "Enable notifications on this device", and what the browser says of it. */
function DevicePush() {
  const { api } = useAuth();
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    pushState()
      .then(setState)
      .catch(() => setState('off'));
  }, []);

  async function run(f: () => Promise<PushState>) {
    setBusy(true);
    setError(null);
    try {
      setState(await f());
    } catch (x) {
      setError(x instanceof PushError ? x.message : messageOf(x));
      setState(await pushState().catch(() => 'off' as const));
    } finally {
      setBusy(false);
    }
  }

  const text: Record<PushState, string> = {
    unsupported: 'This browser cannot show push notifications (or the page is not on HTTPS).',
    denied: 'Notifications are blocked for this site. Allow them in the browser’s site settings, then come back here.',
    off: 'Not enabled on this device.',
    on: 'Enabled on this device.',
  };

  return (
    <section className="dialog-section">
      <h3>This device</h3>
      <p className="small" data-testid="push-state" data-state={state ?? 'loading'}>
        {state ? text[state] : 'Checking…'}
      </p>
      <FormError message={error} />
      <div className="dialog-actions start">
        {state === 'off' && (
          <button type="button" className="button button-primary" disabled={busy} onClick={() => void run(() => enablePush(api))} data-testid="push-enable">
            {busy ? 'Enabling…' : 'Enable notifications on this device'}
          </button>
        )}
        {state === 'on' && (
          <button type="button" className="button" disabled={busy} onClick={() => void run(() => disablePush(api))} data-testid="push-disable">
            {busy ? 'Disabling…' : 'Disable on this device'}
          </button>
        )}
      </div>
    </section>
  );
}

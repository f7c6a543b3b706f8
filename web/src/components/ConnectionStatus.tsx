// The socket's state, always visible in the header; "Reconnecting…" while it is down.

import { useEffect, useState } from 'react';
import { useChat, useSocket } from '../state/ChatProvider';

export function ConnectionStatus() {
  const info = useChat((s) => s.connection);
  const socket = useSocket();
  const [, setTick] = useState(0);

  // Re-render each second while a countdown is shown.
  useEffect(() => {
    if (info.state !== 'reconnecting') return;
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [info.state]);

  const secs = info.nextRetryAt ? Math.max(0, Math.ceil((info.nextRetryAt - Date.now()) / 1000)) : 0;
  let label: string;
  switch (info.state) {
    case 'open':
      label = 'Connected';
      break;
    case 'reconnecting':
      label = secs > 0 ? `Reconnecting… (retry in ${secs} s)` : 'Reconnecting…';
      break;
    case 'connecting':
    case 'idle':
      label = 'Connecting…';
      break;
    default:
      label = info.refusal ?? 'Offline';
  }
  return (
    <div className={`conn conn-${info.state}`} role="status" aria-live="polite" data-testid="connection-status" data-state={info.state}>
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label">{label}</span>
      {info.state === 'reconnecting' && secs > 1 && (
        <button type="button" className="link-button conn-retry" onClick={() => socket.reconnectNow()}>
          Retry now
        </button>
      )}
    </div>
  );
}

// Presence as people see it: a dot (green online, hollow grey offline, faint while unknown)
// and a ticking "online" / "last seen …" line.

import { useEffect, useState } from 'react';
import { presenceText } from '../lib/presence';
import { useChat } from '../state/ChatProvider';

export function PresenceDot({ userId, name }: { userId: string; name: string }) {
  const p = useChat((s) => s.presence[userId]);
  const now = useNow();
  const state = !p ? 'unknown' : p.online ? 'online' : 'offline';
  const text = presenceText(p, now) || 'presence unknown';
  return (
    <span
      className={`presence-dot presence-${state}`}
      role="img"
      aria-label={`${name}: ${text}`}
      title={text}
      data-testid="presence-dot"
      data-user-id={userId}
      data-state={state}
    />
  );
}

/** "online", "last seen 5 min ago", … for one user, kept current. */
export function PresenceText({ userId, fallback }: { userId: string; fallback: string }) {
  const p = useChat((s) => s.presence[userId]);
  const now = useNow();
  return (
    <span data-testid="peer-presence" data-state={!p ? 'unknown' : p.online ? 'online' : 'offline'}>
      {presenceText(p, now) || fallback}
    </span>
  );
}

/** The time, refreshed every `ms` so relative times move on. */
function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

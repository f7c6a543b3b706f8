// Presence as people see it: a dot (green online, a hollow ring offline, faint while not
// known yet) with the words in its tooltip, the same words for screen readers where a dot
// stands alone, and a ticking "online" / "last seen …" line.

import { useEffect, useState } from 'react';
import type { UserPresence } from '../api/types';
import { presenceText } from '../lib/presence';
import { useChat } from '../state/ChatProvider';

/** The dot; decorative for screen readers (see `PresenceNote`). */
export function PresenceDot({ userId }: { userId: string }) {
  const p = useChat((s) => s.presence[userId]);
  const text = usePresenceText(p) || 'not known yet';
  const state = stateOf(p);
  return (
    <span
      className={`presence-dot presence-${state}`}
      aria-hidden="true"
      title={text}
      data-testid="presence-dot"
      data-user-id={userId}
      data-state={state}
    />
  );
}

/** ", online" / ", last seen …" for screen readers, beside a name that has a dot. */
export function PresenceNote({ userId }: { userId: string }) {
  const text = usePresenceText(useChat((s) => s.presence[userId]));
  return text ? <span className="sr-only">, {text}</span> : null;
}

/** "online", "last seen 5 min ago", … for one user, kept current; `fallback` until known. */
export function PresenceText({ userId, fallback }: { userId: string; fallback: string }) {
  const p = useChat((s) => s.presence[userId]);
  return (
    <span data-testid="peer-presence" data-state={stateOf(p)}>
      {usePresenceText(p) || fallback}
    </span>
  );
}

function stateOf(p: UserPresence | undefined): 'online' | 'offline' | 'unknown' {
  return !p ? 'unknown' : p.online ? 'online' : 'offline';
}

/** The words for `p`, moved on every 30 s so "5 min ago" stays true. */
function usePresenceText(p: UserPresence | undefined): string {
  const [now, setNow] = useState(() => new Date());
  const ticking = !!p && !p.online && !!p.lastSeenAt;
  useEffect(() => {
    setNow(new Date());
    if (!ticking) return;
    const t = setInterval(() => setNow(new Date()), 30_000);
    return () => clearInterval(t);
  }, [ticking, p]);
  return presenceText(p, now);
}

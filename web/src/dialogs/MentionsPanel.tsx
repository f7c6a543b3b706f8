// The Mentions panel: the messages that mention the user (GET /mentions, newest first, a page
// at a time), each with its room; picking one opens the room at that message.

import { useCallback, useEffect, useState } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { messageOf } from '../api/errors';
import type { Message } from '../api/types';
import { Dialog } from '../components/Dialog';
import { FormError } from '../components/Field';
import { MentionText } from '../chat/MentionText';
import { formatFull, formatTime } from '../lib/format';
import { roomLabel } from '../lib/rooms';
import { useChat } from '../state/ChatProvider';

const PAGE = 30;

export function MentionsPanel({ onClose, onPick }: { onClose: () => void; onPick: (m: Message) => void }) {
  const { api, user } = useAuth();
  const rooms = useChat((s) => s.rooms);
  const [items, setItems] = useState<Message[] | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (before?: number) => {
      setLoading(true);
      setError(null);
      try {
        const page = await api.mentions({ before, limit: PAGE });
        setItems((cur) => (before === undefined || !cur ? page.messages : [...cur, ...page.messages.filter((m) => !cur.some((c) => c.id === m.id))]));
        setHasMore(page.hasMore);
      } catch (x) {
        setError(messageOf(x));
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void load();
  }, [load]);

  const where = (m: Message) => {
    const r = rooms.find((x) => x.id === m.roomId);
    return r ? roomLabel(r, user?.id ?? '') : 'a conversation you hid';
  };

  return (
    <Dialog title="Mentions" onClose={onClose} wide>
      {items === null && !error && <p className="muted small">Loading…</p>}
      {items?.length === 0 && <p className="muted">Nobody has mentioned you yet.</p>}
      {items && items.length > 0 && (
        <ul className="mention-list" aria-label="Messages that mention you">
          {items.map((m) => (
            <li key={m.id}>
              <button
                type="button"
                className="mention-item"
                data-testid="mention-item"
                data-room-id={m.roomId}
                data-seq={m.seq}
                onClick={() => onPick(m)}
                aria-label={`${m.username} in ${where(m)} at ${formatTime(m.createdAt)}: ${m.content}. Show in the room.`}
              >
                <span className="mention-item-meta">
                  <strong>{m.username}</strong> in <span className="mention-item-room">{where(m)}</span>
                  <time dateTime={m.createdAt} title={formatFull(m.createdAt)} className="muted">
                    {formatTime(m.createdAt)}
                  </time>
                </span>
                <span className="mention-item-text">
                  <MentionText message={m} myName={user?.username ?? ''} />
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <FormError message={error} />
      {hasMore && items && (
        <button type="button" className="button button-small" disabled={loading} onClick={() => void load(items[items.length - 1]?.id)}>
          {loading ? 'Loading…' : 'Show older mentions'}
        </button>
      )}
    </Dialog>
  );
}

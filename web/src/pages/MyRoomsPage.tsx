// My rooms: one card per private room the user belongs to, with its owner.

import { Link } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { useLayout } from '../components/Layout';
import { roomKind } from '../lib/rooms';
import { useChat } from '../state/ChatProvider';

export function MyRoomsPage() {
  const { user } = useAuth();
  const { openCreateRoom } = useLayout();
  const rooms = useChat((s) => s.rooms);
  const loaded = useChat((s) => s.roomsLoaded);
  const error = useChat((s) => s.roomsError);
  const mine = rooms.filter((r) => roomKind(r) === 'group');

  return (
    <div className="page">
      <div className="page-head">
        <h1>My rooms</h1>
        <button type="button" className="button button-primary" onClick={openCreateRoom} aria-haspopup="dialog">
          Create a room
        </button>
      </div>
      {error && (
        <div className="form-error" role="alert">
          {error}
        </div>
      )}
      {!loaded && <p className="muted">Loading…</p>}
      {loaded && mine.length === 0 && <p className="muted">No rooms yet. Create one, or ask someone to add you to theirs.</p>}
      <ul className="cards room-cards">
        {mine.map((r) => (
          <li key={r.id}>
            <Link to={`/chat/${r.id}`} className="card card-link">
              <h2>
                <span aria-hidden="true"># </span>
                {r.name}
              </h2>
              <p className="muted">
                {r.ownerUserId === user?.id ? 'Created by you' : `Created by ${r.ownerUsername ?? 'unknown'}`} · {r.memberCount}{' '}
                member{r.memberCount === 1 ? '' : 's'}
              </p>
              {r.unreadCount > 0 && <span className="badge">{r.unreadCount} unread</span>}
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}

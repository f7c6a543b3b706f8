// The sidebar list of rooms with unread badges.

import { NavLink } from 'react-router-dom';
import { useChat } from '../state/ChatProvider';

export function RoomList({ onCreate }: { onCreate: () => void }) {
  const rooms = useChat((s) => s.rooms);
  const loaded = useChat((s) => s.roomsLoaded);
  return (
    <nav className="room-nav" aria-label="Rooms">
      <div className="room-nav-head">
        <h2>Rooms</h2>
        <button type="button" className="icon-button" onClick={onCreate} aria-label="Create a room" title="Create a room">
          +
        </button>
      </div>
      {!loaded && <p className="muted small">Loading…</p>}
      <ul>
        {rooms.map((r) => (
          <li key={r.id}>
            <NavLink
              to={r.isGeneral ? '/chat/general' : `/chat/${r.id}`}
              className={({ isActive }) => (isActive ? 'room-link active' : 'room-link')}
              data-room-name={r.name}
            >
              <span className="room-hash" aria-hidden="true">
                {r.isGeneral ? '★' : '#'}
              </span>
              <span className="room-name">{r.name}</span>
              {r.unreadCount > 0 && (
                <span className="badge" aria-label={`${r.unreadCount} unread`} data-testid="unread-badge">
                  {r.unreadCount > 99 ? '99+' : r.unreadCount}
                </span>
              )}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

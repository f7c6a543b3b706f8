// The sidebar's room list in two sections: rooms (general and groups) and direct messages
// (the peer's presence, their menu ⋯ to block them, hide ×), each row with its unread and `@N`
// mention badges.

import { useMemo, useState } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { messageOf } from '../api/errors';
import type { Room } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { isSelfDm, roomPath, roomTitle, splitRooms } from '../lib/rooms';
import { isDeletedUser } from '../lib/deletedUser';
import { useChat, useChatStore } from '../state/ChatProvider';
import { PresenceDot, PresenceNote } from './Presence';
import { UserMenu } from './UserMenu';

export function RoomList({ onCreate, onNewDm }: { onCreate: () => void; onNewDm: () => void }) {
  const rooms = useChat((s) => s.rooms);
  const loaded = useChat((s) => s.roomsLoaded);
  const activeRoomId = useChat((s) => s.activeRoomId);
  const store = useChatStore();
  const navigate = useNavigate();
  const { user } = useAuth();
  const meId = user?.id ?? '';
  const { rooms: groups, directs } = useMemo(() => splitRooms(rooms), [rooms]);
  const [hideError, setHideError] = useState<string | null>(null);

  async function hide(r: Room) {
    setHideError(null);
    try {
      if (activeRoomId === r.id) navigate('/');
      await store.hideRoom(r.id);
    } catch (x) {
      setHideError(messageOf(x));
    }
  }

  return (
    <>
      <nav className="room-nav" aria-label="Rooms">
        <div className="room-nav-head">
          <h2>Rooms</h2>
          <button type="button" className="icon-button" onClick={onCreate} aria-label="Create a room" title="Create a room">
            +
          </button>
        </div>
        {!loaded && <p className="muted small">Loading…</p>}
        <ul>
          {groups.map((r) => (
            <li key={r.id}>
              <NavLink to={roomPath(r)} className={linkClass} data-room-name={r.name}>
                <span className="room-hash" aria-hidden="true">
                  {r.isGeneral ? '★' : '#'}
                </span>
                <span className="room-name">{r.name}</span>
                <Badges room={r} />
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <nav className="room-nav dm-nav" aria-label="Direct messages">
        <div className="room-nav-head">
          <h2>Direct messages</h2>
          <button type="button" className="icon-button" onClick={onNewDm} aria-label="New message" title="New message" aria-haspopup="dialog">
            +
          </button>
        </div>
        {loaded && directs.length === 0 && <p className="muted small dm-empty">No conversations yet.</p>}
        <ul>
          {directs.map((r) => {
            const title = roomTitle(r, meId);
            const self = isSelfDm(r, meId);
            // Nobody to see online or to act on behind a deleted account.
            const gone = !!r.peer && isDeletedUser(r.peer.username);
            return (
              <li key={r.id} className="dm-row">
                <NavLink to={roomPath(r)} className={linkClass} data-testid="dm-link" data-peer={r.peer?.username} data-room-id={r.id}>
                  {self || !r.peer || gone ? (
                    <span className="room-hash" aria-hidden="true">
                      {gone ? '⊘' : '✎'}
                    </span>
                  ) : (
                    <span className="room-hash">
                      <PresenceDot userId={r.peer.userId} />
                    </span>
                  )}
                  <span className="room-name">{title}</span>
                  {!self && r.peer && !gone && <PresenceNote userId={r.peer.userId} />}
                  <Badges room={r} />
                </NavLink>
                {!self && r.peer && !gone && (
                  <UserMenu user={r.peer} message={false} buttonClass="icon-button dm-menu-button">
                    <span aria-hidden="true">⋯</span>
                  </UserMenu>
                )}
                <button
                  type="button"
                  className="icon-button dm-hide"
                  onClick={() => void hide(r)}
                  aria-label={`Hide the conversation with ${title}`}
                  title="Hide (comes back with the next message)"
                >
                  ×
                </button>
              </li>
            );
          })}
        </ul>
        {hideError && (
          <p className="field-error small" role="alert">
            {hideError}
          </p>
        )}
      </nav>
    </>
  );
}

const linkClass = ({ isActive }: { isActive: boolean }) => (isActive ? 'room-link active' : 'room-link');

function Badges({ room: r }: { room: Room }) {
  const mentions = r.mentionCount ?? 0;
  return (
    <>
      {mentions > 0 && (
        <span className="badge badge-mention" aria-label={`${mentions} mention${mentions === 1 ? '' : 's'}`} data-testid="mention-badge">
          @{mentions > 99 ? '99+' : mentions}
        </span>
      )}
      {r.unreadCount > 0 && (
        <span className="badge" aria-label={`${r.unreadCount} unread`} data-testid="unread-badge">
          {r.unreadCount > 99 ? '99+' : r.unreadCount}
        </span>
      )}
    </>
  );
}

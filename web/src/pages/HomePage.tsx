// Home: three cards — general chat, my rooms, create a room.

import { Link } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { useLayout } from '../components/Layout';
import { roomKind } from '../lib/rooms';
import { useChat } from '../state/ChatProvider';

export function HomePage() {
  const { user } = useAuth();
  const { openCreateRoom } = useLayout();
  const rooms = useChat((s) => s.rooms);
  const general = rooms.find((r) => r.isGeneral);
  const mine = rooms.filter((r) => roomKind(r) === 'group');
  const unreadMine = mine.reduce((n, r) => n + r.unreadCount, 0);

  return (
    <div className="page home">
      <h1>Welcome, {user?.username}</h1>
      <p className="muted">Pick up a conversation or start a new one.</p>
      <div className="cards">
        <Link to="/chat/general" className="card card-link">
          <span className="card-icon" aria-hidden="true">
            ★
          </span>
          <h2>General chat</h2>
          <p>The room everyone can read and write.</p>
          {general && general.unreadCount > 0 && <span className="badge">{general.unreadCount} unread</span>}
        </Link>
        <Link to="/my-rooms" className="card card-link">
          <span className="card-icon" aria-hidden="true">
            #
          </span>
          <h2>My rooms</h2>
          <p>
            {mine.length === 0 ? 'You are not in any private room yet.' : `${mine.length} room${mine.length > 1 ? 's' : ''}`}
          </p>
          {unreadMine > 0 && <span className="badge">{unreadMine} unread</span>}
        </Link>
        <button type="button" className="card card-link" onClick={openCreateRoom} aria-haspopup="dialog">
          <span className="card-icon" aria-hidden="true">
            +
          </span>
          <h2>Create a room</h2>
          <p>A private room for you and the people you add.</p>
        </button>
      </div>
    </div>
  );
}

// The signed-in frame: header (brand, search, connection state, notifications, profile), room
// sidebar (the Admin page's link for moderators and admins), page. Ctrl/Cmd+K, or / outside a
// text field, opens the search.

import { useEffect, useState } from 'react';
import { Link, Outlet, useNavigate, useOutletContext } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { VerificationBanner } from '../auth/EmailVerification';
import { useChat, useChatStore } from '../state/ChatProvider';
import { ConnectionStatus } from './ConnectionStatus';
import { RoomList } from './RoomList';
import { CreateRoomDialog } from '../dialogs/CreateRoomDialog';
import { MentionsPanel } from '../dialogs/MentionsPanel';
import { NewDmDialog } from '../dialogs/NewDmDialog';
import { NotificationsDialog } from '../dialogs/NotificationsDialog';
import { SearchDialog } from '../dialogs/SearchDialog';
import { ProfileDialog } from '../dialogs/ProfileDialog';
import { hueOf, initials } from '../lib/format';
import { roomPath } from '../lib/rooms';
import { isStaff } from '../lib/moderation';
import { EMPTY_SEARCH, messagePath, type SearchForm } from '../lib/search';

export interface LayoutContext {
  openCreateRoom(): void;
  openProfile(): void;
}

export function useLayout(): LayoutContext {
  return useOutletContext<LayoutContext>();
}

export function Layout() {
  const { user } = useAuth();
  const store = useChatStore();
  const notice = useChat((s) => s.notice);
  const mentions = useChat((s) => s.rooms.reduce((n, r) => n + (r.mentionCount ?? 0), 0));
  const navigate = useNavigate();
  const [dialog, setDialog] = useState<'create' | 'profile' | 'dm' | 'mentions' | 'search' | 'notifications' | null>(null);
  // The search form outlives the dialog: reopening it shows the same search again.
  const [searchForm, setSearchForm] = useState<SearchForm>(EMPTY_SEARCH);
  const ctx: LayoutContext = { openCreateRoom: () => setDialog('create'), openProfile: () => setDialog('profile') };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLElement && (e.target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName));
      const combo = (e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k';
      if (!combo && !(e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey)) return;
      // Another dialog is open (modal): leave the keys to it.
      if (document.querySelector('dialog[open]') && !combo) return;
      e.preventDefault();
      setDialog('search');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="brand-mark" aria-hidden="true">
            ☁
          </span>{' '}
          Cloud Chat
        </Link>
        <button
          type="button"
          className="search-button"
          onClick={() => setDialog('search')}
          aria-haspopup="dialog"
          aria-keyshortcuts="Control+K Meta+K /"
          data-testid="search-button"
        >
          <span aria-hidden="true">⌕</span> Search messages
          <kbd aria-hidden="true">Ctrl K</kbd>
        </button>
        <ConnectionStatus />
        <button
          type="button"
          className="icon-button notif-button"
          onClick={() => setDialog('notifications')}
          aria-haspopup="dialog"
          aria-label="Notification settings"
          title="Notification settings"
          data-testid="notifications-button"
        >
          <span aria-hidden="true">🔔</span>
        </button>
        <button
          type="button"
          className="profile-button"
          onClick={() => setDialog('profile')}
          aria-haspopup="dialog"
          aria-label={`Profile and settings (${user?.username ?? ''})`}
        >
          <span className="avatar" style={{ ['--hue' as string]: hueOf(user?.id ?? '') }} aria-hidden="true">
            {initials(user?.username ?? '?')}
          </span>
          <span className="profile-name">{user?.username}</span>
        </button>
      </header>
      <VerificationBanner />
      {notice && (
        <div className="toast" role="alert">
          <span>{notice}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => store.clearNotice()}>
            ×
          </button>
        </div>
      )}
      <div className="shell">
        <aside className="sidebar">
          <button
            type="button"
            className="room-link side-button"
            onClick={() => setDialog('mentions')}
            aria-haspopup="dialog"
            data-testid="mentions-button"
          >
            <span className="room-hash" aria-hidden="true">
              @
            </span>
            <span className="room-name">Mentions</span>
            {mentions > 0 && (
              <span className="badge badge-mention" aria-label={`${mentions} unread`}>
                {mentions > 99 ? '99+' : mentions}
              </span>
            )}
          </button>
          <RoomList onCreate={() => setDialog('create')} onNewDm={() => setDialog('dm')} />
          <nav className="side-links" aria-label="Pages">
            <Link to="/">Home</Link>
            <Link to="/my-rooms">My rooms</Link>
            {isStaff(user?.role) && (
              <Link to="/admin" data-testid="admin-link">
                Admin
              </Link>
            )}
          </nav>
        </aside>
        <main id="main" className="content" tabIndex={-1}>
          <Outlet context={ctx} />
        </main>
      </div>
      {dialog === 'create' && (
        <CreateRoomDialog
          onClose={() => setDialog(null)}
          onCreated={(room) => {
            setDialog(null);
            navigate(`/chat/${room.id}`);
          }}
        />
      )}
      {dialog === 'profile' && <ProfileDialog onClose={() => setDialog(null)} onNotifications={() => setDialog('notifications')} />}
      {dialog === 'notifications' && <NotificationsDialog onClose={() => setDialog(null)} />}
      {dialog === 'search' && (
        <SearchDialog
          form={searchForm}
          onForm={setSearchForm}
          onClose={() => setDialog(null)}
          onPick={(hit) => {
            setDialog(null);
            navigate(messagePath(hit.room.id, hit.message.seq));
          }}
        />
      )}
      {dialog === 'dm' && (
        <NewDmDialog
          onClose={() => setDialog(null)}
          onOpened={(room) => {
            setDialog(null);
            navigate(roomPath(room));
          }}
        />
      )}
      {dialog === 'mentions' && (
        <MentionsPanel
          onClose={() => setDialog(null)}
          onPick={(m) => {
            setDialog(null);
            navigate(messagePath(m.roomId, m.seq));
          }}
        />
      )}
    </div>
  );
}

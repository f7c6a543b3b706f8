// The chat view for one room (/chat/general or /chat/:id).

import { useEffect, useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { Composer } from '../chat/Composer';
import { MessageList } from '../chat/MessageList';
import { RoomSettingsDialog } from '../dialogs/RoomSettingsDialog';
import { typingText } from '../lib/format';
import { seenBy } from '../lib/readMarkers';
import { useChat, useChatStore } from '../state/ChatProvider';

export function ChatPage() {
  const { roomId: param } = useParams();
  const { user } = useAuth();
  const store = useChatStore();
  const rooms = useChat((s) => s.rooms);
  const roomsLoaded = useChat((s) => s.roomsLoaded);
  const room = param === 'general' ? rooms.find((r) => r.isGeneral) : rooms.find((r) => String(r.id) === param);
  const roomId = room?.id;
  const timeline = useChat((s) => (roomId !== undefined ? s.timelines[roomId] : undefined));
  const allPending = useChat((s) => s.pending);
  const typing = useChat((s) => (roomId !== undefined ? s.typing[roomId] : undefined));
  const connected = useChat((s) => s.connection.state === 'open');
  const markers = useChat((s) => (roomId !== undefined ? s.readMarkers[roomId] : undefined));
  const [settings, setSettings] = useState(false);

  const pending = useMemo(() => allPending.filter((p) => p.roomId === roomId), [allPending, roomId]);
  const messages = timeline?.messages;
  const last = messages?.[messages.length - 1];
  const memberCount = room?.memberCount ?? 0;
  const seen = useMemo(
    () => (room && !room.isGeneral && user ? seenBy(markers, last, user.id, memberCount) : []),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [markers, last, user?.id, memberCount, room?.isGeneral],
  );

  useEffect(() => {
    if (roomId === undefined) return;
    void store.openRoom(roomId);
    return () => store.closeRoom(roomId);
  }, [store, roomId]);

  useEffect(() => {
    if (room) document.title = `${room.isGeneral ? 'general' : `#${room.name}`} · Cloud Chat`;
    return () => {
      document.title = 'Cloud Chat';
    };
  }, [room]);

  if (!room || !user) {
    return (
      <div className="page">
        {roomsLoaded ? (
          <>
            <h1>Room not found</h1>
            <p className="muted">This room does not exist, or you are not a member of it.</p>
            <Link to="/my-rooms">Back to my rooms</Link>
          </>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </div>
    );
  }

  const isOwner = room.ownerUserId === user.id;
  const names = (typing ?? []).map((t) => t.username);

  return (
    <section className="chat" aria-labelledby="chat-title">
      <header className="chat-head">
        <div>
          <h1 id="chat-title">
            <span aria-hidden="true">{room.isGeneral ? '★ ' : '# '}</span>
            {room.name}
          </h1>
          <p className="muted small">
            {room.isGeneral
              ? 'Everyone can read and write here.'
              : `${room.memberCount} member${room.memberCount === 1 ? '' : 's'} · owner ${room.ownerUsername ?? 'unknown'}`}
          </p>
        </div>
        {!room.isGeneral && (
          <button type="button" className="button" onClick={() => setSettings(true)} aria-haspopup="dialog">
            Room settings
          </button>
        )}
      </header>
      {timeline?.error && (
        <div className="form-error" role="alert">
          {timeline.error}
        </div>
      )}
      <MessageList roomId={room.id} timeline={timeline} pending={pending} me={user} isRoomOwner={isOwner} online={connected} seenBy={seen} />
      <div className="typing" aria-live="polite" data-testid="typing">
        {typingText(names)}
      </div>
      <Composer key={room.id} roomId={room.id} roomName={room.isGeneral ? 'general' : `#${room.name}`} />
      {settings && <RoomSettingsDialog room={room} onClose={() => setSettings(false)} />}
    </section>
  );
}

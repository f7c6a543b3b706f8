// The chat view for one room (/chat/general or /chat/:id): general, a group room, or a direct
// conversation (the peer's name and presence in the header; notes for a self-DM). Files
// dropped anywhere on the conversation go to the composer's uploads. The composer is off while
// the viewer is muted in the room, or has blocked the other person of a direct room.

import { useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { Composer } from '../chat/Composer';
import { MessageList } from '../chat/MessageList';
import { RoomSettingsDialog } from '../dialogs/RoomSettingsDialog';
import { Dialog } from '../components/Dialog';
import { RoomNotifications } from '../components/RoomNotifications';
import { typingText } from '../lib/format';
import { recentAuthors, type MentionCandidate } from '../lib/mentions';
import { seenBy } from '../lib/readMarkers';
import { seqParam } from '../lib/search';
import { isSelfDm, roomKind, roomLabel, roomTitle } from '../lib/rooms';
import { displayName, isDeletedUser } from '../lib/deletedUser';
import { PresenceDot, PresenceText } from '../components/Presence';
import { UserMenu } from '../components/UserMenu';
import { mutedText } from '../lib/moderation';
import { useChat, useChatStore } from '../state/ChatProvider';
import { useUploadQueue } from '../chat/useUploadQueue';

/** Whether a drag carries files (not text or a link being moved about the page). */
function carriesFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer.types).includes('Files');
}

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
  // Writes refused until the e-mail address is verified (REQUIRE_EMAIL_VERIFICATION).
  const refusal = useChat((s) => s.connection.refusal);
  const markers = useChat((s) => (roomId !== undefined ? s.readMarkers[roomId] : undefined));
  const members = useChat((s) => (roomId !== undefined ? s.members[roomId] : undefined));
  const mute = useChat((s) => (roomId !== undefined ? s.mutes[roomId] : undefined));
  const peerId = room && roomKind(room) === 'direct' && room.peer && room.peer.userId !== user?.id ? room.peer.userId : undefined;
  const peerBlocked = useChat((s) => (peerId !== undefined ? s.blockedIds.has(peerId) : false));
  const [settings, setSettings] = useState(false);
  const uploads = useUploadQueue(roomId);
  const [dropping, setDropping] = useState(false);
  /** dragenter/dragleave fire for every child crossed: count them to know when the drag left. */
  const dragDepth = useRef(0);

  const pending = useMemo(() => allPending.filter((p) => p.roomId === roomId), [allPending, roomId]);
  const messages = timeline?.messages;
  const last = messages?.[messages.length - 1];
  const memberCount = room?.memberCount ?? 0;
  const kind = room ? roomKind(room) : undefined;
  const meId = user?.id ?? '';
  const seen = useMemo(
    () => (kind === 'group' ? seenBy(markers, last, meId, memberCount) : []),
    [markers, last, meId, memberCount, kind],
  );
  // Whom `@` offers: the members (general has no list: the authors of what is loaded).
  const candidates = useMemo<MentionCandidate[]>(
    () =>
      kind === 'general'
        ? recentAuthors(messages ?? [], meId)
        : (members ?? []).filter((m) => m.userId !== meId).map((m) => ({ userId: m.userId, username: m.username })),
    [kind, messages, members, meId],
  );

  useEffect(() => {
    if (roomId === undefined) return;
    void store.openRoom(roomId);
    return () => store.closeRoom(roomId);
  }, [store, roomId]);

  // `?seq=17` (a search hit, a mention, a notification): show that message, loading the
  // history around it, then drop the parameter so the same link can be followed again.
  const location = useLocation();
  const navigate = useNavigate();
  const askedSeq = seqParam(location.search);
  useEffect(() => {
    if (roomId === undefined || askedSeq === undefined) return;
    store.jumpTo(roomId, askedSeq);
    navigate({ pathname: location.pathname, search: '' }, { replace: true });
  }, [store, roomId, askedSeq, navigate, location.pathname]);

  // A file dropped beside the drop zone (the sidebar, the header) must not make the browser
  // leave the app to show it.
  useEffect(() => {
    const keep = (e: globalThis.DragEvent) => {
      if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) e.preventDefault();
    };
    window.addEventListener('dragover', keep);
    window.addEventListener('drop', keep);
    return () => {
      window.removeEventListener('dragover', keep);
      window.removeEventListener('drop', keep);
    };
  }, []);

  useEffect(() => {
    if (room) document.title = `${roomLabel(room, meId)} · Cloud Chat`;
    return () => {
      document.title = 'Cloud Chat';
    };
  }, [room, meId]);

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
  const self = isSelfDm(room, user.id);
  // A direct room whose other person deleted their account: readable, with no one to write to.
  const gonePeer = kind === 'direct' && !self && isDeletedUser(room.peer?.username);
  const peer = kind === 'direct' && !self && !gonePeer ? room.peer : null;
  const composerOff = gonePeer
    ? 'This person deleted their account.'
    : mute
    ? mutedText(mute.known ? mute.until : null)
    : peer && peerBlocked
      ? `You blocked ${peer.username}. Unblock them (⋯ above) to write to each other again.`
      : refusal;

  const dropProps = uploads
    ? {
        onDragEnter: (e: DragEvent) => {
          if (!carriesFiles(e)) return;
          e.preventDefault();
          dragDepth.current += 1;
          setDropping(true);
        },
        onDragOver: (e: DragEvent) => {
          if (!carriesFiles(e)) return;
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
        },
        onDragLeave: (e: DragEvent) => {
          if (!carriesFiles(e)) return;
          dragDepth.current = Math.max(0, dragDepth.current - 1);
          if (dragDepth.current === 0) setDropping(false);
        },
        onDrop: (e: DragEvent) => {
          if (!carriesFiles(e)) return;
          e.preventDefault();
          dragDepth.current = 0;
          setDropping(false);
          uploads.add(Array.from(e.dataTransfer.files));
        },
      }
    : {};

  return (
    <section className={`chat${dropping ? ' chat-dropping' : ''}`} aria-labelledby="chat-title" {...dropProps}>
      {dropping && (
        <div className="drop-overlay" aria-hidden="true" data-testid="drop-overlay">
          Drop files to attach them
        </div>
      )}
      <header className="chat-head">
        <div>
          <h1 id="chat-title" className="chat-title">
            {peer ? (
              <PresenceDot userId={peer.userId} />
            ) : (
              <span aria-hidden="true">{kind === 'general' ? '★ ' : gonePeer ? '⊘ ' : kind === 'direct' ? '✎ ' : '# '}</span>
            )}
            {kind === 'direct' ? roomTitle(room, user.id) : room.name}
          </h1>
          <p className="muted small">
            {kind === 'general' ? (
              'Everyone can read and write here.'
            ) : peer ? (
              <PresenceText userId={peer.userId} fallback="Direct message" />
            ) : self ? (
              'Notes: a conversation with yourself.'
            ) : gonePeer ? (
              'This person deleted their account.'
            ) : (
              `${room.memberCount} member${room.memberCount === 1 ? '' : 's'} · owner ${room.ownerUsername ? displayName(room.ownerUsername) : 'unknown'}`
            )}
          </p>
        </div>
        <div className="chat-head-actions">
          {peer && (
            <UserMenu user={peer} message={false} buttonClass="icon-button" testId="peer-menu">
              <span aria-hidden="true">⋯</span>
            </UserMenu>
          )}
          {kind === 'group' ? (
            <button type="button" className="button" onClick={() => setSettings(true)} aria-haspopup="dialog">
              Room settings
            </button>
          ) : (
            <button type="button" className="button" onClick={() => setSettings(true)} aria-haspopup="dialog">
              Notifications
            </button>
          )}
        </div>
      </header>
      {timeline?.error && (
        <div className="form-error" role="alert">
          {timeline.error}
        </div>
      )}
      <MessageList
        roomId={room.id}
        timeline={timeline}
        pending={pending}
        me={user}
        isRoomOwner={isOwner}
        canModerate={!!room.canModerate}
        online={connected}
        seenBy={seen}
      />
      <div className="typing" aria-live="polite" data-testid="typing">
        {typingText(names)}
      </div>
      <Composer
        key={room.id}
        roomId={room.id}
        roomName={roomLabel(room, user.id)}
        candidates={candidates}
        offerRoomMention={kind === 'group' && isOwner}
        uploads={uploads}
        disabledNote={composerOff}
      />
      {settings && kind === 'group' && <RoomSettingsDialog room={room} onClose={() => setSettings(false)} />}
      {settings && kind !== 'group' && (
        <Dialog title={`Notifications — ${roomLabel(room, user.id)}`} onClose={() => setSettings(false)}>
          <RoomNotifications roomId={room.id} />
        </Dialog>
      )}
    </section>
  );
}

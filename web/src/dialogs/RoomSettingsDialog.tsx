// Room settings: the member list for everyone (a page at a time, "Show more" for the next),
// with each member's presence, room role and mute, a "Message" button to talk to them directly
// and their menu (block; for who moderates the room: mute, unmute, remove; for the owner:
// make or unmake moderators), and for them the room's report queue. The owner adds members
// (with autocomplete) and can delete the room; other members can leave. Everyone sets the
// room's notifications (level, mute).

import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { messageOf } from '../api/errors';
import type { Member, Room } from '../api/types';
import { memberTotal, withPage, type MemberList } from '../lib/memberList';
import { Dialog } from '../components/Dialog';
import { FormError } from '../components/Field';
import { UserAutocomplete } from '../components/UserAutocomplete';
import { PresenceDot, PresenceNote } from '../components/Presence';
import { RoomNotifications } from '../components/RoomNotifications';
import { useChat, useChatStore } from '../state/ChatProvider';
import { formatFull, formatTime, hueOf, initials } from '../lib/format';
import { inForce, memberRights, memberRole } from '../lib/moderation';
import { UserMenu } from '../components/UserMenu';
import type { MenuItem } from '../components/Menu';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { MuteDialog } from './MuteDialog';

// The queue's code comes with the Admin page's (loaded when first opened).
const ReportsTab = lazy(() => import('../admin/ReportsTab').then((m) => ({ default: m.ReportsTab })));

export function RoomSettingsDialog({ room, onClose }: { room: Room; onClose: () => void }) {
  const { api, user } = useAuth();
  const store = useChatStore();
  const navigate = useNavigate();
  const version = useChat((s) => s.membersVersion[room.id] ?? 0);
  const [list, setList] = useState<MemberList | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [username, setUsername] = useState('');
  const [addError, setAddError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [muting, setMuting] = useState<Member | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [reports, setReports] = useState(false);
  const isOwner = room.ownerUserId === user?.id;
  const viewer = { id: user?.id ?? '', role: user?.role, isOwner, canModerate: !!room.canModerate };

  const members = list?.members ?? null;

  /** The first page again (after a change to the list). */
  const load = useCallback(() => {
    api
      .members(room.id)
      .then((page) => setList((cur) => withPage(cur, page, true)))
      .catch((x) => setError(messageOf(x)));
  }, [api, room.id]);

  useEffect(() => {
    load();
  }, [load, version]);

  async function loadMore() {
    if (!list?.nextCursor || loadingMore) return;
    setLoadingMore(true);
    try {
      const page = await api.members(room.id, { after: list.nextCursor });
      setList((cur) => withPage(cur, page, false));
    } catch (x) {
      setError(messageOf(x));
    } finally {
      setLoadingMore(false);
    }
  }

  const memberIds = useMemo(() => new Set((members ?? []).map((m) => m.userId)), [members]);
  const total = memberTotal(list, room.memberCount);

  async function add(e: FormEvent) {
    e.preventDefault();
    const n = username.trim();
    if (!n) {
      setAddError('Type a username.');
      return;
    }
    setAddError(undefined);
    setBusy(true);
    try {
      await api.addMember(room.id, n);
      setUsername('');
      load();
      void store.loadRooms();
    } catch (x) {
      setAddError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  /** Rejects with the refusal (the confirmation shows it). */
  async function remove(m: Member) {
    setError(null);
    await api.removeMember(room.id, m.userId);
    load();
    void store.loadRooms();
  }

  /** A moderation request on one member, then the list again (frames bring others' views up to date). */
  async function act(run: () => Promise<unknown>) {
    setError(null);
    try {
      await run();
      load();
    } catch (x) {
      setError(messageOf(x));
    }
  }

  function memberItems(m: Member): MenuItem[] {
    const rights = memberRights(viewer, m);
    const items: MenuItem[] = [];
    const role = memberRole(m);
    if (rights.moderate) {
      if (inForce(m.mutedUntil)) items.push({ label: 'Unmute', onSelect: () => void act(() => api.unmute(room.id, m.userId)), testId: 'member-unmute' });
      else items.push({ label: 'Mute…', onSelect: () => setMuting(m), testId: 'member-mute' });
    }
    if (rights.setRole) {
      items.push(
        role === 'moderator'
          ? { label: 'Remove moderator', onSelect: () => void act(() => api.setMemberRole(room.id, m.userId, 'member')), testId: 'member-unmake-moderator' }
          : { label: 'Make moderator', onSelect: () => void act(() => api.setMemberRole(room.id, m.userId, 'moderator')), testId: 'member-make-moderator' },
      );
    }
    if (rights.moderate) items.push({ label: 'Remove from room…', onSelect: () => setRemoving(m), danger: true, testId: 'member-remove' });
    return items;
  }

  async function message(m: Member) {
    setError(null);
    try {
      const dm = await store.openDm({ userId: m.userId });
      onClose();
      navigate(`/chat/${dm.id}`);
    } catch (x) {
      setError(messageOf(x));
    }
  }

  async function leave() {
    if (!user) return;
    setBusy(true);
    try {
      await api.removeMember(room.id, user.id);
      // Leave the page first, so it does not flash "room not found".
      onClose();
      navigate('/my-rooms');
      store.forgetRoom(room.id);
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  async function deleteRoom() {
    setBusy(true);
    try {
      await api.deleteRoom(room.id);
      // Leave the page first, so it does not flash "room not found".
      onClose();
      navigate('/my-rooms');
      store.forgetRoom(room.id);
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Room settings — ${room.name}`} onClose={onClose} wide>
      <p className="muted small">
        Owner: <strong>{room.ownerUsername ?? 'unknown'}</strong> · created {formatFull(room.createdAt)}
      </p>
      <section className="dialog-section">
        <h3>Members {total !== null ? `(${total})` : ''}</h3>
        {members === null && !error && <p className="muted small">Loading…</p>}
        <ul className="member-list" aria-label="Members">
          {(members ?? []).map((m) => {
            const role = memberRole(m);
            const muted = inForce(m.mutedUntil) ? m.mutedUntil : null;
            return (
              <li key={m.userId} data-testid="member" data-username={m.username} data-role={role} data-muted={muted ? 'true' : 'false'}>
                <span className="avatar small" style={{ ['--hue' as string]: hueOf(m.userId) }} aria-hidden="true">
                  {initials(m.username)}
                </span>
                <span className="member-name">
                  {m.username}
                  {m.userId === user?.id ? <span className="muted"> (you)</span> : <PresenceNote userId={m.userId} />}
                </span>
                {m.userId !== user?.id && <PresenceDot userId={m.userId} />}
                {role === 'owner' && <span className="tag">Owner</span>}
                {role === 'moderator' && <span className="tag tag-moderator">Moderator</span>}
                {muted && (
                  <span className="tag tag-muted" title={formatFull(muted)} data-testid="muted-badge">
                    Muted until {formatTime(muted)}
                  </span>
                )}
                {m.userId !== user?.id && (
                  <button type="button" className="button button-small" onClick={() => void message(m)} aria-label={`Message ${m.username}`}>
                    Message
                  </button>
                )}
                {m.userId !== user?.id && (
                  <UserMenu user={m} message={false} extra={memberItems(m)} buttonClass="icon-button" testId="member-menu">
                    <span aria-hidden="true">⋯</span>
                  </UserMenu>
                )}
              </li>
            );
          })}
        </ul>
        {list?.hasMore && (
          <button type="button" className="button button-small" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Show more members'}
          </button>
        )}
        <FormError message={error} />
      </section>

      {isOwner && (
        <section className="dialog-section">
          <h3>Add a member</h3>
          <form onSubmit={add} className="inline-form" noValidate>
            <UserAutocomplete
              label="Username"
              value={username}
              onChange={setUsername}
              onPick={() => setAddError(undefined)}
              exclude={memberIds}
              error={addError}
            />
            <button type="submit" className="button button-primary" disabled={busy}>
              Add
            </button>
          </form>
        </section>
      )}

      {room.canModerate && user && (
        <section className="dialog-section">
          <h3>Reports</h3>
          <p className="muted small">Messages of this room that members reported to its moderators.</p>
          <button type="button" className="button" onClick={() => setReports(true)} aria-haspopup="dialog">
            Open the report queue…
          </button>
        </section>
      )}

      <RoomNotifications roomId={room.id} />

      {reports && user && (
        <Dialog title={`Reports — #${room.name}`} onClose={() => setReports(false)} wide>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <ReportsTab me={user} roomId={room.id} />
          </Suspense>
        </Dialog>
      )}
      {muting && <MuteDialog roomId={room.id} roomName={`#${room.name}`} user={muting} onClose={() => setMuting(null)} onMuted={load} />}
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.username}?`}
          confirm="Remove"
          danger
          onConfirm={() => remove(removing)}
          onClose={() => setRemoving(null)}
        >
          <p>They leave #{room.name} and stop seeing its messages. Someone who may add members can add them again.</p>
        </ConfirmDialog>
      )}

      <section className="dialog-section danger-zone">
        {isOwner ? (
          <>
            <h3>Delete this room</h3>
            <p className="muted small">The room and all its messages are deleted for every member.</p>
            {confirmDelete ? (
              <div className="dialog-actions start" role="group" aria-label="Confirm deletion">
                <button type="button" className="button button-danger" onClick={deleteRoom} disabled={busy}>
                  Yes, delete “{room.name}”
                </button>
                <button type="button" className="button" onClick={() => setConfirmDelete(false)}>
                  Cancel
                </button>
              </div>
            ) : (
              <button type="button" className="button button-danger" onClick={() => setConfirmDelete(true)}>
                Delete room…
              </button>
            )}
          </>
        ) : (
          <>
            <h3>Leave this room</h3>
            <p className="muted small">You will need the owner to add you again.</p>
            <button type="button" className="button button-danger" onClick={leave} disabled={busy}>
              Leave room
            </button>
          </>
        )}
      </section>
    </Dialog>
  );
}

// The scrollable history: loads older pages when scrolled to the top (keeping the view
// steady), follows new messages while the reader is at the bottom, and offers a jump
// button otherwise. A window loaded around an old message (a search hit, a mention) loads
// newer pages when scrolled to its bottom, and offers "Jump to latest". Messages of users
// the viewer blocked are shown hidden (live ones too: the server filters only its reads); each
// author's name opens their menu (with "Mute in this room…" for who moderates it), and
// "Report" opens the report dialog.

import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Message, ReplyRef } from '../api/types';
import type { PendingMessage } from '../lib/outbox';
import type { Timeline } from '../state/chatStore';
import { useChat, useChatStore } from '../state/ChatProvider';
import { seenByText } from '../lib/readMarkers';
import { hiddenReason } from '../lib/moderation';
import { isDeletedUser } from '../lib/deletedUser';
import { UserMenu } from '../components/UserMenu';
import { ReportDialog } from '../dialogs/ReportDialog';
import { MuteDialog } from '../dialogs/MuteDialog';
import { MessageItem, PendingItem } from './MessageItem';

interface Props {
  roomId: number;
  timeline: Timeline | undefined;
  pending: PendingMessage[];
  me: { id: string; username: string };
  isRoomOwner: boolean;
  /** The viewer may delete others' messages here (the room's `canModerate`). */
  canModerate?: boolean;
  online: boolean;
  /** Who has read up to the last message ("Seen by …" under it); empty for nobody. */
  seenBy?: string[];
}

const EMPTY: Message[] = [];
const NOBODY: string[] = [];
/** How long a message jumped to stays highlighted. */
const HIGHLIGHT_MS = 2_500;

export function MessageList({ roomId, timeline, pending, me, isRoomOwner, canModerate = false, online, seenBy = NOBODY }: Props) {
  const store = useChatStore();
  const blocked = useChat((s) => s.blockedIds);
  const [reporting, setReporting] = useState<Message | null>(null);
  const [muting, setMuting] = useState<{ userId: string; username: string } | null>(null);
  const ref = useRef<HTMLOListElement>(null);
  const atBottom = useRef(true);
  const prev = useRef<{ first?: number; last?: number; height: number; pending: number; roomId: number; epoch: number; detached: boolean }>({
    height: 0,
    pending: 0,
    roomId,
    epoch: 0,
    detached: false,
  });
  const [showJump, setShowJump] = useState(false);
  /** A replaced window waits for its jump's scroll before paging on scroll. */
  const settling = useRef(false);
  const messages = timeline?.messages ?? EMPTY;

  const loadOlderIfNeeded = useCallback(() => {
    const el = ref.current;
    if (!el || !timeline?.loaded || !timeline.hasMoreOlder || timeline.loadingOlder) return;
    if (el.scrollTop < 120 || el.scrollHeight <= el.clientHeight) void store.loadOlder(roomId);
  }, [store, roomId, timeline]);

  const loadNewerIfNeeded = useCallback(() => {
    const el = ref.current;
    if (!el || !timeline?.loaded || !timeline.hasMoreNewer || timeline.loadingNewer) return;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < 120) void store.loadNewer(roomId);
  }, [store, roomId, timeline]);
  const detached = !!timeline?.hasMoreNewer;
  const epoch = timeline?.epoch ?? 0;

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const p = prev.current;
    const first = messages[0]?.seq;
    const last = messages[messages.length - 1]?.seq;
    if (p.roomId !== roomId) {
      atBottom.current = true;
    }
    // Not at the newest messages: never follow the bottom (that would load newer pages on and on).
    if (detached) atBottom.current = false;
    if (p.roomId === roomId && p.epoch !== epoch) {
      // The window was replaced: a jump scrolls to its message (no paging until it has: the
      // old scroll position means nothing here); back to the newest, the bottom.
      settling.current = detached;
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      setShowJump(false);
    } else if (p.roomId === roomId && p.first !== undefined && first !== undefined && first < p.first) {
      // Older page prepended: keep what the reader was looking at in place.
      el.scrollTop += el.scrollHeight - p.height;
    } else {
      const grew = last !== p.last || pending.length > p.pending;
      // A newer page below a window around an old message is not the user's own new message.
      const ownNew = pending.length > p.pending || (!p.detached && messages[messages.length - 1]?.userId === me.id);
      if (atBottom.current || (grew && ownNew) || p.roomId !== roomId) {
        el.scrollTop = el.scrollHeight;
        atBottom.current = true;
        setShowJump(false);
      } else if (grew) {
        setShowJump(true);
      }
    }
    prev.current = { first, last, height: el.scrollHeight, pending: pending.length, roomId, epoch, detached };
    if (!settling.current) loadOlderIfNeeded();
    // seenBy: the line under the last message keeps a reader at the bottom there.
  }, [messages, pending.length, roomId, me.id, loadOlderIfNeeded, seenBy, detached, epoch]);

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    atBottom.current = !detached && el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (atBottom.current) {
      setShowJump(false);
      store.markActiveRead();
    }
    if (settling.current) return;
    loadOlderIfNeeded();
    loadNewerIfNeeded();
  };

  const jump = () => {
    const el = ref.current;
    if (!el) return;
    atBottom.current = true;
    setShowJump(false);
    if (detached) {
      void store.showLatest(roomId);
      return;
    }
    el.scrollTop = el.scrollHeight;
  };

  const onEdit = useCallback((m: Message, content: string) => store.edit(m, content), [store]);
  const onDelete = useCallback((m: Message) => store.remove(m), [store]);
  const onReact = useCallback((m: Message, emoji: string, add: boolean) => void store.react(m, emoji, add), [store]);
  const onReply = useCallback((m: Message) => store.replyTo(m), [store]);
  const onReport = useCallback((m: Message) => setReporting(m), []);

  // Jumping to a message (the one a reply answers, or one picked in the Mentions panel):
  // load older pages until it is there (the store gives up with a notice), then scroll it
  // into view and highlight it for a moment.
  const [target, setTarget] = useState<{ seq: number; n: number } | null>(null);
  const [highlight, setHighlight] = useState<number | null>(null);
  const jumps = useRef(0);
  const goTo = useCallback(
    (seq: number, notFound?: string) => {
      const n = ++jumps.current;
      void store.reveal(roomId, seq, notFound).then((found) => {
        if (found && jumps.current === n) setTarget({ seq, n });
      });
    },
    [store, roomId],
  );
  const onJump = useCallback((r: ReplyRef) => goTo(r.seq), [goTo]);
  const asked = useChat((s) => s.jump);
  const loaded = !!timeline?.loaded;
  useEffect(() => {
    if (!asked || asked.roomId !== roomId || !loaded) return;
    store.clearJump(asked.n);
    goTo(asked.seq, 'That message could not be found.');
  }, [asked, roomId, loaded, store, goTo]);
  useEffect(() => {
    if (!target) return;
    const el = ref.current?.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${target.seq}"]`);
    if (!el) return;
    atBottom.current = false;
    const reduce = typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
    // Into a replaced window at once: a smooth scroll from an unrelated place would page on the way.
    el.scrollIntoView({ block: 'center', behavior: reduce || settling.current ? 'auto' : 'smooth' });
    settling.current = false;
    setHighlight(target.seq);
    setTarget(null);
  }, [target, messages]);
  useEffect(() => {
    if (highlight === null) return;
    const t = setTimeout(() => setHighlight(null), HIGHLIGHT_MS);
    return () => clearTimeout(t);
  }, [highlight]);
  const myReactions = useChat((s) => s.myReactions);
  const reactionErrors = useChat((s) => s.reactionErrors);

  const days = useMemo(() => dayBreaks(messages), [messages]);
  const byId = useMemo(() => new Map(messages.map((m) => [m.id, m])), [messages]);

  return (
    <div className="messages-wrap">
      <ol
        ref={ref}
        className="messages"
        onScroll={onScroll}
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label="Messages"
        tabIndex={0}
        data-testid="message-list"
      >
        <li className="history-edge" aria-live="off">
          {timeline?.loadingOlder
            ? 'Loading older messages…'
            : timeline?.loaded && !timeline.hasMoreOlder
              ? messages.length
                ? 'This is the beginning of the room.'
                : 'No messages yet. Say hello!'
              : timeline?.loaded
                ? ''
                : 'Loading…'}
        </li>
        {messages.map((m) => (
          <Fragment key={m.seq}>
            {days.has(m.seq) && (
              <li className="day-break" aria-hidden="true">
                <span>{days.get(m.seq)}</span>
              </li>
            )}
            <MessageItem
              message={m}
              own={m.userId === me.id}
              canDelete={isRoomOwner || canModerate}
              meId={me.id}
              meName={me.username}
              myReactions={myReactions[m.id]}
              reactionError={reactionErrors[m.id]}
              onEdit={onEdit}
              onDelete={onDelete}
              onReact={onReact}
              onReply={onReply}
              onJump={onJump}
              highlighted={highlight === m.seq}
              replyOriginal={m.replyTo ? byId.get(m.replyTo.id) : undefined}
              hidden={hiddenReason(m, blocked, me.id)}
              quoteHidden={m.replyTo && m.replyTo.userId !== me.id && blocked.has(m.replyTo.userId) ? 'blocked' : undefined}
              onReport={onReport}
              authorMenu={
                m.userId !== me.id && !isDeletedUser(m.username) ? (
                  <UserMenu
                    user={{ userId: m.userId, username: m.username }}
                    extra={canModerate ? [{ label: 'Mute in this room…', onSelect: () => setMuting({ userId: m.userId, username: m.username }), testId: 'user-menu-mute' }] : undefined}
                  />
                ) : undefined
              }
            />
          </Fragment>
        ))}
        {seenBy.length > 0 && messages.length > 0 && (
          <li className="seen-by" data-testid="seen-by" data-seq={messages[messages.length - 1].seq} aria-live="off">
            {seenByText(seenBy)}
          </li>
        )}
        {detached && (
          <li className="history-edge" aria-live="off">
            {timeline?.loadingNewer ? 'Loading newer messages…' : ''}
          </li>
        )}
        {pending.map((p) => (
          <PendingItem
            key={p.clientMsgId}
            item={p}
            username={me.username}
            userId={me.id}
            online={online}
            onRetry={() => store.retry(p.clientMsgId)}
            onDiscard={() => store.discard(p.clientMsgId)}
            replyOriginal={p.replyTo ? byId.get(p.replyTo.id) : undefined}
          />
        ))}
      </ol>
      {(showJump || detached) && (
        <button type="button" className="jump-button" onClick={jump} data-testid="jump-latest">
          {detached ? 'Jump to latest ↓' : 'New messages ↓'}
        </button>
      )}
      {reporting && <ReportDialog message={reporting} onClose={() => setReporting(null)} />}
      {muting && <MuteDialog roomId={roomId} roomName="this room" user={muting} onClose={() => setMuting(null)} />}
    </div>
  );
}

/** Seq of the first message of each day → that day's label. */
function dayBreaks(messages: Message[]): Map<number, string> {
  const out = new Map<number, string>();
  let prevDay = '';
  for (const m of messages) {
    const d = new Date(m.createdAt);
    if (Number.isNaN(d.getTime())) continue;
    const key = d.toDateString();
    if (key !== prevDay) {
      out.set(m.seq, d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }));
      prevDay = key;
    }
  }
  return out;
}

// The input at the bottom of a room: Enter sends, Shift+Enter starts a new line. Sends made
// while offline are queued by the store and shown as pending. Typing `@` suggests the room's
// people (arrow keys move, Enter or Tab picks, Escape closes; a click picks too).
// Files come from the attach button (a picker, several at once), a pasted image, or a drop
// on the conversation (ChatPage); each uploads at once and shows as a chip above the box,
// and the message can go once every file is uploaded. Text is optional with files. While the
// viewer may not write here (muted in the room, or the other person of a direct room is
// blocked) the box is off and says why.

import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ClipboardEvent, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { useChat, useChatStore } from '../state/ChatProvider';
import { quoteText } from './ReplyQuote';
import { completeMention, matchMentions, mentionQueryAt, ROOM_MENTION, type MentionCandidate, type MentionQuery } from '../lib/mentions';
import { messageError } from '../lib/validate';
import { canSend, sendBlockedReason, type UploadQueue } from '../lib/uploadQueue';
import { pastedImages } from '../lib/files';
import { UploadChips } from './UploadChips';
import { useUploads } from './useUploadQueue';

interface Props {
  roomId: number;
  roomName: string;
  /** Whom `@` suggests. */
  candidates: readonly MentionCandidate[];
  /** Offer `@room` (a group room's owner). */
  offerRoomMention: boolean;
  /** The room's files waiting to be sent (null while it is being set up). */
  uploads: UploadQueue<File> | null;
  /** Why the viewer may not write here now (the box is then off). */
  disabledNote?: ReactNode;
}


const ROOM_OPTION: MentionCandidate = { userId: '', username: ROOM_MENTION };

export function Composer({ roomId, roomName, candidates, offerRoomMention, uploads, disabledNote }: Props) {
  const off = !!disabledNote;
  const store = useChatStore();
  const files = useUploads(uploads);
  const picker = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = `composer-${roomId}`;
  const replying = useChat((s) => s.replyingTo[roomId]);
  const replyingId = replying?.id;
  const replyingOriginal = useChat((s) => (replyingId === undefined ? undefined : s.timelines[roomId]?.messages.find((m) => m.id === replyingId)));

  // ---- the `@` suggestions ----
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [active, setActive] = useState(0);
  /** The `@` whose suggestions Escape closed (they stay closed until another `@`). */
  const [dismissed, setDismissed] = useState<number | null>(null);
  const caretAfter = useRef<number | null>(null);
  const options = useMemo(() => {
    if (!query) return [];
    const people = matchMentions(query.query, candidates);
    const room = offerRoomMention && ROOM_MENTION.startsWith(query.query.toLowerCase()) ? [ROOM_OPTION] : [];
    return [...people, ...room];
  }, [query, candidates, offerRoomMention]);
  const open = options.length > 0 && query !== null && dismissed !== query.start;
  const selected = Math.min(active, options.length - 1);
  const listId = `${id}-mentions`;

  function readQuery(el: HTMLTextAreaElement) {
    const q = el.selectionStart === el.selectionEnd ? mentionQueryAt(el.value, el.selectionStart) : null;
    setQuery((cur) => (cur?.start === q?.start && cur?.query === q?.query ? cur : q));
    if (q?.start !== query?.start) setActive(0);
    if (q === null || q.start !== dismissed) setDismissed(null);
  }

  function pick(c: MentionCandidate) {
    const el = ref.current;
    if (!el || !query) return;
    const next = completeMention(text, query, el.selectionStart, c.username);
    setText(next.text);
    setQuery(null);
    caretAfter.current = next.caret;
    el.focus();
  }

  // Put the caret after a picked name once the new text is in the box.
  useLayoutEffect(() => {
    const at = caretAfter.current;
    if (at === null || !ref.current) return;
    caretAfter.current = null;
    ref.current.setSelectionRange(at, at);
  }, [text]);

  // Reply mode started (or moved to another message): the user writes the answer next.
  useEffect(() => {
    if (replyingId !== undefined) ref.current?.focus();
  }, [replyingId]);

  function send(e?: FormEvent) {
    e?.preventDefault();
    if (off) return;
    const withFiles = files.items.length > 0;
    const err = messageError(text);
    if (err && !(withFiles && !text.trim())) {
      setError(text.trim() ? err : null);
      return;
    }
    if (!canSend(files.items, text)) return; // uploads still going, or failed ones to remove
    const attachments = withFiles ? uploads?.take() : undefined;
    if (withFiles && !attachments) return;
    // Sends as a reply when in reply mode, and leaves it.
    store.send(roomId, text.trim(), undefined, attachments);
    setText('');
    setQuery(null);
    setError(null);
    ref.current?.focus();
  }

  function onPaste(e: ClipboardEvent<HTMLTextAreaElement>) {
    const images = pastedImages(e.clipboardData);
    if (images.length === 0 || !uploads) return;
    e.preventDefault();
    uploads.add(images);
  }

  function cancelReply() {
    store.cancelReply(roomId);
    ref.current?.focus();
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (open && !e.nativeEvent.isComposing) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = options.length;
        setActive((a) => (e.key === 'ArrowDown' ? (a + 1) % n : (a - 1 + n) % n));
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        e.preventDefault();
        pick(options[selected]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(query?.start ?? null);
        return;
      }
    }
    if (e.key === 'Escape' && replying) {
      e.preventDefault();
      cancelReply();
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  }

  const len = [...text].length;
  const sendable = canSend(files.items, text);
  const blocked = sendBlockedReason(files.items);
  const noteId = `${id}-files-note`;
  const offId = `${id}-off`;
  return (
    <form className="composer" onSubmit={send}>
      <UploadChips items={files.items} onRemove={(k) => uploads?.remove(k)} onRetry={(k) => uploads?.retry(k)} />
      {files.notice && (
        <p className="composer-note field-error" role="alert" data-testid="upload-notice">
          {files.notice}
        </p>
      )}
      {replying && (
        <div className="reply-bar" data-testid="reply-bar">
          <span className="reply-bar-text">
            Replying to <strong>{replying.username}</strong>: <span className="reply-bar-excerpt">{quoteText(replying, replyingOriginal)}</span>
          </span>
          <button type="button" className="icon-button" onClick={cancelReply} aria-label="Cancel reply" title="Cancel reply (Esc)">
            ×
          </button>
        </div>
      )}
      <label htmlFor={id} className="sr-only">
        Message {roomName}
      </label>
      {open && (
        <ul id={listId} role="listbox" className="combobox-list mention-options" aria-label="Mention suggestions" data-testid="mention-options">
          {options.map((c, i) => (
            <li
              key={c.userId || c.username}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === selected}
              className={i === selected ? 'active' : undefined}
              data-username={c.username}
              onMouseDown={(e) => {
                e.preventDefault(); // keep the focus (and the caret) in the box
                pick(c);
              }}
            >
              <span className="mention-option-name">@{c.username}</span>
              {c === ROOM_OPTION && <span className="muted small"> everyone in this room</span>}
            </li>
          ))}
        </ul>
      )}
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        tabIndex={-1}
        aria-hidden="true"
        data-testid="file-input"
        onChange={(e) => {
          const chosen = Array.from(e.currentTarget.files ?? []);
          e.currentTarget.value = ''; // the same file may be chosen again
          uploads?.add(chosen);
          ref.current?.focus();
        }}
      />
      <button
        type="button"
        className="button attach-button"
        onClick={() => picker.current?.click()}
        disabled={!uploads || off}
        aria-label="Attach files"
        title="Attach files (or drop them on the conversation, or paste an image)"
        data-testid="attach-button"
      >
        <span aria-hidden="true">📎</span>
      </button>
      <textarea
        id={id}
        ref={ref}
        value={text}
        placeholder={`Message ${roomName}`}
        rows={Math.min(6, text.split('\n').length)}
        onChange={(e) => {
          setText(e.target.value);
          readQuery(e.target);
          if (e.target.value.trim()) store.typing(roomId);
        }}
        onSelect={(e) => readQuery(e.currentTarget)}
        onBlur={() => setQuery(null)}
        onKeyDown={onKey}
        onPaste={onPaste}
        aria-autocomplete="list"
        aria-controls={open ? listId : undefined}
        aria-expanded={open}
        aria-activedescendant={open ? `${listId}-${selected}` : undefined}
        aria-describedby={[off ? offId : '', error ? `${id}-err` : '', blocked ? noteId : ''].filter(Boolean).join(' ') || undefined}
        disabled={off}
        autoFocus
        data-testid="composer"
      />
      <button type="submit" className="button button-primary" disabled={!sendable || off} title={blocked} data-testid="send-button">
        Send
      </button>
      {off && (
        <p id={offId} className="composer-note composer-off" role="status" data-testid="composer-disabled">
          {disabledNote}
        </p>
      )}
      {blocked && (
        <p id={noteId} className="composer-note muted small" data-testid="upload-blocked">
          {blocked}
        </p>
      )}
      {(error || len > 3500) && (
        <p id={`${id}-err`} className={error ? 'composer-note field-error' : 'composer-note muted small'} role={error ? 'alert' : undefined}>
          {error ?? `${len} / 4000`}
        </p>
      )}
    </form>
  );
}

// One message: author, time, text (always as text, never HTML, with `@name` chips), its files
// (pictures inline, cards for the rest; a message of files alone has no empty text line), edit/delete
// for its author (delete also for who moderates the room), report for everyone else, and its
// reactions with a picker to add one. A message that mentions the viewer stands out. A message
// the viewer may not see (its author blocked, or suspended with their messages hidden) shows
// only who wrote it and when.

import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { messageOf } from '../api/errors';
import type { HiddenReason, Message, ReplyRef } from '../api/types';
import { HIDDEN_TEXT } from '../lib/moderation';
import { DELETED_USER_LABEL, displayName, isDeletedUser } from '../lib/deletedUser';
import { formatFull, formatTime, hueOf, initials } from '../lib/format';
import { mentionsUser } from '../lib/mentions';
import { MentionText } from './MentionText';
import { messageError } from '../lib/validate';
import type { PendingMessage } from '../lib/outbox';
import { Reactions, ReactionPicker } from './Reactions';
import { ReplyQuote } from './ReplyQuote';
import { Attachments, PendingAttachments } from './Attachments';

interface Props {
  message: Message;
  own: boolean;
  canDelete: boolean;
  /** The signed-in user's id (whose chips are highlighted). */
  meId: string;
  /** The signed-in user's name (their mention chips stand out). */
  meName: string;
  /** Emoji this session saw the user add to this message (see ChatState.myReactions). */
  myReactions: string[] | undefined;
  /** Why the user's last reaction on this message was refused, for a few seconds. */
  reactionError: string | undefined;
  onEdit(m: Message, content: string): Promise<void>;
  onDelete(m: Message): Promise<void>;
  onReact(m: Message, emoji: string, add: boolean): void;
  /** Puts the composer into reply mode for this message. */
  onReply(m: Message): void;
  /** Takes the reader to the message a reply answers. */
  onJump(r: ReplyRef): void;
  /** Briefly marked after a jump to it. */
  highlighted?: boolean;
  /** The message this one replies to, when it is loaded. */
  replyOriginal?: Message;
  /** Why the viewer does not see it, if they do not (see `hiddenReason`). */
  hidden?: HiddenReason;
  /** Opens the report dialog (offered on others' messages). */
  onReport?(m: Message): void;
  /** The author's menu, in place of the plain name (others' messages). */
  authorMenu?: ReactNode;
  /** The message this one replies to is hidden from the viewer. */
  quoteHidden?: HiddenReason;
}

export function MessageItem({
  message: m,
  own,
  canDelete,
  meId,
  meName,
  myReactions,
  reactionError,
  onEdit,
  onDelete,
  onReact,
  onReply,
  onJump,
  highlighted,
  replyOriginal,
  hidden,
  onReport,
  authorMenu,
  quoteHidden,
}: Props) {
  const [picking, setPicking] = useState(false);
  const pickerOpener = useRef<HTMLButtonElement | null>(null);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.content);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editRef = useRef<HTMLTextAreaElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (editing) {
      const el = editRef.current;
      el?.focus();
      el?.setSelectionRange(el.value.length, el.value.length);
    }
  }, [editing]);

  async function save() {
    const err = messageError(draft);
    if (err) {
      setError(err);
      return;
    }
    if (draft.trim() === m.content.trim()) {
      setEditing(false);
      return;
    }
    setBusy(true);
    try {
      await onEdit(m, draft.trim());
      setEditing(false);
      setError(null);
      editButton.current?.focus();
    } catch (x) {
      setError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    setBusy(true);
    try {
      await onDelete(m);
      setConfirming(false);
    } catch (x) {
      setError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      setEditing(false);
      setDraft(m.content);
      setError(null);
    }
  }

  function openPicker(opener: HTMLButtonElement) {
    pickerOpener.current = opener;
    setPicking((p) => !p);
  }

  function closePicker(refocus: boolean) {
    setPicking(false);
    if (refocus) pickerOpener.current?.focus();
  }

  const deletedAuthor = isDeletedUser(m.username);
  const author = deletedAuthor ? (
    <span className="muted msg-author-deleted" data-testid="deleted-user">
      {DELETED_USER_LABEL}
    </span>
  ) : own ? (
    `${m.username} (you)`
  ) : (
    authorMenu ?? m.username
  );
  // Nothing of a deleted or hidden message but who wrote it and when.
  const gone = m.deleted || !!hidden;
  const mentioned = !gone && mentionsUser(m, meId);
  return (
    <li
      className={`msg${own ? ' msg-own' : ''}${m.deleted ? ' msg-deleted' : ''}${hidden ? ' msg-hidden' : ''}${highlighted ? ' msg-highlight' : ''}${mentioned ? ' msg-mentioned' : ''}`}
      data-seq={m.seq}
      data-hidden={hidden}
      data-highlighted={highlighted ? 'true' : undefined}
      data-mentioned={mentioned ? 'true' : undefined}
      data-own={own ? 'true' : 'false'}
      data-testid="message"
    >
      <span className="avatar" style={{ ['--hue' as string]: hueOf(m.userId) }} aria-hidden="true">
        {deletedAuthor ? '?' : initials(m.username)}
      </span>
      <div className="msg-body">
        <div className="msg-bubble">
          <div className="msg-meta">
            <span className="msg-author">{author}</span>
            {mentioned && <span className="sr-only">, mentions you</span>}
            <time dateTime={m.createdAt} title={formatFull(m.createdAt)} className="msg-time">
              {formatTime(m.createdAt)}
            </time>
            {m.editedAt && !gone && (
              <span className="msg-edited" title={`Edited ${formatFull(m.editedAt)}`}>
                (edited)
              </span>
            )}
          </div>
          {m.replyTo && !gone && <ReplyQuote reply={m.replyTo} original={replyOriginal} onJump={onJump} hidden={quoteHidden} />}
          {hidden ? (
            <p className="msg-text msg-text-hidden" data-testid="message-hidden">
              {HIDDEN_TEXT[hidden]}
            </p>
          ) : m.deleted ? (
            <p className="msg-text msg-text-deleted" data-testid="message-deleted">
              {m.deletedByModerator ? 'This message was deleted by a moderator.' : 'This message was deleted.'}
            </p>
          ) : editing ? (
            <div className="msg-edit">
              <label className="sr-only" htmlFor={`edit-${m.id}`}>
                Edit message
              </label>
              <textarea
                id={`edit-${m.id}`}
                ref={editRef}
                value={draft}
                onChange={(e) => setDraft(e.target.value)}
                onKeyDown={onKey}
                rows={Math.min(8, draft.split('\n').length + 1)}
              />
              <div className="msg-edit-actions">
                <span className="muted small">Enter to save · Esc to cancel</span>
                <button type="button" className="button button-small" onClick={() => { setEditing(false); setDraft(m.content); setError(null); }}>
                  Cancel
                </button>
                <button type="button" className="button button-small button-primary" onClick={save} disabled={busy}>
                  Save
                </button>
              </div>
            </div>
          ) : (
            m.content !== '' && (
              <p className="msg-text" data-testid="message-text">
                <MentionText message={m} myName={meName} />
              </p>
            )
          )}
          {!gone && m.attachments && m.attachments.length > 0 && <Attachments list={m.attachments} />}
          {error && (
            <p className="field-error" role="alert">
              {error}
            </p>
          )}
          {!gone && !editing && (
            <div className="msg-actions">
              {confirming ? (
                <span role="group" aria-label="Confirm deletion">
                  <span className="small">Delete this message?</span>{' '}
                  <button type="button" className="button button-small button-danger" onClick={remove} disabled={busy}>
                    Delete
                  </button>{' '}
                  <button type="button" className="button button-small" onClick={() => setConfirming(false)}>
                    Keep
                  </button>
                </span>
              ) : (
                <>
                  <button
                    type="button"
                    className="link-button small"
                    aria-label={`Add reaction to message from ${formatTime(m.createdAt)}`}
                    aria-expanded={picking}
                    onClick={(e) => openPicker(e.currentTarget)}
                  >
                    React
                  </button>
                  <button
                    type="button"
                    className="link-button small"
                    onClick={() => onReply(m)}
                    aria-label={`Reply to message from ${displayName(m.username)} at ${formatTime(m.createdAt)}`}
                  >
                    Reply
                  </button>
                  {own && (
                    <button
                      type="button"
                      ref={editButton}
                      className="link-button small"
                      onClick={() => {
                        setDraft(m.content);
                        setEditing(true);
                      }}
                      aria-label={`Edit message from ${formatTime(m.createdAt)}`}
                    >
                      Edit
                    </button>
                  )}
                  {!own && onReport && (
                    <button
                      type="button"
                      className="link-button small"
                      onClick={() => onReport(m)}
                      aria-label={`Report message from ${displayName(m.username)} at ${formatTime(m.createdAt)}`}
                    >
                      Report
                    </button>
                  )}
                  {(own || canDelete) && (
                    <button
                      type="button"
                      className="link-button small"
                      onClick={() => setConfirming(true)}
                      aria-label={`Delete message from ${formatTime(m.createdAt)}`}
                    >
                      Delete
                    </button>
                  )}
                </>
              )}
            </div>
          )}
        </div>
        {!gone && (
          <Reactions message={m} meId={meId} mine={myReactions} onReact={onReact} onAdd={openPicker} picking={picking} />
        )}
        {!gone && picking && (
          <ReactionPicker message={m} meId={meId} mine={myReactions} onReact={onReact} onClose={closePicker} />
        )}
        {!gone && reactionError && (
          <p className="field-error reaction-error" role="alert">
            {reactionError}
          </p>
        )}
      </div>
    </li>
  );
}

export function PendingItem({
  item,
  username,
  userId,
  online,
  onRetry,
  onDiscard,
  replyOriginal,
}: {
  item: PendingMessage;
  replyOriginal?: Message;
  username: string;
  userId: string;
  online: boolean;
  onRetry(): void;
  onDiscard(): void;
}) {
  const status =
    item.status === 'failed' ? `Not sent: ${item.error ?? 'refused'}` : online ? 'Sending…' : 'Waiting for connection…';
  return (
    <li className={`msg msg-own msg-pending${item.status === 'failed' ? ' msg-failed' : ''}`} data-testid="pending-message" data-status={item.status}>
      <span className="avatar" style={{ ['--hue' as string]: hueOf(userId) }} aria-hidden="true">
        {initials(username)}
      </span>
      <div className="msg-bubble">
        <div className="msg-meta">
          <span className="msg-author">{username} (you)</span>
          <span className="msg-time">{status}</span>
        </div>
        {item.replyTo && <ReplyQuote reply={item.replyTo} original={replyOriginal} />}
        {item.content !== '' && <p className="msg-text">{item.content}</p>}
        {item.attachments && <PendingAttachments list={item.attachments} />}
        {item.status === 'failed' && (
          <div className="msg-actions visible">
            <button type="button" className="link-button small" onClick={onRetry}>
              Retry
            </button>
            <button type="button" className="link-button small" onClick={onDiscard}>
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  );
}

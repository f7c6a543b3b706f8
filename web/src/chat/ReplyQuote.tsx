// The compact quote above a reply's text: who wrote the original and the start of it. A
// button when it can take the reader to the original.

import type { HiddenReason, Message, ReplyRef } from '../api/types';
import { attachmentsSummary } from '../lib/files';
import { HIDDEN_TEXT } from '../lib/moderation';
import { displayName } from '../lib/deletedUser';

/**
 * What the quote says: the excerpt; for an empty one, the original's files when it is loaded
 * and is a message of files alone (the excerpt of its text is empty too), else that it was deleted.
 */
export function quoteText(r: ReplyRef, original?: Pick<Message, 'id' | 'deleted' | 'attachments'>): string {
  if (r.excerpt !== '') return r.excerpt;
  const files = original && original.id === r.id && !original.deleted ? original.attachments ?? [] : [];
  return files.length ? `📎 ${attachmentsSummary(files)}` : 'Original message deleted';
}

export function ReplyQuote({
  reply,
  original,
  onJump,
  hidden,
}: {
  reply: ReplyRef;
  /** The original is hidden from the viewer (its author blocked): the server sent no excerpt. */
  hidden?: HiddenReason;
  /** The original when it is loaded (a message of files alone has an empty excerpt too). */
  original?: Message;
  onJump?: (r: ReplyRef) => void;
}) {
  const text = hidden ? HIDDEN_TEXT[hidden] : quoteText(reply, original);
  const deleted = !hidden && reply.excerpt === '' && text === 'Original message deleted';
  const body = (
    <>
      <span className="reply-quote-author">{displayName(reply.username)}</span>
      <span className={`reply-quote-text${deleted ? ' reply-quote-deleted' : ''}`} data-testid="reply-quote-text">
        {text}
      </span>
    </>
  );
  if (!onJump) {
    return (
      <div className="reply-quote" data-testid="reply-quote">
        {body}
      </div>
    );
  }
  return (
    <button
      type="button"
      className="reply-quote"
      data-testid="reply-quote"
      data-reply-seq={reply.seq}
      onClick={() => onJump(reply)}
      aria-label={`Show the message from ${displayName(reply.username)} this replies to${deleted ? ' (deleted)' : `: ${text}`}`}
    >
      {body}
    </button>
  );
}

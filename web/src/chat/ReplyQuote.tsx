// The compact quote above a reply's text: who wrote the original and the start of it. A
// button when it can take the reader to the original.

import type { ReplyRef } from '../api/types';

export function quoteText(r: ReplyRef): string {
  return r.excerpt === '' ? 'Original message deleted' : r.excerpt;
}

export function ReplyQuote({ reply, onJump }: { reply: ReplyRef; onJump?: (r: ReplyRef) => void }) {
  const deleted = reply.excerpt === '';
  const body = (
    <>
      <span className="reply-quote-author">{reply.username}</span>
      <span className={`reply-quote-text${deleted ? ' reply-quote-deleted' : ''}`} data-testid="reply-quote-text">
        {quoteText(reply)}
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
      aria-label={`Show the message from ${reply.username} this replies to${deleted ? ' (deleted)' : `: ${reply.excerpt}`}`}
    >
      {body}
    </button>
  );
}

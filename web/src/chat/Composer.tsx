// The input at the bottom of a room: Enter sends, Shift+Enter starts a new line. Sends made
// while offline are queued by the store and shown as pending.

import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useChat, useChatStore } from '../state/ChatProvider';
import { quoteText } from './ReplyQuote';
import { messageError } from '../lib/validate';

export function Composer({ roomId, roomName }: { roomId: number; roomName: string }) {
  const store = useChatStore();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = `composer-${roomId}`;
  const replying = useChat((s) => s.replyingTo[roomId]);
  const replyingId = replying?.id;

  // Reply mode started (or moved to another message): the user writes the answer next.
  useEffect(() => {
    if (replyingId !== undefined) ref.current?.focus();
  }, [replyingId]);

  function send(e?: FormEvent) {
    e?.preventDefault();
    const err = messageError(text);
    if (err) {
      setError(text.trim() ? err : null);
      return;
    }
    // Sends as a reply when in reply mode, and leaves it.
    store.send(roomId, text.trim());
    setText('');
    setError(null);
    ref.current?.focus();
  }

  function cancelReply() {
    store.cancelReply(roomId);
    ref.current?.focus();
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
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
  return (
    <form className="composer" onSubmit={send}>
      {replying && (
        <div className="reply-bar" data-testid="reply-bar">
          <span className="reply-bar-text">
            Replying to <strong>{replying.username}</strong>: <span className="reply-bar-excerpt">{quoteText(replying)}</span>
          </span>
          <button type="button" className="icon-button" onClick={cancelReply} aria-label="Cancel reply" title="Cancel reply (Esc)">
            ×
          </button>
        </div>
      )}
      <label htmlFor={id} className="sr-only">
        Message {roomName}
      </label>
      <textarea
        id={id}
        ref={ref}
        value={text}
        placeholder={`Message ${roomName}`}
        rows={Math.min(6, text.split('\n').length)}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim()) store.typing(roomId);
        }}
        onKeyDown={onKey}
        aria-describedby={error ? `${id}-err` : undefined}
        autoFocus
        data-testid="composer"
      />
      <button type="submit" className="button button-primary" disabled={!text.trim()}>
        Send
      </button>
      {(error || len > 3500) && (
        <p id={`${id}-err`} className={error ? 'composer-note field-error' : 'composer-note muted small'} role={error ? 'alert' : undefined}>
          {error ?? `${len} / 4000`}
        </p>
      )}
    </form>
  );
}

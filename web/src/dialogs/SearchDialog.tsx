// Message search (GET /search): live results as the user types (debounced; a stale request
// is aborted), filters that map to the query parameters, each hit with its room, author,
// time and text with the matched words in <mark> (React text nodes only), "Show more" with
// the cursor. Picking a hit opens its room at that message (lib/search.ts `messagePath`).

import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { messageOf } from '../api/errors';
import type { SearchHit, SearchQuery } from '../api/types';
import { Dialog } from '../components/Dialog';
import { FormError } from '../components/Field';
import { formatFull, formatTime } from '../lib/format';
import { roomLabel } from '../lib/rooms';
import { buildSearchQuery, fragmentOf, hitRoomLabel, splitHighlights, type SearchForm } from '../lib/search';
import { useChat } from '../state/ChatProvider';

/** How long typing must pause before a search is sent. */
const DEBOUNCE_MS = 250;

interface Props {
  form: SearchForm;
  onForm: (f: SearchForm) => void;
  onClose: () => void;
  onPick: (hit: SearchHit) => void;
}

export function SearchDialog({ form, onForm, onClose, onPick }: Props) {
  const { api, user } = useAuth();
  const rooms = useChat((s) => s.rooms);
  const id = useId();
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const asked = useRef<SearchQuery | null>(null);
  const ctl = useRef<AbortController | null>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const meId = user?.id ?? '';

  const set = <K extends keyof SearchForm>(k: K, v: SearchForm[K]) => onForm({ ...form, [k]: v });

  const run = (q: SearchQuery, more: boolean) => {
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    setLoading(true);
    setError(null);
    api
      .search(q, c.signal)
      .then((page) => {
        if (c.signal.aborted) return;
        setHits((cur) => (more && cur ? [...cur, ...page.hits.filter((h) => !cur.some((x) => x.message.id === h.message.id))] : page.hits));
        setNext(page.nextCursor);
      })
      .catch((x) => {
        if (c.signal.aborted || (x as Error)?.name === 'AbortError') return;
        setError(messageOf(x));
        if (!more) setHits(null);
      })
      .finally(() => {
        if (ctl.current === c) setLoading(false);
      });
  };

  // Live results: a pause in typing sends the search; any change aborts the one in flight.
  useEffect(() => {
    const q = buildSearchQuery(form);
    ctl.current?.abort();
    asked.current = q;
    if (!q) {
      setHits(null);
      setNext(null);
      setLoading(false);
      setError(null);
      return;
    }
    const t = setTimeout(() => run(q, false), DEBOUNCE_MS);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [form, api]);

  useEffect(() => () => ctl.current?.abort(), []);

  const more = () => {
    const q = buildSearchQuery(form, next);
    if (q && next) run(q, true);
  };

  /** Arrow keys move between the search box and the hits. */
  const onKeys = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const items = Array.from(listRef.current?.querySelectorAll<HTMLElement>('[data-testid="search-hit"]') ?? []);
    if (items.length === 0) return;
    const at = items.indexOf(document.activeElement as HTMLElement);
    const to = e.key === 'ArrowDown' ? Math.min(items.length - 1, at + 1) : at - 1;
    e.preventDefault();
    if (to < 0) document.getElementById(`${id}-q`)?.focus();
    else items[to].focus();
  };

  const status = !asked.current
    ? 'Type words to search for, or pick a filter.'
    : loading && !hits
      ? 'Searching…'
      : hits?.length === 0
        ? 'No messages found.'
        : hits
          ? `${hits.length}${next ? '+' : ''} message${hits.length === 1 && !next ? '' : 's'} found`
          : '';

  return (
    <Dialog title="Search messages" onClose={onClose} wide initialFocus={`#${CSS.escape(`${id}-q`)}`}>
      <div className="search" onKeyDown={onKeys}>
        <div className="field">
          <label htmlFor={`${id}-q`}>Search for</label>
          <input
            id={`${id}-q`}
            type="search"
            role="searchbox"
            autoComplete="off"
            spellCheck={false}
            maxLength={500}
            value={form.text}
            onChange={(e) => set('text', e.target.value)}
            aria-describedby={`${id}-hint`}
            aria-controls={`${id}-results`}
            data-testid="search-input"
          />
          <p id={`${id}-hint`} className="field-hint">
            Words, "exact phrases", -excluded; the last word may be the start of one. Also from:name, in:room, has:file,
            before:YYYY-MM-DD, after:YYYY-MM-DD.
          </p>
        </div>
        <fieldset className="search-filters">
          <legend>Filters</legend>
          <label>
            Room
            <select value={form.roomId} onChange={(e) => set('roomId', e.target.value)} data-testid="search-room">
              <option value="">All rooms</option>
              {rooms.map((r) => (
                <option key={r.id} value={String(r.id)}>
                  {roomLabel(r, meId)}
                </option>
              ))}
            </select>
          </label>
          <label>
            From
            <input
              type="text"
              value={form.from}
              placeholder="username"
              autoComplete="off"
              onChange={(e) => set('from', e.target.value)}
              data-testid="search-from"
            />
          </label>
          <label>
            After
            <input type="date" value={form.after} onChange={(e) => set('after', e.target.value)} data-testid="search-after" />
          </label>
          <label>
            Before
            <input type="date" value={form.before} onChange={(e) => set('before', e.target.value)} data-testid="search-before" />
          </label>
          <label>
            Sort
            <select value={form.sort} onChange={(e) => set('sort', e.target.value === 'relevance' ? 'relevance' : 'recent')} data-testid="search-sort">
              <option value="recent">Newest first</option>
              <option value="relevance">Best match</option>
            </select>
          </label>
          <label className="search-check">
            <input type="checkbox" checked={form.hasFile} onChange={(e) => set('hasFile', e.target.checked)} data-testid="search-has-file" />
            Has a file
          </label>
        </fieldset>
        <p className="muted small" role="status" aria-live="polite" data-testid="search-status">
          {status}
        </p>
        <FormError message={error} />
        {hits && hits.length > 0 && (
          <ul id={`${id}-results`} ref={listRef} className="mention-list search-results" aria-label="Search results">
            {hits.map((h) => (
              <li key={h.message.id}>
                <HitButton hit={h} meId={meId} onPick={onPick} />
              </li>
            ))}
          </ul>
        )}
        {next && hits && (
          <button type="button" className="button button-small" disabled={loading} onClick={more} data-testid="search-more">
            {loading ? 'Loading…' : 'Show more'}
          </button>
        )}
      </div>
    </Dialog>
  );
}

function HitButton({ hit, meId, onPick }: { hit: SearchHit; meId: string; onPick: (h: SearchHit) => void }) {
  const m = hit.message;
  const where = hitRoomLabel(hit.room, meId);
  const frag = fragmentOf(m.content, hit.highlights);
  const files = m.attachments?.length ?? 0;
  return (
    <button
      type="button"
      className="mention-item search-hit"
      data-testid="search-hit"
      data-room-id={hit.room.id}
      data-seq={m.seq}
      onClick={() => onPick(hit)}
      aria-label={`${m.username} in ${where} at ${formatFull(m.createdAt)}: ${frag.text}${files ? ` (${files} file${files === 1 ? '' : 's'})` : ''}. Show in the room.`}
    >
      <span className="mention-item-meta">
        <strong>{m.username}</strong> in <span className="mention-item-room">{where}</span>
        <time dateTime={m.createdAt} title={formatFull(m.createdAt)} className="muted">
          {formatTime(m.createdAt)}
        </time>
      </span>
      <span className="mention-item-text">
        {splitHighlights(frag.text, frag.ranges).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
        {files > 0 && (
          <span className="muted small">
            {' '}
            📎 {files} file{files === 1 ? '' : 's'}
          </span>
        )}
      </span>
    </button>
  );
}

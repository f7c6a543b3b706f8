// Message search: the search form's state → `GET /search` query parameters, and a hit's
// highlight ranges → text pieces to render (React text nodes, some in <mark>). Pure
// functions, unit-tested. The server's contract: docs/openapi/chat-service.json, `/search`.

import type { HighlightRange, SearchQuery, SearchRoom, SearchSort } from '../api/types';
import { roomLabel } from './rooms';

/** What the search form holds (empty strings mean "not set"). */
export interface SearchForm {
  text: string;
  /** A room id as the room picker's value, `''` for every room. */
  roomId: string;
  from: string;
  hasFile: boolean;
  /** `YYYY-MM-DD` from a date input. */
  after: string;
  before: string;
  sort: SearchSort;
}

export const EMPTY_SEARCH: SearchForm = { text: '', roomId: '', from: '', hasFile: false, after: '', before: '', sort: 'recent' };

/** The server's bound on `q`. */
export const MAX_QUERY_CHARS = 500;
/** Hits asked for per page (the server allows 1 to 50). */
export const SEARCH_PAGE = 20;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The query for the form, or null when there is nothing to search for. The text goes as `q`
 * (it may carry its own filters: `from:alice`, `in:team`, `has:file`, `before:`, `after:`);
 * the controls go as parameters, which the server ANDs with them. With no text but some
 * filter set, `q` is a filter of its own (the server lists the matching messages newest
 * first), so a person can browse "everything alice sent in #team".
 */
export function buildSearchQuery(f: SearchForm, cursor?: string | null): SearchQuery | null {
  const from = f.from.trim().replace(/^@/, '');
  const roomId = /^\d+$/.test(f.roomId) ? Number(f.roomId) : undefined;
  const after = DAY.test(f.after) ? f.after : undefined;
  const before = DAY.test(f.before) ? f.before : undefined;
  let q = f.text.trim();
  if (!q) {
    // A filter-only search: say the filter in `q` too (`q` is required and not blank).
    if (from) q = `from:${from}`;
    else if (f.hasFile) q = 'has:file';
    else if (after) q = `after:${after}`;
    else if (before) q = `before:${before}`;
    else return null;
  }
  if (q.length > MAX_QUERY_CHARS) q = cutAt(q, MAX_QUERY_CHARS);
  const out: SearchQuery = { q, limit: SEARCH_PAGE };
  if (roomId !== undefined) out.roomId = roomId;
  if (from) out.from = from;
  if (f.hasFile) out.has = 'file';
  if (after) out.after = after;
  if (before) out.before = before;
  if (f.sort !== 'recent') out.sort = f.sort;
  if (cursor) out.cursor = cursor;
  return out;
}

/** The query string of `GET /search`, parameters in a fixed order (set ones only). */
export function searchParams(q: SearchQuery): URLSearchParams {
  const p = new URLSearchParams({ q: q.q });
  if (q.roomId !== undefined) p.set('roomId', String(q.roomId));
  if (q.from) p.set('from', q.from);
  if (q.has) p.set('has', q.has);
  if (q.after) p.set('after', q.after);
  if (q.before) p.set('before', q.before);
  if (q.sort) p.set('sort', q.sort);
  if (q.limit !== undefined) p.set('limit', String(q.limit));
  if (q.cursor) p.set('cursor', q.cursor);
  return p;
}

/** Whether two queries ask the same thing (so a stale answer can be told from a current one). */
export function sameQuery(a: SearchQuery | null, b: SearchQuery | null): boolean {
  if (!a || !b) return a === b;
  return searchParams(a).toString() === searchParams(b).toString();
}

export interface TextPiece {
  text: string;
  mark: boolean;
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * Clean ranges for `text`: clamped to it, widened so none splits a surrogate pair (an emoji),
 * empty ones dropped, sorted, overlapping and touching ones joined. The server sends them
 * sorted and apart already; this keeps a wrong one from breaking the text.
 */
export function normaliseRanges(text: string, ranges: readonly HighlightRange[]): HighlightRange[] {
  const n = text.length;
  const clean: HighlightRange[] = [];
  for (const r of ranges) {
    if (!Number.isFinite(r.start) || !Number.isFinite(r.end)) continue;
    let start = Math.max(0, Math.min(n, Math.floor(r.start)));
    let end = Math.max(0, Math.min(n, Math.floor(r.end)));
    if (start > 0 && start < n && isLow(text.charCodeAt(start)) && isHigh(text.charCodeAt(start - 1))) start -= 1;
    if (end > 0 && end < n && isLow(text.charCodeAt(end)) && isHigh(text.charCodeAt(end - 1))) end += 1;
    if (end > start) clean.push({ start, end });
  }
  clean.sort((a, b) => a.start - b.start || a.end - b.end);
  const out: HighlightRange[] = [];
  for (const r of clean) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** Splits `text` into plain and marked pieces by the ranges (UTF-16 indices). */
export function splitHighlights(text: string, ranges: readonly HighlightRange[]): TextPiece[] {
  const out: TextPiece[] = [];
  let at = 0;
  for (const r of normaliseRanges(text, ranges)) {
    if (r.start > at) out.push({ text: text.slice(at, r.start), mark: false });
    out.push({ text: text.slice(r.start, r.end), mark: true });
    at = r.end;
  }
  if (at < text.length || out.length === 0) out.push({ text: text.slice(at), mark: false });
  return out;
}

/**
 * A long message cut to about `max` characters around its first highlight, with `…` where
 * text was left out, and the ranges moved along. Short ones come back as they are.
 */
export function fragmentOf(text: string, ranges: readonly HighlightRange[], max = 280): { text: string; ranges: HighlightRange[] } {
  const clean = normaliseRanges(text, ranges);
  if (text.length <= max) return { text, ranges: clean };
  const first = clean[0]?.start ?? 0;
  let start = Math.max(0, first - Math.floor(max / 4));
  // Start at a word boundary when one is near, and never inside a surrogate pair.
  if (start > 0) {
    const space = text.lastIndexOf(' ', start);
    if (space >= 0 && start - space < 20) start = space + 1;
    if (isLow(text.charCodeAt(start))) start -= 1;
  }
  let end = Math.min(text.length, start + max);
  if (end < text.length && isLow(text.charCodeAt(end))) end += 1;
  const prefix = start > 0 ? '…' : '';
  const suffix = end < text.length ? '…' : '';
  const shift = prefix.length - start;
  const moved = clean
    .filter((r) => r.end > start && r.start < end)
    .map((r) => ({ start: Math.max(r.start, start) + shift, end: Math.min(r.end, end) + shift }));
  return { text: prefix + text.slice(start, end) + suffix, ranges: moved };
}

/** Where a hit was said: `general`, `#team`, `@bob` (the other person of a direct room). */
export function hitRoomLabel(r: SearchRoom, meId: string): string {
  return roomLabel({ ...r, isGeneral: r.kind === 'general' }, meId);
}

/** The app path that opens a room at one message (the chat page loads history around it). */
export function messagePath(roomId: number, seq: number): string {
  return `/chat/${roomId}?seq=${seq}`;
}

/** The `seq` asked for by a chat page URL (`?seq=17`), if any. */
export function seqParam(search: string): number | undefined {
  const v = new URLSearchParams(search).get('seq');
  return v && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : undefined;
}

function cutAt(s: string, n: number): string {
  const cut = s.slice(0, n);
  return isHigh(cut.charCodeAt(cut.length - 1)) ? cut.slice(0, -1) : cut;
}

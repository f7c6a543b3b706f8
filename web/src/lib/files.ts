// Files in messages: the limits the composer checks before uploading (the server stays the
// authority), human sizes, what kind of file a card shows, how big a thumbnail is drawn
// before it loads (so the list does not jump), and the words for an upload the server refused.

import { ApiError } from '../api/errors';
import type { Attachment } from '../api/types';

/** The server's default `UPLOAD_MAX_BYTES` (25 MiB); env.js may say otherwise (`uploadMaxBytes`). */
export const DEFAULT_UPLOAD_MAX_BYTES = 25 * 1024 * 1024;
/** Files one message may carry (the server's rule for `attachmentIds`). */
export const MAX_ATTACHMENTS = 10;

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/**
 * "0 B", "999 B", "1.5 KB", "25 MB": powers of 1024 (as the server counts its limit), one
 * decimal below 10 of a unit, whole numbers above; a trailing ".0" is dropped.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  // Round first, so 1023.99 KB reads "1 MB" rather than "1024 KB".
  let shown = v < 10 ? Math.round(v * 10) / 10 : Math.round(v);
  if (shown >= 1024 && u < UNITS.length - 1) {
    shown = 1;
    u++;
  }
  return `${String(shown)} ${UNITS[u]}`;
}

/** "This file is larger than 25 MB." */
export function tooLargeText(maxBytes: number): string {
  return `This file is larger than ${formatBytes(maxBytes)}.`;
}

/** Why a file is refused before it is sent, if it is. */
export function fileError(file: { size: number }, maxBytes: number): string | undefined {
  if (file.size > maxBytes) return tooLargeText(maxBytes);
  if (file.size === 0) return 'This file is empty.';
  return undefined;
}

/**
 * Splits newly chosen files into those that still fit in a message that already has `have`
 * files, and how many were left out.
 */
export function admit<T>(have: number, files: readonly T[], max = MAX_ATTACHMENTS): { taken: T[]; leftOut: number } {
  const room = Math.max(0, max - have);
  return { taken: files.slice(0, room), leftOut: Math.max(0, files.length - room) };
}

/** "At most 10 files per message: 2 were left out." */
export function leftOutText(leftOut: number, max = MAX_ATTACHMENTS): string {
  return `At most ${max} files per message: ${leftOut === 1 ? '1 was' : `${leftOut} were`} left out.`;
}

/** What the user reads when the server (or the network) refused an upload. */
export function uploadErrorText(e: unknown, maxBytes: number): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'upload_too_large':
        return tooLargeText(maxBytes);
      case 'upload_quota_exceeded':
        return 'You have used all the space you have for files. Delete some messages with files, then try again.';
      case 'rate_limited':
        return `Too many uploads in a short time. Try again in ${e.retryAfter ?? 'a few'} s.`;
    }
    if (e.status === 413) return tooLargeText(maxBytes);
    if (e.status === 415) return 'This kind of file cannot be sent.';
    return e.userMessage;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Whether an upload that failed this way may succeed if tried again as it is. */
export function retryable(e: unknown): boolean {
  if (!(e instanceof ApiError)) return true;
  return e.status === 0 || e.status === 429 || e.status >= 500;
}

/** The image types the server measures and thumbnails, and that every browser shows. */
const INLINE_IMAGES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** Shown inline as a picture (everything else is a card). */
export function isInlineImage(a: Pick<Attachment, 'contentType'>): boolean {
  return INLINE_IMAGES.has(a.contentType.toLowerCase().split(';')[0].trim());
}

export type FileKind =
  | 'image'
  | 'pdf'
  | 'archive'
  | 'audio'
  | 'video'
  | 'spreadsheet'
  | 'presentation'
  | 'document'
  | 'text'
  | 'code'
  | 'other';

const BY_EXTENSION: Record<string, FileKind> = {
  pdf: 'pdf',
  zip: 'archive', gz: 'archive', tgz: 'archive', bz2: 'archive', xz: 'archive', '7z': 'archive', rar: 'archive', tar: 'archive', zst: 'archive',
  csv: 'spreadsheet', tsv: 'spreadsheet', xls: 'spreadsheet', xlsx: 'spreadsheet', ods: 'spreadsheet',
  ppt: 'presentation', pptx: 'presentation', odp: 'presentation', key: 'presentation',
  doc: 'document', docx: 'document', odt: 'document', rtf: 'document', pages: 'document',
  txt: 'text', md: 'text', log: 'text',
  js: 'code', ts: 'code', tsx: 'code', jsx: 'code', rs: 'code', py: 'code', go: 'code', java: 'code', c: 'code', h: 'code',
  cpp: 'code', sh: 'code', json: 'code', yaml: 'code', yml: 'code', toml: 'code', xml: 'code', html: 'code', css: 'code', sql: 'code',
};

/** The file's extension, lower case, without the dot ("" when none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
}

/** What kind of file a card shows an icon for: from the sniffed type, else the name. */
export function fileKind(contentType: string, name: string): FileKind {
  const t = contentType.toLowerCase().split(';')[0].trim();
  if (t === 'application/pdf') return 'pdf';
  if (t.startsWith('image/')) return 'image';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  const byName = BY_EXTENSION[extensionOf(name)];
  if (byName) return byName;
  if (/zip|compressed|x-tar|gzip|x-7z|x-rar/.test(t)) return 'archive';
  if (t.startsWith('text/')) return 'text';
  return 'other';
}

/** The short label on a card's icon: the extension (up to 4 characters), else the kind. */
export function iconLabel(contentType: string, name: string): string {
  const ext = extensionOf(name);
  if (ext && ext.length <= 4) return ext.toUpperCase();
  return KIND_LABEL[fileKind(contentType, name)];
}

const KIND_LABEL: Record<FileKind, string> = {
  image: 'IMG',
  pdf: 'PDF',
  archive: 'ZIP',
  audio: 'AUD',
  video: 'VID',
  spreadsheet: 'XLS',
  presentation: 'PPT',
  document: 'DOC',
  text: 'TXT',
  code: 'CODE',
  other: 'FILE',
};

/**
 * The size a picture is drawn at: its own, scaled down (never up) to fit `maxW` × `maxH`,
 * keeping the aspect ratio. Undefined when its size is not known.
 */
export function fitBox(
  width: number | undefined,
  height: number | undefined,
  maxW: number,
  maxH: number,
): { width: number; height: number } | undefined {
  if (!width || !height || width <= 0 || height <= 0) return undefined;
  const scale = Math.min(1, maxW / width, maxH / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** An attachment's `url`/`thumbnailUrl` (relative to the API base) as the browser loads it. */
export function fileHref(apiBase: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) return path; // already absolute (e.g. a presigned URL)
  return apiBase.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/** What a message's text says when it has none of its own (screen readers, replies, previews). */
export function attachmentsSummary(list: readonly Pick<Attachment, 'name' | 'contentType'>[]): string {
  if (list.length === 0) return '';
  if (list.length === 1) return list[0].name;
  const images = list.filter(isInlineImage).length;
  if (images === list.length) return `${list.length} images`;
  return `${list.length} files`;
}

/**
 * The images a paste brings, when the clipboard holds no text: a spreadsheet's cells come
 * with a picture of themselves, and those should paste as text.
 */
export function pastedImages<F extends { type: string }>(data: { files: ArrayLike<F>; getData(format: string): string }): F[] {
  if (data.getData('text/plain')) return [];
  return Array.from(data.files).filter((f) => f.type.startsWith('image/'));
}

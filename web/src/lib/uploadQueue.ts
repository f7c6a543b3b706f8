// The files waiting in one room's composer. Each starts uploading as soon as it is chosen,
// shows its progress, and can be cancelled (an upload in flight is aborted and never
// attached) or removed; the message can be sent once every file has been uploaded and
// none failed. Framework-free (React reads it through useSyncExternalStore); the upload
// itself is injected, so tests drive it by hand.

import type { Upload } from '../api/types';
import { admit, fileError, leftOutText, MAX_ATTACHMENTS, retryable, uploadErrorText } from './files';

/** What the queue needs of a chosen file (a browser File is one). */
export interface FileLike {
  name: string;
  size: number;
  type: string;
}

export interface UploadHandle {
  promise: Promise<Upload>;
  abort(): void;
}

/** Starts sending one file; `onProgress` gets the bytes sent so far. */
export type StartUpload<F extends FileLike = FileLike> = (file: F, onProgress: (loaded: number, total: number) => void) => UploadHandle;

export type UploadStatus = 'uploading' | 'done' | 'failed';

export interface UploadItem {
  /** Local key (the server's id is only known once done). */
  key: string;
  name: string;
  size: number;
  type: string;
  status: UploadStatus;
  /** Bytes sent so far. */
  loaded: number;
  /** What went wrong, in words. */
  error?: string;
  /** Whether "Retry" may help (a network error, a 5xx, a 429), as opposed to a refusal. */
  canRetry?: boolean;
  /** The server's answer once done. */
  upload?: Upload;
  /** A local picture of an image file for its chip (an object URL), while the chip is there. */
  preview?: string;
}

export interface UploadQueueState {
  items: UploadItem[];
  /** A note about files that were not taken (too many), until the next change by the user. */
  notice: string | null;
}

export interface UploadQueueOptions<F extends FileLike = FileLike> {
  maxBytes: number;
  maxFiles?: number;
  /** Makes a chip's preview of a chosen file (e.g. an object URL of an image), if any. */
  preview?: (file: F) => string | undefined;
  /** Frees a preview once its chip is gone. */
  releasePreview?: (url: string) => void;
}

/** 0–1: how far an item's upload is (1 once done). */
export function progressOf(item: UploadItem): number {
  if (item.status === 'done') return 1;
  if (item.size <= 0) return 0;
  return Math.min(1, item.loaded / item.size);
}

/**
 * Whether a message made of `text` and these files can be sent: every file uploaded (none in
 * flight, none failed) and something to send (text, or at least one file).
 */
export function canSend(items: readonly UploadItem[], text: string): boolean {
  if (items.some((i) => i.status !== 'done')) return false;
  return text.trim().length > 0 || items.length > 0;
}

/** Why the send button is off, for its tooltip and screen readers (undefined when it is on). */
export function sendBlockedReason(items: readonly UploadItem[]): string | undefined {
  if (items.some((i) => i.status === 'uploading')) return 'Wait for the uploads to finish.';
  if (items.some((i) => i.status === 'failed')) return 'Remove the files that could not be uploaded.';
  return undefined;
}

export class UploadQueue<F extends FileLike = FileLike> {
  private state: UploadQueueState = { items: [], notice: null };
  private listeners = new Set<() => void>();
  private handles = new Map<string, UploadHandle>();
  private files = new Map<string, F>();
  private seq = 0;
  private disposed = false;
  private readonly maxFiles: number;

  constructor(
    private readonly start: StartUpload<F>,
    private readonly opts: UploadQueueOptions<F>,
  ) {
    this.maxFiles = opts.maxFiles ?? MAX_ATTACHMENTS;
  }

  getState = (): UploadQueueState => this.state;

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  get items(): UploadItem[] {
    return this.state.items;
  }

  /**
   * Takes newly chosen files (up to the per-message limit; a notice says how many were left
   * out) and starts uploading each one that passes the size check; one that does not is
   * shown failed with the reason, without being sent.
   */
  add(files: readonly F[]): void {
    if (this.disposed || files.length === 0) return;
    const { taken, leftOut } = admit(this.state.items.length, files, this.maxFiles);
    const added: UploadItem[] = [];
    for (const f of taken) {
      const key = `u${++this.seq}`;
      const error = fileError(f, this.opts.maxBytes);
      const preview = error ? undefined : this.opts.preview?.(f);
      added.push({
        key,
        name: f.name || 'file',
        size: f.size,
        type: f.type,
        status: error ? 'failed' : 'uploading',
        loaded: 0,
        error,
        ...(preview ? { preview } : {}),
      });
      if (!error) this.files.set(key, f);
    }
    this.set({ items: [...this.state.items, ...added], notice: leftOut > 0 ? leftOutText(leftOut, this.maxFiles) : null });
    for (const item of added) if (item.status === 'uploading') this.begin(item.key);
  }

  /** Cancels a file's upload if it is in flight, and takes it off the message. */
  remove(key: string): void {
    const h = this.handles.get(key);
    this.handles.delete(key);
    this.files.delete(key);
    h?.abort();
    const item = this.state.items.find((i) => i.key === key);
    if (!item) return;
    this.release([item]);
    this.set({ items: this.state.items.filter((i) => i.key !== key), notice: null });
  }

  /** Sends a failed file again (when the failure may pass). */
  retry(key: string): void {
    const item = this.state.items.find((i) => i.key === key);
    if (!item || item.status !== 'failed' || !this.files.has(key)) return;
    this.update(key, (i) => ({ ...i, status: 'uploading', loaded: 0, error: undefined, canRetry: undefined }));
    this.begin(key);
  }

  /**
   * The uploads to attach, in the order chosen, when the message can go (every file done);
   * the composer is then cleared. Undefined (and nothing cleared) while any is not done.
   */
  take(): Upload[] | undefined {
    const items = this.state.items;
    if (items.some((i) => i.status !== 'done' || !i.upload)) return undefined;
    const uploads = items.map((i) => i.upload as Upload);
    this.release(items);
    this.files.clear();
    this.set({ items: [], notice: null });
    return uploads;
  }

  dismissNotice(): void {
    if (this.state.notice !== null) this.set({ notice: null });
  }

  /** Aborts everything in flight (the composer went away). */
  dispose(): void {
    this.disposed = true;
    this.release(this.state.items);
    for (const h of this.handles.values()) h.abort();
    this.handles.clear();
    this.files.clear();
    this.listeners.clear();
  }

  private begin(key: string): void {
    const file = this.files.get(key);
    if (!file) return;
    let handle: UploadHandle;
    try {
      handle = this.start(file, (loaded) => {
        if (this.handles.get(key) !== handle) return;
        this.update(key, (i) => (i.status === 'uploading' && loaded > i.loaded ? { ...i, loaded: Math.min(loaded, i.size) } : i));
      });
    } catch (e) {
      this.fail(key, e);
      return;
    }
    this.handles.set(key, handle);
    handle.promise.then(
      (upload) => {
        if (this.handles.get(key) !== handle) return; // cancelled meanwhile
        this.handles.delete(key);
        this.files.delete(key);
        this.update(key, (i) => ({ ...i, status: 'done', loaded: i.size, upload }));
      },
      (e: unknown) => {
        if (this.handles.get(key) !== handle) return; // cancelled: the item is gone already
        this.handles.delete(key);
        this.fail(key, e);
      },
    );
  }

  private release(items: readonly UploadItem[]): void {
    for (const i of items) if (i.preview) this.opts.releasePreview?.(i.preview);
  }

  private fail(key: string, e: unknown): void {
    const canRetry = retryable(e);
    if (!canRetry) this.files.delete(key);
    this.update(key, (i) => ({ ...i, status: 'failed', error: uploadErrorText(e, this.opts.maxBytes), canRetry }));
  }

  private update(key: string, f: (i: UploadItem) => UploadItem): void {
    let changed = false;
    const items = this.state.items.map((i) => {
      if (i.key !== key) return i;
      const n = f(i);
      if (n !== i) changed = true;
      return n;
    });
    if (changed) this.set({ items });
  }

  private set(patch: Partial<UploadQueueState>): void {
    if (this.disposed) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
}

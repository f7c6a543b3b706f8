import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import type { Upload } from '../api/types';
import { canSend, progressOf, sendBlockedReason, UploadQueue, type FileLike, type UploadItem } from './uploadQueue';

const MiB = 1024 * 1024;

/** A hand-driven upload: the test decides when bytes go and how it ends. */
interface Started {
  file: FileLike;
  progress(loaded: number): void;
  resolve(u: Upload): void;
  reject(e: unknown): void;
  aborted: boolean;
}

function harness(maxBytes = 25 * MiB, maxFiles?: number) {
  const started: Started[] = [];
  const q = new UploadQueue<FileLike>(
    (file, onProgress) => {
      let resolve!: (u: Upload) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Upload>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const s: Started = { file, progress: (n) => onProgress(n, file.size), resolve, reject, aborted: false };
      started.push(s);
      return {
        promise,
        abort() {
          s.aborted = true;
          const e = new Error('cancelled');
          e.name = 'AbortError';
          reject(e);
        },
      };
    },
    { maxBytes, maxFiles },
  );
  let changes = 0;
  q.subscribe(() => changes++);
  return { q, started, changes: () => changes };
}

const file = (name: string, size = 1000, type = 'application/octet-stream'): FileLike => ({ name, size, type });
const answer = (id: string, f: FileLike): Upload => ({ id, name: f.name, contentType: f.type, size: f.size });
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('UploadQueue', () => {
  it('starts every chosen file at once and follows its progress', async () => {
    const { q, started } = harness();
    q.add([file('a.pdf', 1000), file('b.png', 4000, 'image/png')]);
    expect(started.map((s) => s.file.name)).toEqual(['a.pdf', 'b.png']);
    expect(q.items.map((i) => [i.name, i.status, i.loaded])).toEqual([
      ['a.pdf', 'uploading', 0],
      ['b.png', 'uploading', 0],
    ]);
    started[1].progress(1000);
    expect(progressOf(q.items[1])).toBe(0.25);
    started[1].progress(500); // a late, smaller figure never moves it back
    expect(q.items[1].loaded).toBe(1000);
    started[0].resolve(answer('up-a', started[0].file));
    await settle();
    expect(q.items[0]).toMatchObject({ status: 'done', loaded: 1000, upload: { id: 'up-a' } });
    expect(progressOf(q.items[0])).toBe(1);
  });

  it('cancelling aborts the upload and the file never comes back, even if the server answers', async () => {
    const { q, started } = harness();
    q.add([file('big.bin', 10 * MiB), file('small.txt', 10, 'text/plain')]);
    const key = q.items[0].key;
    q.remove(key);
    expect(started[0].aborted).toBe(true);
    expect(q.items.map((i) => i.name)).toEqual(['small.txt']);
    // The answer raced the abort: it is ignored.
    started[0].resolve(answer('late', started[0].file));
    started[1].resolve(answer('up-s', started[1].file));
    await settle();
    expect(q.items.map((i) => i.name)).toEqual(['small.txt']);
    expect(q.take()?.map((u) => u.id)).toEqual(['up-s']);
  });

  it('refuses a file over the size limit without sending it, in words', () => {
    const { q, started } = harness(MiB);
    q.add([file('huge.iso', 2 * MiB), file('ok.txt', 10)]);
    expect(started.map((s) => s.file.name)).toEqual(['ok.txt']);
    expect(q.items[0]).toMatchObject({ status: 'failed', error: 'This file is larger than 1 MB.' });
    expect(q.items[0].canRetry).toBeFalsy();
  });

  it('takes at most ten files per message and says how many were left out', () => {
    const { q, started } = harness();
    q.add(Array.from({ length: 7 }, (_, i) => file(`f${i}`)));
    q.add(Array.from({ length: 5 }, (_, i) => file(`g${i}`)));
    expect(q.items).toHaveLength(10);
    expect(started).toHaveLength(10);
    expect(q.getState().notice).toBe('At most 10 files per message: 2 were left out.');
    // Removing one makes room again, and clears the note.
    q.remove(q.items[0].key);
    expect(q.getState().notice).toBeNull();
    q.add([file('h')]);
    expect(q.items).toHaveLength(10);
  });

  it('shows a refusal from the server on the chip; Retry only where it may help', async () => {
    const { q, started } = harness();
    q.add([file('a'), file('b')]);
    started[0].reject(new ApiError(413, 'upload_too_large', 'Too large', undefined));
    started[1].reject(new ApiError(0, 'network_error', 'Network', 'Cannot reach the server. Check your connection.'));
    await settle();
    expect(q.items[0]).toMatchObject({ status: 'failed', error: 'This file is larger than 25 MB.', canRetry: false });
    expect(q.items[1]).toMatchObject({ status: 'failed', canRetry: true });
    q.retry(q.items[0].key); // a refusal: nothing to retry
    expect(started).toHaveLength(2);
    q.retry(q.items[1].key);
    expect(started).toHaveLength(3);
    expect(q.items[1]).toMatchObject({ status: 'uploading', loaded: 0, error: undefined });
    started[2].resolve(answer('up-b', started[2].file));
    await settle();
    expect(q.items[1].status).toBe('done');
  });

  it('gives the uploads in the order chosen only once all are done, then empties', async () => {
    const { q, started } = harness();
    q.add([file('a'), file('b')]);
    started[1].resolve(answer('up-b', started[1].file));
    await settle();
    expect(q.take()).toBeUndefined();
    expect(q.items).toHaveLength(2);
    started[0].resolve(answer('up-a', started[0].file));
    await settle();
    expect(q.take()?.map((u) => u.id)).toEqual(['up-a', 'up-b']);
    expect(q.items).toEqual([]);
  });

  it('aborts everything when disposed and no longer changes', async () => {
    const { q, started, changes } = harness();
    q.add([file('a'), file('b')]);
    const before = changes();
    q.dispose();
    expect(started.every((s) => s.aborted)).toBe(true);
    await settle();
    q.add([file('c')]);
    expect(started).toHaveLength(2);
    expect(changes()).toBe(before);
  });

  it('turns an upload that could not even start into a failed chip', () => {
    const q = new UploadQueue<FileLike>(() => {
      throw new Error('no XMLHttpRequest here');
    }, { maxBytes: MiB });
    q.add([file('a')]);
    expect(q.items[0]).toMatchObject({ status: 'failed', error: 'no XMLHttpRequest here' });
  });
});

describe('UploadQueue previews', () => {
  it('makes a preview for each file it sends and frees it when the chip goes (removed, sent, or the room closed)', async () => {
    const made: string[] = [];
    const freed: string[] = [];
    const answers: ((u: Upload) => void)[] = [];
    const q = new UploadQueue<FileLike>(
      (f) => ({ promise: new Promise<Upload>((res) => answers.push(() => res(answer(`id-${f.name}`, f)))), abort() {} }),
      {
        maxBytes: MiB,
        preview: (f) => (f.type.startsWith('image/') ? (made.push(`blob:${f.name}`), `blob:${f.name}`) : undefined),
        releasePreview: (u) => freed.push(u),
      },
    );
    q.add([file('a.png', 10, 'image/png'), file('b.pdf', 10, 'application/pdf'), file('c.png', 10, 'image/png'), file('huge.png', 2 * MiB, 'image/png')]);
    expect(q.items.map((i) => i.preview)).toEqual(['blob:a.png', undefined, 'blob:c.png', undefined]);
    q.remove(q.items[0].key);
    expect(freed).toEqual(['blob:a.png']);
    q.remove(q.items[2].key); // the refused one
    for (const a of answers) a(answer('x', file('x')));
    await settle();
    q.take();
    expect(freed).toEqual(['blob:a.png', 'blob:c.png']);
    q.add([file('d.png', 10, 'image/png')]);
    q.dispose();
    expect(freed).toEqual(['blob:a.png', 'blob:c.png', 'blob:d.png']);
    expect(made).toEqual(['blob:a.png', 'blob:c.png', 'blob:d.png']);
  });
});

describe('canSend', () => {
  const item = (status: UploadItem['status']): UploadItem => ({ key: status, name: 'f', size: 1, type: '', status, loaded: 0 });

  it('needs text or at least one file, and every file uploaded', () => {
    expect(canSend([], '')).toBe(false);
    expect(canSend([], '  \n')).toBe(false);
    expect(canSend([], 'hi')).toBe(true);
    expect(canSend([item('done')], '')).toBe(true);
    expect(canSend([item('done'), item('uploading')], 'hi')).toBe(false);
    expect(canSend([item('done'), item('failed')], 'hi')).toBe(false);
  });

  it('says why it cannot', () => {
    expect(sendBlockedReason([item('done')])).toBeUndefined();
    expect(sendBlockedReason([item('uploading'), item('failed')])).toBe('Wait for the uploads to finish.');
    expect(sendBlockedReason([item('failed')])).toBe('Remove the files that could not be uploaded.');
  });
});

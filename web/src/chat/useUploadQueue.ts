// One upload queue per room on screen: made when the room opens, its uploads aborted when
// it closes (a file half sent is never attached; the server drops unattached uploads).

import { useEffect, useState, useSyncExternalStore } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { config } from '../config';
import { isInlineImage } from '../lib/files';
import { UploadQueue, type UploadQueueState } from '../lib/uploadQueue';

const IDLE: UploadQueueState = { items: [], notice: null };
const noop = () => () => {};

export function useUploadQueue(roomId: number | undefined): UploadQueue<File> | null {
  const { api } = useAuth();
  const [queue, setQueue] = useState<UploadQueue<File> | null>(null);
  useEffect(() => {
    if (roomId === undefined) return;
    const q = new UploadQueue<File>((file, onProgress) => api.upload(file, onProgress), {
      maxBytes: config().uploadMaxBytes,
      // The chip of a picture shows it (JPEG, PNG, GIF, WebP: what the browser surely draws).
      preview: (f) => (isInlineImage({ contentType: f.type }) ? URL.createObjectURL(f) : undefined),
      releasePreview: (url) => URL.revokeObjectURL(url),
    });
    setQueue(q);
    return () => {
      q.dispose();
      setQueue((cur) => (cur === q ? null : cur));
    };
  }, [api, roomId]);
  return queue;
}

export function useUploads(queue: UploadQueue<File> | null): UploadQueueState {
  return useSyncExternalStore(queue?.subscribe ?? noop, queue ? queue.getState : () => IDLE);
}

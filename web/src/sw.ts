// The service worker (built to /sw.js, scope /): shows a notification for each Web Push
// (payload → notification in lib/push.ts; a room's tag replaces its earlier one), and on a
// click brings a Cloud Chat window forward and has it open the room at the message (the
// page routes on the `cloudchat:open` message), or opens a new window there.
// Types are declared here: the app's tsconfig has the DOM library, not WebWorker.

import { notificationFor, notificationPath, openMessage, pickWindow } from './lib/push';

interface ExtendableEvt extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface PushEvt extends ExtendableEvt {
  data: { json(): unknown; text(): string } | null;
}
interface WindowClientLike {
  url: string;
  focused: boolean;
  visibilityState: string;
  focus(): Promise<WindowClientLike>;
  postMessage(message: unknown): void;
}
interface ClickEvt extends ExtendableEvt {
  notification: { data: unknown; close(): void };
}
interface ServiceWorkerScope {
  registration: ServiceWorkerRegistration;
  location: { origin: string };
  clients: {
    matchAll(o: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClientLike[]>;
    openWindow(url: string): Promise<WindowClientLike | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', f: (e: ExtendableEvt) => void): void;
  addEventListener(type: 'push', f: (e: PushEvt) => void): void;
  addEventListener(type: 'notificationclick', f: (e: ClickEvt) => void): void;
}

const sw = self as unknown as ServiceWorkerScope;

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));

sw.addEventListener('push', (e) => {
  let payload: unknown = null;
  try {
    payload = e.data?.json() ?? null;
  } catch {
    payload = e.data?.text() ?? null;
  }
  const n = notificationFor(payload);
  e.waitUntil(sw.registration.showNotification(n.title, n.options));
});

sw.addEventListener('notificationclick', (e) => {
  e.notification.close();
  const data = (e.notification.data ?? {}) as { url?: unknown };
  const path = notificationPath({ url: data.url });
  e.waitUntil(
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const w = pickWindow(windows, sw.location.origin);
      if (w) {
        const focused = await w.focus().catch(() => w);
        focused.postMessage(openMessage(path));
        return;
      }
      await sw.clients.openWindow(new URL(path, sw.location.origin).href);
    })(),
  );
});

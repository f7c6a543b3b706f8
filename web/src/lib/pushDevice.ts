// Web Push on this device: the service worker (/sw.js, scope /), the browser's push
// subscription, and chat-service's copy of it (POST/DELETE /push/subscriptions). Nothing
// here asks for the notification permission except `enablePush`, which runs on a click.

import type { ApiClient } from '../api/client';
import { ApiError } from '../api/errors';
import type { PushSubscriptionBody } from '../api/types';
import { base64UrlToBytes } from './push';

export type PushState =
  /** No service worker, PushManager or Notification in this browser (or not a secure context). */
  | 'unsupported'
  /** The user (or a policy) blocked notifications for this site. */
  | 'denied'
  /** Supported, not enabled on this device. */
  | 'off'
  /** This device has a push subscription. */
  | 'on';

type PushApi = Pick<ApiClient, 'vapidPublicKey' | 'addPushSubscription' | 'pushSubscriptions' | 'deletePushSubscription'>;

export const SW_URL = '/sw.js';

export function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    'Notification' in window
  );
}

/** What the device's state is now (asks nothing of the user). */
export async function pushState(): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = await reg?.pushManager.getSubscription();
  return sub && Notification.permission === 'granted' ? 'on' : 'off';
}

/** Registers the service worker (or finds it) and waits until it is active. */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration> {
  // A module worker in development (Vite serves it from the sources), a classic one built.
  await navigator.serviceWorker.register(SW_URL, { scope: '/', type: import.meta.env.DEV ? 'module' : 'classic', updateViaCache: 'none' });
  return navigator.serviceWorker.ready;
}

/** Why enabling failed, in words for the settings panel. */
export class PushError extends Error {}

/**
 * On the user's click: asks for the permission, registers the service worker, subscribes
 * with the server's VAPID key and hands the subscription to the server. Resolves the new
 * state; rejects with a PushError saying what went wrong.
 */
export async function enablePush(api: PushApi): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission === 'denied') return 'denied';
  if (permission !== 'granted') throw new PushError('Notifications were not allowed. Click again and choose “Allow”.');
  let reg: ServiceWorkerRegistration;
  try {
    reg = await registerServiceWorker();
  } catch (e) {
    throw new PushError(`The notification worker could not be installed: ${(e as Error)?.message ?? e}`);
  }
  let key: string;
  try {
    key = await api.vapidPublicKey();
  } catch (e) {
    if (e instanceof ApiError && (e.code === 'push_disabled' || e.status === 404)) throw new PushError('Push notifications are turned off on this server.');
    throw new PushError(e instanceof ApiError ? e.userMessage : String(e));
  }
  let sub: PushSubscription;
  try {
    const old = await reg.pushManager.getSubscription();
    // A subscription made with another server key cannot be reused.
    if (old && !sameKey(old.options.applicationServerKey, key)) await old.unsubscribe();
    sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) });
  } catch (e) {
    const why = (e as Error)?.message || String(e);
    throw new PushError(`This browser's push service could not be reached, so notifications are not enabled on this device (${why}).`);
  }
  try {
    await api.addPushSubscription(sub.toJSON() as PushSubscriptionBody);
  } catch (e) {
    await sub.unsubscribe().catch(() => undefined);
    throw new PushError(`The server did not take this device's subscription: ${e instanceof ApiError ? e.userMessage : String(e)}`);
  }
  return 'on';
}

/** Unsubscribes this device, here and on the server. */
export async function disablePush(api: PushApi): Promise<PushState> {
  if (!pushSupported()) return 'unsupported';
  const reg = await navigator.serviceWorker.getRegistration('/');
  const sub = await reg?.pushManager.getSubscription();
  if (sub) {
    const mine = (await api.pushSubscriptions()).find((s) => s.endpoint === sub.endpoint);
    if (mine) await api.deletePushSubscription(mine.id);
    await sub.unsubscribe();
  }
  return Notification.permission === 'denied' ? 'denied' : 'off';
}

function sameKey(a: ArrayBuffer | null, key: string): boolean {
  if (!a) return false;
  const b = base64UrlToBytes(key);
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

// Runtime configuration from /env.js (written by the container entrypoint), with
// same-origin defaults when the file is missing or a value is empty.

import { DEFAULT_UPLOAD_MAX_BYTES } from './lib/files';

export interface RuntimeConfig {
  /** Prefix of every API path, e.g. "https://api.example.com"; "" = same origin. */
  apiBase: string;
  /** Full WebSocket URL, e.g. "wss://chat.example.com/ws". */
  wsUrl: string;
  /** The server's upload size limit (`UPLOAD_MAX_BYTES`), checked before a file is sent. */
  uploadMaxBytes: number;
}

interface RawConfig {
  apiBase?: unknown;
  wsUrl?: unknown;
  uploadMaxBytes?: unknown;
}

interface LocationLike {
  protocol: string;
  host: string;
}

export function resolveConfig(raw: RawConfig | undefined, location: LocationLike): RuntimeConfig {
  const apiBase = typeof raw?.apiBase === 'string' ? raw.apiBase.trim().replace(/\/+$/, '') : '';
  const explicitWs = typeof raw?.wsUrl === 'string' ? raw.wsUrl.trim() : '';
  let wsUrl: string;
  if (explicitWs) {
    wsUrl = explicitWs;
  } else if (/^https?:\/\//i.test(apiBase)) {
    wsUrl = apiBase.replace(/^http/i, 'ws') + '/ws';
  } else {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    wsUrl = `${scheme}://${location.host}${apiBase}/ws`;
  }
  const max = Number(raw?.uploadMaxBytes);
  const uploadMaxBytes = Number.isFinite(max) && max > 0 ? max : DEFAULT_UPLOAD_MAX_BYTES;
  return { apiBase, wsUrl, uploadMaxBytes };
}

declare global {
  interface Window {
    __CLOUDCHAT__?: RawConfig;
  }
}

let cached: RuntimeConfig | undefined;

export function config(): RuntimeConfig {
  // Outside a browser (components rendered in unit tests): same origin, defaults.
  if (!cached) cached = typeof window === 'undefined' ? resolveConfig(undefined, { protocol: 'http:', host: 'localhost' }) : resolveConfig(window.__CLOUDCHAT__, window.location);
  return cached;
}

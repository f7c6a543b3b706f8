import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config';
import { DEFAULT_UPLOAD_MAX_BYTES } from './lib/files';

const MAX = { uploadMaxBytes: DEFAULT_UPLOAD_MAX_BYTES };

const http = { protocol: 'http:', host: '127.0.0.1:8080' };
const https = { protocol: 'https:', host: 'chat.example.org' };

describe('resolveConfig', () => {
  it('defaults to same origin when env.js is missing', () => {
    expect(resolveConfig(undefined, http)).toEqual({ apiBase: '', wsUrl: 'ws://127.0.0.1:8080/ws', ...MAX });
    expect(resolveConfig(undefined, https)).toEqual({ apiBase: '', wsUrl: 'wss://chat.example.org/ws', ...MAX });
  });

  it('treats empty strings as same origin', () => {
    expect(resolveConfig({ apiBase: '', wsUrl: '' }, https).wsUrl).toBe('wss://chat.example.org/ws');
  });

  it('derives the socket from an absolute apiBase', () => {
    expect(resolveConfig({ apiBase: 'https://api.example.org/' }, http)).toEqual({
      apiBase: 'https://api.example.org',
      wsUrl: 'wss://api.example.org/ws',
      ...MAX,
    });
  });

  it('uses an explicit wsUrl as is', () => {
    expect(resolveConfig({ apiBase: '', wsUrl: 'wss://rt.example.org/ws' }, http).wsUrl).toBe('wss://rt.example.org/ws');
  });

  it('takes the upload limit from env.js when it is a positive number', () => {
    expect(resolveConfig({ uploadMaxBytes: 1048576 }, http).uploadMaxBytes).toBe(1048576);
    expect(resolveConfig({ uploadMaxBytes: '5000' }, http).uploadMaxBytes).toBe(5000);
    expect(resolveConfig({ uploadMaxBytes: 0 }, http).uploadMaxBytes).toBe(DEFAULT_UPLOAD_MAX_BYTES);
    expect(resolveConfig({ uploadMaxBytes: 'lots' }, http).uploadMaxBytes).toBe(DEFAULT_UPLOAD_MAX_BYTES);
  });

  it('ignores values of the wrong type', () => {
    expect(resolveConfig({ apiBase: 42, wsUrl: null }, http)).toEqual({ apiBase: '', wsUrl: 'ws://127.0.0.1:8080/ws', ...MAX });
  });
});

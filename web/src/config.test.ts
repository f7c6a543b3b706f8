import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config';

const http = { protocol: 'http:', host: '127.0.0.1:8080' };
const https = { protocol: 'https:', host: 'chat.example.org' };

describe('resolveConfig', () => {
  it('defaults to same origin when env.js is missing', () => {
    expect(resolveConfig(undefined, http)).toEqual({ apiBase: '', wsUrl: 'ws://127.0.0.1:8080/ws' });
    expect(resolveConfig(undefined, https)).toEqual({ apiBase: '', wsUrl: 'wss://chat.example.org/ws' });
  });

  it('treats empty strings as same origin', () => {
    expect(resolveConfig({ apiBase: '', wsUrl: '' }, https).wsUrl).toBe('wss://chat.example.org/ws');
  });

  it('derives the socket from an absolute apiBase', () => {
    expect(resolveConfig({ apiBase: 'https://api.example.org/' }, http)).toEqual({
      apiBase: 'https://api.example.org',
      wsUrl: 'wss://api.example.org/ws',
    });
  });

  it('uses an explicit wsUrl as is', () => {
    expect(resolveConfig({ apiBase: '', wsUrl: 'wss://rt.example.org/ws' }, http).wsUrl).toBe('wss://rt.example.org/ws');
  });

  it('ignores values of the wrong type', () => {
    expect(resolveConfig({ apiBase: 42, wsUrl: null }, http)).toEqual({ apiBase: '', wsUrl: 'ws://127.0.0.1:8080/ws' });
  });
});

import { describe, expect, it } from 'vitest';
import { MUTED_FOREVER, base64UrlToBytes, isMuted, muteText, mutedUntilFor, notificationFor, notificationPath, openMessage, openMessagePath, pickWindow } from './push';

const payload = {
  type: 'message',
  roomId: 12,
  roomKind: 'group',
  roomName: 'team',
  senderUsername: 'alice',
  messageId: 345,
  seq: 17,
  title: 'alice in team',
  body: 'ship it?',
  count: 1,
  url: '/chat/12?seq=17',
  tag: 'room-12',
};

describe('notificationFor', () => {
  it('shows the payload: title, body, the room tag (a room replaces its own), the url to open', () => {
    expect(notificationFor(payload)).toEqual({
      title: 'alice in team',
      options: {
        body: 'ship it?',
        tag: 'room-12',
        renotify: true,
        icon: '/favicon.svg',
        data: { url: '/chat/12?seq=17', roomId: 12, seq: 17 },
      },
    });
  });

  it('a collapsed follow-up keeps the tag and says the count when it has no body', () => {
    const n = notificationFor({ ...payload, count: 4, body: undefined });
    expect(n.options.tag).toBe('room-12');
    expect(n.options.body).toBe('4 new messages');
  });

  it('fills what a payload leaves out, and never opens another origin', () => {
    const n = notificationFor({ roomId: 3, seq: 9, senderUsername: 'bob', url: 'https://evil.example/x' });
    expect(n.title).toBe('bob');
    expect(n.options.tag).toBe('room-3');
    expect(n.options.data.url).toBe('/chat/3?seq=9');
    expect(notificationFor(null)).toMatchObject({ title: 'Cloud Chat', options: { body: 'New message', tag: 'cloudchat', data: { url: '/' } } });
    expect(notificationFor('plain text push').options.body).toBe('plain text push');
  });
});

describe('notificationPath', () => {
  it('takes app paths only', () => {
    expect(notificationPath({ url: '/chat/1?seq=2' })).toBe('/chat/1?seq=2');
    expect(notificationPath({ url: '//evil.example/' })).toBe('/');
    expect(notificationPath({ url: '/\\evil.example' })).toBe('/');
    expect(notificationPath({ url: 'javascript:alert(1)', roomId: 5 })).toBe('/chat/5');
    expect(notificationPath({ roomId: -1, seq: 3 })).toBe('/');
  });
});

describe('pickWindow', () => {
  const origin = 'https://chat.example';
  it('prefers a focused window of the app, then a visible one, then any; never another origin', () => {
    const a = { url: 'https://chat.example/', visibilityState: 'hidden' };
    const b = { url: 'https://chat.example/chat/1', visibilityState: 'visible' };
    const c = { url: 'https://chat.example/my-rooms', focused: true };
    const other = { url: 'https://other.example/', focused: true };
    expect(pickWindow([a, b, c, other], origin)).toBe(c);
    expect(pickWindow([a, b, other], origin)).toBe(b);
    expect(pickWindow([a, other], origin)).toBe(a);
    expect(pickWindow([other, { url: 'not a url' }], origin)).toBeUndefined();
  });

  it('the page takes the open message back only for an app path', () => {
    expect(openMessagePath(openMessage('/chat/1?seq=2'))).toBe('/chat/1?seq=2');
    expect(openMessagePath({ type: 'cloudchat:open', url: 'https://evil.example' })).toBeUndefined();
    expect(openMessagePath({ type: 'other', url: '/' })).toBeUndefined();
    expect(openMessagePath(null)).toBeUndefined();
  });
});

describe('base64UrlToBytes', () => {
  it('decodes base64url with or without padding', () => {
    expect(Array.from(base64UrlToBytes('AQID'))).toEqual([1, 2, 3]);
    expect(Array.from(base64UrlToBytes('-_8'))).toEqual([251, 255]);
    expect(Array.from(base64UrlToBytes('-_8='))).toEqual([251, 255]);
    expect(base64UrlToBytes('')).toHaveLength(0);
  });

  it('a 65-byte P-256 public key (87 characters) comes out whole', () => {
    const key = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
    const bytes = base64UrlToBytes(key);
    expect(bytes).toHaveLength(65);
    expect(bytes[0]).toBe(4);
  });

  it('refuses what is not base64url', () => {
    expect(() => base64UrlToBytes('a+b/')).toThrow();
    expect(() => base64UrlToBytes('abcde')).toThrow();
  });
});

describe('mute', () => {
  const now = Date.parse('2026-01-01T10:00:00Z');
  it('a choice becomes the time to send', () => {
    expect(mutedUntilFor('1h', now)).toBe('2026-01-01T11:00:00.000Z');
    expect(mutedUntilFor('8h', now)).toBe('2026-01-01T18:00:00.000Z');
    expect(mutedUntilFor('24h', now)).toBe('2026-01-02T10:00:00.000Z');
    expect(mutedUntilFor('forever', now)).toBe(MUTED_FOREVER);
    expect(mutedUntilFor(null, now)).toBeNull();
  });

  it('a past time is not muted; the far future reads "until you unmute"', () => {
    expect(isMuted('2025-12-31T00:00:00Z', now)).toBe(false);
    expect(isMuted(null, now)).toBe(false);
    expect(muteText('2025-12-31T00:00:00Z', now)).toBe('Not muted');
    expect(muteText(MUTED_FOREVER, now)).toBe('Muted until you unmute');
    expect(muteText('2026-01-01T11:00:00Z', now, () => '11:00')).toBe('Muted until 11:00');
  });
});

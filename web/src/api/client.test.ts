import { describe, expect, it, vi } from 'vitest';
import { ApiClient, type XhrLike } from './client';
import { ApiError } from './errors';

const login = (token: string) => ({
  accessToken: token,
  tokenType: 'Bearer',
  expiresIn: 900,
  user: { id: 'u', username: 'alice' },
});

function json(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function client(handler: Handler) {
  const calls: { url: string; auth?: string; credentials?: string; body?: string }[] = [];
  const f = vi.fn(async (url: string, init: RequestInit) => {
    const h = init.headers as Record<string, string>;
    calls.push({ url, auth: h.Authorization, credentials: init.credentials, body: init.body as string });
    return handler(url, init);
  });
  const c = new ApiClient({ baseUrl: 'http://api', fetch: f as unknown as typeof fetch });
  return { c, calls };
}

describe('ApiClient', () => {
  it('keeps the access token in memory and sends it as Bearer', async () => {
    const { c, calls } = client((url) => (url.endsWith('/auth/login') ? json(200, login('A')) : json(200, [])));
    await c.login('a@x', 'pw');
    expect(c.token).toBe('A');
    await c.rooms();
    expect(calls[0].credentials).toBe('include');
    expect(calls[1]).toMatchObject({ url: 'http://api/rooms', auth: 'Bearer A' });
  });

  it('on 401, refreshes once with the cookie and retries the call', async () => {
    let roomsCalls = 0;
    const { c, calls } = client((url, init) => {
      if (url.endsWith('/auth/login')) return json(200, login('old'));
      if (url.endsWith('/auth/refresh')) return json(200, login('new'));
      roomsCalls += 1;
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === 'Bearer new' ? json(200, [{ id: 1 }]) : json(401, { code: 'token_expired', title: 'Unauthorized' });
    });
    await c.login('a@x', 'pw');
    const rooms = await c.rooms();
    expect(rooms).toEqual([{ id: 1 }]);
    expect(roomsCalls).toBe(2);
    expect(calls.map((x) => x.url.replace('http://api', ''))).toEqual(['/auth/login', '/rooms', '/auth/refresh', '/rooms']);
    expect(calls[2].credentials).toBe('include');
    expect(c.token).toBe('new');
  });

  it('deleting the account: a wrong password is answered without a refresh; success ends the session, saying why', async () => {
    const refused = 'wrong';
    const { c, calls } = client((url, init) => {
      if (url.endsWith('/auth/login')) return json(200, login('A'));
      if (url.endsWith('/users/me') && init.method === 'DELETE') {
        const body = JSON.parse(init.body as string) as { password: string };
        return body.password === refused ? json(401, { code: 'invalid_credentials', title: 'Unauthorized' }) : new Response(null, { status: 204 });
      }
      return json(204);
    });
    const ended: (string | null)[] = [];
    c.onSession((s) => ended.push(s ? 'session' : c.endReason?.userMessage ?? 'ended'));
    await c.login('a@x', 'pw');
    await expect(c.deleteAccount('wrong', undefined, false)).rejects.toMatchObject({ status: 401, code: 'invalid_credentials' });
    expect(c.token).toBe('A');
    expect(calls.map((x) => x.url.replace('http://api', ''))).toEqual(['/auth/login', '/users/me']);
    await c.deleteAccount('right', '123456', true);
    expect(JSON.parse(calls[2].body ?? '')).toEqual({ password: 'right', code: '123456', deleteMessages: true });
    expect(c.token).toBeNull();
    expect(ended).toEqual(['session', 'Your account has been deleted.']);
  });

  it('shares one refresh between concurrent 401s (a rotated cookie is spent once)', async () => {
    let refreshes = 0;
    const { c } = client(async (url, init) => {
      if (url.endsWith('/auth/login')) return json(200, login('old'));
      if (url.endsWith('/auth/refresh')) {
        refreshes += 1;
        await new Promise((r) => setTimeout(r, 5));
        return json(200, login('new'));
      }
      const auth = (init.headers as Record<string, string>).Authorization;
      return auth === 'Bearer new' ? json(200, []) : json(401, {});
    });
    await c.login('a@x', 'pw');
    await Promise.all([c.rooms(), c.rooms(), c.me()]);
    expect(refreshes).toBe(1);
  });

  it('ends the session when the refresh is refused', async () => {
    const { c } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, login('old'));
      if (url.endsWith('/auth/refresh')) return json(401, { code: 'invalid_refresh_token' });
      return json(401, { code: 'token_expired', detail: 'expired' });
    });
    const seen: (string | null)[] = [];
    c.onSession((s) => seen.push(s ? s.accessToken : null));
    await c.login('a@x', 'pw');
    await expect(c.rooms()).rejects.toBeInstanceOf(ApiError);
    expect(c.token).toBeNull();
    expect(seen).toEqual(['old', null]);
  });

  it('silent refresh on page load resolves null without a cookie', async () => {
    const { c } = client(() => json(401, { code: 'no_session' }));
    await expect(c.refresh()).resolves.toBeNull();
  });

  it('reports network failures as status 0 and does not end the session', async () => {
    const { c } = client(() => {
      throw new TypeError('Failed to fetch');
    });
    await expect(c.refresh()).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('turns problem+json into ApiError with field errors', async () => {
    const { c } = client(() =>
      json(409, { code: 'email_taken', title: 'Conflict', detail: 'E-mail already registered', errors: { email: ['taken'] } }),
    );
    const e = await c.register('alice', 'a@x', 'password1').catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe('email_taken');
    expect(e.fieldErrors).toEqual({ email: 'taken' });
  });

  it('a log-in with two-factor on: mfa_required carries the challenge, and /auth/login/mfa signs in', async () => {
    const { c, calls } = client((url) => {
      if (url.endsWith('/auth/login'))
        return json(401, { code: 'mfa_required', title: 'Unauthorized', challenge: 'CH', expiresAt: '2026-01-01T00:05:00Z' });
      if (url.endsWith('/auth/login/mfa')) return json(200, login('M'));
      return json(200, []);
    });
    const e = await c.login('a@x', 'pw').catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe('mfa_required');
    expect(e.extensions.challenge).toBe('CH');
    // A refused log-in is no session: nothing was refreshed or retried.
    expect(c.token).toBeNull();
    expect(calls).toHaveLength(1);
    await c.loginMfa('CH', '123456');
    expect(c.token).toBe('M');
    expect(calls[1]).toMatchObject({ url: 'http://api/auth/login/mfa', credentials: 'include' });
    expect(JSON.parse(calls[1].body!)).toEqual({ challenge: 'CH', code: '123456' });
  });

  it('sends the TOTP calls with their bodies, and the SSO link code only when given', async () => {
    const { c, calls } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, login('A'));
      if (url.endsWith('/enrol')) return json(200, { secret: 'S', otpauthUri: 'otpauth://totp/x' });
      if (url.endsWith('/confirm') || url.endsWith('/recovery-codes')) return json(200, { recoveryCodes: ['AAAAA-BBBBB'] });
      if (url.endsWith('/auth/oidc/link')) return json(200, login('L'));
      return json(204);
    });
    await c.login('a@x', 'pw');
    expect(await c.enrolTotp('pw')).toEqual({ secret: 'S', otpauthUri: 'otpauth://totp/x' });
    expect((await c.confirmTotp('123456')).recoveryCodes).toEqual(['AAAAA-BBBBB']);
    await c.disableTotp('pw', '654321');
    await c.newRecoveryCodes('pw', '111111');
    await c.linkSso('T', 'pw');
    await c.linkSso('T', 'pw', '222222');
    const sent = calls.slice(1).map((x) => [x.url.replace('http://api', ''), JSON.parse(x.body!)]);
    expect(sent).toEqual([
      ['/auth/mfa/totp/enrol', { password: 'pw' }],
      ['/auth/mfa/totp/confirm', { code: '123456' }],
      ['/auth/mfa/totp', { password: 'pw', code: '654321' }],
      ['/auth/mfa/recovery-codes', { password: 'pw', code: '111111' }],
      ['/auth/oidc/link', { linkToken: 'T', password: 'pw' }],
      ['/auth/oidc/link', { linkToken: 'T', password: 'pw', code: '222222' }],
    ]);
  });

  it('encodes query parameters', async () => {
    const { c, calls } = client(() => json(200, []));
    await c.searchUsers('a b&c');
    await c.messages(3, { beforeSeq: 10, limit: 50 });
    await c.changes(3, { sinceRev: 42, limit: 200 });
    expect(calls[0].url).toBe('http://api/users?prefix=a%20b%26c');
    expect(calls[1].url).toBe('http://api/rooms/3/messages?beforeSeq=10&limit=50');
    expect(calls[2].url).toBe('http://api/rooms/3/changes?sinceRev=42&limit=200');
  });

  it('knows when the token in memory expires', async () => {
    const { c } = client(() => json(200, login('A')));
    expect(c.tokenExpiresAt).toBeNull();
    const before = Date.now();
    await c.login('a@x', 'pw');
    expect(c.tokenExpiresAt).toBeGreaterThanOrEqual(before + 900_000);
    expect(c.tokenExpiresAt).toBeLessThanOrEqual(Date.now() + 900_000);
    c.clearSession();
    expect(c.tokenExpiresAt).toBeNull();
  });

  it('asks for member pages with a limit, and the next one with the cursor', async () => {
    const { c, calls } = client(() => json(200, { members: [], nextCursor: null, hasMore: false }));
    await c.members(4);
    await c.members(4, { after: '1700000000000.u-1' });
    expect(calls.map((x) => x.url)).toEqual([
      'http://api/rooms/4/members?limit=100',
      'http://api/rooms/4/members?limit=100&after=1700000000000.u-1',
    ]);
  });

  it('adds a reaction with a JSON body and removes it with the emoji URL-encoded in the path', async () => {
    const methods: string[] = [];
    const { c, calls } = client((_url, init) => {
      methods.push(init.method as string);
      return json(200, { id: 9, reactions: [] });
    });
    await c.addReaction(9, '👍🏽');
    await c.removeReaction(9, '👍🏽');
    await c.removeReaction(9, ':thumbsup:');
    expect(methods).toEqual(['POST', 'DELETE', 'DELETE']);
    expect(calls[0]).toMatchObject({ url: 'http://api/messages/9/reactions', body: JSON.stringify({ emoji: '👍🏽' }) });
    expect(calls[1].url).toBe('http://api/messages/9/reactions/%F0%9F%91%8D%F0%9F%8F%BD');
    expect(calls[2].url).toBe('http://api/messages/9/reactions/%3Athumbsup%3A');
  });

  it('posts a reply with replyToId, and a plain message without it', async () => {
    const { c, calls } = client(() => json(201, {}));
    await c.postMessage(3, 'answer', 'cid-1', 42);
    await c.postMessage(3, 'plain', 'cid-2');
    expect(calls.map((x) => [x.url, JSON.parse(x.body ?? '{}')])).toEqual([
      ['http://api/rooms/3/messages', { content: 'answer', clientMsgId: 'cid-1', replyToId: 42 }],
      ['http://api/rooms/3/messages', { content: 'plain', clientMsgId: 'cid-2' }],
    ]);
  });

  it('opens a DM by user id or by username, hides a room, and pages mentions with before', async () => {
    const { c, calls } = client((url) => (url.includes('/mentions') ? json(200, { messages: [], hasMore: false }) : json(200, {})));
    await c.openDm({ userId: 'u-2' });
    await c.openDm({ username: 'bob' });
    await c.hideRoom(7);
    await c.mentions();
    await c.mentions({ before: 55, limit: 20 });
    expect(calls.map((x) => [x.url, x.body === undefined ? undefined : JSON.parse(x.body)])).toEqual([
      ['http://api/dms', { userId: 'u-2' }],
      ['http://api/dms', { username: 'bob' }],
      ['http://api/rooms/7/hide', undefined],
      ['http://api/mentions', undefined],
      ['http://api/mentions?before=55&limit=20', undefined],
    ]);
  });

  it('asks for the /files cookie after log-in and every refresh, and drops it on log-out', async () => {
    const f = vi.fn(async (url: string, _init: RequestInit) => {
      if (url.endsWith('/auth/login')) return json(200, login('A'));
      if (url.endsWith('/auth/refresh')) return json(200, login('B'));
      return new Response(null, { status: url.endsWith('/files/cookie') ? 204 : 200 });
    });
    const c = new ApiClient({ baseUrl: 'http://api', fetch: f as unknown as typeof fetch, filesCookie: true });
    await c.login('a@x', 'pw');
    expect(await c.filesCookieReady()).toBe(true);
    await c.refresh();
    expect(await c.filesCookieReady()).toBe(true);
    await c.logout();
    const seen = f.mock.calls.map(([url, init]) => [
      init.method,
      url.replace('http://api', ''),
      (init.headers as Record<string, string>).Authorization,
      init.credentials,
    ]);
    expect(seen).toEqual([
      ['POST', '/auth/login', undefined, 'include'],
      ['POST', '/files/cookie', 'Bearer A', 'include'],
      ['POST', '/auth/refresh', undefined, 'include'],
      ['POST', '/files/cookie', 'Bearer B', 'include'],
      ['DELETE', '/files/cookie', 'Bearer B', 'include'],
      ['POST', '/auth/logout', undefined, 'include'],
    ]);
  });

  it('a refused /files cookie is not an error, and can be asked for again', async () => {
    let answer = 404;
    const f = vi.fn(async (url: string) => (url.endsWith('/auth/login') ? json(200, login('A')) : new Response(null, { status: answer })));
    const c = new ApiClient({ baseUrl: 'http://api', fetch: f as unknown as typeof fetch, filesCookie: true });
    await c.login('a@x', 'pw');
    expect(await c.filesCookieReady()).toBe(false);
    answer = 204;
    const [one, two] = await Promise.all([c.renewFilesCookie(), c.renewFilesCookie()]);
    expect([one, two]).toEqual([true, true]);
    expect(f.mock.calls.filter(([url]) => url.endsWith('/files/cookie'))).toHaveLength(2);
  });

  describe('upload', () => {
    class FakeXhr implements XhrLike {
      static made: FakeXhr[] = [];
      method = '';
      url = '';
      headers: Record<string, string> = {};
      body: FormData | null = null;
      status = 0;
      responseText = '';
      responseHeaders: Record<string, string> = {};
      aborted = false;
      upload: XhrLike['upload'] = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      ontimeout: (() => void) | null = null;
      constructor() {
        FakeXhr.made.push(this);
      }
      open(method: string, url: string) {
        this.method = method;
        this.url = url;
      }
      setRequestHeader(n: string, v: string) {
        this.headers[n] = v;
      }
      send(body: FormData) {
        this.body = body;
      }
      abort() {
        this.aborted = true;
        this.onabort?.();
      }
      getResponseHeader(n: string) {
        return this.responseHeaders[n.toLowerCase()] ?? null;
      }
      answer(status: number, body: unknown, headers: Record<string, string> = {}) {
        this.status = status;
        this.responseText = JSON.stringify(body);
        this.responseHeaders = { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers };
        this.onload?.();
      }
    }

    const tick = () => new Promise((r) => setTimeout(r, 0));

    function uploader(fetchHandler: Handler = (url) => json(200, login(url.endsWith('/auth/refresh') ? 'new' : 'A'))) {
      FakeXhr.made = [];
      const c = new ApiClient({
        baseUrl: 'http://api',
        fetch: vi.fn(async (url: string, init: RequestInit) => fetchHandler(url, init)) as unknown as typeof fetch,
        xhr: () => new FakeXhr(),
      });
      return c;
    }

    const photo = () => new File([new Uint8Array(1000)], 'photo.png', { type: 'image/png' });

    it('posts multipart/form-data with one part named file, with the token, and reports progress in file bytes', async () => {
      const c = uploader();
      await c.login('a@x', 'pw');
      const progress: [number, number][] = [];
      const h = c.upload(photo(), (l, t) => progress.push([l, t]));
      await tick();
      const x = FakeXhr.made[0];
      expect([x.method, x.url, x.headers.Authorization]).toEqual(['POST', 'http://api/uploads', 'Bearer A']);
      const part = x.body?.get('file') as File;
      expect([part.name, part.size, [...(x.body?.keys() ?? [])]]).toEqual(['photo.png', 1000, ['file']]);
      // The request body is bigger than the file (multipart framing): progress is its share.
      x.upload.onprogress?.({ lengthComputable: true, loaded: 600, total: 1200 });
      const answer = { id: 'up-1', name: 'photo.png', contentType: 'image/png', size: 1000, width: 10, height: 10, thumbnail: { width: 10, height: 10 } };
      x.answer(201, answer);
      expect(await h.promise).toEqual(answer);
      expect(progress).toEqual([
        [500, 1000],
        [1000, 1000],
      ]);
    });

    it('turns a refusal into an ApiError with its code and Retry-After', async () => {
      const c = uploader();
      await c.login('a@x', 'pw');
      const h = c.upload(photo());
      await tick();
      FakeXhr.made[0].answer(429, { code: 'rate_limited', title: 'Too Many Requests' }, { 'retry-after': '12' });
      const e = await h.promise.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ApiError);
      expect(e).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 12 });
    });

    it('a cancelled upload rejects with an AbortError', async () => {
      const c = uploader();
      await c.login('a@x', 'pw');
      const h = c.upload(photo());
      await tick();
      h.abort();
      expect(FakeXhr.made[0].aborted).toBe(true);
      await expect(h.promise).rejects.toMatchObject({ name: 'AbortError' });
    });

    it('a network failure is an ApiError with status 0', async () => {
      const c = uploader();
      await c.login('a@x', 'pw');
      const h = c.upload(photo());
      await tick();
      FakeXhr.made[0].onerror?.();
      await expect(h.promise).rejects.toMatchObject({ status: 0, code: 'network_error' });
    });

    it('on 401 refreshes once and sends the file again with the new token', async () => {
      const c = uploader();
      await c.login('a@x', 'pw');
      const h = c.upload(photo());
      await tick();
      FakeXhr.made[0].answer(401, { code: 'token_expired' });
      await vi.waitFor(() => expect(FakeXhr.made).toHaveLength(2));
      const again = FakeXhr.made[1];
      expect(again.headers.Authorization).toBe('Bearer new');
      again.answer(201, { id: 'up-2', name: 'photo.png', contentType: 'image/png', size: 1000 });
      expect((await h.promise).id).toBe('up-2');
    });
  });

  it('links a single sign-on identity with the password and keeps the session, like a log-in', async () => {
    const { c, calls } = client((url) =>
      url.endsWith('/auth/oidc') ? json(200, { enabled: true, displayName: 'Example ID' }) : json(200, login('L')),
    );
    expect(await c.ssoStatus()).toEqual({ enabled: true, displayName: 'Example ID' });
    await c.linkSso('tok', 'pw');
    expect(c.token).toBe('L');
    expect(calls[1]).toMatchObject({ url: 'http://api/auth/oidc/link', credentials: 'include', auth: undefined });
    expect(JSON.parse(calls[1].body!)).toEqual({ linkToken: 'tok', password: 'pw' });
  });
});

describe('ApiClient moderation calls', () => {
  it('builds the admin, report, block and room-moderation requests', async () => {
    const { c, calls } = client((url) => (url.endsWith('/auth/login') ? json(200, login('A')) : json(200, { users: [], reports: [], entries: [], mutes: [] })));
    await c.login('a@x', 'pw');
    await c.adminUsers({ q: 'Al ice', status: 'suspended', cursor: 'c1' });
    await c.adminUsers();
    await c.audit({ action: 'role.change', actorId: 'u1', limit: 20 });
    await c.reports({ status: 'resolved', roomId: 7 });
    await c.resolveReport(3, { action: 'mute', durationSeconds: 600, note: 'spam' });
    await c.reportMessage(42, 'rude');
    await c.block('u 2');
    await c.unblock('u2');
    await c.blocks();
    await c.setMemberRole(5, 'u2', 'moderator');
    await c.mute(5, 'u2', 3600);
    await c.unmute(5, 'u2');
    await c.setUserRole('u2', 'admin');
    await c.suspendUser('u2', { reason: 'spam', until: null, hideMessages: true });
    await c.unsuspendUser('u2');
    await c.deleteMessage(9, 'off topic');
    await c.deleteMessage(10);
    const seen = calls.slice(1).map((x) => `${x.url.replace('http://api', '')}${x.body ? ` ${x.body}` : ''}`);
    expect(seen).toEqual([
      '/admin/users?q=Al+ice&status=suspended&cursor=c1',
      '/admin/users',
      '/admin/audit?action=role.change&actorId=u1&limit=20',
      '/reports?status=resolved&roomId=7',
      '/reports/3/resolve {"action":"mute","durationSeconds":600,"note":"spam"}',
      '/messages/42/reports {"reason":"rude"}',
      '/blocks/u%202',
      '/blocks/u2',
      '/blocks',
      '/rooms/5/members/u2/role {"role":"moderator"}',
      '/rooms/5/mutes/u2 {"durationSeconds":3600}',
      '/rooms/5/mutes/u2',
      '/admin/users/u2/role {"role":"admin"}',
      '/admin/users/u2/suspension {"reason":"spam","hideMessages":true}',
      '/admin/users/u2/suspension',
      '/messages/9?reason=off+topic',
      '/messages/10',
    ]);
  });

  it('a refresh refused because the account is suspended ends the session and keeps why', async () => {
    let suspended = false;
    const { c } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, login('A'));
      if (url.endsWith('/auth/refresh')) {
        return suspended
          ? json(403, { code: 'account_suspended', title: 'Forbidden', suspendedUntil: null, reason: 'spam' })
          : json(401, { code: 'invalid_refresh_token', title: 'Unauthorized' });
      }
      return json(401, { code: 'token_revoked', title: 'Unauthorized' });
    });
    const ended: (string | null)[] = [];
    c.onSession((s) => ended.push(s ? 'session' : c.endReason?.userMessage ?? 'ended'));
    await c.login('a@x', 'pw');
    suspended = true;
    await expect(c.me()).rejects.toBeInstanceOf(ApiError);
    expect(c.token).toBeNull();
    expect(ended).toEqual(['session', 'This account is suspended until further notice. Reason: spam']);
    // A new session forgets it.
    await c.login('a@x', 'pw');
    expect(c.endReason).toBeNull();
  });
});


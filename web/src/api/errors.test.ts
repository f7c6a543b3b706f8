import { describe, expect, it } from 'vitest';
import { ApiError, errorFromResponse, normalizeFieldErrors } from './errors';

describe('problem+json', () => {
  it('reads code, title, detail and field errors', async () => {
    const res = new Response(
      JSON.stringify({
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        code: 'username_taken',
        detail: 'That username is taken.',
        errors: [{ field: 'username', message: 'already taken' }],
      }),
      { status: 409, headers: { 'content-type': 'application/problem+json' } },
    );
    const e = await errorFromResponse(res);
    expect(e.code).toBe('username_taken');
    expect(e.userMessage).toBe('That username is taken.');
    expect(e.fieldErrors).toEqual({ username: 'already taken' });
  });

  it('survives a non-JSON body', async () => {
    const e = await errorFromResponse(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(e.status).toBe(502);
    expect(e.userMessage).toBe('The server is having trouble (502 Bad Gateway). Try again in a moment.');
  });

  it('mentions Retry-After on 429', async () => {
    const e = await errorFromResponse(new Response('{}', { status: 429, headers: { 'retry-after': '12' } }));
    expect(e.retryAfter).toBe(12);
    expect(e.userMessage).toContain('12 s');
  });

  it('says cap refusals and rate limits in plain words', async () => {
    const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
      errorFromResponse(
        new Response(JSON.stringify({ status, code, title: 'Forbidden', detail: 'server wording' }), {
          status,
          headers: { 'content-type': 'application/problem+json', ...headers },
        }),
      );
    expect((await problem(403, 'too_many_rooms_owned')).userMessage).toMatch(/^You own as many rooms as one person may\./);
    expect((await problem(403, 'too_many_rooms')).userMessage).toMatch(/already in as many rooms/);
    expect((await problem(403, 'room_full')).userMessage).toMatch(/^This room has as many members as a room may have\./);
    expect((await problem(429, 'rate_limited', { 'retry-after': '30' })).userMessage).toBe(
      'You are doing that too often. Try again in 30 s.',
    );
    // Other refusals keep the server's detail.
    expect((await problem(403, 'not_room_owner')).userMessage).toBe('server wording');
  });

  it('normalises the usual field-error shapes', () => {
    expect(normalizeFieldErrors({ email: ['bad'], password: 'short' })).toEqual({ email: 'bad', password: 'short' });
    expect(normalizeFieldErrors([{ pointer: '/password', detail: 'too long' }])).toEqual({ password: 'too long' });
    expect(normalizeFieldErrors([{ name: 'body.username', reason: 'invalid' }])).toEqual({ username: 'invalid' });
    expect(normalizeFieldErrors(undefined)).toEqual({});
    expect(normalizeFieldErrors('nonsense')).toEqual({});
  });

  it('falls back to the title, then the status', () => {
    expect(new ApiError(404, 'x', 'Not Found', undefined).userMessage).toBe('Not Found');
    expect(new ApiError(500, 'x', '', undefined).userMessage).toBe('The server is having trouble (500). Try again in a moment.');
    expect(new ApiError(418, 'x', '', undefined).userMessage).toBe('Request failed (418).');
  });

  it('keeps the problem’s extension members and says moderation refusals in the app’s words', async () => {
    const problem = (status: number, body: Record<string, unknown>) =>
      errorFromResponse(new Response(JSON.stringify({ status, title: 'Forbidden', detail: 'server wording', ...body }), { status }));
    const suspended = await problem(403, { code: 'account_suspended', suspendedUntil: null, reason: 'spamming general' });
    expect(suspended.extensions).toMatchObject({ suspendedUntil: null, reason: 'spamming general' });
    expect(suspended.userMessage).toBe('This account is suspended until further notice. Reason: spamming general');
    const until = await problem(403, { code: 'account_suspended', suspendedUntil: '2099-07-01T13:30:00Z', reason: 'cool off' });
    expect(until.userMessage).toMatch(/^This account is suspended until .*2099.*\. Reason: cool off$/);
    const muted = await problem(403, { code: 'muted', until: '2099-07-01T13:30:00Z' });
    expect(muted.userMessage).toMatch(/^You are muted in this room until .*2099/);
    expect((await problem(403, { code: 'muted' })).userMessage).toBe('You are muted in this room.');
    expect((await problem(409, { code: 'already_reported' })).userMessage).toMatch(/already reported this message/);
    expect((await problem(403, { code: 'blocked' })).userMessage).toMatch(/one of you has blocked the other/);
    expect((await problem(403, { code: 'admin_required' })).userMessage).toBe('Only administrators can do that.');
    expect((await problem(503, { code: 'auth_unavailable' })).userMessage).toMatch(/account service is not answering/);
  });
});

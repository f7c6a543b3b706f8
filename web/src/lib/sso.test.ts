import { describe, expect, it } from 'vitest';
import { ssoButtonLabel, ssoErrorMessage, ssoParams, ssoStartUrl } from './sso';

describe('single sign-on', () => {
  it('starts at auth-service with a local returnTo only', () => {
    expect(ssoStartUrl('', '/chat/3?seq=9')).toBe('/auth/oidc/start?returnTo=%2Fchat%2F3%3Fseq%3D9');
    expect(ssoStartUrl('https://api.example.com', '/')).toBe('https://api.example.com/auth/oidc/start?returnTo=%2F');
    expect(ssoStartUrl('', '//evil.example')).toBe('/auth/oidc/start?returnTo=%2F');
    expect(ssoStartUrl('', 'https://evil.example')).toBe('/auth/oidc/start?returnTo=%2F');
  });

  it('says something clear for every callback error', () => {
    for (const code of ['sso_state_invalid', 'sso_domain_not_allowed', 'sso_email_unverified', 'sso_failed']) {
      expect(ssoErrorMessage(code)).toMatch(/\.$/);
    }
    expect(ssoErrorMessage('sso_domain_not_allowed')).toContain('domain');
    expect(ssoErrorMessage('something_new')).toBe(ssoErrorMessage('sso_failed'));
  });

  it('reads the error and the link token from the query', () => {
    expect(ssoParams(new URLSearchParams('sso_error=sso_failed'))).toEqual({ error: 'sso_failed', linkToken: null });
    expect(ssoParams(new URLSearchParams('sso_link=abc'))).toEqual({ error: null, linkToken: 'abc' });
  });

  it('names the provider on the button only when enabled', () => {
    expect(ssoButtonLabel({ enabled: true, displayName: 'Example ID' })).toBe('Sign in with Example ID');
    expect(ssoButtonLabel({ enabled: true, displayName: null })).toBe('Sign in with single sign-on');
    expect(ssoButtonLabel({ enabled: false, displayName: null })).toBeNull();
    expect(ssoButtonLabel(null)).toBeNull();
  });
});

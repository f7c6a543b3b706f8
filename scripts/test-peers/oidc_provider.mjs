// A real OpenID Connect provider for the single sign-on tests: the npm `oidc-provider`
// package (a certified implementation) with fixed test accounts and its own login page
// (devInteractions: any password, the login names the account).
//
// Usage: node oidc_provider.mjs CONFIG_JSON
//   CONFIG_JSON: {"port": 0, "clients": [{"client_id", "client_secret", "redirect_uris"}],
//                 "idTokenAudience": null | ["aud", ...]}
// Prints {"issuer": "http://127.0.0.1:PORT"} (one line) once it listens; runs until stdin
// closes or it is killed. Finds oidc-provider in $TEST_PEERS_NODE_MODULES (installed by
// scripts/test-peers.sh outside the clone), else beside this script.
//
// `idTokenAudience` is the one thing a certified provider never does on its own: it re-signs
// every ID token of the token endpoint, with the provider's own key, for those audiences and
// without `azp` — a token endpoint handing out an ID token meant for another client, which
// the relying party must refuse.

import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.TEST_PEERS_NODE_MODULES
  ?? path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules');
const load = (name, entry) => import(pathToFileURL(path.join(modules, name, entry)).href);
const { default: Provider } = await load('oidc-provider', 'lib/index.js');
const jose = await load('jose', 'dist/webapi/index.js');

const config = JSON.parse(process.argv[2] ?? '{}');

// The people the provider knows, by login name.
const ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', name: 'Alice Example' },
  bob: { email: 'bob@example.com', email_verified: true, preferred_username: 'bob', name: 'Bob Example' },
  // Someone whose preferred name is already taken here.
  erin: { email: 'erin@example.com', email_verified: true, preferred_username: 'alice', name: 'Erin Example' },
  carol: { email: 'carol@elsewhere.test', email_verified: true, preferred_username: 'carol', name: 'Carol Elsewhere' },
  dave: { email: 'dave@example.com', email_verified: false, preferred_username: 'dave', name: 'Dave Unverified' },
};

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
// A new key (and kid) at every start: a provider restarted on the same port has rotated its key.
const signingJwk = {
  ...(await jose.exportJWK(privateKey)),
  kid: `key-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
  alg: 'RS256',
  use: 'sig',
};

const server = http.createServer();
await new Promise((resolve) => server.listen(config.port ?? 0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['oidc-provider test cookie key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  // First-party clients: consent is given once the person has signed in.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});

if (Array.isArray(config.idTokenAudience)) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.body && typeof ctx.body === 'object' && ctx.body.id_token) {
      const claims = jose.decodeJwt(ctx.body.id_token);
      delete claims.azp;
      claims.aud = config.idTokenAudience;
      ctx.body = {
        ...ctx.body,
        id_token: await new jose.SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid })
          .sign(privateKey),
      };
    }
  });
}

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
// stdout carries that one line only: the reader may stop reading after it, and a write to
// a closed pipe would end this process. oidc-provider's notices go to stderr.
console.log = console.info = console.error;
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

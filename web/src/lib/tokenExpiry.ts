// Whether a socket's identity is older than the access token the app holds.
//
// `ready.expiresAt` says when the token behind the connection's ticket runs out. A refresh
// that lands between asking for the ticket and `ready` cannot be handed to the socket (it is
// not ready yet), so the connection would run on the old token until a 4001 close. The
// clocks differ (the server's Unix seconds, this browser's expiry estimate), so only a
// clearly later token counts; a needless `refreshToken` is harmless anyway.

const SLACK_MS = 60_000;

export function socketTokenIsOlder(socketExpiresAtSec: number | undefined, tokenExpiresAtMs: number | null): boolean {
  if (socketExpiresAtSec === undefined || !Number.isFinite(socketExpiresAtSec) || tokenExpiresAtMs === null) return false;
  return tokenExpiresAtMs - socketExpiresAtSec * 1000 > SLACK_MS;
}

// Client-side checks mirroring the server's rules (the services' OpenAPI documents), so users get quick
// feedback; the server stays the authority.

export function usernameError(u: string): string | undefined {
  if (u.length < 3 || u.length > 32) return 'Use 3 to 32 characters.';
  if (!/^[A-Za-z0-9_.-]+$/.test(u)) return 'Letters, digits, "_", "." and "-" only.';
  return undefined;
}

export function emailError(e: string): string | undefined {
  if (!/^[^\s@]+@[^\s@]+$/.test(e.trim())) return 'Enter a valid e-mail address.';
  return undefined;
}

export function passwordError(p: string): string | undefined {
  // Characters as the server counts them (code points).
  const chars = [...p].length;
  if (chars < 8) return 'Use at least 8 characters.';
  if (chars > 1024) return 'Use at most 1024 characters.';
  return undefined;
}

export function messageError(content: string): string | undefined {
  const t = content.trim();
  if (t.length === 0) return 'Type a message first.';
  if ([...t].length > 4000) return 'Messages are limited to 4000 characters.';
  return undefined;
}

/** Drops undefined entries so `Object.keys(errors).length` tells whether the form is valid. */
export function compact(errors: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors)) if (v) out[k] = v;
  return out;
}

/** A report's reason: 1 to 1000 characters. */
export function reportReasonError(reason: string): string | undefined {
  return reasonError(reason, 1000, 'Say what is wrong with it.');
}

/**
 * A moderator's reason (a suspension's: required, 1 to 500) or note (optional: `empty`
 * undefined). Counted in characters as the server counts them (code points).
 */
export function reasonError(reason: string, max: number, empty?: string): string | undefined {
  const t = reason.trim();
  if (t.length === 0) return empty;
  if ([...t].length > max) return `Use at most ${max} characters.`;
  return undefined;
}

// The data export's file (POST /users/me/export, JSON Lines): is it whole, and its name.
/** Whether the tail of an export is its `end` line (the last line, `{"type":"end",...}`). */
export function endsWithEndLine(tail: string): boolean {
  const lines = tail.split('\n').filter((l) => l.trim() !== '');
  const last = lines[lines.length - 1];
  if (!last) return false;
  try {
    return (JSON.parse(last) as { type?: unknown }).type === 'end';
  } catch {
    return false;
  }
}

/** The file name a `Content-Disposition: attachment; filename="..."` gives, or a default. */
export function exportFileName(disposition: string | null): string {
  const name = disposition?.match(/filename="([^"\\/]+)"/)?.[1];
  return name && name.endsWith('.jsonl') ? name : 'cloudchat-export.jsonl';
}

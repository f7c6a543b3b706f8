import { describe, expect, it } from 'vitest';
import { endsWithEndLine, exportFileName } from './dataExport';

describe('endsWithEndLine', () => {
  it('accepts an export whose last line is the end line', () => {
    expect(endsWithEndLine('{"type":"message","content":"hi"}\n{"type":"end","lines":7}\n')).toBe(true);
    expect(endsWithEndLine('ncated line"}\n{"type":"end","lines":7}')).toBe(true);
  });

  it('refuses one cut short, empty, or ending otherwise', () => {
    expect(endsWithEndLine('{"type":"message","content":"hi"}\n{"type":"mess')).toBe(false);
    expect(endsWithEndLine('{"type":"message","content":"hi"}\n')).toBe(false);
    expect(endsWithEndLine('')).toBe(false);
    expect(endsWithEndLine('\n\n')).toBe(false);
  });
});

describe('exportFileName', () => {
  it('takes the server name of a JSON Lines file', () => {
    expect(exportFileName('attachment; filename="cloudchat-alice-2026-11-30.jsonl"')).toBe(
      'cloudchat-alice-2026-11-30.jsonl',
    );
  });

  it('falls back on anything else', () => {
    expect(exportFileName(null)).toBe('cloudchat-export.jsonl');
    expect(exportFileName('attachment; filename="../../evil.sh"')).toBe('cloudchat-export.jsonl');
    expect(exportFileName('attachment; filename="a.exe"')).toBe('cloudchat-export.jsonl');
  });
});

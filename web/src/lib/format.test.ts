import { describe, expect, it } from 'vitest';
import { formatTime, hueOf, typingText } from './format';

describe('format', () => {
  it('writes typing indicators', () => {
    expect(typingText([])).toBe('');
    expect(typingText(['bob'])).toBe('bob is typing…');
    expect(typingText(['bob', 'carol'])).toBe('bob and carol are typing…');
    expect(typingText(['a', 'b', 'c'])).toBe('3 people are typing…');
  });
  it('shows only the time for today and adds the date otherwise', () => {
    const now = new Date('2025-03-10T15:00:00');
    expect(formatTime(new Date('2025-03-10T09:05:00').toISOString(), now)).not.toMatch(/Mar|2025/);
    expect(formatTime(new Date('2025-03-01T09:05:00').toISOString(), now).length).toBeGreaterThan(5);
    expect(formatTime('garbage', now)).toBe('');
    expect(formatTime(null, now)).toBe('');
  });
  it('gives stable hues', () => {
    expect(hueOf('abc')).toBe(hueOf('abc'));
    expect(hueOf('abc')).toBeGreaterThanOrEqual(0);
    expect(hueOf('abc')).toBeLessThan(360);
  });
});

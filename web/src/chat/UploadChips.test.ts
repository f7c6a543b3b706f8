import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { UploadItem } from '../lib/uploadQueue';
import { UploadChips, uploadsStatusText } from './UploadChips';

const it_ = (status: UploadItem['status'], extra: Partial<UploadItem> = {}): UploadItem => ({
  key: `${status}-${extra.name ?? 'f'}`,
  name: 'f.pdf',
  size: 3 * 1024 * 1024,
  type: 'application/pdf',
  status,
  loaded: 0,
  ...extra,
});
const noop = () => undefined;
const render = (items: UploadItem[]) => renderToStaticMarkup(createElement(UploadChips, { items, onRemove: noop, onRetry: noop }));

describe('upload chips', () => {
  it('shows name, bytes sent of the size, a labelled progress bar and a cancel button while uploading', () => {
    const html = render([it_('uploading', { name: 'report.pdf', loaded: 1024 * 1024 })]);
    expect(html).toContain('>report.pdf</span>');
    expect(html).toContain('1 MB of 3 MB');
    expect(html).toMatch(/<progress class="upload-progress" max="100" value="33" aria-label="Uploading report.pdf">/);
    expect(html).toContain('aria-label="Cancel upload of report.pdf"');
    expect(html).not.toContain('Retry');
  });

  it('a failed file says why, offers Retry only when it may help, and can be removed', () => {
    const refused = render([it_('failed', { name: 'huge.iso', error: 'This file is larger than 25 MB.', canRetry: false })]);
    expect(refused).toContain('role="alert">This file is larger than 25 MB.</span>');
    expect(refused).toContain('aria-label="Remove huge.iso"');
    expect(refused).not.toContain('Retry');
    const dropped = render([it_('failed', { name: 'a.pdf', error: 'Cannot reach the server.', canRetry: true })]);
    expect(dropped).toContain('aria-label="Retry a.pdf"');
  });

  it('a picture shows its preview instead of the type icon', () => {
    const html = render([it_('done', { name: 'p.png', type: 'image/png', preview: 'blob:x' })]);
    expect(html).toContain('src="blob:x"');
    expect(html).not.toContain('att-icon');
  });

  it('tells screen readers how the uploads go', () => {
    expect(uploadsStatusText([])).toBe('');
    expect(uploadsStatusText([it_('uploading'), it_('uploading', { name: 'g' })])).toBe('Uploading 2 files…');
    expect(uploadsStatusText([it_('uploading'), it_('done', { name: 'g' })])).toBe('Uploading 1 of 2 files…');
    expect(uploadsStatusText([it_('failed'), it_('done', { name: 'g' })])).toBe('1 file could not be uploaded.');
    expect(uploadsStatusText([it_('done'), it_('done', { name: 'g' })])).toBe('2 files ready to send.');
    expect(render([it_('done')])).toContain('aria-live="polite">1 file ready to send.</p>');
  });
});

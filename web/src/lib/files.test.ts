import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/errors';
import {
  admit,
  attachmentsSummary,
  DEFAULT_UPLOAD_MAX_BYTES,
  extensionOf,
  fileError,
  fileHref,
  fileKind,
  fitBox,
  formatBytes,
  iconLabel,
  isInlineImage,
  leftOutText,
  pastedImages,
  retryable,
  uploadErrorText,
} from './files';

const MiB = 1024 * 1024;

describe('formatBytes', () => {
  it('says bytes below a kilobyte', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1)).toBe('1 B');
    expect(formatBytes(1023)).toBe('1023 B');
  });

  it('uses one decimal below 10 of a unit, whole numbers above, powers of 1024', () => {
    expect(formatBytes(1024)).toBe('1 KB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(10 * 1024 + 400)).toBe('10 KB');
    expect(formatBytes(250 * 1024)).toBe('250 KB');
    expect(formatBytes(1.25 * MiB)).toBe('1.3 MB');
    expect(formatBytes(25 * MiB)).toBe('25 MB');
    expect(formatBytes(3 * 1024 * MiB)).toBe('3 GB');
  });

  it('rounds up into the next unit instead of showing 1024 of one', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1 MB');
    expect(formatBytes(1024 * 1023.7)).toBe('1 MB');
  });

  it('says nothing for nonsense', () => {
    expect(formatBytes(-1)).toBe('');
    expect(formatBytes(Number.NaN)).toBe('');
  });
});

describe('limits', () => {
  it('refuses files over the limit and empty files, in words', () => {
    expect(fileError({ size: DEFAULT_UPLOAD_MAX_BYTES }, DEFAULT_UPLOAD_MAX_BYTES)).toBeUndefined();
    expect(fileError({ size: DEFAULT_UPLOAD_MAX_BYTES + 1 }, DEFAULT_UPLOAD_MAX_BYTES)).toBe('This file is larger than 25 MB.');
    expect(fileError({ size: 2 * MiB }, MiB)).toBe('This file is larger than 1 MB.');
    expect(fileError({ size: 0 }, MiB)).toBe('This file is empty.');
  });

  it('takes files up to ten per message and counts the rest', () => {
    const files = Array.from({ length: 4 }, (_, i) => i);
    expect(admit(0, files)).toEqual({ taken: [0, 1, 2, 3], leftOut: 0 });
    expect(admit(8, files)).toEqual({ taken: [0, 1], leftOut: 2 });
    expect(admit(10, files)).toEqual({ taken: [], leftOut: 4 });
    expect(admit(12, files, 10)).toEqual({ taken: [], leftOut: 4 });
    expect(leftOutText(2)).toBe('At most 10 files per message: 2 were left out.');
    expect(leftOutText(1)).toBe('At most 10 files per message: 1 was left out.');
  });
});

describe('uploadErrorText', () => {
  const err = (status: number, code: string, retryAfter?: number) => new ApiError(status, code, 'T', 'server words', {}, retryAfter);

  it('says each refusal in the app’s words', () => {
    expect(uploadErrorText(err(413, 'upload_too_large'), DEFAULT_UPLOAD_MAX_BYTES)).toBe('This file is larger than 25 MB.');
    expect(uploadErrorText(err(413, 'http_413'), 10 * MiB)).toBe('This file is larger than 10 MB.');
    expect(uploadErrorText(err(413, 'upload_quota_exceeded'), MiB)).toMatch(/used all the space/);
    expect(uploadErrorText(err(429, 'upload_quota_exceeded'), MiB)).toMatch(/used all the space/);
    expect(uploadErrorText(err(429, 'rate_limited', 7), MiB)).toBe('Too many uploads in a short time. Try again in 7 s.');
    expect(uploadErrorText(err(415, 'unsupported_media_type'), MiB)).toBe('This kind of file cannot be sent.');
    expect(uploadErrorText(err(400, 'bad_request'), MiB)).toBe('server words');
    expect(uploadErrorText(new ApiError(0, 'network_error', 'N', 'Cannot reach the server. Check your connection.'), MiB)).toMatch(/Cannot reach/);
  });

  it('tells which failures may pass when tried again', () => {
    expect(retryable(err(413, 'upload_too_large'))).toBe(false);
    expect(retryable(err(415, 'x'))).toBe(false);
    expect(retryable(err(429, 'rate_limited'))).toBe(true);
    expect(retryable(err(503, 'x'))).toBe(true);
    expect(retryable(new ApiError(0, 'network_error', 'N', undefined))).toBe(true);
  });
});

describe('kinds of file', () => {
  it('shows JPEG, PNG, GIF and WebP inline, and nothing else', () => {
    for (const t of ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'IMAGE/PNG']) expect(isInlineImage({ contentType: t })).toBe(true);
    for (const t of ['image/svg+xml', 'application/pdf', 'text/html', 'image/tiff']) expect(isInlineImage({ contentType: t })).toBe(false);
  });

  it('picks the icon from the sniffed type first, then the name', () => {
    expect(fileKind('application/pdf', 'report')).toBe('pdf');
    expect(fileKind('application/octet-stream', 'report.pdf')).toBe('pdf');
    expect(fileKind('audio/mpeg', 'x.bin')).toBe('audio');
    expect(fileKind('video/mp4', 'clip')).toBe('video');
    expect(fileKind('application/zip', 'stuff.docx')).toBe('document');
    expect(fileKind('application/zip', 'stuff')).toBe('archive');
    expect(fileKind('application/gzip', 'dump')).toBe('archive');
    expect(fileKind('text/plain', 'notes')).toBe('text');
    expect(fileKind('text/plain', 'main.rs')).toBe('code');
    expect(fileKind('text/csv', 'data.csv')).toBe('spreadsheet');
    expect(fileKind('image/svg+xml', 'logo.svg')).toBe('image');
    expect(fileKind('application/octet-stream', 'blob')).toBe('other');
  });

  it('labels the icon with a short extension, else the kind', () => {
    expect(iconLabel('application/pdf', 'Q3 report.pdf')).toBe('PDF');
    expect(iconLabel('application/pdf', 'report')).toBe('PDF');
    expect(iconLabel('application/octet-stream', 'archive.backup')).toBe('FILE');
    expect(iconLabel('audio/ogg', 'voice.opus')).toBe('OPUS');
    expect(iconLabel('video/webm', 'clip.matroska')).toBe('VID');
    expect(iconLabel('application/zip', 'backup')).toBe('ZIP');
    expect(extensionOf('.bashrc')).toBe('');
    expect(extensionOf('a.')).toBe('');
    expect(extensionOf('a.TAR.GZ')).toBe('gz');
  });

  it('sums up a message of files for screen readers and quotes', () => {
    expect(attachmentsSummary([])).toBe('');
    expect(attachmentsSummary([{ name: 'a.png', contentType: 'image/png' }])).toBe('a.png');
    expect(attachmentsSummary([{ name: 'a.png', contentType: 'image/png' }, { name: 'b.jpg', contentType: 'image/jpeg' }])).toBe('2 images');
    expect(attachmentsSummary([{ name: 'a.png', contentType: 'image/png' }, { name: 'b.pdf', contentType: 'application/pdf' }])).toBe('2 files');
  });
});

describe('fitBox', () => {
  it('keeps the aspect ratio, scaling down to fit and never up', () => {
    expect(fitBox(480, 360, 320, 240)).toEqual({ width: 320, height: 240 });
    expect(fitBox(480, 120, 320, 240)).toEqual({ width: 320, height: 80 });
    expect(fitBox(100, 1000, 320, 240)).toEqual({ width: 24, height: 240 });
    expect(fitBox(64, 48, 320, 240)).toEqual({ width: 64, height: 48 });
    expect(fitBox(10_000, 1, 320, 240)).toEqual({ width: 320, height: 1 });
  });

  it('has no box when the size is unknown', () => {
    expect(fitBox(undefined, 100, 320, 240)).toBeUndefined();
    expect(fitBox(100, 0, 320, 240)).toBeUndefined();
  });
});

describe('fileHref', () => {
  it('puts the API base before a relative file path', () => {
    expect(fileHref('', '/files/abc')).toBe('/files/abc');
    expect(fileHref('https://api.example.org/', '/files/abc/thumbnail')).toBe('https://api.example.org/files/abc/thumbnail');
    expect(fileHref('https://api.example.org', 'files/abc')).toBe('https://api.example.org/files/abc');
  });

  it('leaves an absolute URL (a presigned one) alone', () => {
    expect(fileHref('https://api.example.org', 'https://s3.example.org/b/k?X-Amz-Signature=1')).toBe('https://s3.example.org/b/k?X-Amz-Signature=1');
  });
});

describe('pastedImages', () => {
  const clip = (text: string, files: { type: string; name: string }[]) => ({ files, getData: (f: string) => (f === 'text/plain' ? text : '') });

  it('takes the images of a paste that holds no text', () => {
    const png = { type: 'image/png', name: 'image.png' };
    expect(pastedImages(clip('', [png, { type: 'application/pdf', name: 'x.pdf' }]))).toEqual([png]);
  });

  it('leaves a paste with text to the text box (a spreadsheet sends a picture of its cells too)', () => {
    expect(pastedImages(clip('a\tb', [{ type: 'image/png', name: 'image.png' }]))).toEqual([]);
  });
});

// The files waiting in the composer: one chip each with the name, the size, a progress bar
// while it uploads, the reason when it failed (Retry when trying again may help), and a
// button that cancels the upload or takes the file off the message.

import { fileKind, formatBytes, iconLabel } from '../lib/files';
import { progressOf, type UploadItem } from '../lib/uploadQueue';

interface Props {
  items: readonly UploadItem[];
  onRemove(key: string): void;
  onRetry(key: string): void;
}

/** What a screen reader hears as the uploads go ("Uploading 2 of 3 files…", "3 files ready to send."). */
export function uploadsStatusText(items: readonly UploadItem[]): string {
  if (items.length === 0) return '';
  const going = items.filter((i) => i.status === 'uploading').length;
  const failed = items.filter((i) => i.status === 'failed').length;
  const n = (k: number) => `${k} file${k === 1 ? '' : 's'}`;
  if (going > 0) return `Uploading ${going === items.length ? n(going) : `${going} of ${n(items.length)}`}…`;
  if (failed > 0) return `${n(failed)} could not be uploaded.`;
  return `${n(items.length)} ready to send.`;
}

export function UploadChips({ items, onRemove, onRetry }: Props) {
  const status = uploadsStatusText(items);
  // The live region stays in place (a region that appears with its text is not read out).
  return (
    <>
      <p className="sr-only" aria-live="polite">
        {status}
      </p>
      {items.length > 0 && (
        <ul className="upload-list" aria-label="Files to send" data-testid="upload-list">
          {items.map((item) => {
            const pct = Math.round(progressOf(item) * 100);
            const kind = fileKind(item.type, item.name);
            const removeLabel = item.status === 'uploading' ? `Cancel upload of ${item.name}` : `Remove ${item.name}`;
            return (
              <li
                key={item.key}
                className={`upload-chip upload-${item.status}`}
                data-testid="upload-chip"
                data-status={item.status}
                data-name={item.name}
              >
                {item.preview ? (
                  <img className="upload-preview" src={item.preview} alt="" aria-hidden="true" />
                ) : (
                  <span className={`att-icon att-icon-small att-icon-${kind}`} aria-hidden="true">
                    {iconLabel(item.type, item.name)}
                  </span>
                )}
                <span className="upload-text">
                  <span className="upload-name" title={item.name}>
                    {item.name}
                  </span>
                  <span className="upload-size">
                    {item.status === 'uploading'
                      ? `${formatBytes(item.loaded)} of ${formatBytes(item.size)}`
                      : formatBytes(item.size)}
                  </span>
                  {item.status === 'uploading' && (
                    <progress className="upload-progress" max={100} value={pct} aria-label={`Uploading ${item.name}`}>
                      {pct}%
                    </progress>
                  )}
                  {item.status === 'failed' && (
                    <span className="upload-error" role="alert">
                      {item.error}
                    </span>
                  )}
                </span>
                {item.status === 'failed' && item.canRetry && (
                  <button type="button" className="link-button small" onClick={() => onRetry(item.key)} aria-label={`Retry ${item.name}`}>
                    Retry
                  </button>
                )}
                <button type="button" className="icon-button upload-remove" onClick={() => onRemove(item.key)} aria-label={removeLabel} title={removeLabel}>
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}

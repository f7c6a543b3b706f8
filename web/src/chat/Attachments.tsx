// A message's files: pictures inline as thumbnails (drawn at their final size before they
// load, so the list does not jump), opening a lightbox with the full image and a download
// link; every other file as a card with an icon by type, its name, size and a download link.
// The files load with the /files cookie (no header); a picture that fails asks for the
// cookie again once and retries, which covers a cookie that expired or was not set yet.

import { useState, type ImgHTMLAttributes } from 'react';
import type { Attachment, Upload } from '../api/types';
import { useMaybeAuth } from '../auth/AuthProvider';
import { useModalDialog } from '../components/useModalDialog';
import { config } from '../config';
import { fileHref, fileKind, fitBox, formatBytes, iconLabel, isInlineImage } from '../lib/files';

/** The largest a thumbnail is drawn in the list (CSS pixels). */
const THUMB_MAX_W = 320;
const THUMB_MAX_H = 240;

export function Attachments({ list }: { list: readonly Attachment[] }) {
  const [open, setOpen] = useState<Attachment | null>(null);
  if (list.length === 0) return null;
  const images = list.filter(isInlineImage);
  const files = list.filter((a) => !isInlineImage(a));
  return (
    <div className="msg-attachments" data-testid="attachments">
      {images.length > 0 && (
        <div className="att-images">
          {images.map((a) => (
            <ImageThumb key={a.id} att={a} onOpen={() => setOpen(a)} />
          ))}
        </div>
      )}
      {files.map((a) => (
        <FileCard key={a.id} att={a} />
      ))}
      {open && (
        <Lightbox att={open} onClose={() => setOpen(null)} />
      )}
    </div>
  );
}

/** An `<img>` of a /files URL that, on a load error, renews the cookie once and tries again. */
function FileImage({ path, alt, ...rest }: { path: string; alt: string } & ImgHTMLAttributes<HTMLImageElement>) {
  const api = useMaybeAuth()?.api;
  const [attempt, setAttempt] = useState(0);
  const base = fileHref(config().apiBase, path);
  const src = attempt === 0 ? base : `${base}${base.includes('?') ? '&' : '?'}r=${attempt}`;
  return (
    <img
      {...rest}
      src={src}
      alt={alt}
      onError={() => {
        if (attempt > 0 || !api) return;
        void api.renewFilesCookie().then(() => setAttempt(1));
      }}
    />
  );
}

function ImageThumb({ att, onOpen }: { att: Attachment; onOpen(): void }) {
  // The thumbnail's own size when there is one (at most 480 px), else the picture's.
  const box = fitBox(att.width, att.height, THUMB_MAX_W, THUMB_MAX_H);
  const path = att.thumbnailUrl ?? att.url;
  return (
    <button
      type="button"
      className={`att-image${box ? '' : ' att-image-unsized'}`}
      style={box ? { width: box.width, height: box.height } : undefined}
      onClick={onOpen}
      aria-label={`Open image ${att.name} (${formatBytes(att.size)})`}
      aria-haspopup="dialog"
      data-testid="attachment-image"
      data-attachment-id={att.id}
    >
      <FileImage
        path={path}
        alt={att.name}
        width={box?.width}
        height={box?.height}
        loading="lazy"
        decoding="async"
        draggable={false}
      />
    </button>
  );
}

function FileCard({ att }: { att: Attachment }) {
  const kind = fileKind(att.contentType, att.name);
  const href = fileHref(config().apiBase, att.url);
  const size = formatBytes(att.size);
  return (
    <div className="att-file" data-testid="attachment-file" data-attachment-id={att.id} data-kind={kind}>
      <span className={`att-icon att-icon-${kind}`} aria-hidden="true">
        {iconLabel(att.contentType, att.name)}
      </span>
      <span className="att-file-text">
        <span className="att-file-name" title={att.name}>
          {att.name}
        </span>
        <span className="att-file-size">{size}</span>
      </span>
      <a className="att-download button button-small" href={href} download={att.name} aria-label={`Download ${att.name} (${size})`}>
        Download
      </a>
    </div>
  );
}

/**
 * The full image in a modal dialog (native <dialog>: the page behind is inert, Escape
 * closes), with its name, size and a download link. A click outside the picture closes too.
 */
function Lightbox({ att, onClose }: { att: Attachment; onClose(): void }) {
  const ref = useModalDialog(onClose, (dlg) => dlg.querySelector<HTMLElement>('.lightbox-close'));
  const href = fileHref(config().apiBase, att.url);

  return (
    <dialog
      ref={ref}
      className="lightbox"
      aria-label={`Image: ${att.name}`}
      data-testid="lightbox"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget || (e.target as HTMLElement).classList.contains('lightbox-stage')) onClose();
      }}
    >
      <div className="lightbox-bar">
        <span className="lightbox-name" title={att.name}>
          {att.name}
        </span>
        <span className="lightbox-size">{formatBytes(att.size)}</span>
        <a className="button button-small" href={href} download={att.name} data-testid="lightbox-download">
          Download
        </a>
        <button type="button" className="icon-button lightbox-close" aria-label="Close" title="Close (Esc)" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="lightbox-stage">
        <FileImage path={att.url} alt={att.name} width={att.width} height={att.height} data-testid="lightbox-image" />
      </div>
    </dialog>
  );
}

/** The files of a message not acknowledged yet (uploaded, not attached): names and sizes. */
export function PendingAttachments({ list }: { list: readonly Upload[] }) {
  if (list.length === 0) return null;
  return (
    <ul className="msg-pending-files" aria-label="Files">
      {list.map((u) => (
        <li key={u.id}>
          <span className={`att-icon att-icon-small att-icon-${fileKind(u.contentType, u.name)}`} aria-hidden="true">
            {iconLabel(u.contentType, u.name)}
          </span>{' '}
          {u.name} <span className="muted">({formatBytes(u.size)})</span>
        </li>
      ))}
    </ul>
  );
}

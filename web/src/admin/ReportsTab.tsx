// The report queue (`GET /reports`): open or resolved, newest first, "Load more". Each report
// shows the reported text as it was, its author, the reporter and their reason, the room and a
// link to the message. Open ones are resolved with an optional note: dismiss, delete the
// message, mute its author in the room for a while, or (admins) suspend the author. Resolving
// one resolves every open report of the same message.

import { useState } from 'react';
import { Link } from 'react-router-dom';
import { messageOf } from '../api/errors';
import type { Report, ResolveReport, User } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { FormError } from '../components/Field';
import { PagedFooter } from '../components/PagedFooter';
import { usePaged } from '../components/usePaged';
import { SuspendDialog } from '../dialogs/SuspendDialog';
import { formatFull, formatTime } from '../lib/format';
import { isAdmin, MUTE_DURATIONS, REPORT_ACTIONS, reportRoomWords } from '../lib/moderation';
import { messagePath } from '../lib/search';
import { reasonError } from '../lib/validate';

/** `roomId`: only that room's reports (a room's moderators, from its settings). */
export function ReportsTab({ me, roomId }: { me: User; roomId?: number }) {
  const { api } = useAuth();
  const [status, setStatus] = useState<'open' | 'resolved'>('open');
  const [done, setDone] = useState<string | null>(null);
  const list = usePaged<Report>(
    async (cursor) => {
      const page = await api.reports({ status, roomId, cursor });
      return { items: page.reports, nextCursor: page.nextCursor, hasMore: page.hasMore };
    },
    `${status}|${roomId ?? ''}`,
  );

  /** A report was resolved: it and the other open reports of its message leave the open list. */
  function resolved(r: Report) {
    setDone(`Resolved: ${REPORT_ACTIONS[r.resolution?.action ?? 'dismiss'] ?? 'done'} (${r.message.author.username}'s message).`);
    list.update((all) => all.filter((x) => x.message.id !== r.message.id));
  }

  return (
    <section aria-label="Reports">
      <fieldset className="segmented">
        <legend className="sr-only">Show</legend>
        {(['open', 'resolved'] as const).map((s) => (
          <label key={s} className={status === s ? 'segment active' : 'segment'}>
            <input
              type="radio"
              name="report-status"
              value={s}
              checked={status === s}
              onChange={() => {
                setDone(null);
                setStatus(s);
              }}
            />
            {s === 'open' ? 'Open' : 'Resolved'}
          </label>
        ))}
      </fieldset>
      {done && (
        <p className="success" role="status" data-testid="report-done">
          {done}
        </p>
      )}
      <FormError message={list.error} />
      {list.items && list.items.length === 0 && <p className="muted">{status === 'open' ? 'No open reports. All clear.' : 'No resolved reports yet.'}</p>}
      <ul className="report-list">
        {(list.items ?? []).map((r) => (
          <ReportCard key={r.id} report={r} admin={isAdmin(me.role)} onResolved={resolved} />
        ))}
      </ul>
      <PagedFooter list={list} />
    </section>
  );
}

function ReportCard({ report: r, admin, onResolved }: { report: Report; admin: boolean; onResolved(r: Report): void }) {
  const { api } = useAuth();
  const [note, setNote] = useState('');
  const [muteFor, setMuteFor] = useState(MUTE_DURATIONS[1].seconds ?? 3600);
  const [suspending, setSuspending] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const noteId = `report-${r.id}-note`;
  const author = r.message.author.username;

  async function resolve(body: ResolveReport): Promise<void> {
    const bad = reasonError(note, 1000);
    if (bad) throw new Error(`Note: ${bad}`);
    const answer = await api.resolveReport(r.id, { ...body, ...(note.trim() ? { note: note.trim() } : {}) });
    onResolved(answer);
  }

  async function run(body: ResolveReport) {
    setBusy(true);
    setError(null);
    try {
      await resolve(body);
    } catch (x) {
      setError(messageOf(x));
      setBusy(false);
    }
  }

  return (
    <li className="report" data-testid="report" data-report-id={r.id} data-status={r.status}>
      <div className="report-head">
        <span>
          <strong>{r.reporter.username}</strong> reported <strong>{author}</strong>’s message in{' '}
          <span className="report-room">{reportRoomWords(r.room)}</span>
        </span>
        <time dateTime={r.createdAt} title={formatFull(r.createdAt)} className="muted small">
          {formatTime(r.createdAt)}
        </time>
      </div>
      <blockquote className="report-quote">
        <span className="report-quote-text" data-testid="report-content">
          {r.message.content || <em className="muted">(no text)</em>}
        </span>
        {r.message.deleted && <span className="tag tag-muted">deleted</span>}
      </blockquote>
      <p className="report-reason">
        <span className="muted">Reason:</span> {r.reason}
      </p>
      <p className="small">
        <Link to={messagePath(r.message.roomId, r.message.seq)}>Open the message in the room</Link>
      </p>
      {r.status === 'resolved' && r.resolution ? (
        <p className="small report-resolution">
          <strong>{REPORT_ACTIONS[r.resolution.action] ?? r.resolution.action}</strong> by {r.resolution.by.username},{' '}
          <span title={formatFull(r.resolution.at)}>{formatTime(r.resolution.at)}</span>
          {r.resolution.note ? <> — “{r.resolution.note}”</> : null}
        </p>
      ) : (
        <div className="report-actions">
          <label htmlFor={noteId} className="small">
            Note (optional)
          </label>
          <input id={noteId} className="report-note" maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
          <div className="report-buttons" role="group" aria-label={`Resolve the report of ${author}'s message`}>
            <button type="button" className="button button-small" disabled={busy} onClick={() => void run({ action: 'dismiss' })}>
              Dismiss
            </button>
            {!r.message.deleted && (
              <button type="button" className="button button-small button-danger" disabled={busy} onClick={() => void run({ action: 'delete_message' })}>
                Delete message
              </button>
            )}
            <span className="report-mute">
              <select aria-label={`Mute ${author} for`} value={muteFor} onChange={(e) => setMuteFor(Number(e.target.value))}>
                {MUTE_DURATIONS.map((d) => (
                  <option key={d.label} value={d.seconds ?? 0}>
                    {d.label}
                  </option>
                ))}
              </select>
              <button type="button" className="button button-small" disabled={busy} onClick={() => void run({ action: 'mute', durationSeconds: muteFor })}>
                Mute {author}
              </button>
            </span>
            {admin && (
              <button type="button" className="button button-small button-danger" disabled={busy} onClick={() => setSuspending(true)}>
                Suspend {author}…
              </button>
            )}
          </div>
          <FormError message={error} />
        </div>
      )}
      {suspending && (
        <SuspendDialog
          username={author}
          reasonRequired={false}
          reasonLabel="Note (optional; kept with the report)"
          maxReason={1000}
          onSubmit={async (c) => {
            if (c.reason) setNote(c.reason);
            const answer = await api.resolveReport(r.id, {
              action: 'suspend',
              ...(c.reason ? { note: c.reason } : note.trim() ? { note: note.trim() } : {}),
              ...(c.seconds !== null ? { durationSeconds: c.seconds } : {}),
              hideMessages: c.hideMessages,
            });
            onResolved(answer);
          }}
          onClose={() => setSuspending(false)}
        />
      )}
    </li>
  );
}

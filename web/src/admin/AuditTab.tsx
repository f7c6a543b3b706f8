// The audit log (`GET /admin/audit`): every moderation and administration action, newest
// first, merged from both services, "Load more" for older ones. Filters: the action, and who
// did it (a username, looked up among the accounts; a click on a name in the list does it too).

import { useState, type FormEvent } from 'react';
import { messageOf } from '../api/errors';
import type { AuditEntry } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { FormError } from '../components/Field';
import { AdminTable } from './AdminTable';
import { usePaged } from '../components/usePaged';
import { formatFull, formatTime } from '../lib/format';
import { AUDIT_ACTIONS, auditActionLabel, auditDetails } from '../lib/moderation';

export function AuditTab() {
  const { api } = useAuth();
  const [action, setAction] = useState('');
  const [actor, setActor] = useState<{ id: string; name: string } | null>(null);
  const [actorText, setActorText] = useState('');
  const [actorError, setActorError] = useState<string | null>(null);

  const list = usePaged<AuditEntry>(
    async (cursor) => {
      const page = await api.audit({ action: action || undefined, actorId: actor?.id, cursor });
      return { items: page.entries, nextCursor: page.nextCursor, hasMore: page.hasMore };
    },
    `${action}|${actor?.id ?? ''}`,
  );

  async function findActor(e: FormEvent) {
    e.preventDefault();
    setActorError(null);
    const name = actorText.trim();
    if (!name) {
      setActor(null);
      return;
    }
    try {
      const page = await api.adminUsers({ q: name, limit: 20 });
      const hit = page.users.find((u) => u.username.toLowerCase() === name.toLowerCase());
      if (hit) setActor({ id: hit.id, name: hit.username });
      else setActorError(`Nobody is called “${name}”.`);
    } catch (x) {
      setActorError(messageOf(x));
    }
  }

  function byActor(e: AuditEntry) {
    if (!e.actor.id) return;
    setActor({ id: e.actor.id, name: e.actor.name });
    setActorText(e.actor.name);
  }

  return (
    <section aria-label="Audit log">
      <form className="admin-filters" onSubmit={findActor}>
        <label>
          Action
          <select value={action} onChange={(e) => setAction(e.target.value)} data-testid="audit-action">
            <option value="">Any</option>
            {Object.entries(AUDIT_ACTIONS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Done by
          <input type="search" value={actorText} onChange={(e) => setActorText(e.target.value)} placeholder="Username" data-testid="audit-actor" />
        </label>
        <button type="submit" className="button button-small">
          Filter
        </button>
        {actor && (
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              setActor(null);
              setActorText('');
            }}
          >
            Everyone
          </button>
        )}
      </form>
      <FormError message={actorError ?? list.error} />
      <AdminTable
        list={list}
        empty={`Nothing recorded${action || actor ? ' that matches' : ' yet'}.`}
        heads={['When', 'Who', 'What', 'Whom', 'Details', 'From']}
        className="audit-table"
        row={(e) => {
          const details = auditDetails(e);
          return (
            <tr key={e.id} data-testid="audit-entry" data-action={e.action}>
              <td title={formatFull(e.at)}>{formatTime(e.at)}</td>
              <td>
                {e.actor.id ? (
                  <button type="button" className="link-button" onClick={() => byActor(e)} title={`Only what ${e.actor.name} did`}>
                    {e.actor.name}
                  </button>
                ) : (
                  <span className="muted">{e.actor.name}</span>
                )}
              </td>
              <td>{auditActionLabel(e.action)}</td>
              <td>{e.target?.name ?? <span className="muted">—</span>}</td>
              <td className="small">
                {details && <div>{details}</div>}
                {e.reason && <div>“{e.reason}”</div>}
                {(e.roomId !== null || e.messageId !== null) && (
                  <div className="muted">
                    {e.roomId !== null ? `room ${e.roomId}` : ''}
                    {e.roomId !== null && e.messageId !== null ? ', ' : ''}
                    {e.messageId !== null ? `message ${e.messageId}` : ''}
                  </div>
                )}
              </td>
              <td className="small muted">
                {e.ip ?? '—'}
                <div>{e.source}</div>
              </td>
            </tr>
          );
        }}
      />
    </section>
  );
}

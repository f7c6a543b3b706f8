// Accounts (`GET /admin/users`): a search box (the start of a username or an e-mail), role and
// status filters, newest first with "Load more". Admins change roles, suspend (a reason, how
// long, whether to hide the messages) and lift suspensions; moderators only look.

import { useState } from 'react';
import type { AdminUser, InstanceRole, User } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FormError } from '../components/Field';
import { AdminTable } from './AdminTable';
import { useDebounced, usePaged } from '../components/usePaged';
import { SuspendDialog } from '../dialogs/SuspendDialog';
import { formatFull, formatTime } from '../lib/format';
import { isAdmin, ROLE_LABELS, untilFrom, untilWords } from '../lib/moderation';

type Pending =
  | { kind: 'role'; user: AdminUser; role: InstanceRole }
  | { kind: 'suspend'; user: AdminUser }
  | { kind: 'lift'; user: AdminUser };

const ROLES: InstanceRole[] = ['user', 'moderator', 'admin'];
const USER_HEADS = ['User', 'Role', 'Status', 'Joined', 'Last seen'];

export function UsersTab({ me }: { me: User }) {
  const { api } = useAuth();
  const [q, setQ] = useState('');
  const [role, setRole] = useState<InstanceRole | ''>('');
  const [status, setStatus] = useState<'active' | 'suspended' | ''>('');
  const query = useDebounced(q.trim(), 250);
  const [pending, setPending] = useState<Pending | null>(null);
  const admin = isAdmin(me.role);

  const list = usePaged<AdminUser>(
    async (cursor) => {
      const page = await api.adminUsers({ q: query || undefined, role: role || undefined, status: status || undefined, cursor });
      return { items: page.users, nextCursor: page.nextCursor, hasMore: page.hasMore };
    },
    `${query}|${role}|${status}`,
  );
  const replace = (u: AdminUser) => list.update((all) => all.map((x) => (x.id === u.id ? u : x)));

  return (
    <section aria-label="Users">
      <div className="admin-filters" role="search">
        <label>
          Search
          <input
            type="search"
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder="Username or e-mail"
            maxLength={100}
            data-testid="admin-user-search"
          />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as InstanceRole | '')}>
            <option value="">Any</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as 'active' | 'suspended' | '')}>
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="suspended">Suspended</option>
          </select>
        </label>
      </div>
      <FormError message={list.error} />
      <AdminTable
        list={list}
        empty="Nobody matches."
        heads={admin ? [...USER_HEADS, 'Actions'] : USER_HEADS}
        row={(u) => (
          <tr key={u.id} data-testid="admin-user" data-username={u.username} data-status={u.status} data-role={u.role}>
            <td>
              <strong>{u.username}</strong>
              {u.id === me.id && <span className="muted"> (you)</span>}
              <div className="muted small">{u.email}</div>
            </td>
            <td>
              <span className={`role-badge role-${u.role}`}>{ROLE_LABELS[u.role] ?? u.role}</span>
            </td>
            <td>
              {u.status === 'suspended' && u.suspension ? (
                <>
                  <span className="status-badge status-suspended">Suspended</span>
                  <div className="small">
                    {untilWords(u.suspension.until)}
                    {u.suspension.hideMessages ? ', messages hidden' : ''}
                  </div>
                  <div className="muted small" title={`Since ${formatFull(u.suspension.since)}`}>
                    “{u.suspension.reason}”
                  </div>
                </>
              ) : (
                <span className="status-badge status-active">Active</span>
              )}
            </td>
            <td title={formatFull(u.createdAt)}>{formatTime(u.createdAt)}</td>
            <td title={formatFull(u.lastSeenAt)}>{u.lastSeenAt ? formatTime(u.lastSeenAt) : <span className="muted">never</span>}</td>
            {admin && (
              <td className="admin-actions">
                {u.id !== me.id && (
                  <>
                    <select
                      aria-label={`Role of ${u.username}`}
                      value={u.role}
                      onChange={(e) => setPending({ kind: 'role', user: u, role: e.target.value as InstanceRole })}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {ROLE_LABELS[r]}
                        </option>
                      ))}
                    </select>
                    {u.status === 'suspended' ? (
                      <button type="button" className="button button-small" onClick={() => setPending({ kind: 'lift', user: u })} aria-label={`Lift the suspension of ${u.username}`}>
                        Unsuspend
                      </button>
                    ) : (
                      <button type="button" className="button button-small button-danger" onClick={() => setPending({ kind: 'suspend', user: u })} aria-label={`Suspend ${u.username}`}>
                        Suspend…
                      </button>
                    )}
                  </>
                )}
              </td>
            )}
          </tr>
        )}
      />

      {pending?.kind === 'role' && (
        <ConfirmDialog
          title={`Make ${pending.user.username} ${articled(pending.role)}?`}
          confirm="Change role"
          onConfirm={async () => replace(await api.setUserRole(pending.user.id, pending.role))}
          onClose={() => setPending(null)}
        >
          <p>
            {pending.role === 'user'
              ? 'They lose the Admin page and every moderation right across the instance.'
              : pending.role === 'moderator'
                ? 'Moderators see the Admin page, the reports and the audit log, and moderate general.'
                : 'Administrators can also change roles and suspend accounts.'}
          </p>
        </ConfirmDialog>
      )}
      {pending?.kind === 'suspend' && (
        <SuspendDialog
          username={pending.user.username}
          reasonRequired
          reasonLabel="Reason (they see it when they try to log in)"
          maxReason={500}
          onSubmit={async (c) => {
            replace(await api.suspendUser(pending.user.id, { reason: c.reason, until: untilFrom(c.seconds), hideMessages: c.hideMessages }));
          }}
          onClose={() => setPending(null)}
        />
      )}
      {pending?.kind === 'lift' && (
        <ConfirmDialog
          title={`Lift the suspension of ${pending.user.username}?`}
          confirm="Unsuspend"
          onConfirm={async () => replace(await api.unsuspendUser(pending.user.id))}
          onClose={() => setPending(null)}
        >
          <p>They can log in again at once; hidden messages show again.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function articled(role: InstanceRole): string {
  return role === 'user' ? 'a regular user' : role === 'admin' ? 'an administrator' : 'a moderator';
}

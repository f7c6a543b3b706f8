// The administration page (/admin, for moderators and admins; loaded only when opened): tabs
// Overview (instance figures), Users (search, roles, suspensions), Reports (the queue) and
// Audit (every moderation action). The tab is in the address (`?tab=users`) so it can be linked.

import { useRef, type KeyboardEvent } from 'react';
import { useSearchParams } from 'react-router-dom';
import { useAuth } from '../auth/AuthProvider';
import { isStaff } from '../lib/moderation';
import { OverviewTab } from '../admin/OverviewTab';
import { UsersTab } from '../admin/UsersTab';
import { ReportsTab } from '../admin/ReportsTab';
import { AuditTab } from '../admin/AuditTab';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'users', label: 'Users' },
  { id: 'reports', label: 'Reports' },
  { id: 'audit', label: 'Audit log' },
] as const;
type TabId = (typeof TABS)[number]['id'];

export default function AdminPage() {
  const { user } = useAuth();
  const [params, setParams] = useSearchParams();
  const asked = params.get('tab');
  const tab: TabId = TABS.some((t) => t.id === asked) ? (asked as TabId) : 'overview';
  const tabs = useRef<HTMLDivElement>(null);

  if (!user || user.role === undefined) return <p className="page muted">Loading…</p>;
  if (!isStaff(user.role)) {
    return (
      <div className="page">
        <h1>Administration</h1>
        <p className="muted">Only moderators and administrators can open this page.</p>
      </div>
    );
  }

  const pick = (id: TabId, focus = false) => {
    setParams(id === 'overview' ? {} : { tab: id }, { replace: true });
    if (focus) requestAnimationFrame(() => tabs.current?.querySelector<HTMLElement>(`#admin-tab-${id}`)?.focus());
  };

  function onKey(e: KeyboardEvent) {
    const at = TABS.findIndex((t) => t.id === tab);
    const to = e.key === 'ArrowRight' ? at + 1 : e.key === 'ArrowLeft' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (to === null) return;
    e.preventDefault();
    pick(TABS[(to + TABS.length) % TABS.length].id, true);
  }

  return (
    <div className="page admin-page">
      <h1>Administration</h1>
      <p className="muted small">
        Signed in as {user.username}, {user.role === 'admin' ? 'administrator' : 'moderator'}
        {user.role === 'moderator' ? ': you see everything here; roles and suspensions are for administrators.' : '.'}
      </p>
      <div className="tabs" role="tablist" aria-label="Administration" ref={tabs} onKeyDown={onKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            id={`admin-tab-${t.id}`}
            type="button"
            role="tab"
            className="tab"
            aria-selected={t.id === tab}
            aria-controls={`admin-panel-${t.id}`}
            tabIndex={t.id === tab ? 0 : -1}
            onClick={() => pick(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`admin-panel-${tab}`} aria-labelledby={`admin-tab-${tab}`} className="tab-panel" tabIndex={0}>
        {tab === 'overview' && <OverviewTab />}
        {tab === 'users' && <UsersTab me={user} />}
        {tab === 'reports' && <ReportsTab me={user} />}
        {tab === 'audit' && <AuditTab />}
      </div>
    </div>
  );
}

// The instance in figures (`GET /admin/stats`); a part whose service did not answer shows "—".

import { useCallback, useEffect, useState } from 'react';
import { messageOf } from '../api/errors';
import type { AdminStats } from '../api/types';
import { useAuth } from '../auth/AuthProvider';
import { FormError } from '../components/Field';
import { STAT_FIELDS, statText } from '../lib/moderation';

export function OverviewTab() {
  const { api } = useAuth();
  const [stats, setStats] = useState<AdminStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [at, setAt] = useState<Date | null>(null);

  const load = useCallback(() => {
    setError(null);
    api
      .adminStats()
      .then((s) => {
        setStats(s);
        setAt(new Date());
      })
      .catch((x) => setError(messageOf(x)));
  }, [api]);

  useEffect(load, [load]);

  const partial = stats && STAT_FIELDS.some((f) => stats[f.key] === null || stats[f.key] === undefined);
  return (
    <section aria-label="Overview">
      <FormError message={error} />
      {!stats && !error && <p className="muted">Loading…</p>}
      {stats && (
        <dl className="stat-grid">
          {STAT_FIELDS.map((f) => (
            <div key={f.key} className="stat" data-testid={`stat-${f.key}`}>
              <dt>{f.label}</dt>
              <dd>{statText(stats[f.key])}</dd>
            </div>
          ))}
        </dl>
      )}
      {partial && <p className="muted small">“—”: the service that knows this figure did not answer.</p>}
      <p className="muted small">
        {at ? `As of ${at.toLocaleTimeString()}. ` : ''}
        <button type="button" className="link-button" onClick={load}>
          Refresh
        </button>
      </p>
    </section>
  );
}

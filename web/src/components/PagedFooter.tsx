// Under a list read page by page: "Loading…" while a page is on its way, else "Load more"
// while there are more.

import type { Paged } from './usePaged';

export function PagedFooter({ list }: { list: Pick<Paged<unknown>, 'loading' | 'hasMore' | 'more'> }) {
  if (list.loading) return <p className="muted small">Loading…</p>;
  if (!list.hasMore) return null;
  return (
    <button type="button" className="button button-small" onClick={list.more}>
      Load more
    </button>
  );
}

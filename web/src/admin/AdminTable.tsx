// A table of the Admin page read page by page: what to say when it is empty, its column
// heads, one row per item, and "Load more" under it.

import type { ReactNode } from 'react';
import { PagedFooter } from '../components/PagedFooter';
import type { Paged } from '../components/usePaged';

interface Props<T> {
  list: Paged<T>;
  /** Said instead of an empty table. */
  empty: string;
  heads: readonly string[];
  className?: string;
  row(item: T): ReactNode;
}

export function AdminTable<T>({ list, empty, heads, className, row }: Props<T>) {
  return (
    <>
      {list.items && list.items.length === 0 && <p className="muted">{empty}</p>}
      {list.items && list.items.length > 0 && (
        <div className="table-wrap">
          <table className={className ? `admin-table ${className}` : 'admin-table'}>
            <thead>
              <tr>
                {heads.map((h) => (
                  <th key={h} scope="col">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{list.items.map(row)}</tbody>
          </table>
        </div>
      )}
      <PagedFooter list={list} />
    </>
  );
}

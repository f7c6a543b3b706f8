// A list read page by page with a cursor ("Load more"): the first page again whenever `key`
// changes (a new search, other filters), answers to an older key dropped, the next page
// appended. The items may be edited in place (a row changed by an action).

import { useCallback, useEffect, useRef, useState } from 'react';
import { messageOf } from '../api/errors';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  hasMore: boolean;
}

export interface Paged<T> {
  items: T[] | null;
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  more(): void;
  reload(): void;
  update(f: (items: T[]) => T[]): void;
}

export function usePaged<T>(load: (cursor: string | undefined) => Promise<Page<T>>, key: string): Paged<T> {
  const [items, setItems] = useState<T[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const fetchPage = useCallback((from: string | undefined) => {
    const my = ++run.current;
    setLoading(true);
    setError(null);
    loadRef
      .current(from)
      .then((page) => {
        if (my !== run.current) return;
        setItems((cur) => (from === undefined || !cur ? page.items : cur.concat(page.items)));
        setCursor(page.hasMore ? page.nextCursor : null);
        setHasMore(page.hasMore && !!page.nextCursor);
      })
      .catch((x) => {
        if (my === run.current) setError(messageOf(x));
      })
      .finally(() => {
        if (my === run.current) setLoading(false);
      });
  }, []);

  useEffect(() => {
    fetchPage(undefined);
  }, [fetchPage, key]);

  return {
    items,
    hasMore,
    loading,
    error,
    more: () => {
      if (cursor && !loading) fetchPage(cursor);
    },
    reload: () => fetchPage(undefined),
    update: (f) => setItems((cur) => (cur ? f(cur) : cur)),
  };
}

/** The value `ms` after it last changed (a search box's text, so a request goes once typing pauses). */
export function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

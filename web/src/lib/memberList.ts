// A room's member list read page by page: what is loaded so far, and where the next page
// starts. Pure functions so the settings dialog stays simple and the paging is unit-tested.

import type { Member, MembersPage } from '../api/types';

export interface MemberList {
  members: Member[];
  nextCursor: string | null;
  hasMore: boolean;
}

/**
 * The list once `page` has arrived: a first page replaces what was there, a later one is
 * appended. A member already listed (the list changed between two pages) is kept once.
 */
export function withPage(list: MemberList | null, page: MembersPage, first: boolean): MemberList {
  const members = first || !list ? page.members : appendNew(list.members, page.members);
  return { members, nextCursor: page.hasMore ? page.nextCursor : null, hasMore: page.hasMore && !!page.nextCursor };
}

function appendNew(have: Member[], more: Member[]): Member[] {
  const seen = new Set(have.map((m) => m.userId));
  return have.concat(more.filter((m) => !seen.has(m.userId)));
}

/** How many members to announce: the room's count while pages remain, else what is listed. */
export function memberTotal(list: MemberList | null, roomCount: number): number | null {
  if (!list) return null;
  return list.hasMore ? Math.max(roomCount, list.members.length) : list.members.length;
}

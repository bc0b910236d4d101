/**
 * The `events` of a case timeline page: the case's non-deleted events with t in the page, ordered by
 * t. A page holds cursor ≤ t < nextCursor (routes/timeline.ts; its cursors are decimal ms), the last
 * page up to `to` inclusive — so paging through a timeline yields every event exactly once.
 */
import type { Services } from '../services.js';
import { EventStore, type CaseEvent } from './event-store.js';

export interface TimelinePage {
  from: number;
  to: number;
  nextCursor?: string;
}

export function timelineEvents(s: Pick<Services, 'db' | 'cases' | 'audit'>, caseId: string, page: TimelinePage, cursor?: string): CaseEvent[] {
  const from = cursor === undefined ? page.from : Number(cursor);
  const to = page.nextCursor === undefined ? page.to : Number(page.nextCursor) - 1;
  if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) return [];
  return new EventStore(s.db, s.cases, s.audit).list(caseId, { from, to });
}

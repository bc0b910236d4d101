/**
 * Case search (GET /cases): which cases match a filter, newest first (by start, then id), in pages.
 * Location: a case belongs to a bed, room or site if any of its bindings does (one binding must
 * match every location filter given); `withinSite` keeps only cases whose bindings are all in that
 * site (what a site-limited token may reach). Time: a case [start, end) — an open one up to now —
 * matches a window [from, to) it overlaps; `day` is the UTC day YYYY-MM-DD, [00:00Z, 24:00Z).
 * `externalId` matches any value of the case's externalIds exactly. The cursor is opaque
 * (base64url of the last case's start and id).
 */
import { IngestError } from '../errors.js';
import type { Db } from '../registry/database.js';

export interface CaseFilter {
  site?: string;
  room?: string;
  bed?: string;
  /** UTC day, YYYY-MM-DD */
  day?: string;
  from?: number;
  to?: number;
  state?: 'open' | 'closed';
  externalId?: string;
  /** only cases all of whose bindings are in this site */
  withinSite?: string;
  limit?: number;
  cursor?: string;
}

export const CASE_LIST_LIMIT = { default: 50, max: 500 } as const;
const DAY_MS = 86_400_000;

const bad = (msg: string) => new IngestError('ING_ERR_BAD_REQUEST', 'data', msg);

export const encodeCaseCursor = (start: number, id: string): string => Buffer.from(`${start}\n${id}`).toString('base64url');

function decodeCursor(c: string): { start: number; id: string } {
  const [s, id, ...rest] = Buffer.from(c, 'base64url').toString('utf8').split('\n');
  const start = Number(s);
  if (rest.length || !id || !/^[0-9]{1,16}$/.test(s) || !Number.isSafeInteger(start)) throw bad('invalid cursor: pass the nextCursor of the previous page');
  return { start, id };
}

/** [from, to) of a UTC day */
export function utcDay(day: string): { from: number; to: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const from = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(from) || new Date(from).toISOString().slice(0, 10) !== day) throw bad(`invalid day ${day}: YYYY-MM-DD (UTC)`);
  return { from, to: from + DAY_MS };
}

/** The ids of one page of matching cases, and the cursor of the next page (absent on the last). */
export function queryCaseIds(db: Db, f: CaseFilter, now: number): { ids: string[]; nextCursor?: string } {
  const where: string[] = [];
  const args: (string | number | null)[] = [];
  if (f.site !== undefined || f.room !== undefined || f.bed !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM case_bindings b JOIN beds bd ON bd.id = b.bed_id JOIN rooms r ON r.id = bd.room_id
      WHERE b.case_id = c.id AND (? IS NULL OR b.bed_id = ?) AND (? IS NULL OR bd.room_id = ?) AND (? IS NULL OR r.site_id = ?))`);
    for (const v of [f.bed, f.room, f.site]) args.push(v ?? null, v ?? null);
  }
  if (f.withinSite !== undefined) {
    where.push(`NOT EXISTS (SELECT 1 FROM case_bindings b JOIN beds bd ON bd.id = b.bed_id JOIN rooms r ON r.id = bd.room_id
      WHERE b.case_id = c.id AND r.site_id <> ?)`);
    args.push(f.withinSite);
  }
  const windows: { from: number; to: number }[] = [];
  if (f.day !== undefined) windows.push(utcDay(f.day));
  if (f.from !== undefined || f.to !== undefined) {
    const w = { from: f.from ?? 0, to: f.to ?? Number.MAX_SAFE_INTEGER };
    if (w.to <= w.from) throw bad('to must be after from');
    windows.push(w);
  }
  for (const w of windows) {
    // an open case counts as ending just after now (or its start, if that is later)
    where.push('c.start < ? AND COALESCE(c.end, MAX(c.start, ?) + 1) > ?');
    args.push(w.to, now, w.from);
  }
  if (f.state !== undefined) {
    where.push('c.status = ?');
    args.push(f.state);
  }
  if (f.externalId !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(c.external_ids) j WHERE j.value = ?)');
    args.push(f.externalId);
  }
  if (f.cursor !== undefined) {
    const k = decodeCursor(f.cursor);
    where.push('(c.start < ? OR (c.start = ? AND c.id < ?))');
    args.push(k.start, k.start, k.id);
  }
  const limit = Math.min(Math.max(1, f.limit ?? CASE_LIST_LIMIT.default), CASE_LIST_LIMIT.max);
  const rows = db
    .prepare(`SELECT c.id, c.start FROM cases c${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.start DESC, c.id DESC LIMIT ?`)
    .all(...args, limit + 1) as { id: string; start: number }[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { ids: page.map((r) => r.id), ...(rows.length > limit ? { nextCursor: encodeCaseCursor(last.start, last.id) } : {}) };
}

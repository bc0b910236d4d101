/**
 * Fills the queue. For each endpoint and each open case on a bed of a site the endpoint serves:
 * - PCD-01: consecutive windows [k·I, (k+1)·I) of the endpoint's interval I (aligned to the epoch);
 *   a window is closed once `settleMs` has passed after its end; its message carries each series'
 *   newest numeric in the window (series store latestNumerics). The window's message and the new
 *   coverage mark are committed together, so windows are neither skipped nor repeated, also
 *   across a kill; after a stop (or a full queue) the missed windows are produced on the next tick.
 *   A window without numerics produces no message (the mark moves on).
 * - PCD-04: the alarms stored for the bed since the alarm mark (phases start and end; `update`
 *   is not a state change), polled on every tick, one message each, same transaction rule.
 * A case's first window starts where its binding on the bed starts, but not more than one
 * interval before the case was first seen by this producer (no backfill of old cases). A case
 * closed meanwhile is finished from its marks: its last window ends at the case end; then its
 * marks are dropped.
 */
import type { Logger } from 'pino';
import type { CaseStore } from '../cases/case-store.js';
import type { RegistryStore } from '../registry/registry-store.js';
import type { SeriesReader, StoredAlarm } from '../series/types.js';
import { buildPcd01, buildPcd04, type CaseContext } from './pcd-messages.js';
import { QueueFullError, type Mark, type NewMessage, type OutboundQueue } from './queue.js';

export interface ProducerEndpoint {
  name: string;
  intervalS: number;
  sites?: string[];
  receivingApp?: string;
  receivingFacility?: string;
  assigningAuthority?: string;
}

export interface ProducerOptions {
  endpoints: readonly ProducerEndpoint[];
  queue: OutboundQueue;
  cases: CaseStore;
  registry: RegistryStore;
  series: SeriesReader;
  settleMs: number;
  /** windows produced per (endpoint, case) and tick at most (catch-up after a stop is spread over ticks) */
  maxWindowsPerTick: number;
  /** alarms read per (endpoint, case) and tick at most */
  maxAlarmsPerTick: number;
  logger: Logger;
  now?: () => number;
  /** called after messages were enqueued for an endpoint */
  onEnqueued?: (endpoint: string, n: number) => void;
}

/** a case to produce for: open (end null) or closed and not yet covered to its end */
interface Active {
  caseId: string;
  bed: string;
  since: number;
  end: number | null;
}

export class Producer {
  readonly stats = { pcd01: 0, pcd04: 0, refusedFull: 0, emptyWindows: 0 };
  private fullLoggedAt = -Infinity;

  constructor(private readonly o: ProducerOptions) {}

  /** one pass over every endpoint and open case */
  async tick(): Promise<void> {
    const now = (this.o.now ?? Date.now)();
    const open: Active[] = [];
    for (const bed of this.o.cases.boundBeds()) {
      const s = this.o.cases.bedState(bed);
      if (s.caseId && s.since !== null) open.push({ caseId: s.caseId, bed, since: s.since, end: null });
    }
    for (const ep of this.o.endpoints) {
      const closed: Active[] = [];
      for (const id of this.o.queue.markedCases(ep.name)) {
        if (open.some((c) => c.caseId === id)) continue;
        const c = this.o.cases.get(id);
        const last = c?.bindings[c.bindings.length - 1];
        if (!c || !last || c.end === null) {
          this.o.queue.dropMarks(ep.name, id);
          continue;
        }
        closed.push({ caseId: id, bed: last.bed, since: last.from, end: c.end });
      }
      for (const c of [...open, ...closed]) {
        const ctx = this.context(c.caseId, c.bed, ep);
        if (!ctx) continue;
        try {
          const done = await this.numerics(ep, c, ctx, now);
          const alarmsDone = await this.alarms(ep, c, ctx, now);
          if (c.end !== null && done && alarmsDone) this.o.queue.dropMarks(ep.name, c.caseId);
        } catch (err) {
          if (!(err instanceof QueueFullError)) throw err;
          this.stats.refusedFull++;
          if (now - this.fullLoggedAt >= 60_000) {
            this.fullLoggedAt = now;
            this.o.logger.error(
              { endpoint: ep.name, refused: this.stats.refusedFull },
              'outbound HL7 queue full: messages held back (not lost: produced again once there is room)',
            );
          }
        }
      }
    }
  }

  private context(caseId: string, bedId: string, ep: ProducerEndpoint): (CaseContext & { siteId: string }) | null {
    const bed = this.o.registry.getBed(bedId);
    if (!bed) return null;
    if (ep.sites?.length && !ep.sites.includes(bed.siteId)) return null;
    const c = this.o.cases.get(caseId);
    if (!c) return null;
    const room = this.o.registry.listRooms(bed.siteId).find((r) => r.id === bed.roomId);
    const site = this.o.registry.listSites().find((s) => s.id === bed.siteId);
    const devices: CaseContext['devices'] = {};
    for (const d of this.o.registry.listDevices({ bedId })) devices[d.id] = { vendor: d.vendor, model: d.model, serial: d.serial };
    return {
      siteId: bed.siteId,
      caseId,
      externalIds: c.externalIds,
      assigningAuthority: ep.assigningAuthority,
      location: { site: site?.name ?? bed.siteId, room: room?.name ?? bed.roomId, bed: bed.name },
      devices,
    };
  }

  private envelope(ep: ProducerEndpoint, controlId: string, now: number) {
    return { controlId, now, receivingApp: ep.receivingApp, receivingFacility: ep.receivingFacility };
  }

  /** [from, to] (inclusive) cut by the case's bindings: each bed over the part of it the bed held */
  private parts(c: Active, from: number, to: number): { bed: string; from: number; to: number }[] {
    const bindings = this.o.cases.get(c.caseId)?.bindings ?? [{ bed: c.bed, from: c.since, to: c.end }];
    const out: { bed: string; from: number; to: number }[] = [];
    for (const b of bindings) {
      const lo = Math.max(from, b.from);
      const hi = Math.min(to, b.to === null ? Infinity : b.to - 1);
      if (lo <= hi) out.push({ bed: b.bed, from: lo, to: hi });
    }
    return out;
  }

  /** true when the case is closed and covered to its end */
  private async numerics(ep: ProducerEndpoint, c: Active, ctx: CaseContext, now: number): Promise<boolean> {
    const q = this.o.queue;
    const I = Math.round(ep.intervalS * 1000);
    const stored = q.mark(ep.name, c.caseId, 'pcd01');
    let mark: number = stored ?? Math.max(Math.floor(c.since / I) * I, Math.floor(now / I) * I - I);
    if (stored === null) q.setMark({ endpoint: ep.name, caseId: c.caseId, kind: 'pcd01', coveredTo: mark });
    let added = 0;
    const end = c.end ?? Infinity;
    for (let n = 0; n < this.o.maxWindowsPerTick && mark < end && Math.min(mark + I, end) + this.o.settleMs <= now; n++) {
      const from = mark;
      const to = Math.min(mark + I, end);
      // each bed of the case over the part it held: a window before a move (OR → PACU) that was not
      // produced yet is read on the bed the case was on then, not on the new one
      const nums: Awaited<ReturnType<SeriesReader['latestNumerics']>> = [];
      for (const p of this.parts(c, from, to - 1)) nums.push(...(await this.o.series.latestNumerics(p)));
      const next: Mark = { endpoint: ep.name, caseId: c.caseId, kind: 'pcd01', coveredTo: to };
      const usable = nums.filter((x) => x.mdc && x.code !== null);
      if (!usable.length) {
        q.setMark(next);
        this.stats.emptyWindows++;
        mark = to;
        continue;
      }
      const msg: NewMessage = {
        endpoint: ep.name,
        kind: 'pcd01',
        caseId: c.caseId,
        window: { from, to },
        build: (id) => buildPcd01(ctx, this.envelope(ep, id, now), { from, to }, usable),
      };
      q.enqueue([msg], [next]);
      this.stats.pcd01++;
      added++;
      mark = to;
    }
    if (added) this.o.onEnqueued?.(ep.name, added);
    return mark >= end;
  }

  private async alarms(ep: ProducerEndpoint, c: Active, ctx: CaseContext, now: number): Promise<boolean> {
    const q = this.o.queue;
    const stored = q.mark(ep.name, c.caseId, 'pcd04');
    const mark: number = stored ?? Math.max(c.since, now - this.o.settleMs - Math.round(ep.intervalS * 1000));
    if (stored === null) q.setMark({ endpoint: ep.name, caseId: c.caseId, kind: 'pcd04', coveredTo: mark });
    const end = c.end ?? Infinity;
    if (mark >= end) return true;
    const to = Math.min(now - this.o.settleMs, end - 1);
    if (to < mark) return false;
    const limit = this.o.maxAlarmsPerTick;
    let alarms: StoredAlarm[] = [];
    for (const p of this.parts(c, mark, to)) alarms.push(...(await this.o.series.query({ ...p, kinds: ['alarm'], limit })).alarms);
    alarms.sort((a, b) => a.t - b.t);
    let covered = to + 1;
    if (alarms.length >= limit) {
      // truncated: keep whole times only; the alarms at the last time are read again on the next tick
      const last = alarms[alarms.length - 1].t;
      if (last > mark) {
        alarms = alarms.filter((a) => a.t < last);
        covered = last;
      }
    }
    const changes = alarms.filter((a) => a.phase !== 'update');
    const msgs: NewMessage[] = changes.map((a) => ({
      endpoint: ep.name,
      kind: 'pcd04',
      caseId: c.caseId,
      window: { from: a.t, to: a.t },
      build: (id) => buildPcd04(ctx, this.envelope(ep, id, now), a),
    }));
    q.enqueue(msgs, [{ endpoint: ep.name, caseId: c.caseId, kind: 'pcd04', coveredTo: covered }]);
    this.stats.pcd04 += msgs.length;
    if (msgs.length) this.o.onEnqueued?.(ep.name, msgs.length);
    return covered >= end;
  }
}

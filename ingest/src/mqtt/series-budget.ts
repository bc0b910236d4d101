/**
 * Series budget (docs/security.md "Intake integrity"): every InfluxDB series (measurement + tag set)
 * costs memory in InfluxDB's index for as long as the retention keeps it, so a gateway may create at
 * most `perHour` NEW series per hour (a token bucket: capacity perHour, refilled continuously).
 *
 * Known series are one set for all gateways (a series exists or not, whoever wrote it first), in
 * memory, bounded by `maxKnown` (least recently seen first out; a series seen again after eviction
 * is new again). Not persisted: REBUILT lazily — the content index (content-index.ts) reads each bed's
 * recent window from the series backend on the bed's first envelope after a start and reports every
 * series it finds here (`learn`, free of charge); a series not seen in that window is charged once
 * more after a restart. The budget default is far above a real gateway's whole series count, so that
 * re-charge costs nothing.
 *
 * Two-phase, like the dedupe keys: `charge` reserves within a batch (in the batch's own `Reservations`:
 * batches may run concurrently), `commit` makes it stick once the batch's points are stored; an aborted
 * batch leaves neither tokens spent nor series known.
 */

/** one batch's reserved new series: gateway → keys */
export type Reservations = Map<string, Set<string>>;

export interface SeriesBudgetOptions {
  perHour: number;
  maxKnown: number;
}

const HOUR = 3_600_000;

export class SeriesBudget {
  /** series key → last seen (ms); Map order = insertion order */
  private readonly known = new Map<string, number>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly o: SeriesBudgetOptions) {}

  get knownCount(): number {
    return this.known.size;
  }

  isKnown(key: string): boolean {
    return this.known.has(key);
  }

  /** tokens a gateway has now (tests, metrics) */
  tokens(gatewayId: string, now: number): number {
    const b = this.buckets.get(gatewayId);
    if (!b) return this.o.perHour;
    return Math.min(this.o.perHour, b.tokens + ((now - b.at) * this.o.perHour) / HOUR);
  }

  /**
   * May `gatewayId` write to series `key` in this batch? Known series: yes. New: yes while the gateway
   * has a token left after this batch's reservations (the reservation is made), else no.
   */
  charge(r: Reservations, gatewayId: string, key: string, now: number): boolean {
    if (this.known.has(key)) return true;
    let mine = r.get(gatewayId);
    if (mine?.has(key)) return true;
    for (const [gw, keys] of r) if (gw !== gatewayId && keys.has(key)) return true; // another gateway of the batch pays
    if (this.tokens(gatewayId, now) - (mine?.size ?? 0) < 1) return false;
    if (!mine) r.set(gatewayId, (mine = new Set()));
    mine.add(key);
    return true;
  }

  /** the points of series `keys` written by `gatewayId` are stored: they are known, reserved tokens spent */
  commit(r: Reservations, gatewayId: string, keys: Iterable<string>, now: number): void {
    const mine = r.get(gatewayId);
    let spent = 0;
    for (const k of keys) {
      const seen = this.known.get(k);
      if (seen !== undefined) {
        if (now - seen > 60_000) this.known.set(k, now);
        continue;
      }
      if (mine?.delete(k)) spent++;
      this.known.set(k, now);
    }
    if (spent) this.buckets.set(gatewayId, { tokens: this.tokens(gatewayId, now) - spent, at: now });
    this.bound(now);
  }

  /** series found in the series backend: known, free of charge */
  learn(key: string, now: number): void {
    if (!this.known.has(key)) this.known.set(key, now);
  }

  private bound(now: number): void {
    if (this.known.size <= this.o.maxKnown) return;
    for (const [k, seen] of this.known) if (seen < now - HOUR) this.known.delete(k);
    const target = Math.floor(this.o.maxKnown * 0.9);
    for (const k of this.known.keys()) {
      if (this.known.size <= target) break;
      this.known.delete(k);
    }
  }
}

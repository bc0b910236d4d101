/**
 * The QC report (docs/reports.md "QC report") over the cases overlapping [from, to): per case the
 * five QC families during anesthesia time, hypothermia episodes, anesthesia start → incision, record
 * completeness; per device its link uptime; per room its monitored minutes. Case ids only — no
 * patient identifier is read or returned.
 */
import type { Case, CaseStore } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import type { CaseEvent, EventKind } from '../events/event-store.js';
import type { RegistryStore } from '../registry/registry-store.js';
import type { SeriesStore } from '../series/types.js';
import { collectCase, countIn, MINUTE, minuteOf, minutesOf, type CaseData } from './case-data.js';
import { QC_FAMILIES, type Family } from './families.js';

export const HYPOTHERMIA_BELOW_C = 36.0;
/** consecutive minutes below HYPOTHERMIA_BELOW_C that make an episode */
export const HYPOTHERMIA_MIN_MINUTES = 5;
export const REQUIRED_EVENTS: readonly EventKind[] = ['in-room', 'anesthesia-start', 'incision', 'surgery-end', 'out-of-room'];
/** the longest report window, and the most cases one report reads */
export const QC_MAX_WINDOW_MS = 31 * 86_400_000;
export const QC_MAX_CASES = 2000;

export interface QcFamily {
  family: Family;
  monitored: boolean;
  monitoredMinutes: number;
  share: number;
}
export interface Episode {
  start: number;
  end: number;
  minutes: number;
  minTempC: number;
}
export interface QcCase {
  caseId: string;
  beds: string[];
  start: number;
  end: number | null;
  anesthesia: {
    from: number;
    to: number;
    minutes: number;
    startFrom: 'anesthesia-start' | 'case';
    endFrom: 'out-of-room' | 'surgery-end' | 'case';
    fromEvents: boolean;
  };
  families: QcFamily[];
  hypothermia: Episode[];
  minutesToIncision: number | null;
  completeness: { present: EventKind[]; missing: EventKind[]; share: number };
}
export interface QcDevice {
  device: string;
  beds: string[];
  caseMinutes: number;
  minutesWithData: number;
  uptime: number | null;
}
export interface QcRoom {
  site: string;
  room: string;
  caseMinutes: number;
  monitoredMinutes: number;
}
export interface QcReport {
  from: number;
  to: number;
  site: string | null;
  cases: QcCase[];
  devices: QcDevice[];
  rooms: QcRoom[];
}

export interface QcDeps {
  series: SeriesStore;
  cases: CaseStore;
  events: { list(caseId: string): CaseEvent[] };
  registry: RegistryStore;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const firstOf = (evs: CaseEvent[], kind: EventKind) => evs.find((e) => e.kind === kind);

/** Maximal runs of consecutive minutes below the threshold, at least HYPOTHERMIA_MIN_MINUTES long, inside [from, to). */
export function hypothermiaEpisodes(temps: Map<number, number>, from: number, to: number): Episode[] {
  const minutes = [...temps.keys()].filter((m) => m >= minuteOf(from) && m < to).sort((a, b) => a - b);
  const out: Episode[] = [];
  let run: number[] = [];
  const close = () => {
    if (run.length >= HYPOTHERMIA_MIN_MINUTES) {
      out.push({
        start: run[0],
        end: run[run.length - 1] + MINUTE,
        minutes: run.length,
        minTempC: round(
          run.reduce((lo, m) => Math.min(lo, temps.get(m) as number), Infinity),
          2,
        ),
      });
    }
    run = [];
  };
  for (const m of minutes) {
    const cold = (temps.get(m) as number) < HYPOTHERMIA_BELOW_C;
    if (cold && run.length && m !== run[run.length - 1] + MINUTE) close();
    if (cold) run.push(m);
    else close();
  }
  close();
  return out;
}

export function qcCaseOf(c: Case, d: CaseData, events: CaseEvent[]): QcCase {
  const last = d.windows[d.windows.length - 1];
  const caseEnd = last ? last.to : c.start;
  const aStart = firstOf(events, 'anesthesia-start');
  const aEnd = firstOf(events, 'out-of-room') ?? firstOf(events, 'surgery-end');
  const from = aStart?.t ?? c.start;
  let to = aEnd && aEnd.t > from ? aEnd.t : caseEnd;
  const endFrom = aEnd && aEnd.t > from ? (aEnd.kind as 'out-of-room' | 'surgery-end') : 'case';
  if (to <= from) to = from + 1;
  const minutes = minutesOf(from, to);
  const families = QC_FAMILIES.map((family) => {
    const n = countIn(d.family.get(family) ?? [], from, to);
    return { family, monitored: n > 0, monitoredMinutes: n, share: minutes ? round(Math.min(1, n / minutes), 4) : 0 };
  });
  const incision = firstOf(events, 'incision');
  const present = REQUIRED_EVENTS.filter((k) => firstOf(events, k));
  return {
    caseId: c.id,
    beds: [...new Set(c.bindings.map((b) => b.bed))],
    start: c.start,
    end: c.end,
    anesthesia: { from, to, minutes, startFrom: aStart ? 'anesthesia-start' : 'case', endFrom, fromEvents: !!aStart && endFrom !== 'case' },
    families,
    hypothermia: hypothermiaEpisodes(d.coreTemp, from, to),
    minutesToIncision: aStart && incision ? round((incision.t - aStart.t) / MINUTE, 1) : null,
    completeness: { present, missing: REQUIRED_EVENTS.filter((k) => !present.includes(k)), share: round(present.length / REQUIRED_EVENTS.length, 4) },
  };
}

/** Cases overlapping [from, to) (of `site`; `withinSite` for a site-limited token), all pages, bounded by QC_MAX_CASES. */
function casesIn(cases: CaseStore, f: { from: number; to: number; site?: string; withinSite?: string }): Case[] {
  const out: Case[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < Math.ceil(QC_MAX_CASES / 500) + 1; page++) {
    const r = cases.list({ from: f.from, to: f.to, site: f.site, withinSite: f.withinSite, limit: 500, cursor });
    out.push(...r.cases);
    if (out.length > QC_MAX_CASES) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `more than ${QC_MAX_CASES} cases in the window: ask for a shorter one`);
    if (!r.nextCursor) return out.reverse();
    cursor = r.nextCursor;
  }
  throw new IngestError('ING_ERR_BAD_REQUEST', 'data', `more than ${QC_MAX_CASES} cases in the window: ask for a shorter one`);
}

export async function computeQc(deps: QcDeps, w: { from: number; to: number; site?: string; withinSite?: string }, now: number): Promise<QcReport> {
  if (w.to <= w.from) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'to must be after from');
  if (w.to - w.from > QC_MAX_WINDOW_MS) throw new IngestError('ING_ERR_BAD_REQUEST', 'data', 'the QC window is at most 31 days');
  const list = casesIn(deps.cases, w);
  const out: QcCase[] = [];
  const bedCase = new Map<string, Set<number>>(); // bed → case minutes inside [from, to)
  const bedMonitored = new Map<string, number>();
  const deviceData = new Map<string, Map<string, number>>(); // device → bed → minutes with data inside [from, to)
  for (const c of list) {
    const d = await collectCase(deps.series, c, now);
    out.push(qcCaseOf(c, d, deps.events.list(c.id)));
    for (const win of d.windows) {
      const lo = Math.max(win.from, w.from);
      const hi = Math.min(win.to, w.to);
      if (hi <= lo) continue;
      let set = bedCase.get(win.bed);
      if (!set) bedCase.set(win.bed, (set = new Set()));
      for (let m = minuteOf(lo), i = 0; m < hi && i < 50_000; m += MINUTE, i++) set.add(m);
      const inWin = (m: number) => m >= minuteOf(lo) && m < hi;
      bedMonitored.set(win.bed, (bedMonitored.get(win.bed) ?? 0) + [...(d.monitoredByBed.get(win.bed) ?? [])].filter(inWin).length);
      for (const [key, minutes] of d.deviceMinutes) {
        const [device, bed] = key.split('\u0001');
        if (bed !== win.bed) continue;
        const beds = deviceData.get(device) ?? new Map<string, number>();
        deviceData.set(device, beds);
        beds.set(bed, (beds.get(bed) ?? 0) + [...minutes].filter(inWin).length);
      }
    }
  }
  // registered devices of the beds count too, with no data: their uptime is 0
  const allGateways = bedCase.size ? deps.registry.listGateways() : [];
  const allDevices = bedCase.size ? deps.registry.listDevices() : [];
  for (const bed of bedCase.keys()) {
    const gateways = new Set(allGateways.filter((g) => g.bedId === bed).map((g) => g.id));
    for (const dev of allDevices) {
      const onBed = dev.bedId === bed || (dev.bedId === null && dev.gatewayId !== null && gateways.has(dev.gatewayId));
      if (!onBed || (dev.retiredAt !== null && dev.retiredAt <= w.from)) continue;
      const beds = deviceData.get(dev.id) ?? new Map<string, number>();
      deviceData.set(dev.id, beds);
      if (!beds.has(bed)) beds.set(bed, 0);
    }
  }
  const devices: QcDevice[] = [...deviceData]
    .map(([device, beds]) => {
      const caseMinutes = [...beds.keys()].reduce((n, b) => n + (bedCase.get(b)?.size ?? 0), 0);
      const minutesWithData = [...beds.values()].reduce((n, x) => n + x, 0);
      return {
        device,
        beds: [...beds.keys()].sort(),
        caseMinutes,
        minutesWithData,
        uptime: caseMinutes ? round(Math.min(1, minutesWithData / caseMinutes), 4) : null,
      };
    })
    .sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  const rooms = new Map<string, QcRoom>();
  for (const [bed, set] of bedCase) {
    const b = deps.registry.getBed(bed);
    const key = `${b?.siteId ?? ''}\u0001${b?.roomId ?? ''}`;
    const r = rooms.get(key) ?? { site: b?.siteId ?? '', room: b?.roomId ?? '', caseMinutes: 0, monitoredMinutes: 0 };
    r.caseMinutes += set.size;
    r.monitoredMinutes += bedMonitored.get(bed) ?? 0;
    rooms.set(key, r);
  }
  return {
    from: w.from,
    to: w.to,
    site: w.site ?? w.withinSite ?? null,
    cases: out,
    devices,
    rooms: [...rooms.values()].sort((a, b) => (a.site + a.room < b.site + b.room ? -1 : 1)),
  };
}

export const QC_CSV_HEADER = ['record', 'id', 'metric', 'value'];

/** The report as long-format rows (record = case | device | room, one metric per row): one header fits every section. */
export function qcRows(r: QcReport): (string | number | boolean | null)[][] {
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const rows: (string | number | boolean | null)[][] = [];
  for (const c of r.cases) {
    const put = (metric: string, value: string | number | boolean | null) => rows.push(['case', c.caseId, metric, value]);
    put('beds', c.beds.join(' '));
    put('start', iso(c.start));
    put('end', iso(c.end));
    put('anesthesia_from', iso(c.anesthesia.from));
    put('anesthesia_to', iso(c.anesthesia.to));
    put('anesthesia_minutes', c.anesthesia.minutes);
    put('anesthesia_from_events', c.anesthesia.fromEvents);
    for (const f of c.families) {
      put(`${f.family}.monitored`, f.monitored);
      put(`${f.family}.monitored_minutes`, f.monitoredMinutes);
      put(`${f.family}.share`, f.share);
    }
    put('hypothermia_episodes', c.hypothermia.length);
    c.hypothermia.forEach((e, i) => {
      put(`hypothermia.${i + 1}.start`, iso(e.start));
      put(`hypothermia.${i + 1}.end`, iso(e.end));
      put(`hypothermia.${i + 1}.minutes`, e.minutes);
      put(`hypothermia.${i + 1}.min_temp_c`, e.minTempC);
    });
    put('minutes_to_incision', c.minutesToIncision);
    put('completeness.share', c.completeness.share);
    put('completeness.missing', c.completeness.missing.join(' '));
  }
  for (const d of r.devices) {
    for (const [metric, value] of [
      ['beds', d.beds.join(' ')],
      ['case_minutes', d.caseMinutes],
      ['minutes_with_data', d.minutesWithData],
      ['uptime', d.uptime],
    ] as const) {
      rows.push(['device', d.device, metric, value]);
    }
  }
  for (const m of r.rooms) {
    for (const [metric, value] of [
      ['site', m.site],
      ['case_minutes', m.caseMinutes],
      ['monitored_minutes', m.monitoredMinutes],
    ] as const)
      rows.push(['room', m.room, metric, value]);
  }
  return rows;
}

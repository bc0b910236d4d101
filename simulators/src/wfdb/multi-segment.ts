/**
 * Multi-segment WFDB records (MIMIC style): a master header lists segments ('~' = gap), the first
 * usually a layout header (0 samples, all signals with file '~'). Each segment is an ordinary
 * record whose own gain/baseline apply. Also assembles a folder that has only the layout and the
 * segment headers (as the MIMIC copies the tests read do) by the segments' base times.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIM_ERR, SimError } from '../errors.js';
import { baseTimeSeconds, parseHeader, type RecordHeader } from './header.js';
import { findSignal, readRecord, type WfdbRecord } from './record.js';

export interface Segment {
  name: string;
  startFrame: number;
  nFrames: number;
  record: WfdbRecord | null;
}

export interface MultiSegmentRecord {
  name: string;
  fs: number;
  layout?: RecordHeader;
  segments: Segment[];
  nFrames: number;
}

export interface SignalSpan {
  startFrame: number;
  fs: number;
  units: string;
  physical: Float64Array;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    throw new SimError(SIM_ERR.WFDB_FILE, `cannot read header ${path}`, { kind: 'data', cause: e });
  }
}

/** Read a multi-segment record from its master header (`name/nseg ...` record line). */
export function readMultiSegment(masterPath: string, dir: string): MultiSegmentRecord {
  const master = parseHeader(readText(masterPath));
  if (!master.segments) throw new SimError(SIM_ERR.WFDB_HEADER, `${masterPath} is not a multi-segment header`, { kind: 'data' });
  const out: MultiSegmentRecord = { name: master.name, fs: master.fs, segments: [], nFrames: 0 };
  let at = 0;
  for (const seg of master.segments) {
    if (seg.name === '~') {
      out.segments.push({ name: '~', startFrame: at, nFrames: seg.nSamples, record: null });
      at += seg.nSamples;
      continue;
    }
    if (seg.nSamples === 0) {
      out.layout = parseHeader(readText(join(dir, `${seg.name}.hea`)));
      continue;
    }
    const record = readRecord(join(dir, `${seg.name}.hea`));
    out.segments.push({ name: seg.name, startFrame: at, nFrames: record.nFrames, record });
    at += seg.nSamples;
  }
  out.nFrames = master.nSamples || at;
  return out;
}

/**
 * Assemble `<dir>/<base>_layout.hea` + `<dir>/<base>_NNNN.hea` when no master header exists:
 * each segment starts at (its base time − layout base time) × fs, wrapping past midnight.
 */
export function readSegmentsByTime(dir: string, base: string): MultiSegmentRecord {
  const layoutPath = join(dir, `${base}_layout.hea`);
  const layout = existsSync(layoutPath) ? parseHeader(readText(layoutPath)) : undefined;
  const names = readdirSync(dir)
    .filter((f) => f.startsWith(`${base}_`) && f.endsWith('.hea') && /_\d+\.hea$/.test(f))
    .map((f) => f.slice(0, -4))
    .sort();
  if (names.length === 0) throw new SimError(SIM_ERR.WFDB_FILE, `no segments ${base}_NNNN.hea in ${dir}`, { kind: 'data' });
  const records = names.map((n) => readRecord(join(dir, `${n}.hea`)));
  const fs = layout?.fs ?? records[0]!.fs;
  const t0 = baseTimeSeconds(layout?.baseTime ?? records[0]!.header.baseTime) ?? 0;
  const segments: Segment[] = records.map((r, i) => {
    const ts = baseTimeSeconds(r.header.baseTime);
    let dt = ts === undefined ? 0 : ts - t0;
    if (dt < 0) dt += 86400;
    return { name: names[i]!, startFrame: Math.round(dt * fs), nFrames: r.nFrames, record: r };
  });
  segments.sort((a, b) => a.startFrame - b.startFrame);
  const last = segments[segments.length - 1]!;
  return { name: base, fs, ...(layout ? { layout } : {}), segments, nFrames: last.startFrame + last.nFrames };
}

/** The pieces of one signal, in time order, each with its start frame in the whole record. */
export function signalSpans(rec: MultiSegmentRecord, name: string): SignalSpan[] {
  const spans: SignalSpan[] = [];
  for (const seg of rec.segments) {
    if (!seg.record) continue;
    const s = findSignal(seg.record, name);
    if (s) spans.push({ startFrame: seg.startFrame, fs: s.fs, units: s.units, physical: s.physical });
  }
  return spans;
}

/**
 * One signal as a contiguous array from its first to its last sample, NaN in the gaps between
 * segments. Refuses (throws) beyond `maxSamples` so a 32-hour gap cannot allocate gigabytes.
 */
export function signalJoined(rec: MultiSegmentRecord, name: string, maxSamples = 10_000_000): { startFrame: number; fs: number; physical: Float64Array } {
  const spans = signalSpans(rec, name);
  if (spans.length === 0) throw new SimError(SIM_ERR.WFDB_SIGNAL, `record ${rec.name} has no data for '${name}'`, { kind: 'data' });
  const fs = spans[0]!.fs;
  const spf = fs / rec.fs;
  const start = spans[0]!.startFrame;
  let n = 0;
  for (const sp of spans) n = Math.max(n, Math.round((sp.startFrame - start) * spf) + sp.physical.length);
  if (n > maxSamples) throw new SimError(SIM_ERR.WFDB_SIGNAL, `signal '${name}' spans ${n} samples (> ${maxSamples})`, { kind: 'data' });
  const out = new Float64Array(n).fill(NaN);
  for (const sp of spans) out.set(sp.physical, Math.round((sp.startFrame - start) * spf));
  return { startFrame: start, fs, physical: out };
}

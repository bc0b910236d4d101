/**
 * WFDB header (.hea) parser: record line, signal lines, segment lines of a multi-segment record.
 * Reference: the WFDB "header(5)" format (PhysioNet's WFDB documentation).
 */
import { SIM_ERR, SimError } from '../errors.js';

export interface SignalSpec {
  fileName: string; // '~' in a layout header (no data)
  format: number; // 212, 16, 80, ...
  samplesPerFrame: number; // the 'x4' of '212x4' (default 1)
  skew: number; // the ':4' of '212:4' (default 0)
  byteOffset: number; // the '+24' of '16+24' (default 0)
  gain: number; // adc units per physical unit (200 when absent or 0)
  baseline: number; // adc value of physical 0 (defaults to adcZero)
  units: string; // 'mV' when absent
  adcResolution: number;
  adcZero: number;
  initialValue: number;
  checksum: number;
  blockSize: number;
  description: string;
}

export interface SegmentSpec {
  name: string;
  nSamples: number;
}

export interface RecordHeader {
  name: string;
  nSignals: number;
  fs: number; // frame rate, frames per second
  counterFreq?: number;
  nSamples: number; // frames per signal (0 = unknown)
  baseTime?: string;
  baseDate?: string;
  signals: SignalSpec[];
  /** Present on a multi-segment master header (name/nseg). '~' names a gap. */
  segments?: SegmentSpec[];
  comments: string[];
}

const DEFAULT_GAIN = 200;

function bad(msg: string): SimError {
  return new SimError(SIM_ERR.WFDB_HEADER, msg, { kind: 'data' });
}

function num(s: string | undefined, def: number, what: string): number {
  if (s === undefined || s === '') return def;
  const v = Number(s);
  if (!Number.isFinite(v)) throw bad(`bad ${what}: '${s}'`);
  return v;
}

function parseRecordLine(tok: string[]): Omit<RecordHeader, 'signals' | 'comments' | 'segments'> & { nSeg?: number } {
  const [nameTok, nsigTok, fsTok, nsampTok, timeTok, dateTok] = tok;
  if (!nameTok || nsigTok === undefined) throw bad('record line needs a name and a signal count');
  const [name, segTok] = nameTok.split('/');
  const out: Omit<RecordHeader, 'signals' | 'comments' | 'segments'> & { nSeg?: number } = {
    name: name ?? nameTok,
    nSignals: num(nsigTok, 0, 'signal count'),
    fs: 250,
    nSamples: 0,
  };
  if (segTok !== undefined) out.nSeg = num(segTok, 0, 'segment count');
  if (fsTok !== undefined) {
    const m = /^([0-9.eE+-]+)(?:\/([0-9.eE+-]+)(?:\(([0-9.eE+-]+)\))?)?$/.exec(fsTok);
    if (!m) throw bad(`bad sampling frequency '${fsTok}'`);
    out.fs = num(m[1], 250, 'sampling frequency');
    if (m[2] !== undefined) out.counterFreq = num(m[2], 0, 'counter frequency');
  }
  out.nSamples = num(nsampTok, 0, 'sample count');
  if (timeTok !== undefined) out.baseTime = timeTok;
  if (dateTok !== undefined) out.baseDate = dateTok;
  if (!(out.fs > 0)) throw bad('sampling frequency must be > 0');
  return out;
}

export function parseSignalLine(line: string): SignalSpec {
  const tok = line.trim().split(/\s+/);
  const [fileName, fmtTok, gainTok, resTok, zeroTok, initTok, sumTok, blkTok] = tok;
  if (!fileName || !fmtTok) throw bad(`signal line needs a file name and a format: '${line}'`);
  const fm = /^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$/.exec(fmtTok);
  if (!fm) throw bad(`bad format field '${fmtTok}'`);
  const adcZero = num(zeroTok, 0, 'adc zero');
  let gain = DEFAULT_GAIN;
  let baseline = adcZero;
  let units = 'mV';
  if (gainTok !== undefined) {
    const gm = /^([0-9.eE+-]+)(?:\(([0-9eE+-]+)\))?(?:\/(\S+))?$/.exec(gainTok);
    if (!gm) throw bad(`bad gain field '${gainTok}'`);
    gain = num(gm[1], DEFAULT_GAIN, 'gain') || DEFAULT_GAIN;
    if (gm[2] !== undefined) baseline = num(gm[2], adcZero, 'baseline');
    if (gm[3] !== undefined) units = gm[3];
  }
  return {
    fileName,
    format: Number(fm[1]),
    samplesPerFrame: fm[2] ? Number(fm[2]) : 1,
    skew: fm[3] ? Number(fm[3]) : 0,
    byteOffset: fm[4] ? Number(fm[4]) : 0,
    gain,
    baseline,
    units,
    adcResolution: num(resTok, 12, 'adc resolution'),
    adcZero,
    initialValue: num(initTok, adcZero, 'initial value'),
    checksum: num(sumTok, 0, 'checksum'),
    blockSize: num(blkTok, 0, 'block size'),
    description: tok.slice(8).join(' '),
  };
}

/** Parse the text of a .hea file. Throws SimError(SIM_ERR_WFDB_HEADER) on malformed input. */
export function parseHeader(text: string): RecordHeader {
  const comments: string[] = [];
  const lines: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      comments.push(line.slice(1).trim());
      continue;
    }
    lines.push(line);
  }
  const first = lines.shift();
  if (first === undefined) throw bad('empty header');
  const rec = parseRecordLine(first.split(/\s+/));
  const { nSeg, ...base } = rec;
  const header: RecordHeader = { ...base, signals: [], comments };
  if (nSeg !== undefined) {
    header.segments = [];
    for (let i = 0; i < nSeg; i++) {
      const l = lines.shift();
      if (l === undefined) throw bad(`expected ${nSeg} segment lines, got ${i}`);
      const [segName, segLen] = l.split(/\s+/);
      header.segments.push({ name: segName ?? '~', nSamples: num(segLen, 0, 'segment length') });
    }
    return header;
  }
  if (lines.length < header.nSignals) throw bad(`expected ${header.nSignals} signal lines, got ${lines.length}`);
  for (let i = 0; i < header.nSignals; i++) header.signals.push(parseSignalLine(lines[i]!));
  return header;
}

/** Seconds since midnight of a WFDB base time ('HH:MM:SS[.sss]' or 'MM:SS[.sss]'), undefined if absent. */
export function baseTimeSeconds(baseTime: string | undefined): number | undefined {
  if (!baseTime) return undefined;
  const parts = baseTime.split(':').map(Number);
  if (parts.some((p) => !Number.isFinite(p))) throw bad(`bad base time '${baseTime}'`);
  let s = 0;
  for (const p of parts) s = s * 60 + p;
  return s;
}

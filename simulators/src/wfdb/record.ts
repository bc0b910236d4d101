/**
 * Single-segment WFDB record: header + signal files → per-signal adc and physical arrays.
 * physical = (adc − baseline) / gain; the format's invalid sample becomes NaN.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SIM_ERR, SimError } from '../errors.js';
import { INVALID_ADC, decodeSamples, parseMatV4Header, samplesIn } from './formats.js';
import { parseHeader, type RecordHeader, type SignalSpec } from './header.js';

export interface WfdbSignal {
  name: string;
  units: string;
  fs: number; // samples per second of this signal (frame rate × samples per frame)
  spec: SignalSpec;
  adc: Int32Array; // raw values; invalid samples keep the format's invalid value
  physical: Float64Array; // NaN where the sample is invalid
}

export interface WfdbRecord {
  header: RecordHeader;
  fs: number; // frame rate
  nFrames: number; // frames decoded (may be < header.nSamples if a file is short)
  truncated: boolean;
  signals: WfdbSignal[];
}

export type FileSource = (fileName: string) => Uint8Array;

export function findSignal(rec: { signals: WfdbSignal[] }, name: string): WfdbSignal | undefined {
  const lower = name.toLowerCase();
  return rec.signals.find((s) => s.name === name) ?? rec.signals.find((s) => s.name.toLowerCase() === lower);
}

export function requireSignal(rec: { signals: WfdbSignal[]; header: { name: string } }, name: string): WfdbSignal {
  const s = findSignal(rec, name);
  if (!s) throw new SimError(SIM_ERR.WFDB_SIGNAL, `record ${rec.header.name} has no signal '${name}'`);
  return s;
}

/** Decode all signals of a parsed single-segment header, reading files through `files`. */
export function decodeRecord(header: RecordHeader, files: FileSource): WfdbRecord {
  if (header.segments) throw new SimError(SIM_ERR.WFDB_HEADER, 'multi-segment header: use readMultiSegment', { kind: 'data' });
  // group signals by file, keeping their order inside the frame
  const byFile = new Map<string, number[]>();
  header.signals.forEach((s, i) => {
    if (s.fileName === '~') return;
    const list = byFile.get(s.fileName) ?? [];
    list.push(i);
    byFile.set(s.fileName, list);
  });
  const adcs: Int32Array[] = header.signals.map(() => new Int32Array(0));
  let nFrames = header.nSamples;
  let truncated = false;
  const perFile: { idx: number[]; raw: Int32Array; spf: number; frames: number }[] = [];
  for (const [fileName, idx] of byFile) {
    const first = header.signals[idx[0]!]!;
    const format = first.format;
    if (idx.some((i) => header.signals[i]!.format !== format)) {
      throw new SimError(SIM_ERR.WFDB_FORMAT, `signals in ${fileName} mix storage formats`, { kind: 'data' });
    }
    let buf: Uint8Array;
    try {
      buf = files(fileName);
    } catch (e) {
      throw new SimError(SIM_ERR.WFDB_FILE, `cannot read signal file ${fileName}`, { kind: 'data', cause: e });
    }
    let offset = first.byteOffset;
    if (fileName.toLowerCase().endsWith('.mat')) {
      const mat = parseMatV4Header(buf);
      if (mat.rows !== idx.length) throw new SimError(SIM_ERR.WFDB_FORMAT, `.mat has ${mat.rows} rows, header lists ${idx.length} signals`, { kind: 'data' });
      offset = mat.headerBytes;
    }
    const spf = idx.reduce((a, i) => a + header.signals[i]!.samplesPerFrame, 0);
    const available = Math.floor(samplesIn(format, Math.max(0, buf.length - offset)) / spf);
    const frames = header.nSamples > 0 ? Math.min(header.nSamples, available) : available;
    if (header.nSamples > 0 && available < header.nSamples) truncated = true;
    perFile.push({ idx, raw: decodeSamples(format, buf, offset, frames * spf), spf, frames });
    nFrames = header.nSamples > 0 ? Math.min(nFrames, frames) : frames;
  }
  for (const f of perFile) {
    let col = 0;
    for (const i of f.idx) {
      const s = header.signals[i]!;
      const n = nFrames * s.samplesPerFrame;
      const out = new Int32Array(n);
      const invalid = INVALID_ADC[s.format]!;
      const skew = s.skew * s.samplesPerFrame;
      for (let k = 0; k < n; k++) {
        const src = k + skew;
        const frame = Math.floor(src / s.samplesPerFrame);
        out[k] = frame < f.frames ? f.raw[frame * f.spf + col + (src % s.samplesPerFrame)]! : invalid;
      }
      adcs[i] = out;
      col += s.samplesPerFrame;
    }
  }
  const signals: WfdbSignal[] = header.signals.map((spec, i) => {
    const adc = spec.fileName === '~' ? new Int32Array(nFrames * spec.samplesPerFrame).fill(INVALID_ADC[spec.format] ?? 0) : adcs[i]!;
    const invalid = INVALID_ADC[spec.format];
    const physical = new Float64Array(adc.length);
    for (let k = 0; k < adc.length; k++) physical[k] = adc[k] === invalid ? NaN : (adc[k]! - spec.baseline) / spec.gain;
    return { name: spec.description || `sig${i}`, units: spec.units, fs: header.fs * spec.samplesPerFrame, spec, adc, physical };
  });
  return { header, fs: header.fs, nFrames, truncated, signals };
}

/** Read a single-segment record from `<dir>/<name>.hea` and its signal files beside it. */
export function readRecord(headerPath: string): WfdbRecord {
  const path = headerPath.endsWith('.hea') ? headerPath : `${headerPath}.hea`;
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (e) {
    throw new SimError(SIM_ERR.WFDB_FILE, `cannot read header ${path}`, { kind: 'data', cause: e });
  }
  const dir = dirname(path);
  return decodeRecord(parseHeader(text), (f) => readFileSync(join(dir, f)));
}

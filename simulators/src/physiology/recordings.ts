/**
 * The real waveform recordings the simulators play (shared/data/physionet, see PROVENANCE.md),
 * loaded once per process and data directory.
 *   03700181: ECG MCL1 500 Hz, ABP 125 Hz, RESP 125 Hz — one recording, so ECG and ABP beats agree
 *   a103l:    ECG II and V, PLETH at 250 Hz
 *   p000878:  PLETH and II at 125 Hz (two contiguous MIMIC-III segments; its ABP is layout-only)
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIM_ERR, SimError } from '../errors.js';
import { readRecord, readSegmentsByTime, requireSignal, signalJoined } from '../wfdb/index.js';

export interface Recording { samples: Float64Array; fs: number; source: string }
export type RecordingName = 'ecgMcl1' | 'abp' | 'resp' | 'ecgII' | 'ecgV' | 'pleth' | 'plethP000878' | 'ecgIIP000878';

export function defaultDataDir(): string {
  if (process.env.ORLINK_PHYSIONET_DIR) return process.env.ORLINK_PHYSIONET_DIR;
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '../../../../shared/data/physionet');
}

const cache = new Map<string, Map<RecordingName, Recording>>();

function load(dataDir: string, name: RecordingName): Recording {
  const rec = (r: string) => readRecord(join(dataDir, `${r}.hea`));
  const sig = (r: string, s: string): Recording => {
    const sg = requireSignal(rec(r), s);
    return { samples: sg.physical, fs: sg.fs, source: `${r}/${s}` };
  };
  const ms = (s: string): Recording => {
    const j = signalJoined(readSegmentsByTime(join(dataDir, 'multi-segment/p000878'), '3269321'), s);
    return { samples: j.physical, fs: j.fs, source: `p000878/${s}` };
  };
  switch (name) {
    case 'ecgMcl1': return sig('03700181', 'MCL1');
    case 'abp': return sig('03700181', 'ABP');
    case 'resp': return sig('03700181', 'RESP');
    case 'ecgII': return sig('a103l', 'II');
    case 'ecgV': return sig('a103l', 'V');
    case 'pleth': return sig('a103l', 'PLETH');
    case 'plethP000878': return ms('PLETH');
    case 'ecgIIP000878': return ms('II');
  }
}

/** A recording by name (cached). Throws SIM_ERR_WFDB_FILE when the data directory is missing. */
export function recording(name: RecordingName, dataDir = defaultDataDir()): Recording {
  let m = cache.get(dataDir);
  if (!m) {
    if (!existsSync(dataDir)) throw new SimError(SIM_ERR.WFDB_FILE, `PhysioNet data directory not found: ${dataDir}`);
    m = new Map();
    cache.set(dataDir, m);
  }
  let r = m.get(name);
  if (!r) { r = load(dataDir, name); m.set(name, r); }
  return r;
}

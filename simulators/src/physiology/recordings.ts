/**
 * Real PhysioNet waveform recordings, an option of the simulators (the default is the synthetic
 * model): used only when a directory is configured, by `--data-dir DIR` / a `dataDir` option or
 * the ORLINK_PHYSIONET_DIR environment variable. Loaded once per process and directory.
 *   03700181: ECG MCL1 500 Hz, ABP 125 Hz, RESP 125 Hz — one recording, so ECG and ABP beats agree
 *   a103l:    ECG II and V, PLETH at 250 Hz
 *   p000878:  PLETH and II at 125 Hz (two contiguous MIMIC-III segments; its ABP is layout-only)
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SIM_ERR, SimError } from '../errors.js';
import { readRecord, readSegmentsByTime, requireSignal, signalJoined } from '../wfdb/index.js';

export interface Recording {
  samples: Float64Array;
  fs: number;
  source: string;
}
export type RecordingName = 'ecgMcl1' | 'abp' | 'resp' | 'ecgII' | 'ecgV' | 'pleth' | 'plethP000878' | 'ecgIIP000878';

export const PHYSIONET_ENV = 'ORLINK_PHYSIONET_DIR';

/**
 * The recordings directory in use: the explicit one, else $ORLINK_PHYSIONET_DIR, else undefined
 * (no recordings: the simulators run on the synthetic model).
 */
export function configuredDataDir(explicit?: string): string | undefined {
  const dir = explicit || process.env[PHYSIONET_ENV] || undefined;
  return dir === undefined ? undefined : resolve(dir);
}

/** Throws SIM_ERR_DATA_DIR (fatal) unless `dir` is an existing directory. */
export function requireDataDir(dir: string): string {
  let ok = false;
  try {
    ok = existsSync(dir) && statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new SimError(
      SIM_ERR.DATA_DIR,
      `PhysioNet recordings directory not found: ${dir} (set by --data-dir or ${PHYSIONET_ENV}; leave both unset for the synthetic model)`,
    );
  }
  return dir;
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
    case 'ecgMcl1':
      return sig('03700181', 'MCL1');
    case 'abp':
      return sig('03700181', 'ABP');
    case 'resp':
      return sig('03700181', 'RESP');
    case 'ecgII':
      return sig('a103l', 'II');
    case 'ecgV':
      return sig('a103l', 'V');
    case 'pleth':
      return sig('a103l', 'PLETH');
    case 'plethP000878':
      return ms('PLETH');
    case 'ecgIIP000878':
      return ms('II');
  }
}

/** A recording by name from `dataDir` (cached). Throws SIM_ERR_DATA_DIR when the directory is missing. */
export function recording(name: RecordingName, dataDir: string): Recording {
  let m = cache.get(dataDir);
  if (!m) {
    requireDataDir(dataDir);
    m = new Map();
    cache.set(dataDir, m);
  }
  let r = m.get(name);
  if (!r) {
    r = load(dataDir, name);
    m.set(name, r);
  }
  return r;
}

/**
 * Seeds from the golden testcases: every firmware-profiles/**\/testcases/<case>/ input, built by
 * test/helpers/golden-case.ts exactly as `orlink decode` gets it (hexlog lines → RX/TX chunks). A
 * case on a slice of a real capture also gives the rest of the capture file as a seed. Seeds are
 * whole; a case takes a window of about 1 KiB of one (mutate.ts), or a dozen of its frames. Order
 * is fixed (sorted paths): seeds are part of a case's identity.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseHexlog } from '../../cli/decode.js';
import { capturePaths, caseInput, PROFILES_ROOT, readCase } from '../helpers/golden-case.js';
import type { Chunk, Seed } from './types.js';

export function testcaseDirs(root = PROFILES_ROOT): string[] {
  const out: string[] = [];
  const walk = (dir: string, inCases: boolean): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (!statSync(p).isDirectory()) continue;
      if (inCases) out.push(p);
      else walk(p, name === 'testcases');
    }
  };
  walk(root, false);
  return out;
}

function chunksOf(format: 'raw' | 'hexlog', data: Buffer): Chunk[] {
  return format === 'hexlog' ? parseHexlog(data.toString('latin1')).chunks : [{ dir: 'RX', bytes: data }];
}

export interface GoldenSeeds {
  seeds: Seed[];
  skipped: string[];
}

/** Seeds of every golden testcase of `protocol`; cases whose capture is missing are listed in `skipped`. */
export function goldenSeeds(protocol: string): GoldenSeeds {
  const seeds: Seed[] = [];
  const skipped: string[] = [];
  for (const dir of testcaseDirs()) {
    const cj = readCase(dir);
    if (cj.protocol !== protocol) continue;
    const name = relative(PROFILES_ROOT, dir);
    let input;
    try {
      input = caseInput(dir);
    } catch (err) {
      skipped.push(`${name}: ${(err as Error).message}`);
      continue;
    }
    const base = { profileId: cj.profile === 'auto' ? undefined : cj.profile, expectProfile: cj.expect?.profile };
    seeds.push({ name, chunks: chunksOf(input.format, input.data), ...base });
    // a slice of a bigger real capture: the rest of the file is good material too
    if ((cj.format ?? 'raw') === 'raw' && cj.bytes && cj.capture) {
      const whole = readFileSync(capturePaths(dir, cj)[0]);
      const rest = whole.subarray(cj.bytes.end ?? whole.length);
      if (rest.length) seeds.push({ name: `${name}#rest`, chunks: [{ dir: 'RX', bytes: rest }], ...base });
    }
  }
  return { seeds, skipped };
}

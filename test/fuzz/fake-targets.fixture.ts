/**
 * Fake targets with known defects, for testing the fuzzer itself (crashers.test.ts): each fails
 * once a mutation puts byte 0xEE into its input (0xEE is in the dictionary, so that happens
 * within a few cases). ORLINK_FAKE_FIXED=1 (read by the worker) "fixes" fake/throws, so a saved
 * crasher can be shown to pass after the fix.
 */
import { InvariantError, type FuzzCase, type FuzzTarget, type Seed } from './types.js';

const SEEDS: Seed[] = [{ name: 'fake/hello', chunks: [{ dir: 'RX', bytes: Buffer.from('hello, fuzzer: a seed without the bad byte') }] }];
const DICT = [Buffer.of(0xee)];
const hasBad = (c: FuzzCase): boolean => c.chunks.some((ch) => ch.bytes.includes(0xee));
const leak: number[][] = [];

function fake(name: string, run: (c: FuzzCase) => void): FuzzTarget {
  return { name: `fake/${name}`, group: 'fake', kind: 'stream', seeds: () => SEEDS, dict: DICT, run };
}

export function targets(): FuzzTarget[] {
  return [
    fake('throws', (c) => {
      if (hasBad(c) && process.env.ORLINK_FAKE_FIXED !== '1') throw new TypeError('fake defect: byte 0xEE reached the decoder');
    }),
    fake('invariant', (c) => {
      if (hasBad(c)) throw new InvariantError('fake invariant: observation value NaN', 'fake.nan');
    }),
    fake('hangs', (c) => {
      if (!hasBad(c)) return;
      for (;;) {
        /* an infinite loop the watchdog must catch */
      }
    }),
    fake('leaks', () => {
      leak.push(new Array<number>(16_384).fill(1.5)); // ~128 KiB of heap per case, never freed
    }),
    fake('clean', () => {}),
  ];
}

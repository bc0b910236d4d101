/**
 * The synthetic golden testcases (firmware-profiles/hl7/testcases, no real capture exists) through
 * `orlink decode`: the hand-checked values (case.json "checked") asserted here, and the output
 * contract checked with shared/tools/check-decode-output (an independent Python checker).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { run } from '../../../../cli/decode.js';

const CASES = resolve(import.meta.dirname, '../../../../firmware-profiles/hl7/testcases');
const TOOL = resolve(import.meta.dirname, '../../../../../shared/tools/check-decode-output');

async function decode(file: string, profile?: string): Promise<{ lines: string[]; summary: any }> {
  let out = '';
  let err = '';
  const code = await run(['--protocol', 'hl7-mllp', '--input', file, ...(profile ? ['--profile', profile] : [])], {
    out: (l) => {
      out += l;
    },
    err: (l) => {
      err += l;
    },
  });
  if (code !== 0) throw new Error(err);
  return { lines: out.split('\n').filter(Boolean), summary: JSON.parse(err.trim().split('\n').pop()!).summary };
}

const val = (lines: string[], mdc: string) =>
  lines
    .map((l) => JSON.parse(l))
    .filter((o) => o.mdc === mdc)
    .map((o) => [new Date(o.t).toISOString().slice(11, 19), o.value]);

t.test('GE B40 case: hand-checked values', async (t) => {
  const { lines, summary } = await decode(`${CASES}/ge-b40-digest-synthetic/capture.hexlog`);
  t.equal(summary.profile, 'hl7/ge/b40');
  t.same(val(lines, 'MDC_CONC_AWAY_CO2_ET'), [
    ['07:30:00', 37],
    ['07:30:10', 36],
  ]);
  t.same(val(lines, 'MDC_PRESS_BLD_NONINV_SYS'), [
    ['07:25:12', 118],
    ['07:25:12', 118],
  ]);
  t.same(val(lines, 'MDC_PRESS_BLD_VEN_CENT_MEAN'), [
    ['07:30:00', 9],
    ['07:30:10', null],
  ]);
  t.same(val(lines, 'MDC_TEMP_ESOPH'), [
    ['07:30:00', 36.2],
    ['07:30:10', 36.2],
  ]);
  t.equal(summary.txChunks, 2);
});

t.test('Mindray PDS case: hand-checked values', async (t) => {
  const { lines } = await decode(`${CASES}/mindray-pds-synthetic/capture.bin`, 'hl7/mindray/pds');
  t.same(val(lines, 'MDC_ECG_HEART_RATE'), [
    ['08:30:00', 72],
    ['08:30:01', 73],
  ]);
  t.same(val(lines, 'MDC_PULS_OXIM_SAT_O2'), [
    ['08:30:00', 98],
    ['08:30:01', null],
  ]);
  t.same(val(lines, 'MDC_PRESS_BLD_NONINV_MEAN'), [['08:30:02', 89]]);
});

t.test('Comen / MDIL / faults case: hand-checked values', async (t) => {
  const { lines, summary } = await decode(`${CASES}/comen-mdil-faults-synthetic/capture.bin`);
  t.same(val(lines, 'MDC_PULS_OXIM_PULS_RATE'), [['08:30:00', 80]], 'Comen 149522 is the SpO2 pulse rate');
  t.same(val(lines, 'MDC_ECG_HEART_RATE'), [
    ['08:30:00', 81],
    ['08:30:01', 77],
  ]);
  t.same(summary.unmapped, { 'MDC:188740': 1, 'MDC:151552': 1 });
});

t.test('decode output passes shared/tools/check-decode-output', async (t) => {
  for (const [file, profile] of [
    ['ge-b40-digest-synthetic/capture.hexlog'],
    ['mindray-pds-synthetic/capture.bin', 'hl7/mindray/pds'],
    ['comen-mdil-faults-synthetic/capture.bin'],
  ] as const) {
    const { lines } = await decode(`${CASES}/${file}`, profile);
    const r = spawnSync('/usr/bin/python3', [TOOL], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 20_000 });
    t.equal(r.status, 0, `${file}: ${r.stdout}${r.stderr}`);
  }
});

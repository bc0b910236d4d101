/**
 * The real captures end to end through the StreamDecoder. They live in ../shared/captures; the case.json
 * files under firmware-profiles/philips/testcases name them (the golden NDJSON lives there too).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { parseHexlog } from '../../../../cli/decode.js';
import type { NumericObs, WaveObs } from '../../../../schemas/src/observation.js';
import { caseInput, capturePaths } from '../../../../test/helpers/golden-case.js';
import { IntelliVueStreamDecoder } from './stream-decoder.js';

const SHARED = resolve(import.meta.dirname, '../../../../../shared/captures/philips-intellivue');

t.test('whole JVSCapture serial file: 2887 FCS-valid frames, truncated tail pending', async (t) => {
  const d = new IntelliVueStreamDecoder({ now: () => 0 });
  const obs = d.push(readFileSync(capturePaths('philips/testcases/jvscapture-m8000-serial')[0]));
  t.same(d.stats(), { frames: 2887, bytes: 1641592, errors: {} });
  t.same(d.recordCounts(), { AC: 1, ROIV: 1, RORLS: 1086, RORS: 1799 });
  t.same(d.identity(), { vendor: 'Philips', model: 'M8000' });
  t.equal(d.profileId(), 'philips/intellivue-mp/data-export');
  const num = obs.filter((o): o is NumericObs => o.kind === 'numeric');
  const hr = num.filter((o) => o.vendorCode === '0x4182');
  t.equal(hr.length, 360);
  t.ok(
    hr.every((o) => o.value === 60 && o.unit === '/min' && o.mdc === 'MDC_ECG_HEART_RATE'),
    'HR 60 /min throughout',
  );
  t.ok(
    num.filter((o) => o.vendorCode === '0x4BB8').every((o) => o.value === null && o.flags?.includes('invalid')),
    'SpO2 without sensor: null + invalid, never 0',
  );
  const stI = num.find((o) => o.vendorCode === '0x0301')!;
  t.equal(stI.value, -0.9);
  t.equal(stI.unit, 'mm');
  const ecg = obs.filter((o): o is WaveObs => o.kind === 'wave' && o.vendorCode === '0x0102');
  t.equal(ecg.length, 1435);
  t.equal(ecg[0].rateHz, 250);
  t.equal(ecg[0].samples.length, 64);
  t.equal(ecg[0].scale, 0.005);
  t.equal(ecg[0].offset, -40.96);
  t.equal(ecg[0].t0, Date.UTC(2021, 3, 22, 11, 47, 27, 472), 'TIME_ABS + (rel - TIME_REL) x 125 us');
  t.equal((ecg[ecg.length - 1].t0 - ecg[0].t0) / (ecg.length - 1), 256, 'replies every 2048 ticks = 256 ms');
  const all = ecg.flatMap((w) => w.samples as number[]);
  t.ok(Math.min(...all) > -1 && Math.max(...all) < 2, 'ECG within -1..2 mV');
  const pleth = obs.filter((o): o is WaveObs => o.kind === 'wave' && o.vendorCode === '0x4BB4');
  t.ok(
    pleth.every((w) => w.rateHz === 125 && w.flags?.includes('uncalibrated') && w.unit === '1'),
    'pleth uncalibrated raw',
  );
});

t.test('MP20 LAN datagrams: demo flag, ROER counted, RORLS parts reassembled', async (t) => {
  const d = new IntelliVueStreamDecoder({ now: () => 0 });
  const events: string[] = [];
  let first: NumericObs[] = [];
  for (const chunk of parseHexlog(caseInput('philips/testcases/mpsimulator-mp20-lan').data.toString('latin1')).chunks) {
    if (chunk.dir !== 'RX') continue;
    const obs = d.push(chunk.bytes);
    events.push(...d.takeForSession().map((e) => (e.kind === 'poll-result' ? `poll-${e.objType}-${e.parts}` : e.kind)));
    if (!first.length) first = obs.filter((o): o is NumericObs => o.kind === 'numeric');
  }
  t.equal(events.filter((e) => e === 'roer').length, 1);
  t.equal(events.filter((e) => e === 'poll-6-3').length, 10, 'ten numeric replies of 3 parts each (RORLS 1, RORLS 3, RORS)');
  t.equal(events.indexOf('roer'), events.length - 6, 'the ROER (ACCESS_DENIED) precedes the last numeric reply');
  const byCode = Object.fromEntries(first.map((o) => [o.vendorCode, o]));
  t.equal(byCode['0x4BB8'].value, 95);
  t.same(byCode['0x4BB8'].flags, ['demo'], 'DEMO_DATA state bit -> demo');
  t.equal(byCode['0x4BB0'].value, 10);
  t.equal(byCode['0x500A'].value, 15);
  t.equal(byCode['0x4A05'].value, null);
  t.equal(first.length, 18, 'RORLS 1 + RORLS 3 + RORS: all parts emitted once at the final RORS');
});

t.test('real Connect Indications identify model, serial and SW revision and pick the profile', async (t) => {
  const cases = [
    [
      'connect_indication_M8007A_einstein.hex',
      { vendor: 'Philips', model: 'M8007A', firmware: 'G.01.78', serial: 'DE22713007' },
      'philips/intellivue-mp/data-export',
      { ip: '10.13.37.2', mac: '00:09:fb:09:77:bd' },
    ],
    [
      'connect_indication_866062_koshsky.hex',
      { vendor: 'Philips', model: '866062', firmware: 'L.01.18', serial: 'DE351A4061' },
      'philips/intellivue-mx/data-export',
      { ip: '192.168.247.101', mac: '00:09:fb:88:c1:bd' },
    ],
  ] as const;
  for (const [file, ident, profile, net] of cases) {
    const hex = readFileSync(resolve(SHARED, file), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('')
      .replace(/[^0-9a-fA-F]/g, '');
    const d = new IntelliVueStreamDecoder({ framing: 'lan', now: () => 0 });
    t.same(d.push(Buffer.from(hex, 'hex')), []);
    const { vendor: _v, ...info } = ident;
    t.same(
      d.takeForSession(),
      [{ kind: 'connect-indication', model: ident.model, announce: { ...info, ...net, dataExportPort: 24105, wireless: false } }],
      file,
    );
    t.same(d.identity(), ident, file);
    t.equal(d.profileId(), profile, file);
    t.same(d.stats().errors, {});
  }
});

/**
 * Seeds made with the encoders (the decoders' inverses, which the simulators use), for what the
 * golden captures lack: every PHDB group and more wave ids (GE), waves and alerts (IntelliVue),
 * realtime streams 5–12 and every answer type (MEDIBUS), the five HL7 vendor styles, more Masimo
 * models, long Nonin streams with status changes. Deterministic (fixed seeds, fixed times).
 */
import { encodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import { encodePhdbRecord, encodeWaveRecord, frameRecord, PHDB_LAYOUT, type GroupValues, type PhdbClass } from '../../gateway/src/protocols/ge-dri/index.js';
import { CMD, encodeCommand, encodeResponse, encodeRtConfig, encodeRtSelection, encodeRtValue } from '../../gateway/src/protocols/draeger-medibus/index.js';
import {
  alertList,
  mdsCreateEvent,
  nuCmpd,
  nuObs,
  pollReplyMessages,
  saObs,
  saSpec,
  scaleSpec,
  string16,
  typeAttr,
  u16,
  u32,
  type PollObject,
} from '../../gateway/src/protocols/philips-intellivue/encode.js';
import { ATTR, MOC } from '../../gateway/src/protocols/philips-intellivue/nomenclature.js';
import { frameMessage } from '../../gateway/src/protocols/philips-intellivue/fcs.js';
import { mllpWrap } from '../../gateway/src/protocols/hl7-mllp/mllp.js';
import { encodeLine } from '../../gateway/src/protocols/masimo/line.js';
import { encodePacket, encodeSecond } from '../../gateway/src/protocols/nonin/encode.js';
import { STATUS } from '../../gateway/src/protocols/nonin/frame.js';
import { PhysiologyModel } from '../../simulators/src/physiology/index.js';
import { encodeOru } from '../../simulators/src/hl7-mllp/encoder.js';
import { VENDOR_NAMES, VENDORS } from '../../simulators/src/hl7-mllp/vendors.js';
import { int, rng } from './rng.js';
import type { Chunk, Seed } from './types.js';

const rx = (bytes: Buffer): Chunk => ({ dir: 'RX', bytes });
const tx = (bytes: Buffer): Chunk => ({ dir: 'TX', bytes });
const T = 1_790_000_000; // s

export function geDriEncoded(): Seed[] {
  const r = rng(1);
  const seeds: Seed[] = [];
  for (const level of [7, 8, 10]) {
    const chunks: Chunk[] = [];
    for (let n = 0; n < 4; n++) {
      const classes: Partial<Record<PhdbClass, Record<string, GroupValues>>> = {};
      for (const cls of Object.keys(PHDB_LAYOUT) as PhdbClass[]) {
        classes[cls] = {};
        for (const g of PHDB_LAYOUT[cls]) {
          const fields = Object.fromEntries(g.fields.map((f) => [f.name, r() < 0.1 ? -32767 + int(r, 0, 5) : int(r, -500, 20000)]));
          classes[cls]![g.name] = { status: 3 | (int(r, 0, 255) << 2), label: int(r, 0, 15), fields };
        }
      }
      chunks.push(rx(frameRecord(encodePhdbRecord({ time: T + n * 5, driLevel: level, recordType: n === 3 ? 2 : 1, classes }))));
      const ids = [1, 4, 8, 9, 13, 14, 16, 17].slice(0, int(r, 1, 8));
      chunks.push(
        rx(
          frameRecord(
            encodeWaveRecord({
              time: T + n * 5,
              driLevel: level,
              channels: ids.map((waveId) => ({
                waveId,
                status: int(r, 0, 3),
                label: int(r, 0, 7),
                samples: Array.from({ length: int(r, 1, 40) }, () => (r() < 0.05 ? -32767 + int(r, 0, 3) : int(r, -2000, 2000))),
              })),
            }),
          ),
        ),
      );
    }
    seeds.push({ name: `encoder/ge-dri-level${level}`, chunks });
  }
  return seeds;
}

export function intelliVueEncoded(): Seed[] {
  const abs = Date.UTC(2026, 0, 1, 8);
  const rel = 1_000_000;
  const ecgStatic: PollObject['avas'] = [
    [ATTR.ID_TYPE, typeAttr(0x0102)],
    [ATTR.SA_SPECN, saSpec(4, 14, 0x3000)],
    [ATTR.TIME_PD_SAMP, u32(16)],
    [ATTR.SCALE_SPECN_I16, scaleSpec(-40.96, 40.955, 0, 16383)],
    [ATTR.UNIT_CODE, u16(0x10b2)],
    [ATTR.ID_LABEL_STRING, string16('II')],
  ];
  const plethStatic: PollObject['avas'] = [
    [ATTR.SA_SPECN, saSpec(2, 12, 0x8000)],
    [ATTR.TIME_PD_SAMP, u32(64)],
    [ATTR.SCALE_SPECN_I16, scaleSpec(null, null, 0, 4095)],
    [ATTR.UNIT_CODE, u16(0x0200)],
  ];
  const msgs: Buffer[] = [
    Buffer.from([0x0e, 0x00]),
    mdsCreateEvent({ invokeId: 1, manufacturer: 'Philips', model: 'MP70', absTime: abs, relTime: rel, firmware: 'M.00.03', bedLabel: 'OR1' }),
  ];
  for (let k = 0; k < 4; k++) {
    const relK = rel + k * 8000;
    msgs.push(
      ...pollReplyMessages(
        10 + k,
        { pollNumber: 1, sequenceNo: k, relTime: relK, objType: MOC.VMO_METRIC_NU },
        [
          { handle: 1, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 60 + k })]] },
          { handle: 2, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4bb8, unitCode: 0x0220, value: k === 2 ? null : 97, exponent: -1 })]] },
          {
            handle: 3,
            avas: [
              [
                ATTR.NU_CMPD_VAL_OBS,
                nuCmpd([
                  { physioId: 0x4a05, unitCode: 0x0f20, value: 120 },
                  { physioId: 0x4a06, unitCode: 0x0f20, value: 80 },
                  { physioId: 0x4a07, unitCode: 0x0f20, value: 93 },
                ]),
              ],
            ],
          },
        ],
        200,
      ),
    );
    msgs.push(
      ...pollReplyMessages(20 + k, { pollNumber: 2, sequenceNo: k, relTime: relK, objType: MOC.VMO_METRIC_SA_RT }, [
        { handle: 5, avas: [...(k === 0 ? ecgStatic : []), [ATTR.SA_VAL_OBS, saObs(0x0102, [8192, 8392, 0xc000 | 8192, 7992])]] },
        { handle: 6, avas: [...(k === 0 ? plethStatic : []), [ATTR.SA_VAL_OBS, saObs(0x4bb4, [100, 4095])]] },
      ]),
    );
    msgs.push(
      ...pollReplyMessages(30 + k, { pollNumber: 3, sequenceNo: k, relTime: relK, objType: MOC.VMO_AL_MON }, [
        {
          handle: 7,
          avas: [
            [ATTR.AL_MON_T_AL_LIST, alertList([{ code: 0xf0c6, source: 0x4bb8, type: 2, handle: 2, text: 'SpO2 NO SENSOR' }])],
            [ATTR.AL_MON_P_AL_LIST, alertList(k === 3 ? [] : [{ code: 0x0304, source: 0x4182, type: 1, handle: 1, text: '**HR HIGH' }])],
          ],
        },
      ]),
    );
  }
  return [
    { name: 'encoder/intellivue-lan', chunks: msgs.map(rx) },
    { name: 'encoder/intellivue-serial', chunks: [rx(Buffer.concat(msgs.slice(1).map(frameMessage)))] },
  ];
}

export function medibusEncoded(): Seed[] {
  const r = rng(2);
  const cfg = encodeRtConfig([
    { code: 0x00, intervalUs: 20000, min: -20, max: 121, maxBin: 0xfff },
    { code: 0x01, intervalUs: 20000, min: -181, max: 181, maxBin: 0xfff },
    { code: 0x05, intervalUs: 20000, min: 0, max: 100, maxBin: 0xfff },
    { code: 0x06, intervalUs: 20000, min: 0, max: 120, maxBin: 0xfff },
    { code: 0x07, intervalUs: 40000, min: 0, max: 10, maxBin: 0xfff },
  ]);
  const chunks: Chunk[] = [
    tx(encodeCommand(CMD.ICC)),
    rx(encodeResponse(CMD.ICC)),
    tx(encodeCommand(CMD.DEVICE_ID)),
    rx(encodeResponse(CMD.DEVICE_ID, "5555'A3XX'02.11:06.00")),
    tx(encodeCommand(CMD.RT_CONFIG)),
    rx(encodeResponse(CMD.RT_CONFIG, cfg)),
    tx(
      encodeCommand(
        CMD.RT_CONFIGURE,
        encodeRtSelection([
          { code: 0, multiplier: 1 },
          { code: 1, multiplier: 1 },
          { code: 5, multiplier: 1 },
          { code: 6, multiplier: 1 },
          { code: 7, multiplier: 2 },
        ]),
      ),
    ),
    rx(encodeResponse(CMD.RT_CONFIGURE)),
    rx(encodeResponse(CMD.DATETIME, '15:27:12 21-AUG-26')),
    rx(encodeResponse(CMD.DATA_CP1, 'DC  72EB  98B9 5.8E6  36')),
    rx(encodeResponse(CMD.ALARMS_CP1, '5C1APNOEA PRES 3C2O2 LOW     ')),
    rx(encodeResponse(CMD.SETTINGS, '10  5.0 12  500 13   12')),
    rx(encodeResponse(CMD.TEXT, '2AVolume Control  ')),
    rx(encodeResponse(CMD.LOW_LIMITS_CP1, 'DC  40EB  90')),
    rx(encodeResponse(CMD.HIGH_LIMITS_CP1, 'DC 140EB 100')),
    rx(encodeCommand(CMD.NOP)),
    rx(Buffer.from([0x01, 0x15, 0x31, 0x36, 0x0d])),
  ];
  const rt: number[] = [];
  for (let c = 0; c < 40; c++) {
    rt.push(0xdf, 0xc4, 0xc1); // streams 1-4, then 5
    if (c % 10 === 3) rt.push(0xc6, c % 20 === 3 ? 0xc0 : 0xc1);
    for (let s = 0; s < 5; s++) rt.push(...encodeRtValue(int(r, 0, 0xfff)));
  }
  for (let at = 0; at < rt.length; at += 97) chunks.push(rx(Buffer.from(rt.slice(at, at + 97))));
  chunks.push(rx(encodeCommand(CMD.ICC)));
  return [{ name: 'encoder/medibus-session', chunks, profileId: 'draeger/atlan/a350' }];
}

export function hl7Encoded(): Seed[] {
  const start = Date.UTC(2026, 10, 22, 8, 0, 0);
  const model = new PhysiologyModel({ seed: 7, startMs: start, nibpIntervalMin: 1 });
  return VENDOR_NAMES.map((name) => {
    const style = VENDORS[name];
    const chunks = [0, 1, 2].map((i) => rx(mllpWrap(encodeOru(style, model.at(start + i * 5000), { controlId: `C${i}`, sentinel: i === 2 }).text)));
    return { name: `encoder/hl7-${name}`, chunks, profileId: name === 'mindray-pds' ? style.profile : undefined, expectProfile: style.profile };
  });
}

export function masimoEncoded(): Seed[] {
  const t0 = Date.UTC(2026, 0, 1, 8);
  const lines = [
    encodeLine(t0, [
      ['SN', '0000056661'],
      ['SPO2', '097%'],
      ['BPM', '072'],
      ['PI', '02.40%'],
      ['SPCO', '01.2%'],
      ['SPMET', '00.8%'],
      ['SPHB', '13.1'],
      ['SPOC', '18'],
      ['PVI', '012'],
      ['DESAT', '--'],
      ['PIDELTA', '+05'],
      ['ALARM', '0000'],
      ['EXC', '000800'],
      ['EXC1', '00000000'],
    ]),
    encodeLine(t0 + 1000, [
      ['SN', '0000056661'],
      ['SPO2', '---'],
      ['BPM', '---'],
      ['PI', '--.--%'],
      ['SPHB', '--.-'],
      ['PVI', '---'],
      ['ALARM', '0020'],
      ['EXC', '000820'],
      ['EXC1', '00000001'],
    ]),
    encodeLine(t0 + 2000, [
      ['SPO2', '099%'],
      ['BPM', '160'],
      ['PI', '00.10%'],
      ['ALARM', 'FFFF'],
      ['EXC', 'FFFFFF'],
    ]),
    encodeLine(t0 + 3000, [
      ['SPO2', '088%'],
      ['BPM', '045'],
      ['PI', '20.00%'],
      ['RRA', '14'],
      ['ALARM', '0000'],
      ['EXC', '000800'],
    ]),
  ];
  return [
    { name: 'encoder/masimo-root', chunks: [rx(Buffer.from(lines.join(''), 'latin1'))] },
    { name: 'encoder/masimo-radical7', chunks: lines.map((l) => rx(Buffer.from(l, 'latin1'))), profileId: 'masimo/radical-7/ascii1' },
  ];
}

export function noninEncoded(): Seed[] {
  const r = rng(3);
  const seeds: Seed[] = [];
  const statusOf = (i: number): number =>
    STATUS.ALWAYS | (i % 7 === 5 ? STATUS.SNSD : STATUS.GPRF) | (i % 5 === 3 ? STATUS.ARTF : 0) | (i % 9 === 4 ? STATUS.OOT : 0);
  for (const format of [2, 7] as const) {
    const out: Buffer[] = [];
    for (let i = 0; i < 8; i++) {
      const hr = int(r, 30, 320);
      const v =
        i % 7 === 5
          ? {}
          : {
              HR: hr,
              SPO2: i % 4 === 1 ? null : int(r, 80, 100),
              SPO2_D: 97,
              SPO2_FAST: 96,
              SPO2_BB: 98,
              EHR: hr,
              ESPO2: 97,
              ESPO2_D: 97,
              HR_D: hr,
              EHR_D: hr,
            };
      const max = format === 2 ? 255 : 65535;
      out.push(
        encodePacket(
          format,
          v,
          Array.from({ length: 25 }, (_, k) => Math.round(max * (0.5 + 0.4 * Math.sin((i * 25 + k) / 9)))),
          statusOf(i),
        ),
      );
    }
    seeds.push({
      name: `encoder/nonin-format${format}`,
      chunks: [rx(Buffer.concat(out))],
      profileId: format === 2 ? 'nonin/oem-iii/format2' : 'nonin/onyx-ii-9560/format7',
    });
  }
  const sec: Buffer[] = [];
  for (let i = 0; i < 24; i++) sec.push(encodeSecond(i % 7 === 5 ? {} : { HR: int(r, 30, 300), SPO2: i % 4 === 1 ? null : int(r, 80, 100) }, statusOf(i)));
  seeds.push({ name: 'encoder/nonin-format8', chunks: [rx(Buffer.concat(sec))], profileId: 'nonin/wristox2-3150/format8' });
  return seeds;
}

/** Envelopes as a gateway sends them (gateway gw1, as in ingest's test fixtures). */
export function envelopeSeeds(): Seed[] {
  const t = Date.UTC(2026, 0, 1, 8);
  const env = (seq: number, devices: Envelope['devices']): Envelope => ({ gatewayId: 'gw1', bootId: `boot-${seq % 3}`, seq, sentAt: t + seq, devices });
  const list: Envelope[] = [
    env(1, [
      {
        deviceId: 'mon1',
        profileId: 'ge/s5/dri-2003',
        numerics: [
          {
            kind: 'numeric',
            mdc: 'MDC_ECG_HEART_RATE',
            code: 147842,
            value: 72,
            unit: '/min',
            t,
            tDevice: t - 40,
            vendorCode: 'ecg.hr',
            label: 'II',
            flags: ['questionable'],
          },
          { kind: 'numeric', mdc: null, code: null, value: null, unit: '{unknown}', t, vendorCode: 'x.y', flags: ['invalid', 'unmapped'] },
        ],
        waves: [
          {
            kind: 'wave',
            mdc: 'MDC_ECG_ELEC_POTL_II',
            code: 131074,
            unit: 'mV',
            t0: t,
            rateHz: 300,
            scale: 0.001,
            offset: 0,
            vendorCode: 'ECG1',
            samples: [0.1, 0.25, null, -0.3, 1.2],
            flags: ['discontinuity'],
          },
        ],
        alarms: [
          { kind: 'alarm', mdc: null, code: null, text: 'HR HIGH', priority: 'high', source: 'physiological', phase: 'start', t, vendorCode: 'alarm.color3' },
        ],
        settings: [
          { kind: 'setting', name: 'mode', value: 'VC', t },
          { kind: 'setting', name: 'peep', value: 5, unit: 'cm[H2O]', t, vendorCode: '12' },
        ],
        status: { link: 'streaming', model: 'S5', firmware: '1.0', clockOffsetMs: -12, frames: 100, errors: 2 },
      },
      {
        deviceId: 'vent1',
        profileId: 'draeger/atlan/a350',
        numerics: [],
        alarms: [],
        settings: [],
        waves: [
          {
            kind: 'wave',
            mdc: null,
            code: null,
            unit: 'mbar',
            t0: t,
            rateHz: 50,
            scale: 0.1,
            offset: -20,
            vendorCode: 'rt.00',
            samples: Array.from({ length: 50 }, (_, i) => Number((i * 0.3 - 5).toFixed(1))),
          },
        ],
      },
    ]),
    env(2, [{ deviceId: 'mon1', profileId: 'p', numerics: [], waves: [], alarms: [], settings: [], status: { link: 'down' } }]),
    env(3, [
      {
        deviceId: 'ox1',
        profileId: 'masimo/rad-8/ascii1',
        waves: [],
        alarms: [],
        settings: [],
        numerics: [{ kind: 'numeric', mdc: 'MDC_PULS_OXIM_SAT_O2', code: 150456, value: 97, unit: '%', t, vendorCode: 'SPO2' }],
      },
    ]),
  ];
  return list.map((e, i) => ({ name: `encoder/envelope-${i}`, chunks: [rx(Buffer.from(encodeEnvelope(e)))] }));
}

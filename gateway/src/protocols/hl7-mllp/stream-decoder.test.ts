import t from 'tap';
import type { NumericObs, Observation } from '../../../../schemas/src/observation.js';
import { mllpWrap } from './mllp.js';
import { Hl7StreamDecoder } from './stream-decoder.js';

const T0 = Date.UTC(2026, 10, 22, 0, 38, 50);
const msh = (app: string, id: string, extra = '|||NE|AL') => `MSH|^~\\&|${app}|FAC|||20261122013855+0100||ORU^R01^ORU_R01|${id}|P|2.6${extra}`;
const GE_OBX = [
  'OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||080019FFFE1443EC^B40_GE',
  'OBX|2|NM|151712^MDC_CONC_AWAY_CO2_EXP^MDC|1.11.1.1|35|266016^MDC_DIM_MMHG^MDC|||||R',
  'OBX|3|NM|150033^MDC_PRESS_BLD_ART_SYS^MDC|1.13.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R',
  'OBX|4|NM|150033^MDC_PRESS_BLD_ART_SYS^MDC|1.13.2.1|118|266016^MDC_DIM_MMHG^MDC|||||R',
  'OBX|5|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.18.1.1|111|266016^MDC_DIM_MMHG^MDC|||||R|||20261122012000+0100|||^APERIODIC',
  'OBX|6|NM|150344^MDC_TEMP^MDC|1.26.1.1||268192^MDC_DIM_DEGC^MDC|||||X',
  'OBX|7|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.22.1.1|-999|262688^MDC_DIM_PERCENT^MDC|||||R',
];
const geMsg = (id: string) =>
  [msh('B40^080019FFFE1443EC^EUI-64', id), 'PV1||I|OR3^^BED1', 'OBR|1|||182777000^monitoring of patient^SCT|||20261122013850+0100', ...GE_OBX].join('\r') +
  '\r';
const num = (obs: Observation[]) => obs.filter((o): o is NumericObs => o.kind === 'numeric');

t.test('GE B40: auto-identified, EtCO2 quirk, containment, OBR-7 / OBX-14 times, absent values', async (t) => {
  const d = new Hl7StreamDecoder();
  const obs = num(d.push(mllpWrap(geMsg('M1')), T0 + 5000));
  t.equal(d.profileId(), 'hl7/ge/b40');
  t.same(d.identity(), { vendor: 'GE', protocolLevel: '2.6', model: 'B40', serial: '080019FFFE1443EC' });
  t.same(
    obs.map((o) => [o.mdc, o.code, o.value, o.unit, o.t, o.vendorCode, o.flags ?? []]),
    [
      ['MDC_CONC_AWAY_CO2_ET', 151708, 35, 'mm[Hg]', T0, 'MDC:151712@1.11.1', []],
      ['MDC_PRESS_BLD_ART_SYS', 150033, 120, 'mm[Hg]', T0, 'MDC:150033@1.13.1', []],
      ['MDC_PRESS_BLD_ART_SYS', 150033, 118, 'mm[Hg]', T0, 'MDC:150033@1.13.2', []],
      ['MDC_PRESS_BLD_NONINV_SYS', 150021, 111, 'mm[Hg]', Date.UTC(2026, 10, 22, 0, 20), 'MDC:150021@1.18.1', []],
      ['MDC_TEMP', 150344, null, 'Cel', T0, 'MDC:150344@1.26.1', ['invalid']],
      ['MDC_PULS_OXIM_SAT_O2', 150456, null, '%', T0, 'MDC:150456@1.22.1', ['invalid']],
    ],
  );
  t.equal(obs[0].label, 'MDC_CONC_AWAY_CO2_EXP', 'the vendor label is kept, not used');
  const acks = d.takeForSession().map((b) => b.toString());
  t.equal(acks.length, 1);
  t.match(acks[0], /\rMSA\|AA\|M1\r\x1c\r$/);
});

t.test('MDIL forms, units by code, unmapped codes kept, unit honesty, settings, SN', async (t) => {
  const text = [
    msh('X', 'M2', ''),
    'OBX|1|NM|0002-4182^HR^MDIL||61|0004-0aa0^bpm^MDIL|||||F',
    'OBX|2|NM|2::19384^SpO2^MDIL||97|0004-0220^%^MDIL|||||F',
    'OBX|3|NM|151708^MDC_CONC_AWAY_CO2_ET^MDC||4.6|265987^MDC_DIM_KILO_PASCAL^MDC|||||F',
    'OBX|4|NM|999999^MDC_MADE_UP^MDC||5|weird^weird^LOCAL|||||F',
    'OBX|5|CWE|184352^MDC_ATTR_PT_POSITION^MDC||supine|||||F',
    'OBX|6|SN|150344^MDC_TEMP^MDC||>^36.5|268192^MDC_DIM_DEGC^MDC|||||F',
    'OBX|7|NM|147842^HR^MDC||abc|264864|||||F',
    'OBX|8|NM|147842^HR^MDC||70||||||D',
  ].join('\r');
  const d = new Hl7StreamDecoder();
  const obs = d.push(mllpWrap(text), T0);
  t.equal(d.profileId(), 'hl7/pcd-01/generic');
  const n = num(obs);
  t.same(
    n.map((o) => [o.mdc, o.code, o.value, o.unit]),
    [
      ['MDC_ECG_HEART_RATE', 147842, 61, '/min'],
      ['MDC_PULS_OXIM_SAT_O2', 150456, 97, '%'],
      ['MDC_CONC_AWAY_CO2_ET', 151708, 4.6, 'kPa'],
      [null, null, 5, '{weird}'],
      ['MDC_TEMP', 150344, 36.5, 'Cel'],
      ['MDC_ECG_HEART_RATE', 147842, null, '/min'],
    ],
  );
  t.same(n[3].flags, ['unmapped']);
  t.equal(n[3].vendorCode, 'MDC:999999');
  t.same(
    obs.filter((o) => o.kind === 'setting'),
    [{ kind: 'setting', name: 'MDC:184352', value: 'supine', t: Date.UTC(2026, 10, 22, 0, 38, 55), vendorCode: 'MDC:184352' }],
  );
  t.same(d.stats().errors, { 'unit-differs': 1, 'unknown-unit': 1, 'bad-value': 1, deleted: 1 });
  t.same(d.unmapped(), { 'MDC:999999': 1 });
  t.match(d.takeForSession()[0].toString(), /MSA\|AA\|M2/, 'empty MSH-15/16: original mode');
});

t.test('bad messages: counted, NAKed with a clear error, the next message still decoded', async (t) => {
  const d = new Hl7StreamDecoder({ profileId: 'hl7/ge/b40' });
  const wire = Buffer.concat([
    mllpWrap('GARBAGE WITHOUT HEADER'),
    mllpWrap('MSH|^~\\&|B40||||||ORU^R01|X1|P|3.0\r'),
    mllpWrap('MSH|^~\\&|B40||||||ORU^R01||P|2.6\r'),
    mllpWrap('MSH|^~\\&|B40\rob%|bad segment\r'),
    Buffer.from('junk between'),
    mllpWrap(geMsg('M3')),
  ]);
  const obs = num(d.push(wire, T0));
  t.equal(obs.filter((o) => o.value !== null).length, 4, 'good message after the bad ones decoded');
  t.same(d.stats().errors, { garbage: 1, 'no-msh': 1, 'bad-version': 1, 'no-control-id': 1, 'bad-segment': 1 });
  const acks = d.takeForSession().map((b) => b.toString());
  t.equal(acks.length, 5);
  t.match(acks[0], /MSA\|AR\|\|message rejected: no MSH segment/);
  t.match(acks[1], /MSA\|AR\|X1\|unsupported HL7 version '3\.0'/);
  t.match(acks[2], /MSA\|AE\|\|MSH-10 message control id is empty/);
  t.match(acks[3], /MSA\|AR\|\|message rejected: malformed segment id/);
  t.match(acks[4], /MSA\|AA\|M3/);
});

t.test("multi-bed sender: PV1-3 filter keeps only this device's bed; others counted and ACKed", async (t) => {
  const d = new Hl7StreamDecoder({ acceptBeds: ['OR3^^BED1'] });
  const other = geMsg('M4').replace('PV1||I|OR3^^BED1', 'PV1||I|OR4^^BED2');
  const got = d.push(Buffer.concat([mllpWrap(other), mllpWrap(geMsg('M5'))]), T0);
  t.ok(num(got).length > 0);
  t.same(d.stats().errors, { 'other-bed': 1 });
  t.equal(d.takeForSession().length, 2);
});

t.test('time zone: stamps without offset follow the profile / option zone', async (t) => {
  const text = 'MSH|^~\\&|X||||20261122013855||ORU^R01|Z1|P|2.6\rOBX|1|NM|147842^HR^MDC||60|264864|||||F\r';
  const utc = num(new Hl7StreamDecoder().push(mllpWrap(text), 0));
  t.equal(utc[0].t, Date.UTC(2026, 10, 22, 1, 38, 55));
  const berlin = num(new Hl7StreamDecoder({ timeZone: 'Europe/Berlin' }).push(mllpWrap(text), 0));
  t.equal(berlin[0].t, Date.UTC(2026, 10, 22, 0, 38, 55));
});

t.test('Mindray PDS: explicit profile, private ids, -100 prefix sentinel, no ACK; non-ORU messages ignored', async (t) => {
  const d = new Hl7StreamDecoder({ profileId: 'hl7/mindray/pds' });
  const oru =
    'MSH|^~\\&|||||20261122013855||ORU^R01|204|P|2.3.1|\rOBX||NM|101^HR||72||||||F\rOBX||NM|200^T1||-100.0||||||F\rOBX||NM|160^SpO2||98||||||F\rOBX||NM|777^XX||1||||||F\r';
  const adt = 'MSH|^~\\&|||||||ADT^A01|101|P|2.3.1|\rPV1||I|^^127.0.0.1&4601\r';
  const obs = num(d.push(Buffer.concat([mllpWrap(adt), mllpWrap(oru)]), T0));
  t.same(
    obs.map((o) => [o.mdc, o.value, o.unit, o.vendorCode]),
    [
      ['MDC_ECG_HEART_RATE', 72, '/min', 'MNDRY:101'],
      ['MDC_TEMP', null, 'Cel', 'MNDRY:200'],
      ['MDC_PULS_OXIM_SAT_O2', 98, '%', 'MNDRY:160'],
      [null, 1, '{vendor}', 'MNDRY:777'],
    ],
  );
  t.same(d.recordCounts(), { 'ADT^A01': 1, 'ORU^R01': 1 });
  t.equal(d.takeForSession().length, 0);
});

t.test('timeBase gateway: a device clock off by more than the tolerance is corrected and flagged', async (t) => {
  const text = 'MSH|^~\\&|X||||20261122013855+0000||ORU^R01|K1|P|2.6\rOBX|1|NM|147842^HR^MDC||60|264864|||||F|||20261122013800+0000\r';
  const rx = Date.UTC(2026, 10, 22, 1, 38, 55) - 60_000; // device runs 60 s ahead
  const d = new Hl7StreamDecoder({ timeBase: 'gateway', clockToleranceMs: 5000 });
  const [o] = num(d.push(mllpWrap(text), rx));
  t.equal(o.t, Date.UTC(2026, 10, 22, 1, 38, 0) - 60_000);
  t.equal(o.tDevice, Date.UTC(2026, 10, 22, 1, 38, 0));
  t.same(o.flags, ['clock-offset']);
  t.equal(d.clockOffsetMs(), 60_000);
  const ok = new Hl7StreamDecoder({ timeBase: 'gateway' });
  const [p] = num(ok.push(mllpWrap(text), Date.UTC(2026, 10, 22, 1, 38, 56)));
  t.equal(p.t, Date.UTC(2026, 10, 22, 1, 38, 0), 'within tolerance: device time kept');
  t.equal(p.flags, undefined);
});

t.test('Efficia MDIL-ALERT OBX → alarm observations', async (t) => {
  const text =
    'MSH|^~\\&|EFFICIA||||20261122083001||ORU^R01|A1|P|2.4\rOBR|1|||ALARM|||20261122083001\r' +
    'OBX|1|TX|3^Yellow Alarm^MDIL-ALERT||SpO2 Low|||||F\rOBX|2|TX|5^Cyan Alarm^MDIL-ALERT||ECG Leads Off|||||F\r';
  const obs = new Hl7StreamDecoder().push(mllpWrap(text), 0);
  t.same(obs, [
    {
      kind: 'alarm',
      mdc: null,
      code: null,
      text: 'SpO2 Low',
      priority: 'medium',
      source: 'physiological',
      phase: 'update',
      t: Date.UTC(2026, 10, 22, 8, 30, 1),
      vendorCode: 'MDIL-ALERT:3',
    },
    {
      kind: 'alarm',
      mdc: null,
      code: null,
      text: 'ECG Leads Off',
      priority: 'low',
      source: 'technical',
      phase: 'update',
      t: Date.UTC(2026, 10, 22, 8, 30, 1),
      vendorCode: 'MDIL-ALERT:5',
    },
  ]);
});

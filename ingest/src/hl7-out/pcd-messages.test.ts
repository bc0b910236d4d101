import t from 'tap';
import { pyParse } from '../../../test/helpers/python-hl7.js';
import type { StoredAlarm, StoredNumeric } from '../series/types.js';
import { buildPcd01, buildPcd04, type CaseContext } from './pcd-messages.js';
import { checkProfile } from './profile-check.js';

const T0 = Date.UTC(2026, 11, 8, 1, 0, 0);
const loc = { device: 'mon-1', site: 'main', room: 'or3', bed: 'or3-1' };
const ctx: CaseContext = {
  caseId: 'c-1',
  externalIds: { mrn: 'MRN|12^3', visit: 'V&9~1' },
  assigningAuthority: 'HOSP\\A',
  location: { site: 'Main & Co', room: 'OR|3', bed: 'Bed^1' },
  devices: { 'mon-1': { vendor: 'GE', model: 'B40', serial: '080019fffe1443ec' }, 'vent-1': { vendor: 'Draeger', model: 'Perseus', serial: 'X~1' } },
};
const num = (o: Partial<StoredNumeric>): StoredNumeric => ({
  kind: 'numeric',
  mdc: 'MDC_ECG_HEART_RATE',
  code: 147842,
  value: 72,
  unit: '/min',
  t: T0 + 1000,
  vendorCode: 'HR',
  ...loc,
  ...o,
});
const numerics = [
  num({}),
  num({ mdc: 'MDC_PULS_OXIM_SAT_O2', code: 150456, value: 97.5, unit: '%', vendorCode: 'SPO2' }),
  num({ mdc: 'MDC_PRESS_BLD_ART_SYS', code: 150037, value: null, unit: 'mm[Hg]', vendorCode: 'ART-S', flags: ['invalid'] }),
  num({ device: 'vent-1', mdc: 'MDC_VENT_RESP_RATE', code: 151562, value: 12, unit: '{breath}/min', vendorCode: 'RR' }),
  num({ mdc: null, code: null, vendorCode: 'XYZ' }),
];

t.test('PCD-01 ORU^R01: python3-hl7 parses every segment; fields as mapped; profile fields present', async (t) => {
  const text = buildPcd01(ctx, { controlId: 'OL7', now: T0 + 61_000, receivingApp: 'EMR' }, { from: T0, to: T0 + 60_000 }, numerics);
  t.same(checkProfile(text, 'PCD-01'), []);
  const segs = pyParse(text);
  t.same(
    segs.map((s) => s.id),
    ['MSH', 'PID', 'PV1', 'OBR', 'OBX', 'OBX', 'OBX', 'OBX'],
    'unmapped numeric left out',
  );
  const [msh, pid, pv1, obr] = segs;
  // python-hl7 numbers MSH fields from the field separator: its MSH[9] is MSH-9
  t.equal(msh.f['9'], 'ORU^R01^ORU_R01');
  t.equal(msh.f['10'], 'OL7');
  t.equal(msh.f['12'], '2.6');
  t.equal(msh.f['4'], 'Main \\T\\ Co', 'escaped facility');
  t.match(msh.f['21'], /^IHE_PCD_001\^IHE PCD\^1\.3\.6\.1\.4\.1\.19376\.1\.6\.1\.1\.1\^ISO$/);
  t.equal(pid.f['3'], 'MRN\\F\\12\\S\\3^^^HOSP\\E\\A^MR', 'MRN and authority escaped');
  t.equal(pv1.f['3'], 'OR\\F\\3^^Bed\\S\\1^Main \\T\\ Co');
  t.equal(pv1.f['19'], 'V\\T\\9\\R\\1');
  t.equal(obr.f['7'], '20261208010000.000+0000');
  t.equal(obr.f['8'], '20261208010059.999+0000');
  const obx = segs.slice(4);
  t.same(
    obx.map((o) => o.f['1']),
    ['1', '2', '3', '4'],
  );
  const hr = obx.find((o) => o.f['3'].startsWith('147842'))!;
  t.equal(hr.f['2'], 'NM');
  t.equal(hr.f['3'], '147842^MDC_ECG_HEART_RATE^MDC');
  t.equal(hr.f['5'], '72');
  t.equal(hr.f['6'], '/min^/min^UCUM');
  t.equal(hr.f['11'], 'R');
  t.equal(hr.f['14'], '20261208010001.000+0000');
  t.equal(hr.f['18'], 'mon-1^^080019FFFE1443EC^EUI-64');
  const art = obx.find((o) => o.f['3'].startsWith('150037'))!;
  t.equal(art.f['5'], '', 'invalid: no value');
  t.equal(art.f['11'], 'X');
  const rr = obx.find((o) => o.f['3'].startsWith('151562'))!;
  t.equal(rr.f['4'], '2.0.0.1', 'second device (sorted by id) is MDS 2');
  t.equal(rr.f['18'], 'vent-1^^Draeger:Perseus:X\\R\\1^L');
  t.same(
    obx.filter((o) => o.f['18'].startsWith('mon-1')).map((o) => o.f['4']),
    ['1.0.0.1', '1.0.0.2', '1.0.0.3'],
    'metrics numbered by MDC code within the MDS',
  );
});

t.test('PCD-01 without an MRN: PID-3 carries the case id typed AN, never empty', async (t) => {
  const text = buildPcd01({ ...ctx, externalIds: {} }, { controlId: 'OL8', now: T0 }, { from: T0, to: T0 + 1000 }, [num({})]);
  t.same(checkProfile(text, 'PCD-01'), []);
  t.equal(pyParse(text)[1].f['3'], 'c-1^^^ORLINK^AN');
});

t.test('PCD-04 ORU^R40 for start and end: parsed by python3-hl7, profile fields present', async (t) => {
  const alarm: StoredAlarm = {
    kind: 'alarm',
    mdc: 'MDC_ECG_HEART_RATE',
    code: 147842,
    text: 'HR high | >120 ^ check',
    priority: 'high',
    source: 'physiological',
    phase: 'start',
    t: T0 + 5000,
    vendorCode: 'HR_HI',
    ...loc,
  };
  const start = buildPcd04(ctx, { controlId: 'OL9', now: T0 + 6000 }, alarm);
  const end = buildPcd04(ctx, { controlId: 'OL10', now: T0 + 9000 }, { ...alarm, phase: 'end', t: T0 + 8000 });
  for (const text of [start, end]) t.same(checkProfile(text, 'PCD-04'), []);
  const s = pyParse(start);
  const e = pyParse(end);
  t.same(
    s.map((x) => x.id),
    ['MSH', 'PID', 'PV1', 'OBR', 'OBX', 'OBX', 'OBX', 'OBX'],
  );
  t.equal(s[0].f['9'], 'ORU^R40^ORU_R40');
  t.match(s[0].f['21'], /1\.3\.6\.1\.4\.1\.19376\.1\.6\.4\.4/);
  t.equal(s[3].f['4'], '196616^MDC_EVT_ALARM^MDC');
  t.equal(s[3].f['3'], e[3].f['3'], 'the same alarm instance id on start and end');
  t.not(s[3].f['2'], e[3].f['2']);
  t.equal(s[4].f['3'], '147842^MDC_ECG_HEART_RATE^MDC', 'source');
  t.equal(s[5].f['5'], 'HR high \\F\\ >120 \\S\\ check', 'alarm text escaped');
  t.equal(s[5].f['8'], 'PH~SP', 'priority and source type');
  t.equal(s[6].f['5'], 'start');
  t.equal(e[6].f['5'], 'end');
  t.equal(s[7].f['5'], 'active');
  t.equal(e[7].f['5'], 'inactive');
  const tech = pyParse(
    buildPcd04(ctx, { controlId: 'OL11', now: T0 }, { ...alarm, mdc: null, code: null, priority: 'low', source: 'technical', vendorCode: 'LEADS' }),
  );
  t.equal(tech[4].f['3'], 'LEADS^LEADS^99ORLINK', 'unmapped source: vendor code, local coding system');
  t.same(
    checkProfile(
      buildPcd04(ctx, { controlId: 'OL11', now: T0 }, { ...alarm, mdc: null, code: null, priority: 'low', source: 'technical', vendorCode: 'LEADS' }),
      'PCD-04',
    ),
    [],
    'an unmapped source passes the profile check',
  );
  t.equal(tech[5].f['8'], 'PL~ST');
});

t.test('the checker catches a missing required field and a wrong profile', async (t) => {
  const good = buildPcd01(ctx, { controlId: 'OL12', now: T0 }, { from: T0, to: T0 + 1000 }, [num({})]);
  t.match(checkProfile(good.replace('|2.6|', '|2.5|'), 'PCD-01').join('\n'), /MSH-12/);
  t.match(checkProfile(good.replace(/\rOBX\|([^|]*)\|NM\|[^|]*\|/, '\rOBX|$1|NM||'), 'PCD-01').join('\n'), /OBX-3\.1/);
  t.match(checkProfile(good.replace(/\^UCUM/, '^ISO+'), 'PCD-01').join('\n'), /UCUM/);
  t.match(checkProfile(good, 'PCD-04').join('\n'), /MSH-9/);
  t.match(checkProfile('garbage', 'PCD-01').join('\n'), /unparseable/);
});

/**
 * Required fields of the two outbound profiles as orlink fills them (a table, checked by the tests
 * on every built message): PCD-01 (IHE PCD DEC, ORU^R01) and PCD-04 (IHE PCD ACM, ORU^R40).
 * `when` narrows a rule (e.g. OBX-5 only when OBX-11 is not X). Returns the problems, [] = conforms.
 */
import { comp, parseHl7, rawField, type Hl7Message, type Segment } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';

export type ProfileName = 'PCD-01' | 'PCD-04';

interface Rule {
  seg: string;
  field: number;
  component?: number;
  equals?: string;
  when?: (m: Hl7Message, s: Segment) => boolean;
  what: string;
}

const common: Rule[] = [
  { seg: 'MSH', field: 3, what: 'sending application' },
  { seg: 'MSH', field: 7, what: 'message date/time' },
  { seg: 'MSH', field: 10, what: 'message control id' },
  { seg: 'MSH', field: 11, equals: 'P', what: 'processing id' },
  { seg: 'MSH', field: 12, equals: '2.6', what: 'version id' },
  { seg: 'MSH', field: 15, equals: 'NE', what: 'accept acknowledgment type' },
  { seg: 'MSH', field: 16, equals: 'AL', what: 'application acknowledgment type' },
  { seg: 'PID', field: 3, what: 'patient identifier list' },
  { seg: 'PID', field: 5, what: 'patient name (may be of type U)' },
  { seg: 'PV1', field: 2, what: 'patient class' },
  { seg: 'PV1', field: 3, what: 'assigned patient location' },
  { seg: 'OBR', field: 1, what: 'set id' },
  { seg: 'OBR', field: 3, what: 'filler order number' },
  { seg: 'OBR', field: 4, what: 'universal service identifier' },
  { seg: 'OBR', field: 7, what: 'observation date/time' },
  { seg: 'OBX', field: 1, what: 'set id' },
  { seg: 'OBX', field: 2, what: 'value type' },
  { seg: 'OBX', field: 3, component: 1, what: 'observation identifier (MDC code)' },
  { seg: 'OBX', field: 3, component: 3, equals: 'MDC', when: (m, s) => comp(m, s, 3, 3) !== '99ORLINK', what: 'coding system MDC' },
  { seg: 'OBX', field: 4, what: 'observation sub-id (containment)' },
  { seg: 'OBX', field: 11, what: 'observation result status' },
  { seg: 'OBX', field: 18, what: 'equipment instance identifier' },
];

export const PROFILE_RULES: Record<ProfileName, { type: string; profileOid: string; rules: Rule[] }> = {
  'PCD-01': {
    type: 'ORU^R01^ORU_R01',
    profileOid: '1.3.6.1.4.1.19376.1.6.1.1.1',
    rules: [
      ...common,
      { seg: 'OBR', field: 8, what: 'observation end date/time (interval)' },
      { seg: 'OBX', field: 5, when: (m, s) => comp(m, s, 11) !== 'X', what: 'observation value' },
      { seg: 'OBX', field: 6, component: 3, equals: 'UCUM', when: (m, s) => comp(m, s, 2) === 'NM', what: 'units (UCUM)' },
      { seg: 'OBX', field: 14, what: 'date/time of the observation' },
    ],
  },
  'PCD-04': {
    type: 'ORU^R40^ORU_R40',
    profileOid: '1.3.6.1.4.1.19376.1.6.4.4',
    rules: [
      ...common,
      { seg: 'OBX', field: 5, what: 'observation value' },
      { seg: 'OBX', field: 8, when: (m, s) => comp(m, s, 3, 2) === 'MDC_EVT_ALARM', what: 'abnormal flags: priority and source' },
    ],
  },
};

export function checkProfile(text: string, profile: ProfileName): string[] {
  const p = PROFILE_RULES[profile];
  const problems: string[] = [];
  let m: Hl7Message;
  try {
    m = parseHl7(text);
  } catch (err) {
    return [`unparseable: ${(err as Error).message}`];
  }
  const msh = m.segments[0];
  if (rawField(msh, 9) !== p.type) problems.push(`MSH-9 is ${rawField(msh, 9)}, expected ${p.type}`);
  if (comp(m, msh, 21, 3) !== p.profileOid) problems.push(`MSH-21 profile is ${comp(m, msh, 21, 3) || 'missing'}, expected ${p.profileOid}`);
  for (const id of ['MSH', 'PID', 'PV1', 'OBR', 'OBX']) if (!m.segments.some((s) => s.id === id)) problems.push(`segment ${id} missing`);
  const order = m.segments.map((s) => s.id).join(' ');
  if (!/^MSH PID PV1 OBR( OBX)+$/.test(order)) problems.push(`segment order ${order}`);
  for (const r of p.rules) {
    m.segments.forEach((s, i) => {
      if (s.id !== r.seg || (r.when && !r.when(m, s))) return;
      const v = r.component ? comp(m, s, r.field, r.component) : rawField(s, r.field);
      if (!v) problems.push(`${r.seg}-${r.field}${r.component ? `.${r.component}` : ''} (${r.what}) empty in segment ${i + 1}`);
      else if (r.equals !== undefined && v !== r.equals) problems.push(`${r.seg}-${r.field} (${r.what}) is ${v}, expected ${r.equals}`);
    });
  }
  return problems;
}

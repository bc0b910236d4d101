/**
 * ORU^R01 encoder: one physiology snapshot → one HL7 message in a vendor's style (the inverse of
 * the gateway's hl7-mllp decoder), plus the produced truth in canonical terms. Pure.
 */
import { escapeHl7, DEFAULT_SEPS } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { formatHl7LocalTime, formatHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';
import type { VitalsSnapshot } from '../physiology/index.js';
import type { ProducedNumeric } from '../ge-dri/truth.js';
import type { ParamDef, VendorStyle } from './vendors.js';

export interface EncodeOptions {
  controlId: string;
  /** Send the vendor's sentinel instead of the value of style.sentinel.vital. */
  sentinel?: boolean;
  /** PV1-3 point of care (bed), e.g. 'OR3^^BED1'. */
  bed?: string;
  /** Only these params (PDS sends NIBP in its own 503 message). */
  only?: (d: ParamDef) => boolean;
}

export interface Encoded {
  text: string;
  produced: ProducedNumeric[];
}

const esc = (s: string) => escapeHl7(s, DEFAULT_SEPS);

export function quantise(v: number, decimals: number): number {
  return Number(v.toFixed(decimals));
}

export function encodeOru(style: VendorStyle, snap: VitalsSnapshot, o: EncodeOptions): Encoded {
  // Whole seconds like the real monitors; milliseconds only when the schedule is sub-second.
  const ts = (ms: number) => (style.offset ? formatHl7Time(ms, 'UTC', ms % 1000 !== 0) : formatHl7LocalTime(ms, 'UTC', ms % 1000 !== 0));
  const segs: string[] = [];
  const msh = [
    'MSH',
    '^~\\&',
    style.msh3,
    style.msh4,
    'ORLINK',
    '',
    ts(snap.t),
    '',
    'ORU^R01^ORU_R01',
    o.controlId,
    'P',
    style.version,
    '',
    '',
    style.msh15,
    style.msh16,
    '',
    style.version === '2.6' ? 'UNICODE UTF-8' : '',
    '',
    '',
    style.msh21,
  ];
  while (msh.length > 13 && msh[msh.length - 1] === '') msh.pop();
  if (style.name === 'mindray-pds') msh.splice(2, msh.length - 2, '', '', '', '', ts(snap.t), '', 'ORU^R01', o.controlId, 'P', style.version);
  segs.push(msh.join('|'));
  if (style.name !== 'mindray-pds') {
    segs.push('PID|||SIM0001^^^ORLINK^PI||Doe^John^^^^^L|||U'); // synthetic demographics: never a real patient
    segs.push(`PV1||I|${o.bed ?? 'OR1^^BED1'}`);
    segs.push(`OBR|1|${o.controlId}^ORLINK||182777000^monitoring of patient^SCT|||${ts(snap.t)}`);
  }
  const produced: ProducedNumeric[] = [];
  let set = 0;
  const equip = style.equipment;
  if (style.headers) {
    segs.push(`OBX|${++set}||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||${equip}`);
  }
  let lastVmd = '';
  for (const d of style.params) {
    if (o.only && !o.only(d)) continue;
    const raw = snap.values[d.vital];
    if (raw === null || raw === undefined) continue;
    const t = d.episodic ? snap.nibpTakenAt : snap.t;
    if (t === undefined) continue;
    if (style.headers && d.containment) {
      const vmd = d.containment.split('.').slice(0, 2).join('.');
      if (vmd !== lastVmd) segs.push(`OBX|${++set}||${vmdHeader(vmd)}|${vmd}.0.0|||||||X|||||||${equip}`);
      lastVmd = vmd;
    }
    const sentinel = o.sentinel && style.sentinel?.vital === d.vital;
    const value = quantise(raw, d.decimals);
    const text = sentinel ? style.sentinel!.text : String(value);
    const obx = [
      'OBX',
      String(++set),
      'NM',
      d.obx3.map(esc).join('^'),
      d.containment,
      text,
      d.unit.join('^'),
      '',
      '',
      '',
      '',
      style.name === 'mindray-pds' ? 'F' : 'R',
      '',
      '',
      d.episodic || style.name === 'mindray-pds' ? ts(t) : '',
      '',
      '',
      d.episodic && style.headers ? '^APERIODIC' : '',
      equip,
    ];
    while (obx[obx.length - 1] === '') obx.pop();
    segs.push(obx.join('|'));
    if (!sentinel) produced.push({ kind: 'numeric', mdc: d.mdc, value, unit: d.ucum, t, vendorCode: d.vendorCode });
  }
  return { text: segs.join('\r') + '\r', produced };
}

function vmdHeader(vmd: string): string {
  const n = vmd.split('.')[1];
  const known: Record<string, string> = {
    '5': '69798^MDC_DEV_ECG_VMD^MDC',
    '11': '70666^MDC_DEV_ANALY_CONC_GAS_MULTI_PARAM_VMD^MDC',
    '13': '69850^MDC_DEV_METER_PRESS_BLD_VMD^MDC',
    '22': '70638^MDC_DEV_ANALY_SAT_O2_VMD^MDC',
    '26': '70686^MDC_DEV_METER_TEMP_VMD^MDC',
    '18': '69850^MDC_DEV_METER_PRESS_BLD_VMD^MDC',
  };
  return known[n] ?? '69642^MDC_DEV_METER_VMD^MDC';
}

/** Mindray PDS heartbeat / discovery messages (what the gateway's client session sends / receives). */
export function pdsConnectIndication(host: string, port: number): string {
  return [`MSH|^~\\&|||||||ADT^A01|101|P|2.3.1|`, `PV1||I|^^${host}&${port}`].join('\r') + '\r';
}

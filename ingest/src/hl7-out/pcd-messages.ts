/**
 * IHE PCD message builders (pure): PCD-01 ORU^R01 (observations of one case over one interval) and
 * PCD-04 ORU^R40 (one alarm state change). Field mapping in docs/hl7-out.md. Every text value is
 * escaped (hl7-text.ts); the control id (MSH-10) is given by the queue, so a resent message is
 * byte-identical and the receiver can dedupe on MSH-10.
 */
import { createHash } from 'node:crypto';
import type { StoredAlarm, StoredNumeric } from '../series/types.js';
import { comps, esc, hl7Time, msh, seg } from './hl7-text.js';

export const PROFILE_DEC = 'IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO';
export const PROFILE_ACM = 'IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO';

/** What the receiver needs to know about the case, its bed and its devices. */
export interface CaseContext {
  caseId: string;
  /** the case's externalIds: `mrn` → PID-3 (MR), `visit` → PV1-19 */
  externalIds: Record<string, string>;
  /** assigning authority of the MRN (PID-3.4), when known */
  assigningAuthority?: string;
  location: { site: string; room: string; bed: string };
  /** registry facts per device id (OBX-18) */
  devices: Record<string, { vendor?: string | null; model?: string | null; serial?: string | null }>;
}

export interface Envelope {
  controlId: string;
  now: number;
  receivingApp?: string;
  receivingFacility?: string;
}

const EUI64 = /^[0-9A-Fa-f]{16}$/;

/** OBX-18 (EI): `<device id>^^<universal id>^<type>`: an EUI-64 serial as such, else vendor:model:serial as a local id */
export function deviceIdentity(id: string, d: CaseContext['devices'][string] | undefined): string {
  if (d?.serial && EUI64.test(d.serial)) return comps(esc(id), '', esc(d.serial.toUpperCase()), 'EUI-64');
  const parts = [d?.vendor, d?.model, d?.serial].filter((p): p is string => !!p);
  return parts.length ? comps(esc(id), '', esc(parts.join(':')), 'L') : esc(id);
}

function header(ctx: CaseContext, e: Envelope, type: string, profile: string): string[] {
  const mrn = ctx.externalIds.mrn;
  // PID-3 is required: without an MRN the case id stands in, typed AN (account number) under ORLINK, never a guess
  const pid3 = mrn ? comps(esc(mrn), '', '', esc(ctx.assigningAuthority ?? ''), 'MR') : comps(esc(ctx.caseId), '', '', 'ORLINK', 'AN');
  const pv1: string[] = [];
  pv1[2] = 'I';
  pv1[3] = comps(esc(ctx.location.room), '', esc(ctx.location.bed), esc(ctx.location.site));
  pv1[19] = esc(ctx.externalIds.visit ?? '');
  return [
    msh({
      sendingApp: 'ORLINK',
      sendingFacility: esc(ctx.location.site),
      receivingApp: esc(e.receivingApp ?? ''),
      receivingFacility: esc(e.receivingFacility ?? ''),
      time: e.now,
      type,
      controlId: e.controlId,
      profile,
    }),
    // PID-5 is required and orlink holds no names: the name is sent empty with name type U (unspecified)
    seg('PID', ['1', '', pid3, '', '^^^^^^U']),
    seg(
      'PV1',
      Array.from({ length: 19 }, (_, i) => pv1[i + 1] ?? ''),
    ),
  ];
}

/**
 * PCD-01: one OBR for the window [from, to), one OBX per numeric. Containment (OBX-4) is
 * `<mds>.0.0.<metric>`: mds = the device's rank in the message (1-based, devices sorted by id),
 * VMD and channel 0 (not known), metric = the numeric's rank within its device. Unmapped numerics
 * (no MDC code) are left out.
 */
export function buildPcd01(ctx: CaseContext, e: Envelope, window: { from: number; to: number }, numerics: readonly StoredNumeric[]): string {
  const segs = header(ctx, e, 'ORU^R01^ORU_R01', PROFILE_DEC);
  segs.push(
    seg('OBR', [
      '1',
      comps(esc(e.controlId), 'ORLINK'),
      comps(esc(e.controlId), 'ORLINK'),
      '182777000^monitoring of patient^SCT',
      '',
      '',
      hl7Time(window.from),
      hl7Time(window.to - 1),
    ]),
  );
  const mapped = numerics.filter((n) => n.mdc && n.code !== null);
  const devices = [...new Set(mapped.map((n) => n.device))].sort();
  let setId = 0;
  for (const [m, dev] of devices.entries()) {
    const own = mapped.filter((n) => n.device === dev).sort((a, b) => (a.code as number) - (b.code as number) || a.vendorCode.localeCompare(b.vendorCode));
    for (const [k, n] of own.entries()) {
      const invalid = n.value === null || (n.flags ?? []).includes('invalid');
      const f: string[] = [];
      f[1] = String(++setId);
      f[2] = 'NM';
      f[3] = comps(String(n.code), esc(n.mdc), 'MDC');
      f[4] = `${m + 1}.0.0.${k + 1}`;
      f[5] = invalid ? '' : String(n.value);
      f[6] = comps(esc(n.unit), esc(n.unit), 'UCUM');
      f[11] = invalid ? 'X' : 'R';
      f[14] = hl7Time(n.t);
      f[18] = deviceIdentity(dev, ctx.devices[dev]);
      segs.push(
        seg(
          'OBX',
          Array.from({ length: 18 }, (_, i) => f[i + 1] ?? ''),
        ),
      );
    }
  }
  return segs.join('\r') + '\r';
}

const PRIORITY = { high: 'PH', medium: 'PM', low: 'PL' } as const;
const SOURCE = { physiological: 'SP', technical: 'ST' } as const;

/** the alarm instance's id (OBR-3): the same on its start and its end, so the receiver can pair them */
export function alarmInstanceId(caseId: string, a: Pick<StoredAlarm, 'device' | 'mdc' | 'vendorCode' | 'text'>): string {
  return createHash('sha256')
    .update([caseId, a.device, a.mdc ?? '', a.vendorCode ?? '', a.text].join('\u0000'))
    .digest('hex')
    .slice(0, 20);
}

/**
 * PCD-04 ORU^R40: one alarm state change. OBR-4 MDC_EVT_ALARM, OBR-7 the change's time; OBX 1
 * the alarm's source (its MDC code, containment 1.0.0.1), OBX 2 the event (text in OBX-5,
 * priority and source type in OBX-8), OBX 3 the event phase, OBX 4 the alarm state.
 */
export function buildPcd04(ctx: CaseContext, e: Envelope, a: StoredAlarm): string {
  const segs = header(ctx, e, 'ORU^R40^ORU_R40', PROFILE_ACM);
  segs.push(
    seg('OBR', [
      '1',
      comps(esc(e.controlId), 'ORLINK'),
      comps(esc(alarmInstanceId(ctx.caseId, a)), 'ORLINK'),
      '196616^MDC_EVT_ALARM^MDC',
      '',
      '',
      hl7Time(a.t),
    ]),
  );
  const dev = deviceIdentity(a.device, ctx.devices[a.device]);
  const source =
    a.mdc && a.code !== null ? comps(String(a.code), esc(a.mdc), 'MDC') : comps(esc(a.vendorCode ?? 'unknown'), esc(a.vendorCode ?? 'unknown'), '99ORLINK');
  const obx = (n: number, type: string, id: string, value: string, flags = ''): string => {
    const f: string[] = [];
    f[1] = String(n);
    f[2] = type;
    f[3] = id;
    f[4] = '1.0.0.1';
    f[5] = value;
    f[8] = flags;
    f[11] = 'F';
    f[14] = hl7Time(a.t);
    f[18] = dev;
    return seg(
      'OBX',
      Array.from({ length: 18 }, (_, i) => f[i + 1] ?? ''),
    );
  };
  segs.push(obx(1, 'ST', source, esc(a.mdc ?? a.vendorCode ?? '')));
  segs.push(obx(2, 'ST', '196616^MDC_EVT_ALARM^MDC', esc(a.text), `${PRIORITY[a.priority]}~${SOURCE[a.source]}`));
  segs.push(obx(3, 'ST', '68481^MDC_ATTR_EVENT_PHASE^MDC', a.phase));
  segs.push(obx(4, 'ST', '68482^MDC_ATTR_ALARM_STATE^MDC', a.phase === 'end' ? 'inactive' : 'active'));
  return segs.join('\r') + '\r';
}

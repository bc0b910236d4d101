/**
 * HL7 messages as a HIS would send them, for the HIS tests (test code only). Times are HL7 DTM
 * strings with an explicit +0000 offset; the patient is invented.
 */
import { formatHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';

export const hl7t = (ms: number): string => formatHl7Time(ms);

export interface TestPatient {
  mrn: string;
  visit: string;
  family: string;
  given: string;
}
export const PATIENT: TestPatient = { mrn: 'MRN-4711', visit: 'V-2026-0815', family: 'Mustermann', given: 'Erika' };

const msh = (type: string, controlId: string, at: number) => `MSH|^~\\&|HIS|HOSP|ORLINK|OR|${hl7t(at)}||${type}|${controlId}|P|2.5.1`;
const pid = (p: TestPatient) => `PID|1||${p.mrn}^^^HOSP^MR~99887766^^^NATION^NI||${p.family}^${p.given}||19600101|F`;

/** ADT^<trigger> with PV1-3 = `location` (`poc^room^bed`), event time EVN-6 = `at` */
export function adt(trigger: string, controlId: string, at: number, location: string, p: TestPatient = PATIENT, extra = ''): string {
  return (
    [
      msh(`ADT^${trigger}^ADT_A01`, controlId, at + 5_000),
      `EVN|${trigger}|${hl7t(at + 5_000)}||||${hl7t(at)}`,
      pid(p),
      `PV1|1|I|${location}||||||||||||||||${p.visit}${extra}`,
    ].join('\r') + '\r'
  );
}

export interface SiuOptions {
  trigger?: string;
  controlId: string;
  appointment: string;
  start: number;
  minutes: number;
  location: string;
  procedure?: string;
  patient?: TestPatient;
  sentAt?: number;
}

/** SIU^S12..S15 with SCH, PID, PV1, RGS, AIS (procedure, start, duration), AIL (room), AIP (surgeon, anesthetist) */
export function siu(o: SiuOptions): string {
  const p = o.patient ?? PATIENT;
  return (
    [
      msh(`SIU^${o.trigger ?? 'S12'}^SIU_S12`, o.controlId, o.sentAt ?? o.start - 86_400_000),
      `SCH|${o.appointment}-P^ORSCHED|${o.appointment}^ORSCHED|||||^^OR|||^^^${hl7t(o.start)}^${hl7t(o.start + o.minutes * 60_000)}`,
      pid(p),
      `PV1|1|I|||||||||||||||||${p.visit}`,
      'RGS|1|A',
      `AIS|1|A|47562^${o.procedure ?? 'Laparoscopic cholecystectomy'}^C4|${hl7t(o.start)}|||${o.minutes}|min`,
      `AIL|1|A|${o.location}`,
      'AIP|1|A|D100^House^Gregory|SURG^Surgeon',
      'AIP|2|A|D200^Quinn^Michaela|ANES^Anesthesiologist',
    ].join('\r') + '\r'
  );
}

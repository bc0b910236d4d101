/**
 * label_info tables (codes of the PHDB group labels, README §Wire format). Pure lookups: the decoder turns label codes into site names,
 * the profile maps site names to MDC variants.
 */
export const PRESSURE_LABELS: Record<number, string> = {
  1: 'ART',
  2: 'CVP',
  3: 'PA',
  4: 'RAP',
  5: 'RVP',
  6: 'LAP',
  7: 'ICP',
  8: 'ABP',
  9: 'P1',
  10: 'P2',
  11: 'P3',
  12: 'P4',
  13: 'P5',
  14: 'P6',
};
export const TEMP_LABELS: Record<number, string> = {
  1: 'ESO',
  2: 'NASO',
  3: 'TYMP',
  4: 'RECT',
  5: 'BLAD',
  6: 'AXIL',
  7: 'SKIN',
  8: 'AIRW',
  9: 'ROOM',
  10: 'MYO',
  11: 'T1',
  12: 'T2',
  13: 'T3',
  14: 'T4',
  15: 'CORE',
  16: 'SURF',
};
export const AGENT_LABELS: Record<number, string> = { 0: 'UNKNOWN', 1: 'NONE', 2: 'HAL', 3: 'ENF', 4: 'ISO', 5: 'DES', 6: 'SEV' };
export const ECG_LEADS: Record<number, string> = { 1: 'I', 2: 'II', 3: 'III', 4: 'aVR', 5: 'aVL', 6: 'aVF', 7: 'V' };
/** ecg status bits 3–6: which source the displayed HR comes from (LNhealth). */
export const HR_SOURCES: Record<number, string> = {
  1: 'ECG1',
  2: 'BP1',
  3: 'BP2',
  4: 'BP3',
  5: 'BP4',
  6: 'PLETH',
  7: 'BP5',
  8: 'BP6',
  10: 'BP7',
  11: 'BP8',
  12: 'PLETH',
};
export const NIBP_MEASURING_BIT = 1 << 5;

/** ECG lead per ECG channel: ECG1 = bits 8–11, ECG2 = bits 4–7, ECG3 = bits 0–3. */
export function ecgLeads(label: number): [string | undefined, string | undefined, string | undefined] {
  return [ECG_LEADS[(label >> 8) & 0xf], ECG_LEADS[(label >> 4) & 0xf], ECG_LEADS[label & 0xf]];
}

/** Label name for a field of a group, or undefined when the group carries no site label. */
export function fieldLabel(group: string, field: string, label: number): string | undefined {
  if (/^p[1-8]$/.test(group)) return PRESSURE_LABELS[label] ?? (label ? `P-LABEL-${label}` : undefined);
  if (/^t[1-4]$/.test(group)) return TEMP_LABELS[label] ?? (label ? `T-LABEL-${label}` : undefined);
  if (group === 'aa' && (field === 'et' || field === 'fi')) return AGENT_LABELS[label] ?? `AGENT-${label}`;
  if (group === 'ecg') {
    const leads = ecgLeads(label);
    if (field === 'st1') return leads[0];
    if (field === 'st2') return leads[1];
    if (field === 'st3') return leads[2];
  }
  if (group === 'nibp' && label & NIBP_MEASURING_BIT) return 'measuring';
  return undefined;
}

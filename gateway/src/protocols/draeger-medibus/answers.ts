/**
 * Parsed MEDIBUS answers → canonical observations through the profile (vendor codes: cp1.XX,
 * cp2.XX, set.XX, text.XX, alarm.cpN.XX, limit.low|high.cpN.XX). Alarms are reported as
 * transitions: a code new in the current list → phase 'start', a code gone → phase 'end'.
 */
import type { AlarmObs, Flag, Observation } from '../../../../schemas/src/observation.js';
import type { ProfileMapper } from '../../profiles/map.js';
import { CMD } from './frame.js';
import { parseAlarms, parseItems, parseTexts } from './messages.js';

export const ANSWER_NAMES: Record<number, string> = {
  [CMD.ALARMS_CP3]: 'alarms-cp3',
  [CMD.DATA_CP1]: 'data-cp1',
  [CMD.LOW_LIMITS_CP1]: 'low-limits-cp1',
  [CMD.HIGH_LIMITS_CP1]: 'high-limits-cp1',
  [CMD.ALARMS_CP1]: 'alarms-cp1',
  [CMD.DATETIME]: 'datetime',
  [CMD.SETTINGS]: 'settings',
  [CMD.TEXT]: 'text',
  [CMD.DATA_CP2]: 'data-cp2',
  [CMD.LOW_LIMITS_CP2]: 'low-limits-cp2',
  [CMD.HIGH_LIMITS_CP2]: 'high-limits-cp2',
  [CMD.ALARMS_CP2]: 'alarms-cp2',
  [CMD.NOP]: 'nop',
  [CMD.ICC]: 'icc',
  [CMD.DEVICE_ID]: 'device-id',
  [CMD.RT_CONFIG]: 'rt-config',
  [CMD.RT_CONFIGURE]: 'rt-configure',
  [CMD.STOP]: 'stop',
  [CMD.CONFIGURE_DATA]: 'configure-data',
  [CMD.TIME_CHANGED]: 'time-changed',
  [CMD.RT_CONFIG_CHANGED]: 'rt-config-changed',
  0x15: 'nak',
};

const DATA_PAGES: Record<number, string> = { [CMD.DATA_CP1]: 'cp1', [CMD.DATA_CP2]: 'cp2' };
const LIMIT_PAGES: Record<number, [string, 'low' | 'high']> = {
  [CMD.LOW_LIMITS_CP1]: ['cp1', 'low'],
  [CMD.HIGH_LIMITS_CP1]: ['cp1', 'high'],
  [CMD.LOW_LIMITS_CP2]: ['cp2', 'low'],
  [CMD.HIGH_LIMITS_CP2]: ['cp2', 'high'],
};
const ALARM_PAGES: Record<number, string> = { [CMD.ALARMS_CP1]: 'cp1', [CMD.ALARMS_CP2]: 'cp2', [CMD.ALARMS_CP3]: 'cp3' };

export class AnswerMapper {
  private readonly active = new Map<string, Map<string, AlarmObs>>();
  private readonly unmappedOther: Record<string, number> = {};

  constructor(
    public mapper: ProfileMapper,
    private readonly count: (kind: string, n?: number) => void,
  ) {}

  /** Observations of one answer; returns undefined when the echo is not a data answer. */
  map(echo: number, data: Buffer, t: number): Observation[] | undefined {
    const page = DATA_PAGES[echo];
    if (page) {
      const { items, bad } = parseItems(data, 4);
      if (bad) this.count('bad-item', bad);
      return items.map((it) =>
        this.mapper.numeric({ vendorCode: `${page}.${it.code}`, value: it.value, t, flags: it.value === null ? (['invalid'] as Flag[]) : [] }),
      );
    }
    const limit = LIMIT_PAGES[echo];
    if (limit) {
      const { items, bad } = parseItems(data, 4);
      if (bad) this.count('bad-item', bad);
      return items.map((it) => {
        const n = this.mapper.numeric({ vendorCode: `${limit[0]}.${it.code}`, value: it.value, t });
        const target = n.mdc ?? n.vendorCode;
        return {
          kind: 'setting' as const,
          name: `${target}.limit-${limit[1]}`,
          value: n.value,
          unit: n.unit,
          t,
          vendorCode: `limit.${limit[1]}.${limit[0]}.${it.code}`,
        };
      });
    }
    const apage = ALARM_PAGES[echo];
    if (apage) return this.alarms(apage, data, t);
    if (echo === CMD.SETTINGS) {
      const { items, bad } = parseItems(data, 5);
      if (bad) this.count('bad-item', bad);
      return items.map((it) => {
        const vc = `set.${it.code}`;
        const m = this.mapper.profile.settings?.[vc];
        if (!m) this.unmappedOther[vc] = (this.unmappedOther[vc] ?? 0) + 1;
        const o = { kind: 'setting' as const, name: m?.name ?? vc, value: it.value ?? (it.raw.trim() || null), t, vendorCode: vc };
        return m?.unit ? { ...o, unit: m.unit } : o;
      });
    }
    if (echo === CMD.TEXT) {
      const { items, bad } = parseTexts(data);
      if (bad) this.count('bad-text', bad);
      return items.map((it) => ({
        kind: 'setting' as const,
        name: this.mapper.profile.settings?.[`text.${it.code}`]?.name ?? `text.${it.code}`,
        value: it.text,
        t,
        vendorCode: `text.${it.code}`,
      }));
    }
    return undefined;
  }

  unmapped(): Record<string, number> {
    return { ...this.unmappedOther };
  }

  private alarms(page: string, data: Buffer, t: number): Observation[] {
    const { items, bad } = parseAlarms(data);
    if (bad) this.count('bad-alarm', bad);
    const p = this.mapper.profile.params ?? {};
    const high = Number(p.alarmPriorityHigh ?? 3);
    const medium = Number(p.alarmPriorityMedium ?? 2);
    const before = this.active.get(page) ?? new Map<string, AlarmObs>();
    const now = new Map<string, AlarmObs>();
    const out: Observation[] = [];
    for (const it of items) {
      const vc = `alarm.${page}.${it.code}`;
      const m = this.mapper.profile.alarms?.[vc];
      if (!m) this.unmappedOther[vc] = (this.unmappedOther[vc] ?? 0) + 1;
      const a: AlarmObs = {
        kind: 'alarm',
        mdc: null,
        code: null,
        text: it.text,
        priority: it.priority >= high ? 'high' : it.priority >= medium ? 'medium' : 'low',
        source: m?.source ?? 'physiological',
        phase: 'start',
        t,
        vendorCode: vc,
      };
      const prev = before.get(vc);
      if (!prev) out.push(a);
      else if (prev.priority !== a.priority || prev.text !== a.text) out.push({ ...a, phase: 'update' });
      now.set(vc, a);
    }
    for (const [vc, a] of before) if (!now.has(vc)) out.push({ ...a, phase: 'end', t });
    this.active.set(page, now);
    return out;
  }
}

/**
 * Alarm records (r_maintype 4) — layout stated by public sources, not verified (README §Alarms). Assumed layout of
 * `dri_al_msg`: i16 reserved, i16 sound_on_off, i16 reserved2, i16 reserved3, then 5 × al_disp
 * { char text[80]; i16 text_changed; i16 color } (84 bytes). A subrecord that does not fit this
 * size is reported as 'alarm-layout' and counted, never guessed at.
 * Colour → priority: 3 red → high, 2 yellow → medium, 1 white → low, 0 → no alarm in that slot.
 * The displayed set is tracked: a new text starts, a vanished text ends, a kept one updates.
 */
import type { VendorAlarm } from './vendor-types.js';

export const AL_HEADER = 8;
export const AL_DISP_SIZE = 84;
export const AL_SLOTS = 5;
export const AL_MSG_SIZE = AL_HEADER + AL_SLOTS * AL_DISP_SIZE;
const PRIORITY: Record<number, VendorAlarm['priority']> = { 1: 'low', 2: 'medium', 3: 'high' };

export interface AlarmSlot {
  text: string;
  color: number;
}

export function readAlarmSlots(b: Buffer, base: number, end: number): AlarmSlot[] | null {
  if (end - base < AL_MSG_SIZE) return null;
  const out: AlarmSlot[] = [];
  for (let i = 0; i < AL_SLOTS; i++) {
    const s = base + AL_HEADER + i * AL_DISP_SIZE;
    const raw = b.subarray(s, s + 80);
    const nul = raw.indexOf(0);
    const text = raw
      .subarray(0, nul < 0 ? 80 : nul)
      .toString('latin1')
      .replace(/[^\x20-\x7e\xa0-\xff]/g, '')
      .trim();
    const color = b.readInt16LE(s + 82);
    if (text && color > 0) out.push({ text, color });
  }
  return out;
}

export class AlarmTracker {
  private active = new Map<string, AlarmSlot>();

  update(slots: AlarmSlot[], tDevice: number): VendorAlarm[] {
    const out: VendorAlarm[] = [];
    const next = new Map<string, AlarmSlot>();
    for (const s of slots) {
      next.set(s.text, s);
      const phase = this.active.has(s.text) ? 'update' : 'start';
      out.push({ text: s.text, color: s.color, priority: PRIORITY[s.color] ?? 'high', phase, tDevice });
    }
    for (const [text, s] of this.active) {
      if (!next.has(text)) out.push({ text, color: s.color, priority: PRIORITY[s.color] ?? 'high', phase: 'end', tDevice });
    }
    this.active = next;
    return out;
  }
}

export function encodeAlarmSubrecord(slots: AlarmSlot[]): Buffer {
  const buf = Buffer.alloc(AL_MSG_SIZE);
  slots.slice(0, AL_SLOTS).forEach((s, i) => {
    const base = AL_HEADER + i * AL_DISP_SIZE;
    buf.write(s.text.slice(0, 79), base, 'latin1');
    buf.writeInt16LE(1, base + 80);
    buf.writeInt16LE(s.color, base + 82);
  });
  return buf;
}

/**
 * MEDIBUS realtime (waveform) data (README §Wire format): the configuration records (ESC S answer), the
 * configure request (ESC T), and the 8-bit byte stream that shares the line with the 7-bit frames:
 *   0xD0|mask            sync byte: bits 0–3 = streams 1–4 that follow in this cycle; new cycle
 *   0xC0|cmd, arg≥0xC0   sync command: C1/C2/C3 enable, C4/C5 stream masks 5–8/9–12,
 *                        C6 start of breath (arg bit0: 0 insp, 1 exp), CF corrupt, C0 C0 end
 *   10xxxxxx 10yyyyyy    one value: bin = x | y << 6 (12 bit); phys = bin/maxbin·(max−min)+min
 * Streams are numbered 1.. in the order of the codes enabled (multiplier > 0) by ESC T.
 */
export interface RtChannelConfig {
  code: number;
  intervalUs: number;
  min: number;
  max: number;
  maxBin: number;
}
export interface RtSelection {
  code: number;
  multiplier: number;
}

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

/** ESC S answer: records of 23 chars; malformed records are returned as a count. */
export function parseRtConfig(data: Buffer): { channels: RtChannelConfig[]; bad: number } {
  const s = data.toString('latin1');
  const channels: RtChannelConfig[] = [];
  let bad = s.length % 23 ? 1 : 0;
  for (let i = 0; i + 23 <= s.length; i += 23) {
    const r = s.slice(i, i + 23);
    const code = parseInt(r.slice(0, 2), 16);
    const intervalUs = Number(r.slice(2, 10).trim());
    const min = Number(r.slice(10, 15).replace(/\s+/g, ''));
    const max = Number(r.slice(15, 20).replace(/\s+/g, ''));
    const maxBin = parseInt(r.slice(20, 23), 16);
    if (!/^[0-9A-Fa-f]{2}$/.test(r.slice(0, 2)) || !(intervalUs > 0) || !Number.isFinite(min) || !Number.isFinite(max) || !(maxBin > 0) || max <= min) {
      bad++;
      continue;
    }
    channels.push({ code, intervalUs, min, max, maxBin });
  }
  return { channels, bad };
}

function field(v: number, width: number): string {
  const t = String(v);
  return t.startsWith('-') ? `-${t.slice(1).padStart(width - 1)}` : t.padStart(width);
}

/** Inverse of parseRtConfig (the Atlan writes a negative sign left-aligned: "-  21"). */
export function encodeRtConfig(channels: RtChannelConfig[]): string {
  return channels
    .map((c) => `${hex2(c.code)}${String(c.intervalUs).padStart(8)}${field(c.min, 5)}${field(c.max, 5)}${c.maxBin.toString(16).toUpperCase().padStart(3, '0')}`)
    .join('');
}

export function encodeRtSelection(sel: RtSelection[]): string {
  return sel.map((s) => hex2(s.code) + hex2(s.multiplier)).join('');
}

export function parseRtSelection(args: Buffer): RtSelection[] | undefined {
  const s = args.toString('latin1');
  if (s.length % 4 || !/^[0-9A-Fa-f]*$/.test(s)) return undefined;
  const out: RtSelection[] = [];
  for (let i = 0; i < s.length; i += 4) out.push({ code: parseInt(s.slice(i, i + 2), 16), multiplier: parseInt(s.slice(i + 2, i + 4), 16) });
  return out;
}

/** Host enable sequence for streams 1–12 (mdpnp order): D0 C3 m9-12 C2 m5-8 C1 m1-4 C0 C0. */
export function encodeRtEnable(streamCount: number): Buffer {
  const mask = (from: number): number => {
    let m = 0;
    for (let i = 0; i < 4; i++) if (from + i < streamCount) m |= 1 << i;
    return 0xc0 | m;
  };
  return Buffer.of(0xd0, 0xc3, mask(8), 0xc2, mask(4), 0xc1, mask(0), 0xc0, 0xc0);
}

export function encodeRtValue(bin: number): [number, number] {
  const b = Math.max(0, Math.min(0xfff, Math.round(bin)));
  return [0x80 | (b & 0x3f), 0x80 | ((b >> 6) & 0x3f)];
}

export type RtEvent =
  | { kind: 'cycle'; values: Map<number, number> } // stream number (1..12) → bin
  | { kind: 'breath'; phase: 'inspiration' | 'expiration' }
  | { kind: 'corrupt' };

/** Byte-stream parser; a cycle is reported when the next sync byte (or a flush) closes it. */
export class RtParser {
  private inCycle = false;
  private streams: number[] = [];
  private values = new Map<number, number>();
  private next = 0;
  private lo: number | undefined;
  private syncCmd: number | undefined;
  private mask14 = 0;
  readonly errors: Record<string, number> = {};

  push(bytes: Uint8Array, out: RtEvent[]): void {
    for (const b of bytes) {
      if (this.syncCmd !== undefined) {
        if (b >= 0xc0) this.command(this.syncCmd, b, out);
        else this.count('rt-sync-arg');
        this.syncCmd = undefined;
        continue;
      }
      if ((b & 0xf0) === 0xd0) {
        this.close(out);
        this.inCycle = true;
        this.mask14 = b & 0x0f;
        this.setStreams(this.mask14, 0, 0);
        continue;
      }
      if (b >= 0xc0) {
        if (this.lo !== undefined) {
          this.count('rt-split-value');
          this.lo = undefined;
        }
        this.syncCmd = b;
        continue;
      }
      // 10xxxxxx data byte
      if (this.lo === undefined) {
        this.lo = b;
        continue;
      }
      const bin = (this.lo & 0x3f) | ((b & 0x3f) << 6);
      this.lo = undefined;
      if (!this.inCycle || this.next >= this.streams.length) {
        this.count('rt-unexpected-value');
        continue;
      }
      this.values.set(this.streams[this.next++], bin);
      if (this.next === this.streams.length) this.close(out);
    }
  }

  /** Ends the current cycle (e.g. at the end of a capture). */
  flush(out: RtEvent[]): void {
    this.close(out);
  }

  private c5 = 0;
  private c9 = 0;

  private setStreams(m1: number, m5: number, m9: number): void {
    this.c5 = m5;
    this.c9 = m9;
    this.streams = [];
    for (let i = 0; i < 4; i++) if (m1 & (1 << i)) this.streams.push(1 + i);
    for (let i = 0; i < 4; i++) if (m5 & (1 << i)) this.streams.push(5 + i);
    for (let i = 0; i < 4; i++) if (m9 & (1 << i)) this.streams.push(9 + i);
  }

  private command(cmd: number, arg: number, out: RtEvent[]): void {
    switch (cmd) {
      case 0xc4:
        this.setStreams(this.mask14, arg & 0x0f, this.c9);
        break;
      case 0xc5:
        this.setStreams(this.mask14, this.c5, arg & 0x0f);
        break;
      case 0xc6:
        out.push({ kind: 'breath', phase: arg & 1 ? 'expiration' : 'inspiration' });
        break;
      case 0xcf:
        out.push({ kind: 'corrupt' });
        this.count('rt-corrupt');
        break;
      case 0xc0:
      case 0xc1:
      case 0xc2:
      case 0xc3:
        break; // end of sync sequence / enable (host side)
      default:
        this.count('rt-unknown-command');
    }
  }

  private close(out: RtEvent[]): void {
    if (this.inCycle && this.values.size) {
      out.push({ kind: 'cycle', values: this.values });
      if (this.next < this.streams.length) this.count('rt-short-cycle');
    }
    this.values = new Map();
    this.next = 0;
    this.inCycle = false;
  }

  private count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }
}

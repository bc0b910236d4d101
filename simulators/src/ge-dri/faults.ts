/**
 * Fault injection of the simulated monitor. Periodic faults come from options (what the CLI's
 * --fault flags set); tests trigger the same faults directly through GeDriSimulator methods.
 */
export interface FaultOptions {
  /** Write `garbageBytes` random bytes before every Nth frame. */
  garbageEveryFrames?: number;
  garbageBytes?: number;
  /** Corrupt every Nth frame so its checksum fails (the record is lost, not in the truth). */
  badChecksumEveryFrames?: number;
  /** Every `everyMs`, send nothing for `durationMs` (records generated meanwhile are lost). */
  silence?: { everyMs: number; durationMs: number };
  /** Close the link every N ms (the host must reconnect and request again). */
  disconnectEveryMs?: number;
  /** Once, `afterMs` after start, move the device clock by `jumpMs`. */
  clockJump?: { afterMs: number; jumpMs: number };
}

export type FaultName = 'garbage' | 'checksum' | 'silence' | 'disconnect' | 'clock-jump';
export const FAULT_NAMES: readonly FaultName[] = ['garbage', 'checksum', 'silence', 'disconnect', 'clock-jump'];

/** The defaults behind `--fault NAME`. */
export function faultPreset(names: FaultName[]): FaultOptions {
  const f: FaultOptions = {};
  for (const n of names) {
    if (n === 'garbage') {
      f.garbageEveryFrames = 10;
      f.garbageBytes = 16;
    }
    if (n === 'checksum') f.badChecksumEveryFrames = 25;
    if (n === 'silence') f.silence = { everyMs: 60_000, durationMs: 5_000 };
    if (n === 'disconnect') f.disconnectEveryMs = 120_000;
    if (n === 'clock-jump') f.clockJump = { afterMs: 30_000, jumpMs: 3_600_000 };
  }
  return f;
}

/** Flip one payload byte (never a flag or escape, never into one) so the frame's checksum fails. */
export function corruptFrame(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  for (let i = Math.floor(out.length / 2); i < out.length - 1; i++) {
    const b = out[i]!;
    const c = b ^ 0x01;
    if (b !== 0x7e && b !== 0x7d && c !== 0x7e && c !== 0x7d && out[i - 1] !== 0x7d) {
      out[i] = c;
      return out;
    }
  }
  return out;
}

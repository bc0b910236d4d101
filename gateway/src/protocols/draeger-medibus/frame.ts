/**
 * MEDIBUS frame codec, symmetric, the only place that knows the checksum (README §Wire format):
 *   command   ESC(1B) <cmd> [args…] <CS hi><CS lo> CR(0D)
 *   response  SOH(01) <echo of cmd> [data…] <CS hi><CS lo> CR(0D)
 * CS = sum of all bytes from ESC/SOH through the last data byte, mod 256, two upper-case hex chars.
 */
export const ESC = 0x1b;
export const SOH = 0x01;
export const CR = 0x0d;
export const ETX = 0x03;
export const NAK = 0x15;

/** Command characters used by the driver (README §Wire format, command set). */
export const CMD = {
  ALARMS_CP3: 0x23,
  DATA_CP1: 0x24,
  LOW_LIMITS_CP1: 0x25,
  HIGH_LIMITS_CP1: 0x26,
  ALARMS_CP1: 0x27,
  DATETIME: 0x28,
  SETTINGS: 0x29,
  TEXT: 0x2a,
  DATA_CP2: 0x2b,
  LOW_LIMITS_CP2: 0x2c,
  HIGH_LIMITS_CP2: 0x2d,
  ALARMS_CP2: 0x2e,
  NOP: 0x30,
  TIME_CHANGED: 0x49,
  CONFIGURE_DATA: 0x4a,
  ICC: 0x51,
  DEVICE_ID: 0x52,
  RT_CONFIG: 0x53,
  RT_CONFIGURE: 0x54,
  STOP: 0x55,
  RT_CONFIG_CHANGED: 0x56,
} as const;

export function checksumHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + bytes[i]) & 0xff;
  return s.toString(16).toUpperCase().padStart(2, '0');
}

function frame(lead: number, code: number, body: Uint8Array | string): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body, 'latin1') : Buffer.from(body);
  const head = Buffer.concat([Buffer.of(lead, code), data]);
  return Buffer.concat([head, Buffer.from(checksumHex(head), 'latin1'), Buffer.of(CR)]);
}

export function encodeCommand(cmd: number, args: Uint8Array | string = ''): Buffer {
  return frame(ESC, cmd, args);
}

export function encodeResponse(echo: number, data: Uint8Array | string = ''): Buffer {
  return frame(SOH, echo, data);
}

export type Frame = { kind: 'command'; cmd: number; args: Buffer } | { kind: 'response'; echo: number; data: Buffer };

export type UnframeError = 'short' | 'checksum' | 'bad-char';

/**
 * `body` = ESC/SOH … CS hi, CS lo (CR removed). Verifies the checksum (upper- or lower-case hex
 * accepted) and that every byte is 7-bit.
 */
export function unframe(body: Uint8Array): { frame: Frame } | { error: UnframeError } {
  if (body.length < 4) return { error: 'short' };
  const n = body.length - 2;
  for (let i = 1; i < body.length; i++) if (body[i] >= 0x80 || (i < n && body[i] === CR)) return { error: 'bad-char' };
  const got = Buffer.from(body.subarray(n)).toString('latin1').toUpperCase();
  if (got !== checksumHex(body, 0, n)) return { error: 'checksum' };
  const code = body[1];
  const rest = Buffer.from(body.subarray(2, n));
  return { frame: body[0] === ESC ? { kind: 'command', cmd: code, args: rest } : { kind: 'response', echo: code, data: rest } };
}

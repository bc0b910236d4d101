/**
 * MIB/RS-232 framing of the Data Export port (README §Wire format): C0 | 11 01 LEN | data | FCS lo hi | C1,
 * with 0x7D transparency over header, data and FCS; FCS = PPP FCS-16 (RFC 1662) over header + data.
 */
export const BOF = 0xc0;
export const EOF = 0xc1;
export const ESC = 0x7d;
export const PROTOCOL_ID = 0x11;
export const MSG_TYPE = 0x01;
export const GOOD_FCS = 0xf0b8;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let v = i;
    for (let k = 0; k < 8; k++) v = v & 1 ? (v >>> 1) ^ 0x8408 : v >>> 1;
    t[i] = v;
  }
  return t;
})();

/** Running FCS (not complemented); start with 0xFFFF. */
export function fcsUpdate(fcs: number, data: Uint8Array): number {
  let f = fcs;
  for (const b of data) f = (f >>> 8) ^ TABLE[(f ^ b) & 0xff];
  return f;
}

/** Transmitted FCS value of `data` (ones-complement), sent low byte first. */
export function fcs16(data: Uint8Array): number {
  return ~fcsUpdate(0xffff, data) & 0xffff;
}

/** Escapes C0, C1, 7D as 7D (b ^ 0x20). */
export function stuff(data: Uint8Array): Buffer {
  const out: number[] = [];
  for (const b of data) {
    if (b === BOF || b === EOF || b === ESC) out.push(ESC, b ^ 0x20);
    else out.push(b);
  }
  return Buffer.from(out);
}

/** Wraps raw bytes (already including any header) as C0 stuffed(bytes + FCS) C1. */
export function frameBytes(body: Uint8Array): Buffer {
  const f = fcs16(body);
  const withFcs = Buffer.concat([Buffer.from(body), Buffer.from([f & 0xff, f >>> 8])]);
  return Buffer.concat([Buffer.from([BOF]), stuff(withFcs), Buffer.from([EOF])]);
}

/** One Data Export message (session layer and up) → one serial frame with the 11 01 LEN header. */
export function frameMessage(message: Uint8Array): Buffer {
  const hdr = Buffer.from([PROTOCOL_ID, MSG_TYPE, (message.length >>> 8) & 0xff, message.length & 0xff]);
  return frameBytes(Buffer.concat([hdr, Buffer.from(message)]));
}

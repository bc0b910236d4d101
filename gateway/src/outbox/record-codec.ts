/**
 * On-disk record of the file outbox (little endian, 24-byte header + payload):
 *   0  u16 magic 0x4F42 ("OB")   2  u8 version (1)   3  u8 reserved (0)
 *   4  u32 payload length        8  u64 seq          16 u32 readings
 *   20 u32 crc32 of bytes 0..19 followed by the payload
 * The CRC covers the header too, so a torn or bit-flipped header is as detectable as a torn payload.
 */
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 24;
const MAGIC = 0x4f42;
const VERSION = 1;

export function encodeRecord(seq: number, payload: Uint8Array, readings: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  buf.writeUInt16LE(MAGIC, 0);
  buf.writeUInt8(VERSION, 2);
  buf.writeUInt8(0, 3);
  buf.writeUInt32LE(payload.length, 4);
  buf.writeBigUInt64LE(BigInt(seq), 8);
  buf.writeUInt32LE(Math.max(0, Math.min(0xffffffff, Math.trunc(readings))), 16);
  buf.set(payload, HEADER_BYTES);
  const crc = crc32(payload, crc32(buf.subarray(0, 20)));
  buf.writeUInt32LE(crc, 20);
  return buf;
}

export interface RecordHeader {
  seq: number;
  len: number;
  readings: number;
}

/**
 * Parse the record starting at `off` in `buf` (a whole segment file). Returns undefined when the
 * bytes there are not a complete, valid record (torn tail, garbage, bad CRC).
 */
export function decodeRecordAt(buf: Buffer, off: number): RecordHeader | undefined {
  if (off + HEADER_BYTES > buf.length) return undefined;
  if (buf.readUInt16LE(off) !== MAGIC || buf.readUInt8(off + 2) !== VERSION) return undefined;
  const len = buf.readUInt32LE(off + 4);
  if (off + HEADER_BYTES + len > buf.length) return undefined;
  const seqBig = buf.readBigUInt64LE(off + 8);
  if (seqBig < 1n || seqBig > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const want = buf.readUInt32LE(off + 20);
  const got = crc32(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len), crc32(buf.subarray(off, off + 20)));
  if (want !== got) return undefined;
  return { seq: Number(seqBig), len, readings: buf.readUInt32LE(off + 16) };
}

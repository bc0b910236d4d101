/**
 * Gateway credentials: scrypt hashes `scrypt$N$r$p$salt$hash` (base64), never stored in clear.
 * Also the Mosquitto 2 password-file hash `$7$iterations$salt$hash` (PBKDF2-SHA512, 12-byte salt,
 * 64-byte key, base64), so that `orlink mqtt-auth` can write a password file for an external
 * Mosquitto without knowing the clear password (docs/mqtt.md: it is weaker than scrypt).
 */
import { pbkdf2 as pbkdf2Cb, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

const N = 16384;
const R = 8;
const P = 1;
const LEN = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, LEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Mosquitto reads the iteration count from the hash; its own tool uses 101. */
export const MOSQUITTO_ITERATIONS = 20_000;

const pbkdf2 = (pw: string, salt: Buffer, iterations: number) =>
  new Promise<Buffer>((resolve, reject) => pbkdf2Cb(pw, salt, iterations, 64, 'sha512', (err, key) => (err ? reject(err) : resolve(key))));

export async function mosquittoHash(password: string, iterations = MOSQUITTO_ITERATIONS): Promise<string> {
  const salt = randomBytes(12);
  const key = await pbkdf2(password, salt, iterations);
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyMosquittoHash(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== '7') return false;
  const iterations = Number(parts[2]);
  if (!Number.isInteger(iterations) || iterations < 1) return false;
  const expected = Buffer.from(parts[4], 'base64');
  const key = await pbkdf2(password, Buffer.from(parts[3], 'base64'), iterations);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

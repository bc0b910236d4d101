/**
 * The last good config document on disk, to start from when the broker cannot be reached
 * (docs/gateway.md "Devices from the registry"). Written owner-only (0600, its directory 0700 when
 * created here) to a temporary file that is fsynced and renamed over the old one, so a crash
 * leaves either the old or the new document, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkConfigDoc, type GatewayConfigDoc } from '../../../schemas/src/gateway-config-doc.js';

export async function writeConfigCache(file: string, doc: GatewayConfigDoc): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx', 0o600);
  try {
    await fh.chmod(0o600); // the umask is not trusted
    await fh.writeFile(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export type CachedDoc = { doc: GatewayConfigDoc } | { missing: true } | { problem: string };

/** The cached document for `gatewayId`, or why there is none usable. */
export function readConfigCache(file: string, gatewayId: string): CachedDoc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { problem: `cannot read ${file}: ${(err as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problem: `${file} is not JSON: ${(err as Error).message}` };
  }
  const c = checkConfigDoc(raw);
  if (!c.ok) return { problem: `${file} is not a valid config document: ${c.problems.join('; ')}` };
  if (c.doc.gatewayId !== gatewayId) return { problem: `${file} is the config of gateway '${c.doc.gatewayId}'` };
  return { doc: c.doc };
}

/**
 * `orlink ports [--json]`: the serial ports of this machine, with the USB vendor:product id, maker and
 * serial number where udev gives them, to find the `transport.path` of a device
 * (`/dev/serial/by-id/...` names stay the same when adapters are replugged in another order).
 */
import { readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { listSerialPorts, type SerialPortInfo } from '../gateway/src/transports/serial.js';

const USAGE = 'usage: orlink ports [--json]\n  lists serial ports (USB vendor:product, maker, serial number) for transport.path\n';
const BY_ID = '/dev/serial/by-id';

/** stable udev names (/dev/serial/by-id/...) → the device they point to; empty without udev */
export function stableNames(dir = BY_ID): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names.slice(0, 256)) {
    try {
      out.set(realpathSync(path.join(dir, n)), path.join(dir, n));
    } catch {
      /* a dangling link: skipped */
    }
  }
  return out;
}

export function formatPorts(ports: (SerialPortInfo & { byId?: string })[]): string {
  if (!ports.length) return 'no serial ports found (USB adapter unplugged? on a VM, is the device passed through?)\n';
  const rows = ports.map((p) => [
    p.path,
    p.vendorId ? `${p.vendorId}:${p.productId ?? '?'}` : '-',
    p.manufacturer ?? '-',
    p.serialNumber ?? '-',
    p.byId ?? '-',
  ]);
  const head = ['PATH', 'USB ID', 'MANUFACTURER', 'SERIAL', 'STABLE NAME'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]))).join('  ')).join('\n') + '\n';
}

export async function run(argv: string[], io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) }): Promise<number> {
  let json = false;
  for (const a of argv) {
    if (a === '--help' || a === '-h') {
      io.out(USAGE);
      return 0;
    }
    if (a === '--json') json = true;
    else {
      io.err(`orlink ports: unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  let ports: SerialPortInfo[];
  try {
    ports = await listSerialPorts();
  } catch (err) {
    io.err(`orlink ports: cannot list serial ports: ${(err as Error).message}\n`);
    return 1;
  }
  const byId = stableNames();
  const rows = ports.map((p) => ({ ...p, ...(byId.has(p.path) ? { byId: byId.get(p.path) } : {}) }));
  io.out(json ? `${JSON.stringify(rows)}\n` : formatPorts(rows));
  return 0;
}

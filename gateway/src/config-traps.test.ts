/**
 * Gateway start traps (issue "Biomedical engineers first"): an unknown protocol or a mistyped key is
 * refused when the config file is loaded (not at start, not as a JSON stack), a missing serial port
 * lists the ports present, a permission error names the dialout group. Message and exit code each.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { GatewayConfigSchema } from '../../schemas/src/gateway-config.js';
import { loadConfig } from './config.js';
import { GW_ERR, type GatewayError } from './errors.js';
import { protocolNames } from './protocols/registry.js';
import { explainSerialOpenError, SerialLink } from './transports/serial.js';

const BIN = fileURLToPath(new URL('../../bin/orlink.js', import.meta.url));

function orlink(args: string[], cwd: string, ms = 60_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}

function dir(t: Test): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'orlink-gw-traps-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const yaml = (device: string, extra = '') =>
  ['gatewayId: gw1', 'site: s1', 'room: or1', 'bed: bed1', 'outbox: { kind: memory }', extra, 'devices:', `  - ${device}`, ''].join('\n');

t.test('unknown protocol: refused at config load with the allowed names; exit 2 from the CLI', async (t) => {
  const d = dir(t);
  const file = path.join(d, 'gw.yaml');
  writeFileSync(file, yaml('{ id: mon1, protocol: ge-dry, transport: { kind: tcp, host: 127.0.0.1, port: 4001 } }'));
  const err = t.throws(() => loadConfig(file, {})) as unknown as GatewayError;
  t.equal(err.code, GW_ERR.CONFIG);
  t.match(err.message, `/devices/0/protocol: unknown protocol 'ge-dry' for device 'mon1': use one of ${protocolNames().join(', ')}`);
  const r = await orlink(['gateway', '--config', file], d);
  t.equal(r.code, 2);
  t.match(r.stderr, "unknown protocol 'ge-dry'");
  t.match(r.stderr, 'use one of draeger-medibus, ge-dri');
  t.notMatch(r.stderr, /"level"|\n\s+at /, 'a sentence, not a JSON log line or a stack');
});

t.test('every object of the gateway config refuses unknown keys (device options stay free-form)', async (t) => {
  const open: string[] = [];
  const walk = (s: Record<string, unknown>, at: string, depth: number): void => {
    if (depth > 20) return;
    if (s.type === 'object' && s.properties) {
      if (s.additionalProperties !== false) open.push(at || '/');
      for (const [k, v] of Object.entries(s.properties as Record<string, Record<string, unknown>>)) walk(v, `${at}/${k}`, depth + 1);
    }
    if (s.type === 'array' && s.items) walk(s.items as Record<string, unknown>, `${at}/*`, depth + 1);
    for (const alt of (s.anyOf as Record<string, unknown>[] | undefined) ?? []) walk(alt, at, depth + 1);
  };
  walk(GatewayConfigSchema as unknown as Record<string, unknown>, '', 0);
  t.same(open, [], 'no object takes keys it does not know');
});

t.test('unknown keys at any level: path and nearest key', async (t) => {
  const d = dir(t);
  const file = path.join(d, 'gw.yaml');
  writeFileSync(
    file,
    yaml(
      '{ id: mon1, protocol: ge-dri, watchdogMS: 5000, transport: { kind: serial, path: /dev/ttyUSB0, baud: 19200 } }',
      'mqtt: { url: "mqtt://127.0.0.1:1883", pasword: x }',
    ),
  );
  const err = t.throws(() => loadConfig(file, {})) as unknown as GatewayError;
  const details = (err.details as string[]).join('\n');
  t.match(details, "/mqtt/pasword: Unexpected property: unknown key 'pasword' (did you mean 'password'?");
  t.match(details, "/devices/0/watchdogMS: Unexpected property: unknown key 'watchdogMS' (did you mean 'watchdogMs'?");
  t.match(details, "/devices/0/transport/baud: Unexpected property: unknown key 'baud' (keys allowed here: kind, path, baudRate");
});

t.test('a serial port that is not there: the ports present and the fix', async (t) => {
  const link = new SerialLink({ path: '/dev/ttyORLINK-none-9', baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false });
  const err = await link.open().then(
    () => null,
    (e: GatewayError) => e,
  );
  t.ok(err, 'open fails');
  t.equal(err!.code, GW_ERR.TRANSPORT_OPEN);
  t.match(err!.message, /^cannot open serial:\/dev\/ttyORLINK-none-9@19200-8N1: port \/dev\/ttyORLINK-none-9 not found; ports present: /);
  t.match(err!.message, 'orlink ports');
  // the list as udev gives it (vendor:product and serial for USB adapters)
  const hint = await explainSerialOpenError(new Error('Error: No such file or directory, cannot open /dev/ttyUSB9'), '/dev/ttyUSB9', async () => [
    { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'FT12AB' },
    { path: '/dev/ttyS0' },
  ]);
  t.equal(hint?.startsWith('port /dev/ttyUSB9 not found; ports present: /dev/ttyUSB0 (USB 0403:6001 serial FT12AB), /dev/ttyS0'), true, hint ?? 'no hint');
  t.match(
    await explainSerialOpenError(new Error('Error: No such file or directory, cannot open /dev/ttyUSB9'), '/dev/ttyUSB9', async () => []),
    'ports present: none',
  );
});

t.test('permission denied on a serial port: the dialout group and how to join it', async (t) => {
  // the message @serialport/bindings-cpp gives for EACCES (serialport_unix.cpp: "Error: %s, cannot open %s");
  // the tests run as root, who is never refused, so the real open cannot be provoked here
  const hint = await explainSerialOpenError(new Error('Error: Permission denied, cannot open /dev/ttyUSB0'), '/dev/ttyUSB0', async () => []);
  t.match(hint, 'no permission to open /dev/ttyUSB0: add the user to the dialout group: sudo usermod -aG dialout ');
  t.match(hint, ', then log in again');
  t.match(
    await explainSerialOpenError(new Error('Error Resource temporarily unavailable Cannot lock port'), '/dev/ttyUSB0', async () => []),
    'in use by another program',
  );
  t.equal(await explainSerialOpenError(new Error('something else'), '/dev/ttyUSB0', async () => []), undefined, 'no made-up hint');
});

/**
 * `orlink gateway --config FILE --test [--seconds N] [--json]`: the dry run of a bedside gateway
 * (as Telegraf's `--test`). Each device of the config is opened once with its own driver, which
 * identifies it and reads for at most N seconds (default 15) or until a few readings came; the result
 * per device (link, identity, profile, frames, errors, a few decoded numerics, or the open error with
 * its fix) goes to stdout. Nothing is published, no outbox is written, the broker is not contacted.
 * Exit 0 when every device gave readings, 1 otherwise, 2 for a config error.
 */
import path from 'node:path';
import type { DeviceConfig, GatewayConfig } from '../schemas/src/gateway-config.js';
import type { Observation } from '../schemas/src/observation.js';
import { readConfigCache } from '../gateway/src/config-sync/config-cache.js';
import { loadConfig } from '../gateway/src/config.js';
import { isGatewayError, GW_ERR } from '../gateway/src/errors.js';
import { loadProtocol } from '../gateway/src/protocols/registry.js';
import type { DeviceIdentity, DeviceProtocol } from '../gateway/src/protocols/protocol.js';
import { sessionOptions } from '../gateway/src/session/device-session.js';
import { createLink } from '../gateway/src/transports/index.js';
import type { LinkFactory } from '../gateway/src/transports/link.js';

export interface DeviceTestResult {
  id: string;
  protocol: string;
  link: string;
  ok: boolean;
  /** why the device failed (open error with its fix, or no frame/reading in time) */
  error?: string;
  identity?: DeviceIdentity;
  profile?: string;
  frames: number;
  errors: Record<string, number>;
  /** the first decoded numerics (at most `maxReadings`) */
  readings: { name: string; value: number | null; unit?: string }[];
  observations: number;
}

export interface DeviceTestOptions {
  /** the longest time the device is read (ms) */
  readMs: number;
  /** stop early once this many numerics came (and the identity, when the protocol reports one) */
  maxReadings: number;
  linkFactory?: LinkFactory;
  /** the longest a link open may take (ms) */
  openTimeoutMs?: number;
}

function reading(o: Observation): { name: string; value: number | null; unit?: string } | undefined {
  const n = o as Observation & { kind?: string; mdc?: string; vendorCode?: string; value?: number | null; unit?: string };
  if (n.kind !== 'numeric') return undefined;
  return { name: `${n.vendorCode ?? n.mdc ?? '?'}${n.mdc && n.vendorCode ? ` (${n.mdc})` : ''}`, value: n.value ?? null, ...(n.unit ? { unit: n.unit } : {}) };
}

/** opens one device once, runs its driver for a while, closes it; never throws */
export async function testDevice(dev: DeviceConfig, protocol: DeviceProtocol, o: DeviceTestOptions): Promise<DeviceTestResult> {
  const res: DeviceTestResult = { id: dev.id, protocol: dev.protocol, link: '', ok: false, frames: 0, errors: {}, readings: [], observations: 0 };
  let driver;
  try {
    driver = protocol.createSession(sessionOptions(dev));
  } catch (err) {
    return { ...res, error: `device options refused by the ${dev.protocol} driver: ${(err as Error).message}` };
  }
  const link = (o.linkFactory ?? createLink)(dev.transport, protocol);
  res.link = link.description;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      link.open(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${o.openTimeoutMs ?? 10_000} ms`)), o.openTimeoutMs ?? 10_000);
      }),
    ]);
  } catch (err) {
    clearTimeout(timer);
    await link.close().catch(() => undefined);
    const cause = (err as Error & { cause?: NodeJS.ErrnoException }).cause;
    const refused = cause?.code === 'ECONNREFUSED' ? ' (nothing listens there: device off, wrong address or port, or its network data export not enabled)' : '';
    const why = cause?.message && !(err as Error).message.includes(cause.message) ? `: ${cause.message}` : '';
    return { ...res, error: `${(err as Error).message}${why}${refused}` };
  }
  clearTimeout(timer);
  let linkError: string | undefined;
  let closed = false;
  const take = (obs: Observation[]) => {
    res.observations += obs.length;
    for (const ob of obs) {
      const r = res.readings.length < o.maxReadings ? reading(ob) : undefined;
      if (r) res.readings.push(r);
    }
  };
  link.on('data', (chunk: Uint8Array) => {
    try {
      take(driver.onBytes(chunk, Date.now()));
    } catch (err) {
      linkError = `driver failed: ${(err as Error).message}`;
    }
  });
  link.on('error', (err: Error) => {
    linkError = err.message;
  });
  link.on('close', () => {
    closed = true;
  });
  const tick = setInterval(() => {
    try {
      driver.tick(Date.now());
    } catch {
      /* counted by the decoder */
    }
  }, 1000);
  try {
    driver.start({ write: (b) => link.write(b) });
    const end = Date.now() + o.readMs;
    const reportsIdentity = () => driver.decoder().identity() !== undefined;
    for (let i = 0; i < 100_000 && Date.now() < end && !closed; i++) {
      if (res.readings.length >= o.maxReadings && (reportsIdentity() || res.observations > 4 * o.maxReadings)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    driver.stop();
    take(driver.flush?.() ?? []);
  } finally {
    clearInterval(tick);
    await link.close().catch(() => undefined);
  }
  const dec = driver.decoder();
  const st = dec.stats();
  res.frames = st.frames;
  res.errors = st.errors;
  const id = dec.identity();
  if (id) res.identity = id;
  const profile = dec.profileId();
  if (profile) res.profile = profile;
  res.ok = res.readings.length > 0;
  if (!res.ok) {
    res.error =
      linkError ??
      (closed
        ? 'the link closed before any reading'
        : st.frames === 0
          ? `no valid frame in ${Math.round(o.readMs / 1000)} s${st.bytes ? ` (${st.bytes} bytes received: wrong protocol or serial settings?)` : ' (nothing received: device off, wrong port, cable, or its data export not enabled?)'}`
          : `${st.frames} frames but no numeric reading in ${Math.round(o.readMs / 1000)} s`);
  }
  return res;
}

export function formatResult(r: DeviceTestResult): string {
  const who = r.identity
    ? `${[r.identity.vendor, r.identity.model].filter(Boolean).join(' ')}${r.identity.firmware ? ` fw ${r.identity.firmware}` : ''}${r.identity.serial ? ` serial ${r.identity.serial}` : ''}`
    : 'identity not reported';
  const errs =
    Object.entries(r.errors)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const lines = [`${r.ok ? 'OK  ' : 'FAIL'} ${r.id} (${r.protocol}, ${r.link || 'no link'})`];
  if (r.error) lines.push(`     ${r.error}`);
  if (r.frames || r.identity) lines.push(`     ${who}; profile ${r.profile ?? '-'}; frames ${r.frames}; errors: ${errs}`);
  for (const x of r.readings) lines.push(`     ${x.name} = ${x.value ?? 'invalid'}${x.unit ? ` ${x.unit}` : ''}`);
  return lines.join('\n') + '\n';
}

export interface GatewayTestIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** runs the dry run of a loaded config; the exit code */
export async function testGateway(
  config: Readonly<GatewayConfig>,
  o: DeviceTestOptions & { json?: boolean; protocols?: Record<string, DeviceProtocol> },
  io: GatewayTestIo,
): Promise<number> {
  let devices = config.devices;
  if (!devices.length && config.configSource === 'registry') {
    // the devices the registry gave this gateway last time it ran: the document it keeps on disk to start offline
    const cacheFile = config.configCacheFile ?? path.join(config.outbox.dir, 'registry-config.json');
    const c = readConfigCache(cacheFile, config.gatewayId);
    if ('doc' in c) {
      devices = c.doc.devices;
      io.err(`orlink gateway --test: devices from the registry's config version ${c.doc.version} (cached in ${cacheFile})\n`);
    } else {
      io.err(
        `orlink gateway --test: this gateway takes its devices from the registry and has no usable copy yet (${'problem' in c ? c.problem : `${cacheFile} does not exist`}): start it once while ingest is reachable, or list the devices under devices: in the config file\n`,
      );
      return 1;
    }
  }
  if (!devices.length) {
    io.err('orlink gateway --test: the config file lists no devices\n');
    return 1;
  }
  const results: DeviceTestResult[] = [];
  for (const dev of devices) {
    const protocol = o.protocols?.[dev.protocol] ?? (await loadProtocol(dev.protocol));
    const r = protocol
      ? await testDevice(dev, protocol, o)
      : {
          id: dev.id,
          protocol: dev.protocol,
          link: '',
          ok: false,
          error: `unknown protocol '${dev.protocol}'`,
          frames: 0,
          errors: {},
          readings: [],
          observations: 0,
        };
    results.push(r);
    if (!o.json) io.out(formatResult(r));
  }
  if (o.json) io.out(`${JSON.stringify(results)}\n`);
  const failed = results.filter((r) => !r.ok).length;
  if (!o.json) io.out(failed ? `${failed} of ${results.length} device(s) failed\n` : `all ${results.length} device(s) answered\n`);
  return failed ? 1 : 0;
}

const USAGE = 'usage: orlink gateway --config FILE --test [--seconds N (1-120, default 15)] [--readings N (default 5)] [--json]\n';

/** `orlink gateway ... --test`: argv without `--test` itself */
export async function run(argv: string[], io: GatewayTestIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let file: string | undefined;
  let seconds = 15;
  let readings = 5;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '--help' || flag === '-h') {
      io.out(USAGE);
      return 0;
    }
    if (flag === '--config' || flag === '-c') file = inline ?? argv[++i];
    else if (flag === '--seconds') seconds = Number(inline ?? argv[++i]);
    else if (flag === '--readings') readings = Number(inline ?? argv[++i]);
    else if (flag === '--json') json = true;
    else {
      io.err(`orlink gateway --test: unknown argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    io.err(`orlink gateway --test: --config is required\n${USAGE}`);
    return 2;
  }
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 120) {
    io.err(`orlink gateway --test: --seconds must be 1..120\n${USAGE}`);
    return 2;
  }
  if (!Number.isInteger(readings) || readings < 1 || readings > 100) {
    io.err(`orlink gateway --test: --readings must be 1..100\n${USAGE}`);
    return 2;
  }
  let config: Readonly<GatewayConfig>;
  try {
    config = loadConfig(file);
  } catch (err) {
    io.err(`orlink gateway: ${(err as Error).message}\n`);
    return isGatewayError(err, GW_ERR.CONFIG) ? 2 : 1;
  }
  return testGateway(config, { readMs: seconds * 1000, maxReadings: readings, json }, io);
}

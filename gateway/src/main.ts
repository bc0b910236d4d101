/**
 * Gateway composition root: `orlink gateway --config FILE [--record FILE [--record-phi]]`.
 * devices → sessions → batcher → outbox → MQTT publisher; status retained with an LWT.
 * `startGateway()` is the programmatic entry used by tests and the demo.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { GatewayConfig, MqttTlsConfig } from '../../schemas/src/gateway-config.js';
import { loadConfig } from './config.js';
import type { GatewayConfigDoc } from '../../schemas/src/gateway-config-doc.js';
import { readConfigCache } from './config-sync/config-cache.js';
import { ConfigSync } from './config-sync/config-sync.js';
import { DeviceSet } from './config-sync/device-set.js';
import { runnableProblems } from './config-sync/runnable.js';
import { GatewayError, GW_ERR, isGatewayError } from './errors.js';
import { createLogger, withLocation } from './log.js';
import { createOutbox } from './outbox/index.js';
import type { Outbox } from './outbox/outbox.js';
import { Batcher } from './batch/batcher.js';
import { DeviceSession, sessionOptions, type DeviceSessionStatus } from './session/device-session.js';
import { createLink } from './transports/index.js';
import type { LinkFactory } from './transports/link.js';
import type { DeviceProtocol } from './protocols/protocol.js';
import { devicePath, HexlogRecorder, recordPaths } from './record/hexlog-recorder.js';
import { MqttPublisher } from './publish/mqtt-publisher.js';
import type { BackoffOptions } from './session/backoff.js';
import { gatewayTopics, type GatewayTopics } from './publish/topics.js';
import { deviceStatusDoc, gatewayVersion, identityMismatchOf, offlineStatus, STATUS_SCHEMA, type GatewayStatus } from './status/gateway-status.js';

export type { GatewayStatus };

export interface StartOptions {
  logger?: Logger;
  /** Protocols by name; default: the registry (gateway/src/protocols/registry.ts). */
  protocols?: Record<string, DeviceProtocol>;
  linkFactory?: LinkFactory;
  /** Capture file (overrides config.record). */
  record?: string;
  /** Keep HL7 patient segments in the capture (overrides config.recordPhi): lab use only. */
  recordPhi?: boolean;
  /** How long close() waits for PUBACKs of the outbox backlog. */
  drainMs?: number;
  /** Session tick (ms); tests shorten it. */
  tickMs?: number;
  /** Reconnect backoff of the MQTT publisher (default 0.5 s doubling to 30 s). */
  mqttBackoff?: BackoffOptions;
}

export interface RunningGateway {
  readonly bootId: string;
  readonly topics: GatewayTopics;
  readonly outbox: Outbox;
  status(): GatewayStatus;
  /** Write the pending batch to the outbox now (tests, demo). */
  flush(): Promise<number[]>;
  close(): Promise<void>;
}

async function resolveProtocol(name: string, given?: Record<string, DeviceProtocol>, profilesDir?: string): Promise<DeviceProtocol> {
  const p = given?.[name] ?? (await import('./protocols/registry.js')).loadProtocol(name);
  const proto = await p;
  if (!proto)
    throw new GatewayError(
      GW_ERR.PROTOCOL_UNKNOWN,
      'fatal',
      `unknown protocol '${name}': use one of ${(await import('./protocols/registry.js')).protocolNames().join(', ')}`,
    );
  // config `profilesDir`: every decoder and session of the protocol maps with that folder
  return (await import('./protocols/registry.js')).withProfilesDir(proto, profilesDir);
}

export async function startGateway(config: Readonly<GatewayConfig>, opts: StartOptions = {}): Promise<RunningGateway> {
  // gateway id, site, room and bed on every log line of every component
  const logger = withLocation(opts.logger ?? createLogger(config.log.level), config);
  const log = logger.child({ component: 'gateway' });
  const protocols = new Map<string, DeviceProtocol>();
  // configSource registry: devices from the config topic, and until one arrives from the last good document on disk
  const registryMode = config.configSource === 'registry';
  const cacheFile = config.configCacheFile ?? path.join(config.outbox.dir, 'registry-config.json');
  let cached: GatewayConfigDoc | undefined;
  if (registryMode) {
    const c = readConfigCache(cacheFile, config.gatewayId);
    if ('doc' in c) {
      const problems = await runnableProblems(c.doc.devices, protocols, (n) => resolveProtocol(n, opts.protocols, config.profilesDir));
      if (problems.length) log.error({ file: cacheFile, version: c.doc.version, problems }, 'cached config document not runnable: starting without devices');
      else cached = c.doc;
    } else if ('problem' in c) log.warn({ file: cacheFile, problem: c.problem }, 'cached config document not usable: starting without devices');
  }
  for (const d of config.devices)
    if (!protocols.has(d.protocol)) protocols.set(d.protocol, await resolveProtocol(d.protocol, opts.protocols, config.profilesDir));

  // protocol-specific options are validated by the driver itself: fail at start, not at first connect
  const optionProblems: string[] = [];
  for (const d of config.devices) {
    try {
      protocols.get(d.protocol)!.createSession(sessionOptions(d));
    } catch (err) {
      optionProblems.push(`/devices/${config.devices.indexOf(d)}/options (${d.id}): ${(err as Error).message}`);
    }
  }
  if (optionProblems.length) {
    throw new GatewayError(GW_ERR.CONFIG, 'fatal', `invalid device options:\n  ${optionProblems.join('\n  ')}`, { details: optionProblems });
  }

  const bootId = randomUUID();
  const startedAt = Date.now();
  const topics = gatewayTopics({ ...config, topicPrefix: config.mqtt.topicPrefix });
  const ids = { gatewayId: config.gatewayId, site: config.site, room: config.room, bed: config.bed, bootId };
  const outbox = createOutbox(config.outbox);
  await outbox.open();
  if (outbox.stats.truncatedBytes) log.warn({ truncatedBytes: outbox.stats.truncatedBytes }, 'outbox had a torn tail: truncated');

  const recorders = new Map<string, HexlogRecorder>();
  const recordFile = opts.record ?? config.record;
  const keepPhi = opts.recordPhi ?? config.recordPhi ?? false;
  if (recordFile && keepPhi) log.warn({ record: recordFile }, 'capture keeps patient data (--record-phi / recordPhi): lab use only');
  for (const d of config.devices) {
    if (d.transport.kind === 'tcp-server' && d.transport.allowAnySender)
      log.warn(
        { deviceId: d.id, port: d.transport.port },
        'listener accepts any sender (allowAnySender): set transport.allow to the monitor address outside a test bench',
      );
  }
  try {
    for (const [id, file] of recordFile
      ? recordPaths(
          recordFile,
          config.devices.map((d) => d.id),
        )
      : []) {
      const dev = config.devices.find((d) => d.id === id)!;
      const rec = new HexlogRecorder(file, { deviceId: id, protocol: dev.protocol, gatewayId: config.gatewayId }, { keepPhi });
      recorders.set(id, rec);
      await rec.open();
    }
  } catch (err) {
    await Promise.all([...recorders.values()].map((r) => r.close()));
    await outbox.close();
    throw new GatewayError(GW_ERR.RECORD_IO, 'fatal', `cannot open capture file ${recordFile}`, { cause: err });
  }

  // devices from the registry are known only once their config arrives: their captures open when their session is
  // made, one file per device (`<file>.<deviceId>.hexlog`, as for several devices in the file); a capture that cannot be
  // opened is logged and the device runs without one (the gateway is already running)
  const recorderFor = (dev: GatewayConfig['devices'][number]): HexlogRecorder | undefined => {
    const have = recorders.get(dev.id);
    if (have || !recordFile || !registryMode) return have;
    const rec = new HexlogRecorder(devicePath(recordFile, dev.id), { deviceId: dev.id, protocol: dev.protocol, gatewayId: config.gatewayId }, { keepPhi });
    recorders.set(dev.id, rec);
    rec
      .open()
      .catch((err: Error) =>
        log.error({ deviceId: dev.id, err: err.message }, 'cannot open the capture file of a device from the registry: running without it'),
      );
    return rec;
  };

  let publisher: MqttPublisher | undefined;
  let configSync: ConfigSync | undefined;
  const deviceSet = new DeviceSet<DeviceSession>(
    (dev) =>
      new DeviceSession({
        config: dev,
        protocol: protocols.get(dev.protocol)!,
        linkFactory: opts.linkFactory ?? createLink,
        logger,
        sink: (id, obs) => batcher.add(id, obs),
        recorder: recorderFor(dev),
        onChange: (st) => {
          checkIdentity(st);
          publisher?.statusChanged();
        },
        ...(opts.tickMs ? { tickMs: opts.tickMs } : {}),
      }),
  );
  const batcher = new Batcher({
    gatewayId: config.gatewayId,
    bootId,
    intervalMs: config.mqtt.publishIntervalMs,
    outbox,
    logger,
    maxEnvelopeBytes: config.mqtt.maxEnvelopeBytes,
    devices: () => deviceSet.sessions().map((s) => s.status()),
    configuredProfile: (id) => deviceSet.config(id)?.profile,
  });
  // a device that reports another identity than its `expect` block: marked in the status, warned once per change
  const mismatchLogged = new Map<string, string>();
  const checkIdentity = (st: DeviceSessionStatus) => {
    const m = identityMismatchOf(st, deviceSet.config(st.id)?.expect);
    const key = JSON.stringify(m);
    if ((mismatchLogged.get(st.id) ?? '[]') === key) return;
    mismatchLogged.set(st.id, key);
    if (m.length) log.warn({ deviceId: st.id, mismatch: m }, 'device identity differs from the configured expectation');
  };
  await deviceSet.apply(registryMode ? (cached?.devices ?? []) : config.devices);

  const status = (): GatewayStatus => ({
    schemaVersion: STATUS_SCHEMA,
    online: true,
    ...ids,
    version: gatewayVersion(),
    startedAt,
    t: Date.now(),
    devices: deviceSet.sessions().map((s) => deviceStatusDoc(s.status(), deviceSet.config(s.id)?.expect)),
    outbox: { kind: outbox.kind, ...outbox.depth(), ...outbox.stats },
    mqtt: { ...(publisher?.stats ?? { connected: false, connects: 0, published: 0, acked: 0, resent: 0 }) },
    batcher: { ...batcher.stats },
    ...(configSync ? { config: configSync.state() } : {}),
  });

  // the config topic is read on the publisher's own connection: one MQTT session per gateway (Mosquitto forces client id = user name)
  if (registryMode) {
    configSync = new ConfigSync({
      gatewayId: config.gatewayId,
      topic: topics.config,
      cacheFile,
      logger,
      ...(cached ? { initial: cached } : {}),
      onChange: () => publisher?.statusChanged(),
      apply: async (doc) => {
        const problems = await runnableProblems(doc.devices, protocols, (n) => resolveProtocol(n, opts.protocols, config.profilesDir));
        if (problems.length) throw new GatewayError(GW_ERR.CONFIG, 'data', `config document ${doc.version} not runnable`, { details: problems });
        return deviceSet.apply(doc.devices);
      },
    });
  }
  const sync = configSync;
  publisher = new MqttPublisher({
    url: config.mqtt.url,
    clientId: `${config.gatewayId}-${bootId.slice(0, 8)}`,
    gatewayId: config.gatewayId,
    keepaliveS: config.mqtt.keepaliveS,
    maxInflight: config.mqtt.maxInflight,
    connectTimeoutMs: config.mqtt.connectTimeoutMs,
    topics,
    outbox,
    logger,
    maxPayloadBytes: config.mqtt.maxEnvelopeBytes,
    status,
    statusIntervalMs: config.mqtt.statusIntervalMs,
    willPayload: offlineStatus(ids, 'lwt'),
    ...(opts.mqttBackoff ? { backoff: opts.mqttBackoff } : {}),
    ...(config.mqtt.tls ? { tls: readTls(config.mqtt.tls) } : {}),
    ...(config.mqtt.username !== undefined ? { username: config.mqtt.username } : {}),
    ...(config.mqtt.password !== undefined ? { password: config.mqtt.password } : {}),
    ...(sync
      ? {
          subscriptions: [
            {
              topic: topics.config,
              onMessage: (payload: Buffer) => {
                void sync.receive(payload);
              },
            },
          ],
        }
      : {}),
  });
  outbox.onChange((ev) => {
    if (ev.type === 'drop') publisher?.statusChanged();
  });
  publisher.start();
  batcher.start();
  deviceSet.start();
  log.info(
    {
      bootId,
      devices: deviceSet.configs().length,
      configSource: registryMode ? 'registry' : 'file',
      configVersion: cached?.version,
      outbox: outbox.kind,
      backlog: outbox.depth().records,
      version: gatewayVersion(),
    },
    'gateway started',
  );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info('gateway stopping');
      await configSync?.stop();
      await deviceSet.stop();
      await batcher.stop();
      await publisher!.stop({ drainMs: opts.drainMs ?? 3000, goodbye: offlineStatus(ids, 'shutdown', Date.now()) });
      await Promise.all([...recorders.values()].map((r) => r.close()));
      const depth = outbox.depth();
      await outbox.close();
      log.info({ unacked: depth.records }, 'gateway stopped');
    })());

  return { bootId, topics, outbox, status, flush: () => batcher.flush(), close };
}

function readTls(t: MqttTlsConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean } {
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean } = { rejectUnauthorized: t.rejectUnauthorized };
  const ca = read(t.caFile);
  const cert = read(t.certFile);
  const key = read(t.keyFile);
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  return out;
}

function parseArgs(argv: string[]): { config?: string; record?: string; recordPhi?: boolean; help?: boolean; error?: string } {
  const out: { config?: string; record?: string; recordPhi?: boolean; help?: boolean; error?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '--help' || flag === '-h') out.help = true;
    else if (flag === '--config' || flag === '-c') out.config = inline ?? argv[++i];
    else if (flag === '--record') out.record = inline ?? argv[++i];
    else if (flag === '--record-phi' && inline === undefined) out.recordPhi = true;
    else out.error = `unknown argument '${a}'`;
  }
  return out;
}

const USAGE =
  'usage: orlink gateway --config FILE [--record FILE [--record-phi]] | --config FILE --test [--seconds N] [--json]\n' +
  '  --test        dry run: open each device once, identify it, print a few decoded readings, exit 0/1\n' +
  '  --record-phi  keep HL7 patient data (PID, PV1 names/ids, …) in the capture: lab use only\n';

/** `orlink gateway ...`: runs until SIGINT/SIGTERM; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  // the dry run (cli/gateway-test.ts): each device opened once, identified, a few readings printed; nothing published
  if (argv.includes('--test')) return (await import('../../cli/gateway-test.js')).run(argv.filter((a) => a !== '--test'));
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.error || !args.config) {
    process.stderr.write(`orlink gateway: ${args.error ?? '--config is required'}\n${USAGE}`);
    return 2;
  }
  let config: Readonly<GatewayConfig>;
  try {
    config = loadConfig(args.config);
  } catch (err) {
    process.stderr.write(`orlink gateway: ${(err as Error).message}\n`);
    return isGatewayError(err, GW_ERR.CONFIG) ? 2 : 1;
  }
  const logger = withLocation(createLogger(config.log.level), config);
  let gw: RunningGateway;
  try {
    gw = await startGateway(config, { ...(args.record ? { record: args.record } : {}), ...(args.recordPhi ? { recordPhi: true } : {}), logger });
  } catch (err) {
    // one sentence for the person at the console (the log line keeps the detail)
    process.stderr.write(
      `orlink gateway: cannot start: ${(err as Error).message}${(err as Error).cause instanceof Error ? ` (${((err as Error).cause as Error).message})` : ''}\n`,
    );
    logger.fatal({ err }, 'gateway failed to start');
    return isGatewayError(err, GW_ERR.CONFIG) ? 2 : 1;
  }
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      logger.info({ signal: sig }, 'signal received');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await gw.close();
  return 0;
}

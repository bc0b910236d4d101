/**
 * A whole orlink installation on one machine: a real InfluxDB (Debian's influxd, project-local
 * config and data dir), ingest with its embedded broker, and N simulated ORs, each a simulated
 * GE S/5 on a pty pair (socat) read by its own gateway. `orlink demo`, the end-to-end test and
 * the benchmark all start the same stack, so what the demo shows is what the tests check.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import YAML from 'yaml';
import { startInfluxd, freePort } from '../ingest/src/series/influxd-launcher.js';
import { startIngest, type RunningIngest } from '../ingest/src/main.js';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { buildConfig } from '../gateway/src/config.js';
import { startGateway, type RunningGateway } from '../gateway/src/main.js';
import { GeDriSimulator, openPtyPair, serveSerial, type Produced, type PtyPair, type SerialService } from '../simulators/src/index.js';
import { ProcessGroup } from './process-group.js';
import { FailAt, type FailStage } from './fail-at.js';
import { createToken } from './admin.js';
import { CLI_ERR, CliError } from './errors.js';

const BIN = fileURLToPath(new URL('../bin/orlink.js', import.meta.url));

export interface StackOptions {
  /** Everything the stack writes (InfluxDB data, sqlite, outboxes, configs, logs) goes under here. */
  dir: string;
  ors: number;
  logger: Logger;
  /** 'process': each gateway is its own `orlink gateway` child (bench: CPU/RSS per bed). */
  gatewayMode?: 'in-process' | 'process';
  /** GE wave names or ids requested by every gateway (default: the profile's). */
  waves?: (string | number)[];
  phdbIntervalS?: number;
  publishIntervalMs?: number;
  seed?: number;
  site?: string;
  /** Every reading a simulator put on the wire, with the OR it belongs to. */
  onProduced?: (or: OrRig, r: Produced) => void;
  /** InfluxDB retention of raw data (default 30d). */
  retention?: string;
  gatewayLogLevel?: string;
  /**
   * Owns every process and in-process piece the stack starts (default: a group of its own). A verb
   * passes the group it guards (cli/process-group.ts), so a signal or crash stops all of it.
   */
  group?: ProcessGroup;
}

export interface OrRig {
  index: number;
  site: string;
  room: string;
  bed: string;
  gatewayId: string;
  deviceId: string;
  sim: GeDriSimulator;
  pty: PtyPair;
  serial: SerialService;
  gateway?: RunningGateway;
  child?: ChildProcess;
}

export interface Stack {
  influxUrl: string;
  database: string;
  ingest: RunningIngest;
  ors: OrRig[];
  /** REST call against ingest (in-process inject) with `adminToken`: JSON in, JSON out; throws on >= 400. */
  api<T = any>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T>;
  /** An admin API token made at start as `orlink admin create-token` makes one (expires in 7 days). */
  adminToken: string;
  /** Closes the stack's ProcessGroup (the verb's, when it passed one): everything in it stops. */
  close(): Promise<void>;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const log = o.logger.child({ component: 'stack' });
  const site = o.site ?? 'main';
  // child processes (influxd, socat, gateway processes) are owned by the group from their spawn on;
  // in-process pieces are deferred to it as they start; close() stops both (see process-group.ts)
  const group = o.group ?? new ProcessGroup({ name: 'stack', logger: o.logger });
  const close = () => group.close();
  const failAt = FailAt.fromEnv();
  /** Start-up passed `stage`: go on unless the group is stopping (signal, crash) or a test injects a failure here. */
  const checkpoint = async (stage: FailStage): Promise<void> => {
    if (group.stopping) throw new CliError(CLI_ERR.STOPPING, `start-up abandoned after stage '${stage}': everything is stopping`);
    await failAt?.pass(stage, () => group.stopping);
    if (group.stopping) throw new CliError(CLI_ERR.STOPPING, `start-up abandoned after stage '${stage}': everything is stopping`);
  };
  try {
    mkdirSync(o.dir, { recursive: true });
    const influx = await startInfluxd({ dir: join(o.dir, 'influxdb'), spawn: group.spawn });
    log.info({ url: influx.url }, 'influxdb ready');
    await checkpoint('influxd');

    const database = 'orlink';
    const ingestConfig = loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: await freePort() },
        db: { path: join(o.dir, 'ingest.sqlite') },
        series: { kind: 'influx-v1', url: influx.url, database, retentionDuration: o.retention ?? '30d' },
        broker: { kind: 'embedded', host: '127.0.0.1', port: await freePort() },
        // one token for the set-up and the demo's live line (one request per OR every 2 s)
        auth: { rateLimit: { perCaller: Math.max(600, o.ors * 60) } },
        log: { level: 'warn' },
      },
      env: {},
    });
    const ingest = await startIngest(ingestConfig, { logger: o.logger.child({ component: 'ingest' }) });
    group.defer('ingest', () => ingest.close());
    log.info({ url: ingest.url, mqtt: ingest.mqttUrl }, 'ingest ready');
    await checkpoint('ingest');

    const { token: adminToken } = createToken(ingest.services.tokens, { name: 'stack-admin', role: 'admin', expiresDays: 7 });
    const headers = { authorization: `Bearer ${adminToken}` };
    const api = async <T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> => {
      const res = await ingest.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
      if (res.statusCode >= 400) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
      return res.json() as T;
    };
    await api('POST', '/sites', { id: site, name: 'Demo hospital' });

    const ors: OrRig[] = [];
    for (let i = 0; i < o.ors; i++) {
      const n = i + 1;
      const room = `OR${n}`;
      const bed = `or${n}-bed`;
      const gatewayId = `gw-or${n}`;
      const deviceId = `or${n}-s5`;
      const password = `demo-secret-${n}-${Math.random().toString(36).slice(2, 10)}`;
      await api('POST', '/rooms', { id: room, siteId: site, name: `Operating room ${n}` });
      await api('POST', '/beds', { id: bed, roomId: room, name: `OR ${n} table` });
      await api('POST', '/gateways', { id: gatewayId, bedId: bed, password });
      await api('POST', '/devices', {
        id: deviceId,
        gatewayId,
        bedId: bed,
        vendor: 'GE',
        model: 'S/5 (simulated)',
        profile: 'auto',
        transport: 'serial (pty)',
      });

      const ptyDir = join(o.dir, 'pty', room);
      mkdirSync(ptyDir, { recursive: true });
      const pty = await openPtyPair({ dir: ptyDir, spawn: group.spawn });
      // socat is owned by the group from its spawn; this closer stops it in the orderly sequence too
      // (after its gateway and simulator, before ingest), the group only if that fails
      group.defer(`pty ${room}`, () => pty.close());
      await checkpoint('pty');
      const rig = { index: i, site, room, bed, gatewayId, deviceId, pty } as OrRig;
      rig.sim = new GeDriSimulator({
        seed: (o.seed ?? 1) + i,
        trendStartMinute: 620 + 37 * i,
        logger: o.logger.child({ component: 'sim', or: room }),
        onProduced: (r) => o.onProduced?.(rig, r),
      });
      rig.sim.start();
      group.defer(`sim ${room}`, () => rig.sim.close());
      rig.serial = serveSerial(pty.devicePath, rig.sim, o.logger.child({ component: 'sim-serial', or: room }));
      group.defer(`sim-serial ${room}`, () => rig.serial.stop());
      await rig.serial.opened;
      await checkpoint('sim');

      const gatewayFile = {
        gatewayId,
        site,
        room,
        bed,
        mqtt: {
          url: ingest.mqttUrl,
          username: gatewayId,
          ...(o.publishIntervalMs ? { publishIntervalMs: o.publishIntervalMs } : {}),
        },
        outbox: { kind: 'file', dir: join(o.dir, 'outbox', gatewayId) },
        devices: [
          {
            id: deviceId,
            protocol: 'ge-dri',
            profile: 'auto',
            transport: { kind: 'serial', path: pty.hostPath },
            options: {
              ...(o.waves ? { waves: o.waves } : {}),
              ...(o.phdbIntervalS ? { intervalS: o.phdbIntervalS } : {}),
            },
          },
        ],
        log: { level: o.gatewayLogLevel ?? 'warn' },
      };
      if (o.gatewayMode === 'process') {
        const cfgPath = join(o.dir, `${gatewayId}.yaml`);
        writeFileSync(cfgPath, YAML.stringify(gatewayFile));
        const child = group.spawn(process.execPath, [BIN, 'gateway', '--config', cfgPath], {
          env: { ...process.env, ORLINK_MQTT_PASSWORD: password },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        rig.child = child;
        group.defer(gatewayId, () => group.stop(child)); // in order: before its simulator and ingest
      } else {
        const config = buildConfig(gatewayFile, { ORLINK_MQTT_PASSWORD: password });
        rig.gateway = await startGateway(config, { logger: o.logger.child({ component: 'gateway', or: room }) });
        const gw = rig.gateway;
        group.defer(gatewayId, () => gw.close());
      }
      ors.push(rig);
      await checkpoint('gateway');
    }
    await checkpoint('ready');
    return { influxUrl: influx.url, database, ingest, ors, api, adminToken, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The fault rig: the real path with every piece separately killable.
 *   GE S/5 simulator (test process, truth recorded) → socat pty → gateway (child process or in
 *   process) → [TcpFaultProxy] → broker → ingest (child process) → [HttpFaultProxy] → Debian's
 *   influxd (child process). The broker is ingest's embedded aedes (`broker: 'aedes'`, default) or
 *   Debian's Mosquitto as a child process (`broker: 'mosquitto'`: persistence under the rig's dir,
 *   password + ACL files generated from ingest's registry, ingest with `broker.kind: external`).
 * Everything on loopback with free ports under one temp dir; close() reaps every process.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import YAML from 'yaml';
import mqtt from 'mqtt';
import { startInfluxd, type InfluxdHandle } from '../../../ingest/src/series/influxd-launcher.js';
import { stablePort } from '../../helpers/stable-port.js';
import { bearer, mintToken } from '../../../ingest/src/auth/test-tokens.js';
import { buildConfig } from '../../../gateway/src/config.js';
import { startGateway, type GatewayStatus, type RunningGateway } from '../../../gateway/src/main.js';
import { GeDriSimulator, openPtyPair, serveSerial, type Produced, type PtyPair, type SerialService } from '../../../simulators/src/index.js';
import { HttpFaultProxy, TcpFaultProxy } from './proxies.js';
import { OrlinkChild, pollUntil } from './processes.js';
import { audit, sumAudits, type AuditResult } from './audit.js';
import { launchMosquitto, type TestMosquitto } from '../../helpers/mosquitto.js';
import type { Spawner } from '../../../cli/process-group.js';
import { mosquittoStoredMessages, writeMosquittoAuth, type BrokerAccount } from './mosquitto-rig.js';

export type BrokerKind = 'aedes' | 'mosquitto';
/** The brokers every scenario runs on (ORLINK_FAULTS_BROKERS=aedes,mosquitto narrows it). */
export const BROKERS: BrokerKind[] = (process.env.ORLINK_FAULTS_BROKERS ?? 'aedes,mosquitto')
  .split(',')
  .map((x) => x.trim())
  .filter((x): x is BrokerKind => x === 'aedes' || x === 'mosquitto');

export interface RigOptions {
  name: string;
  beds: number;
  /** default: $ORLINK_FAULTS_BROKER or aedes */
  broker?: BrokerKind;
  waves?: string[];
  gatewayMode?: 'process' | 'in-process';
  /** each gateway reaches the broker through its own TcpFaultProxy */
  brokerProxy?: boolean;
  /** ingest writes to InfluxDB through an HttpFaultProxy */
  influxProxy?: boolean;
  publishIntervalMs?: number;
  keepaliveS?: number;
  outbox?: { maxBytes?: number; segmentBytes?: number };
  watchdogMs?: number;
  /** extra node args of gateway children (e.g. --import of the clock-shift preload) */
  gatewayNodeArgs?: string[];
  gatewayEnv?: Record<string, string>;
  seed?: number;
  logger?: Logger;
  /** How every child process (influxd, mosquitto, socat, ingest, gateways) is started; the soak passes its ProcessGroup's. */
  spawn?: Spawner;
  /**
   * More devices on each bed's gateway beside its GE monitor (harness/multi-devices.ts): created
   * after the bed's GE monitor, registered with ingest, added to the gateway's devices; their
   * truth and audit are the caller's (audit()/auditAll() cover the GE monitor only).
   */
  extraDevices?: (bed: Bed, rig: FaultRig) => Promise<ExtraDevice[]>;
}

/** A device beside the bed's GE monitor, read by the same gateway (see RigOptions.extraDevices). */
export interface ExtraDevice {
  id: string;
  /** POST /devices fields besides id, gatewayId, bedId */
  registry: { vendor: string; model: string; profile: string; transport: string };
  /** its entry in the gateway config's `devices` */
  gatewayDevice: Record<string, unknown>;
  /** called once after the bed's gateway first started (e.g. an HL7 sender dials the gateway) */
  started?(): Promise<void>;
  /** its truth window closes and it stops (no more truth); what is in flight must still arrive */
  stop(): Promise<void>;
  /** release everything (rig teardown); idempotent */
  close(): Promise<void>;
}

export interface Bed {
  index: number;
  site: string;
  room: string;
  bed: string;
  gatewayId: string;
  deviceId: string;
  password: string;
  ptyDir: string;
  pty: PtyPair;
  sim: GeDriSimulator;
  serial: SerialService;
  produced: (Produced & { at: number })[];
  proxy?: TcpFaultProxy;
  configPath: string;
  outboxDir: string;
  child?: OrlinkChild;
  gateway?: RunningGateway;
  /** RigOptions.extraDevices (empty without) */
  extras: ExtraDevice[];
}

export class FaultRig {
  readonly dir: string;
  readonly database = 'orlink';
  influx!: InfluxdHandle;
  influxProxy?: HttpFaultProxy;
  ingest!: OrlinkChild;
  ingestUrl = '';
  brokerPort = 0;
  readonly brokerPassword = randomBytes(12).toString('hex');
  readonly broker: BrokerKind;
  /** broker: 'mosquitto' only */
  mosquitto?: TestMosquitto;
  /** a test account that may read and write every orlink topic (mosquitto); aedes: the ingest account */
  private testAccount: BrokerAccount = { username: 'orlink-ingest', password: this.brokerPassword };
  readonly beds: Bed[] = [];
  readonly log: Logger;
  private statusClient: mqtt.MqttClient | null = null;
  private readonly statuses = new Map<string, GatewayStatus>();
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  /** the rig's admin API token, minted in ingest's sqlite file before ingest first starts */
  private auth: { authorization: string } = { authorization: '' };

  constructor(readonly o: RigOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `orlink-fault-${o.name}-`));
    this.log = o.logger ?? pino({ level: 'warn' });
    const env = process.env.ORLINK_FAULTS_BROKER;
    this.broker = o.broker ?? (env === 'mosquitto' ? 'mosquitto' : 'aedes');
  }

  /** Credentials of the test's own MQTT clients (status watcher, spies). */
  get testClient(): BrokerAccount {
    return this.testAccount;
  }

  get influxUrl(): string {
    return this.influx.url;
  }

  async start(): Promise<void> {
    this.influx = await startInfluxd({ dir: join(this.dir, 'influxdb'), spawn: this.o.spawn });
    this.cleanups.push(() => this.influx.stop());
    if (this.o.influxProxy) {
      this.influxProxy = new HttpFaultProxy(this.influx.url);
      await this.influxProxy.start();
      this.cleanups.push(() => this.influxProxy?.close());
    }
    // ingest is killed and restarted on these ports: keep them out of the ephemeral range (test/helpers/stable-port.ts)
    const httpPort = await stablePort();
    this.ingestUrl = `http://127.0.0.1:${httpPort}`;
    if (this.broker === 'mosquitto') {
      this.testAccount = { username: 'fault-test', password: randomBytes(12).toString('hex') };
      await this.syncMosquittoAuth();
      const authDir = join(this.dir, 'mosquitto-auth');
      this.mosquitto = await launchMosquitto({
        dir: join(this.dir, 'mosquitto'),
        passwordFile: join(authDir, 'passwd'),
        aclFile: join(authDir, 'acl'),
        extra: ['sys_interval 1'],
        spawn: this.o.spawn,
      });
      const m = this.mosquitto;
      this.cleanups.push(() => m.stop());
      this.brokerPort = m.port;
    } else {
      this.brokerPort = await stablePort();
    }
    const cfg = join(this.dir, 'ingest.yaml');
    writeFileSync(
      cfg,
      YAML.stringify({
        http: { host: '127.0.0.1', port: httpPort },
        db: { path: this.dbPath },
        series: { kind: 'influx-v1', url: this.influxProxy?.url ?? this.influx.url, database: this.database, retryMaxMs: 1000 },
        broker: this.broker === 'mosquitto' ? { kind: 'external', url: this.mosquitto!.url } : { kind: 'embedded', host: '127.0.0.1', port: this.brokerPort },
        ...(this.broker === 'mosquitto' ? { mqtt: { clientId: `orlink-ingest-fault-${this.o.name}` } } : {}),
        // one token for the set-up (4 calls per bed), the health polls and the metric reads
        auth: { rateLimit: { perCaller: Math.max(600, this.o.beds * 30) } },
        log: { level: 'warn' },
      }),
    );
    this.auth = bearer(mintToken(this.dbPath, 'admin', { name: `fault-rig-${this.o.name}` }));
    this.ingest = new OrlinkChild('ingest', cfg, join(this.dir, 'ingest.log'), { ORLINK_INGEST_BROKER_PASSWORD: this.brokerPassword }, [], this.o.spawn);
    this.cleanups.push(() => this.ingest.stop());
    await this.startIngest();
    await this.api('POST', '/sites', { id: 'main', name: 'Fault hospital' });
    for (let i = 0; i < this.o.beds; i++) await this.addBed(i);
    if (this.mosquitto) {
      // the registry now holds every gateway: password + ACL files regenerated, Mosquitto reloaded
      await this.syncMosquittoAuth();
      this.mosquitto.reload();
      const last = this.beds[this.beds.length - 1];
      const ok = await pollUntil(
        () =>
          mqtt
            .connectAsync(this.mosquitto!.url, {
              username: last.gatewayId,
              password: last.password,
              clientId: `fault-auth-${process.pid}`,
              reconnectPeriod: 0,
              connectTimeout: 2000,
            })
            .then(
              async (c) => {
                await c.endAsync(true);
                return true;
              },
              () => false,
            ),
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      if (!ok) throw new Error(`Mosquitto did not accept the registered gateways: ${this.mosquitto.log().slice(-2000)}`);
    }
    for (const b of this.beds) await this.startGateway(b);
    for (const b of this.beds) for (const e of b.extras) await e.started?.();
    this.watchStatus();
    // every monitor streaming (its gateway opened the port and requested) before the scenario starts
    const streaming = await pollUntil(() => this.beds.every((b) => b.produced.length > 0), { timeoutMs: 40_000, intervalMs: 100 });
    if (!streaming) throw new Error(`not every monitor streams: ${this.beds.map((b) => b.child?.logTail(500) ?? '').join('\n')}`);
  }

  async startIngest(): Promise<void> {
    this.ingest.start();
    const ok = await pollUntil(
      async () => {
        try {
          return (await fetch(`${this.ingestUrl}/health`, { headers: this.auth, signal: AbortSignal.timeout(1000) })).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 40_000, intervalMs: 100 },
    );
    if (!ok) throw new Error(`ingest did not become healthy: ${this.ingest.logTail()}`);
  }

  async api<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.ingestUrl}${path}`, {
      method,
      ...(body === undefined ? { headers: this.auth } : { body: JSON.stringify(body), headers: { ...this.auth, 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T;
  }

  /** Prometheus counter from ingest's /metrics (0 when absent). */
  async metric(name: string): Promise<number> {
    const text = await this.api<string>('GET', '/metrics');
    const m = new RegExp(`^orlink_ingest_${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  }

  private async addBed(i: number): Promise<void> {
    const n = i + 1;
    const b = {
      index: i,
      site: 'main',
      room: `OR${n}`,
      bed: `or${n}-bed`,
      gatewayId: `gw-or${n}`,
      deviceId: `or${n}-s5`,
      password: randomBytes(9).toString('hex'),
      ptyDir: join(this.dir, `pty${n}`),
      produced: [],
      outboxDir: join(this.dir, 'outbox', `gw-or${n}`),
      configPath: join(this.dir, `gw-or${n}.yaml`),
      extras: [],
    } as unknown as Bed;
    await this.api('POST', '/rooms', { id: b.room, siteId: b.site, name: `Operating room ${n}` });
    await this.api('POST', '/beds', { id: b.bed, roomId: b.room, name: `OR ${n} table` });
    await this.api('POST', '/gateways', { id: b.gatewayId, bedId: b.bed, password: b.password });
    await this.api('POST', '/devices', {
      id: b.deviceId,
      gatewayId: b.gatewayId,
      bedId: b.bed,
      vendor: 'GE',
      model: 'S/5 (simulated)',
      profile: 'auto',
      transport: 'serial (pty)',
    });
    mkdirSync(b.ptyDir, { recursive: true });
    b.pty = await openPtyPair({ dir: b.ptyDir, spawn: this.o.spawn });
    this.cleanups.push(() => b.pty.close());
    b.sim = new GeDriSimulator({
      seed: (this.o.seed ?? 11) + i,
      trendStartMinute: 620 + 37 * i,
      logger: this.log.child({ component: 'sim', or: b.room }),
      onProduced: (r) => {
        b.produced.push({ ...r, at: Date.now() });
      },
    });
    b.sim.start();
    this.cleanups.push(() => b.sim.close());
    const trace = process.env.ORLINK_FAULTS_TRACE;
    if (trace) {
      const tr = (o: Record<string, unknown>) => appendFileSync(trace, `${JSON.stringify({ at: Date.now(), bed: b.bed, ...o })}\n`);
      b.sim.on('request', (r: unknown) => tr({ ev: 'request', r }));
      b.sim.on('fault', (f: unknown) => tr({ ev: 'fault', f }));
      b.sim.on('produced', (p: { kind: string; t0?: number; vendorWaveId?: number }) => {
        if (p.kind === 'wave') tr({ ev: 'wave', t0: p.t0, id: p.vendorWaveId });
      });
    }
    b.serial = serveSerial(b.pty.devicePath, b.sim, this.log.child({ component: 'sim-serial', or: b.room }));
    await b.serial.opened;
    this.cleanups.push(() => b.serial.stop());
    if (this.o.brokerProxy) {
      b.proxy = new TcpFaultProxy({ host: '127.0.0.1', port: this.brokerPort });
      await b.proxy.start();
      this.cleanups.push(() => b.proxy?.close());
    }
    if (this.o.extraDevices) {
      b.extras = await this.o.extraDevices(b, this);
      for (const e of b.extras) {
        this.cleanups.push(() => e.close());
        await this.api('POST', '/devices', { id: e.id, gatewayId: b.gatewayId, bedId: b.bed, ...e.registry });
      }
    }
    writeFileSync(b.configPath, YAML.stringify(this.gatewayFile(b)));
    this.beds.push(b);
  }

  /** Messages Mosquitto holds (queued for ingest's session, in flight, retained); mosquitto only. */
  async mosquittoStored(): Promise<number> {
    if (!this.mosquitto) throw new Error('not a Mosquitto rig');
    return mosquittoStoredMessages(this.mosquitto.url, this.testAccount);
  }

  get dbPath(): string {
    return join(this.dir, 'ingest.sqlite');
  }

  /** Mosquitto's password and ACL files from ingest's registry (as `orlink mqtt-auth` writes them). */
  async syncMosquittoAuth(): Promise<void> {
    await writeMosquittoAuth({
      dir: join(this.dir, 'mosquitto-auth'),
      dbPath: this.dbPath,
      ingest: { username: 'orlink-ingest', password: this.brokerPassword },
      test: this.testAccount,
    });
  }

  gatewayFile(b: Bed): Record<string, unknown> {
    return {
      gatewayId: b.gatewayId,
      site: b.site,
      room: b.room,
      bed: b.bed,
      mqtt: {
        url: b.proxy?.url ?? `mqtt://127.0.0.1:${this.brokerPort}`,
        username: b.gatewayId,
        publishIntervalMs: this.o.publishIntervalMs ?? 500,
        keepaliveS: this.o.keepaliveS ?? 5,
        connectTimeoutMs: 3000,
        statusIntervalMs: 1000,
      },
      outbox: { kind: 'file', dir: b.outboxDir, ...(this.o.outbox ?? {}) },
      devices: [
        {
          id: b.deviceId,
          protocol: 'ge-dri',
          profile: 'auto',
          transport: { kind: 'serial', path: b.pty.hostPath },
          options: { waves: this.o.waves ?? ['ECG1', 'PLETH'], intervalS: 1 },
          ...(this.o.watchdogMs ? { watchdogMs: this.o.watchdogMs } : {}),
        },
        ...b.extras.map((e) => e.gatewayDevice),
      ],
      log: { level: 'warn' },
    };
  }

  async startGateway(b: Bed): Promise<void> {
    if (this.o.gatewayMode === 'in-process') {
      const config = buildConfig(this.gatewayFile(b), { ORLINK_MQTT_PASSWORD: b.password });
      const gwLog = process.env.ORLINK_FAULTS_TRACE
        ? pino({ level: 'debug' }, pino.destination({ dest: `${process.env.ORLINK_FAULTS_TRACE}.gw`, sync: true }))
        : this.log;
      b.gateway = await startGateway(config, { logger: gwLog.child({ component: 'gateway', or: b.room }), mqttBackoff: { baseMs: 200, maxMs: 2000 } });
      const gw = b.gateway;
      this.cleanups.push(() => gw.close());
      return;
    }
    if (!b.child) {
      b.child = new OrlinkChild(
        'gateway',
        b.configPath,
        join(this.dir, `${b.gatewayId}.log`),
        { ORLINK_MQTT_PASSWORD: b.password, ...(this.o.gatewayEnv ?? {}) },
        this.o.gatewayNodeArgs ?? [],
        this.o.spawn,
      );
      const c = b.child;
      this.cleanups.push(() => c.stop());
    }
    b.child.start();
  }

  /** Latest retained/live status of a gateway (in-process: direct; child: via MQTT). */
  status(b: Bed): GatewayStatus | undefined {
    return b.gateway ? b.gateway.status() : this.statuses.get(b.gatewayId);
  }

  /** The last status the gateway published over MQTT (what an operator sees). */
  publishedStatus(b: Bed): GatewayStatus | undefined {
    return this.statuses.get(b.gatewayId);
  }

  private watchStatus(): void {
    const c = mqtt.connect(`mqtt://127.0.0.1:${this.brokerPort}`, {
      username: this.testAccount.username,
      password: this.testAccount.password,
      clientId: `fault-watch-${process.pid}-${this.o.name}`,
      reconnectPeriod: 300,
      connectTimeout: 3000,
    });
    c.on('connect', () => c.subscribe('orlink/v1/+/+/+/+/status', { qos: 0 }));
    c.on('message', (_topic, payload) => {
      try {
        const s = JSON.parse(payload.toString('utf8')) as GatewayStatus;
        if (s.online && s.gatewayId) this.statuses.set(s.gatewayId, s);
      } catch {
        /* not ours */
      }
    });
    c.on('error', () => {
      /* reconnects */
    });
    this.statusClient = c;
    this.cleanups.push(
      () =>
        new Promise<void>((r) => {
          c.end(true, {}, () => r());
        }),
    );
  }

  /** Stop every simulator: no more truth; what is in flight must still arrive. */
  async stopDevices(): Promise<void> {
    for (const b of this.beds) {
      await b.sim.close();
      await Promise.all(b.extras.map((e) => e.stop()));
    }
  }

  /** Audit options for every bed (e.g. flaggedRestampOk in the clock scenario). */
  auditOptions: Pick<Parameters<typeof audit>[0], 'expectTime' | 'flaggedRestampOk' | 'waveShiftsMs'> = {};

  async audit(b: Bed): Promise<AuditResult> {
    return {
      ...(await audit({ influxUrl: this.influx.url, database: this.database, deviceId: b.deviceId, produced: b.produced, ...this.auditOptions })),
      broker: this.broker,
    };
  }

  async auditAll(): Promise<AuditResult> {
    const all: AuditResult[] = [];
    for (const b of this.beds) all.push(await this.audit(b)); // one bed at a time: bounded memory in the soak
    return { ...sumAudits(all), broker: this.broker };
  }

  /** Poll the audit until `done(result)` holds or the deadline passes; returns the last result. */
  async settle(done: (a: AuditResult) => boolean, timeoutMs: number): Promise<AuditResult> {
    let last!: AuditResult;
    await pollUntil(
      async () => {
        last = await this.auditAll();
        return done(last);
      },
      { timeoutMs, intervalMs: 500 },
    );
    return last;
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        this.log.warn({ err }, 'rig cleanup failed');
      }
    }
    if (!process.env.ORLINK_FAULTS_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}

export const clean = (a: AuditResult): boolean => a.numerics.lost === 0 && a.waves.lost === 0 && a.numerics.produced > 0;

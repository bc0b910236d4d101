/**
 * The stack every hostile probe runs against: a real InfluxDB (test/helpers/influxdb.ts), ingest
 * with its embedded aedes broker on free loopback ports, real HTTP (fetch) and real MQTT clients.
 * One legitimate bed (site `main`, room `or1`, bed `bed1`, gateway `gw-good`, device `mon-good`)
 * with a case opened 8 days ago; `guarded()` publishes one good reading from that gateway just
 * before and just after a probe and asserts both are in the case timeline — the probe cost nothing good.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import type { Test } from 'tap';
import { startTestInfluxd, type TestInfluxd } from '../helpers/influxdb.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { bearer, mintToken } from '../../ingest/src/auth/test-tokens.js';
import type { Role } from '../../ingest/src/auth/roles.js';
import type { CounterName } from '../../ingest/src/metrics.js';
import { startIngest, type RunningIngest } from '../../ingest/src/main.js';
import { encodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import type { NumericObs } from '../../schemas/src/observation.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';

export const SERVICE_PASSWORD = 'hostile-service-password';
export const INGEST_CLIENT_ID = 'orlink-ingest-hostile';
export const PREFIX = 'orlink/v1';
export const GOOD = { site: 'main', room: 'or1', bed: 'bed1', gatewayId: 'gw-good', deviceId: 'mon-good', password: 'good-gateway-password' } as const;
export const GOOD_DATA = `${PREFIX}/${GOOD.site}/${GOOD.room}/${GOOD.bed}/${GOOD.gatewayId}/data`;
export const DAY = 86_400_000;

export interface Reply {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export interface Stack {
  influx: TestInfluxd;
  /** the InfluxDB database of this stack */
  database: string;
  /** InfluxQL against the stack's database (retention policy raw): the rows of the first series, as objects */
  influxRows(q: string): Promise<Record<string, unknown>[]>;
  ingest: RunningIngest;
  /** http://127.0.0.1:port */
  url: string;
  mqttUrl: string;
  admin: { authorization: string };
  token(role: Role, o?: { site?: string; expiresDays?: number; now?: () => number }): string;
  /** real HTTP; `headers` default to the admin token (pass {} for none) */
  http(method: string, path: string, o?: { body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply>;
  /** admin call that must succeed (< 400) */
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** one counter (or gauge) read from GET /metrics with a `metrics` token */
  metric(name: CounterName | string): Promise<number>;
  /** every counter of `names`, read in one GET /metrics */
  metrics(names: readonly string[]): Promise<Record<string, number>>;
  /** the case of the good bed (start 8 days ago, open) */
  caseId: string;
  /** the legitimate gateway's connection */
  good: MqttClient;
  /** publishes one good HR reading (QoS 1, PUBACK after the write); returns its time and value */
  publishGood(): Promise<{ t: number; value: number }>;
  /** true when the reading is in the case timeline at exactly that time and value */
  stored(r: { t: number; value: number }): Promise<boolean>;
  /** good reading before and after `probe`, both asserted stored; the gateway still connected */
  guarded<T>(t: Test, probe: () => Promise<T>): Promise<T>;
  /** registers room/bed/gateway (and a device bound to it); returns the MQTT password */
  registerGateway(o: { room: string; bed: string; gatewayId: string; deviceId?: string }): Promise<string>;
  /** an MQTT client that must connect */
  connect(username: string, password: string, clientId: string, extra?: mqtt.IClientOptions): Promise<MqttClient>;
  /** an MQTT login attempt: the CONNACK return code (0 = accepted; then the client is closed) or 'closed' */
  tryLogin(username: string | undefined, password: string | undefined, clientId: string): Promise<number | 'closed'>;
}

export interface StackOptions {
  intake?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  rateLimit?: Record<string, unknown>;
}

/** a numeric HR reading of `deviceId` at `t` */
export const hr = (t: number, value: number, deviceId: string = GOOD.deviceId): Envelope['devices'][number] => ({
  deviceId,
  profileId: 'ge/s5',
  numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value, unit: '/min', t, vendorCode: 'hr' } as NumericObs],
  waves: [],
  alarms: [],
  settings: [],
});

export async function startStack(t: Test, name: string, o: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `orlink-hostile-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: process.env.E2E_LOG ?? 'silent' });
  const influx = await startTestInfluxd(t);
  const database = await influx.createDatabase(`hostile_${name.replace(/\W/g, '_')}`);
  const ingest = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: await freePort() },
        db: { path: join(dir, 'ingest.sqlite') },
        series: { kind: 'influx-v1', url: influx.url, database, retentionDuration: '30d' },
        broker: { kind: 'embedded', host: '127.0.0.1', port: await freePort(), ...(o.limits ? { limits: o.limits } : {}) },
        mqtt: { clientId: INGEST_CLIENT_ID },
        ...(o.intake ? { intake: o.intake } : {}),
        ...(o.rateLimit ? { auth: { rateLimit: o.rateLimit } } : {}),
        log: { level: 'silent' },
      },
      env: { ORLINK_INGEST_BROKER_PASSWORD: SERVICE_PASSWORD },
    }),
    { logger },
  );
  t.teardown(() => ingest.close());
  const url = ingest.url.replace(/\/$/, '');
  const admin = bearer(mintToken(ingest.services, 'admin', { name: 'hostile-admin' }));
  const metricsAuth = bearer(mintToken(ingest.services, 'metrics', { name: 'hostile-metrics' }));

  const http: Stack['http'] = async (method, path, opt = {}) => {
    const headers: Record<string, string> = { ...(opt.headers ?? admin) };
    let body: string | undefined;
    if (opt.raw !== undefined) {
      body = opt.raw;
      headers['content-type'] ??= 'application/json';
    } else if (opt.body !== undefined) {
      body = JSON.stringify(opt.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${url}${path}`, { method, headers, body, signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  const api = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await http(method, path, { body });
    if (r.status >= 400) throw new Error(`${method} ${path} → ${r.status} ${r.text}`);
    return r.body as T;
  };
  const metrics = async (names: readonly string[]): Promise<Record<string, number>> => {
    const r = await http('GET', '/metrics', { headers: metricsAuth });
    if (r.status !== 200) throw new Error(`GET /metrics → ${r.status}`);
    const out: Record<string, number> = {};
    for (const n of names) {
      const m = new RegExp(`^orlink_ingest_${n} (\\S+)$`, 'm').exec(r.text);
      if (!m) throw new Error(`metric ${n} not in /metrics`);
      out[n] = Number(m[1]);
    }
    return out;
  };

  const registerGateway: Stack['registerGateway'] = async (g) => {
    const password = `pw-${g.gatewayId}-${Math.random().toString(36).slice(2)}`;
    await api('POST', '/rooms', { id: g.room, siteId: GOOD.site, name: g.room });
    await api('POST', '/beds', { id: g.bed, roomId: g.room, name: `${g.room} table` });
    await api('POST', '/gateways', { id: g.gatewayId, bedId: g.bed, password });
    if (g.deviceId) await api('POST', '/devices', { id: g.deviceId, gatewayId: g.gatewayId, bedId: g.bed, vendor: 'GE', model: 'S/5' });
    return password;
  };
  await api('POST', '/sites', { id: GOOD.site, name: 'Test hospital' });
  await api('POST', '/rooms', { id: GOOD.room, siteId: GOOD.site, name: 'OR 1' });
  await api('POST', '/beds', { id: GOOD.bed, roomId: GOOD.room, name: 'OR 1 table' });
  await api('POST', '/gateways', { id: GOOD.gatewayId, bedId: GOOD.bed, password: GOOD.password });
  await api('POST', '/devices', { id: GOOD.deviceId, gatewayId: GOOD.gatewayId, bedId: GOOD.bed, vendor: 'GE', model: 'S/5', serial: 'G1' });
  const kase = await api<{ id: string }>('POST', '/cases', { bed: GOOD.bed, start: Date.now() - 8 * DAY, externalIds: { mrn: 'MRN-HOSTILE-1' } });

  const connect: Stack['connect'] = async (username, password, clientId, extra = {}) => {
    const c = await mqtt.connectAsync(ingest.mqttUrl, {
      protocolVersion: 4,
      username,
      password,
      clientId,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...extra,
    });
    c.on('error', () => undefined);
    t.teardown(() => c.endAsync(true));
    return c;
  };
  const tryLogin: Stack['tryLogin'] = async (username, password, clientId) => {
    try {
      const c = await mqtt.connectAsync(ingest.mqttUrl, { protocolVersion: 4, username, password, clientId, reconnectPeriod: 0, connectTimeout: 10_000 });
      await c.endAsync(true);
      return 0;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      return typeof code === 'number' ? code : 'closed';
    }
  };

  const good = await connect(GOOD.gatewayId, GOOD.password, `${GOOD.gatewayId}-b00t`);
  let seq = 0;
  let lastT = 0;
  const publishGood = async () => {
    // unique, increasing times on whole ms; values 40..159 so a stored value is recognisable
    const t0 = Math.max(Date.now() - 1000, lastT + 1);
    lastT = t0;
    seq++;
    const value = 40 + (seq % 120);
    await good.publishAsync(
      GOOD_DATA,
      Buffer.from(encodeEnvelope({ gatewayId: GOOD.gatewayId, bootId: 'boot-good', seq, sentAt: t0 + 5, devices: [hr(t0, value)] })),
      { qos: 1 },
    );
    return { t: t0, value };
  };
  const stored = async (r: { t: number; value: number }) => {
    const res = await http('GET', `/cases/${kase.id}/timeline?from=${r.t}&to=${r.t + 1}&params=MDC_ECG_HEART_RATE`);
    if (res.status !== 200) return false;
    const s = (res.body.numerics as { device: string; points: [number, number | null][] }[]).find((n) => n.device === GOOD.deviceId);
    return !!s?.points.some(([pt, v]) => pt === r.t && v === r.value);
  };
  const guarded = async <T>(tt: Test, probe: () => Promise<T>): Promise<T> => {
    const before = await publishGood();
    const out = await probe();
    tt.ok(good.connected, 'the legitimate gateway is still connected');
    const after = await publishGood();
    tt.ok(await stored(before), 'a good reading published just before the probe is stored');
    tt.ok(await stored(after), 'a good reading published just after the probe is stored');
    return out;
  };

  const influxRows = async (q: string) => {
    const res = await fetch(`${influx.url}/query?db=${database}&rp=raw&epoch=ms&q=${encodeURIComponent(q)}`);
    const json = (await res.json()) as { results: { series?: { columns: string[]; values: unknown[][] }[] }[] };
    const sr = json.results[0]?.series?.[0];
    return sr ? sr.values.map((v) => Object.fromEntries(sr.columns.map((c, i) => [c, v[i]]))) : [];
  };
  return {
    influx,
    database,
    influxRows,
    ingest,
    url,
    mqttUrl: ingest.mqttUrl,
    admin,
    token: (role, opt = {}) => mintToken(ingest.services, role, { name: `hostile-${role}`, ...opt }),
    http,
    api,
    metric: async (n) => (await metrics([n]))[n],
    metrics,
    caseId: kase.id,
    good,
    publishGood,
    stored,
    guarded,
    registerGateway,
    connect,
    tryLogin,
  };
}

/** how much each counter moved between two reads */
export const delta = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));

/** Poll `cond` every 50 ms until it holds; throws after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

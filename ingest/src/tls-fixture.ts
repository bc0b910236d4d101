/**
 * Test rig for ingest's TLS paths (tests only): ingest (startIngest, memory series, sqlite in a temp
 * dir) with `http.tls` and/or `broker.tls` from a test PKI (cli/certs.ts), the registry site s1 /
 * room or1 / beds bed1..bed3, and clients for HTTPS and mqtts whose outcome is returned, not thrown.
 * Everything it starts is stopped by the test's teardown.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import mqtt from 'mqtt';
import pino from 'pino';
import type { Test } from 'tap';
import type { TestPki, CertPair } from '../../cli/certs.js';
import { loadIngestConfig, type TlsServerConfig } from '../../schemas/src/ingest-config.js';
import { startIngest, type RunningIngest } from './main.js';
import { MemorySeriesStore } from './series/memory.js';

export const PREFIX = 'orlink/v1';
export const SERVICE_PASSWORD = 'svc-tls-pass';

export interface TlsRigOptions {
  pki: TestPki;
  dir: string;
  http?: Partial<TlsServerConfig>;
  broker?: Partial<TlsServerConfig>;
  /** another sqlite file (default DIR/ingest.sqlite, kept across restarts in one DIR) */
  dbFile?: string;
  /** broker.limits */
  limits?: Record<string, number>;
}

export interface TlsRig {
  ingest: RunningIngest;
  store: MemorySeriesStore;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

const serverTls = (pki: TestPki, o: Partial<TlsServerConfig>): Partial<TlsServerConfig> => ({
  certFile: pki.server.certFile,
  keyFile: pki.server.keyFile,
  caFile: pki.caFile,
  ...o,
});

/** starts ingest; the registry gets s1/or1/bed1..bed3 when the db is new */
export async function startTlsIngest(t: Test, o: TlsRigOptions): Promise<TlsRig> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const store = new MemorySeriesStore();
  const config = loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: 0, ...(o.http ? { tls: serverTls(o.pki, o.http) } : {}) },
      db: { path: o.dbFile ?? path.join(o.dir, 'ingest.sqlite') },
      series: { kind: 'memory' },
      broker: {
        kind: 'embedded',
        host: '127.0.0.1',
        port: 0,
        ...(o.limits ? { limits: o.limits } : {}),
        ...(o.broker ? { tls: { port: 0, ...serverTls(o.pki, o.broker) } } : {}),
      },
      log: { level: 'info' },
    },
    env: { ORLINK_INGEST_BROKER_PASSWORD: SERVICE_PASSWORD },
  });
  const ingest = await startIngest(config, { logger, series: store });
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      await ingest.close();
    }
  };
  t.teardown(stop);
  const r = ingest.services.registry;
  if (!r.getBed('bed1')) {
    r.createSite({ id: 's1', name: 'Site 1' });
    r.createRoom({ id: 'or1', siteId: 's1', name: 'OR 1' });
    for (const b of ['bed1', 'bed2', 'bed3']) r.createBed({ id: b, roomId: 'or1', name: b });
  }
  return { ingest, store, logs, stop };
}

export const topicOf = (bed: string, gw: string, kind: 'data' | 'status') => `${PREFIX}/s1/or1/${bed}/${gw}/${kind}`;

export interface HttpsResult {
  status?: number;
  body?: string;
  error?: string;
}

/** one HTTPS GET; `ca` = the CA file the client trusts; resolves with the status or the error code */
export function httpsGet(url: string, o: { ca?: string; client?: CertPair; headers?: Record<string, string> } = {}): Promise<HttpsResult> {
  return new Promise((resolve) => {
    const req = https.request(
      url,
      {
        method: 'GET',
        headers: o.headers ?? {},
        timeout: 10_000,
        agent: false,
        ...(o.ca ? { ca: readFileSync(o.ca) } : {}),
        ...(o.client ? { cert: readFileSync(o.client.certFile), key: readFileSync(o.client.keyFile) } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode, body }));
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

export interface MqttsOutcome {
  client?: mqtt.MqttClient;
  /** CONNACK return code of a refused login */
  returnCode?: number;
  /** the connection failed before a CONNACK (handshake) */
  error?: string;
}

/** an mqtts login; `client`: the certificate to present; no password unless given. Clients are ended by the teardown. */
export function mqttsConnect(
  t: Test,
  port: number,
  pki: TestPki,
  o: { client?: CertPair; ca?: string; username?: string; password?: string; clientId: string },
): Promise<MqttsOutcome> {
  const c = new mqtt.MqttClient(
    () =>
      tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: readFileSync(o.ca ?? pki.caFile),
        ...(o.client ? { cert: readFileSync(o.client.certFile), key: readFileSync(o.client.keyFile) } : {}),
      }),
    {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      clientId: o.clientId,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
    },
  );
  t.teardown(() => c.endAsync(true));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      c.end(true);
      resolve({ error: 'timeout' });
    }, 10_000);
    const done = (v: MqttsOutcome) => {
      clearTimeout(timer);
      resolve(v);
    };
    c.once('connect', () => done({ client: c }));
    c.once('error', (err) => {
      c.end(true);
      const code = (err as { code?: number | string }).code;
      done(typeof code === 'number' ? { returnCode: code } : { error: String(code ?? err.message) });
    });
    c.once('close', () => done({ error: 'closed before CONNACK' }));
  });
}

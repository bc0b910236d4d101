/**
 * The ingest side of an end-to-end test, on real components: Debian's InfluxDB (a fresh database),
 * ingest with its embedded aedes broker on free loopback ports, a REST helper (with an admin API
 * token), and the registry entries a gateway needs (site, room, bed, gateway credentials).
 * Everything is torn down by `t`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Test } from 'tap';
import { startTestInfluxd, type TestInfluxd } from './influxdb.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { bearer, mintToken } from '../../ingest/src/auth/test-tokens.js';
import { startIngest, type RunningIngest } from '../../ingest/src/main.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';

export interface IngestRig {
  dir: string;
  logger: Logger;
  influx: TestInfluxd;
  ingest: RunningIngest;
  /** REST call through fastify's inject as admin: JSON in, JSON out; throws on a status ≥ 400. */
  api<T = any>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T>;
  /** `Authorization` header of the rig's admin token, for calls `api` does not cover (e.g. /metrics text) */
  headers: { authorization: string };
  /** Registers site 'main' (once), the room, the bed and the gateway; returns the gateway's MQTT password. */
  registerBed(o: { room: string; bed: string; gatewayId: string }): Promise<string>;
}

export async function startIngestRig(t: Test, name: string): Promise<IngestRig> {
  const dir = mkdtempSync(join(tmpdir(), `orlink-e2e-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: process.env.E2E_LOG ?? 'warn' });
  const influx = await startTestInfluxd(t);
  const ingest = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: await freePort() },
        db: { path: join(dir, 'ingest.sqlite') },
        series: { kind: 'influx-v1', url: influx.url, database: await influx.createDatabase(name.replace(/\W/g, '_')), retentionDuration: '30d' },
        broker: { kind: 'embedded', host: '127.0.0.1', port: await freePort() },
        log: { level: 'warn' },
      },
      env: {},
    }),
    { logger },
  );
  t.teardown(() => ingest.close());
  const headers = bearer(mintToken(ingest.services, 'admin', { name: `e2e-${name}` }));
  const api = async <T = any>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> => {
    const res = await ingest.app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
    if (res.statusCode >= 400) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body}`);
    return res.json() as T;
  };
  let site = false;
  const registerBed = async (o: { room: string; bed: string; gatewayId: string }): Promise<string> => {
    if (!site) {
      await api('POST', '/sites', { id: 'main', name: 'Test hospital' });
      site = true;
    }
    const password = `secret-${Math.random().toString(36).slice(2)}`;
    await api('POST', '/rooms', { id: o.room, siteId: 'main', name: o.room });
    await api('POST', '/beds', { id: o.bed, roomId: o.room, name: `${o.room} table` });
    await api('POST', '/gateways', { id: o.gatewayId, bedId: o.bed, password });
    return password;
  };
  return { dir, logger, influx, ingest, api, headers, registerBed };
}

/** Poll `cond` every 100 ms until it holds; throws after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

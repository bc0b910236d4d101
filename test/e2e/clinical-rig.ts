/**
 * Test helper for test/e2e/clinical-workflow.test.ts: Debian's InfluxDB (a fresh database), ingest
 * (startIngest) with its embedded broker, the HIS MLLP listener (OR1 and PACU mapped) and one
 * outbound HL7 endpoint, a loopback MLLP record system (ingest/src/hl7-out/test-emr.ts) answering
 * AA; the registry of a small hospital (site main: OR1 with its table, PACU with bay 1, a gateway and
 * a device per bed); role tokens and a REST helper over real HTTP. Everything is torn down by `t`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Test } from 'tap';
import { startTestInfluxd } from '../helpers/influxdb.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { bearer, mintToken } from '../../ingest/src/auth/test-tokens.js';
import { startIngest, type RunningIngest } from '../../ingest/src/main.js';
import { TestEmr, type Received } from '../../ingest/src/hl7-out/test-emr.js';
import { loadIngestConfig } from '../../schemas/src/ingest-config.js';

export type Role = 'admin' | 'recorder' | 'viewer';

export interface ClinicalRig {
  dir: string;
  logger: Logger;
  ingest: RunningIngest;
  emr: TestEmr;
  /** MQTT password per gateway id */
  passwords: Record<string, string>;
  /** REST over real HTTP with a token of `role`: status and parsed JSON (or text) body */
  as(role: Role, method: string, url: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** PCD-01 messages the record system received so far */
  pcd01(): Received[];
}

export async function startClinicalRig(t: Test, o: { intervalMs: number }): Promise<ClinicalRig> {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-e2e-clinical-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const logger = pino({ level: process.env.E2E_LOG ?? 'warn' });
  const influx = await startTestInfluxd(t);
  const emr = new TestEmr();
  const emrPort = await emr.start(0);
  t.teardown(() => emr.stop());
  const ingest = await startIngest(
    loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: await freePort() },
        db: { path: join(dir, 'ingest.sqlite') },
        series: { kind: 'influx-v1', url: influx.url, database: await influx.createDatabase('clinical'), retentionDuration: '30d' },
        broker: { kind: 'embedded', host: '127.0.0.1', port: await freePort() },
        log: { level: 'warn' },
        his: { enabled: true, host: '127.0.0.1', port: 0, allow: ['127.0.0.1'], locationMap: { 'OP^OR1^T1': 'or1-bed', 'PACU^AWR^B1': 'pacu1-bed' } },
        hl7Out: {
          // intervalS: one interval stands for the usual minute (see the test's header)
          endpoints: [
            {
              name: 'emr',
              host: '127.0.0.1',
              port: emrPort,
              intervalS: o.intervalMs / 1000,
              ackTimeoutMs: 1000,
              retryMinMs: 50,
              retryMaxMs: 400,
              connectTimeoutMs: 300,
              assigningAuthority: 'HOSP',
            },
          ],
          settleMs: 1500,
          pollMs: 100,
        },
      },
      env: {},
    }),
    { logger },
  );
  t.teardown(() => ingest.close());

  const tokens: Record<Role, { authorization: string }> = {
    admin: bearer(mintToken(ingest.services, 'admin', { name: 'e2e-admin' })),
    recorder: bearer(mintToken(ingest.services, 'recorder', { name: 'e2e-record-system' })),
    viewer: bearer(mintToken(ingest.services, 'viewer', { name: 'e2e-qc-office' })),
  };
  const as = async (role: Role, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${ingest.url}${url}`, {
      method,
      headers: { ...tokens[role], ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  };
  const must = async (method: string, url: string, body: unknown) => {
    const r = await as('admin', method, url, body);
    if (r.status >= 400) throw new Error(`${method} ${url} → ${r.status} ${JSON.stringify(r.body)}`);
  };

  const passwords: Record<string, string> = {};
  await must('POST', '/sites', { id: 'main', name: 'Test hospital' });
  const beds = [
    { room: 'OR1', roomName: 'OR 1', bed: 'or1-bed', bedName: 'OR 1 table', gw: 'gw-or1', device: 'or1-s5', vendor: 'GE', model: 'S/5 (simulated)' },
    {
      room: 'PACU',
      roomName: 'PACU',
      bed: 'pacu1-bed',
      bedName: 'PACU bay 1',
      gw: 'gw-pacu1',
      device: 'pacu1-spo2',
      vendor: 'Masimo',
      model: 'Radical-7 (simulated)',
    },
  ];
  for (const b of beds) {
    const password = `secret-${Math.random().toString(36).slice(2)}`;
    passwords[b.gw] = password;
    await must('POST', '/rooms', { id: b.room, siteId: 'main', name: b.roomName });
    await must('POST', '/beds', { id: b.bed, roomId: b.room, name: b.bedName });
    await must('POST', '/gateways', { id: b.gw, bedId: b.bed, password });
    await must('POST', '/devices', {
      id: b.device,
      gatewayId: b.gw,
      bedId: b.bed,
      vendor: b.vendor,
      model: b.model,
      profile: 'auto',
      transport: 'serial (pty)',
    });
  }
  return { dir, logger, ingest, emr, passwords, as, pcd01: () => emr.received.filter((r) => r.type === 'ORU^R01') };
}

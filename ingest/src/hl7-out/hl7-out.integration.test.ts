/**
 * Outbound HL7 end to end on loopback: ingest (embedded broker, memory series store shared across
 * its restart, sqlite file) sends PCD-01 and PCD-04 to a real MLLP endpoint (test-emr.ts). Time is
 * compressed: hl7Out.intervalS is 0.1 s, so one interval stands for a minute and 60 intervals for the
 * hour-long outage. Readings are written straight into the series store (the MQTT intake has its
 * own tests): they keep coming while ingest is down, as a gateway's outbox would replay them.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { comp, parseHl7 } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { parseHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { startIngest, type RunningIngest } from '../main.js';
import { alarmPoint, numericPoint } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { checkProfile } from './profile-check.js';
import { TestEmr, type Received } from './test-emr.js';

const I = 100; // ms per interval ("a minute")
const OUTAGE_INTERVALS = 60; // "an hour"

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** python3-hl7 parses each message; returns its segment ids */
function pyParseAll(texts: string[]): string[][] {
  const script = 'import sys, json, hl7\nprint(json.dumps([[str(s[0]) for s in hl7.parse(m)] for m in json.load(sys.stdin)]))';
  const r = spawnSync('/usr/bin/python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python3 hl7 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

t.test(
  'PCD-01 every interval and PCD-04 per alarm change reach the endpoint exactly once, in order, across a one-hour outage (compressed: 60 intervals of 100 ms) with an ingest restart during it',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'orlink-hl7out-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const emr = new TestEmr();
    const emrPort = await emr.start(0);
    t.teardown(() => emr.stop());
    const series = new MemorySeriesStore();
    const config = loadIngestConfig({
      input: {
        http: { host: '127.0.0.1', port: 0 },
        db: { path: join(dir, 'ingest.sqlite') },
        series: { kind: 'memory' },
        broker: { kind: 'embedded', host: '127.0.0.1', port: 0 },
        log: { level: 'silent' },
        hl7Out: {
          endpoints: [
            {
              name: 'emr',
              host: '127.0.0.1',
              port: emrPort,
              intervalS: I / 1000,
              ackTimeoutMs: 500,
              retryMinMs: 20,
              retryMaxMs: 200,
              connectTimeoutMs: 300,
              assigningAuthority: 'HOSP',
            },
          ],
          settleMs: 50,
          pollMs: 30,
        },
      },
      env: {},
    });
    const logger = pino({ level: 'silent' });
    let ingest: RunningIngest = await startIngest(config, { logger, series });
    let closed = false;
    t.teardown(async () => {
      if (!closed) await ingest.close();
    });

    const reg = ingest.services.registry;
    reg.createSite({ id: 'main', name: 'Main Hospital' });
    reg.createRoom({ id: 'or3', siteId: 'main', name: 'OR 3' });
    reg.createBed({ id: 'or3-1', roomId: 'or3', name: 'Table' });
    reg.createDevice({ id: 'mon-1', bedId: 'or3-1', vendor: 'GE', model: 'B40', serial: '080019FFFE1443EC' });
    const kase = ingest.services.cases.create({ bedId: 'or3-1', externalIds: { mrn: 'M123', visit: 'V9' } });
    const tags = { site: 'main', room: 'or3', bed: 'or3-1', device: 'mon-1' };

    // the monitor: a heart rate every 20 ms, alarms when asked
    let hr = 0;
    const writer = setInterval(() => {
      void series.write([
        numericPoint(
          { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 60 + (hr++ % 60), unit: '/min', t: Date.now(), vendorCode: 'HR' },
          tags,
        ),
      ]);
    }, 20);
    t.teardown(() => clearInterval(writer));
    const alarm = async (phase: 'start' | 'end', text: string) => {
      await series.write([
        alarmPoint({ kind: 'alarm', mdc: 'MDC_ECG_HEART_RATE', code: 147842, text, priority: 'high', source: 'physiological', phase, t: Date.now() }, tags),
      ]);
    };

    const pcd01 = () => emr.received.filter((r) => r.type === 'ORU^R01');
    await until('5 PCD-01 before the outage', () => pcd01().length >= 5);
    await alarm('start', 'HR high');
    await until('the first PCD-04', () => emr.received.some((r) => r.type === 'ORU^R40'));

    // the endpoint goes down for "an hour"
    await emr.stop();
    const downAt = Date.now();
    await alarm('end', 'HR high');
    await until('30 intervals queued during the outage', () => (ingest.hl7Out?.queue.status(['emr'])[0].queued ?? 0) >= 30);
    t.ok(ingest.hl7Out!.senders.get('emr')!.stats.transportFailures > 0, 'sends failed while the endpoint was down');

    // ingest stops (close, then started again on the same database file) during the outage
    await ingest.close();
    await new Promise((r) => setTimeout(r, 10 * I)); // readings keep arriving in the store meanwhile
    ingest = await startIngest(config, { logger, series });
    await alarm('start', 'SpO2 low ^ check');
    await until('the rest of the hour', () => Date.now() - downAt >= OUTAGE_INTERVALS * I);
    t.equal(emr.received.filter((r) => r.at >= downAt).length, 0, 'nothing reached the endpoint during the outage');

    // the endpoint comes back; the stream ends a little later; everything must arrive
    await emr.start();
    await new Promise((r) => setTimeout(r, 5 * I));
    clearInterval(writer);
    const streamEnd = Date.now();
    const q = ingest.hl7Out!.queue;
    await until('caught up and drained', () => (q.mark('emr', kase.id, 'pcd01') ?? 0) >= streamEnd && q.head('emr') === null);
    await ingest.close();
    closed = true;

    // exactly once by control id: a resend after a lost ACK carries the same MSH-10 and the same bytes
    const byId = new Map<string, Received>();
    let resends = 0;
    for (const r of emr.received) {
      const prev = byId.get(r.controlId);
      if (prev) {
        resends++;
        t.equal(r.text, prev.text, `resend of ${r.controlId} is byte-identical`);
      } else byId.set(r.controlId, r);
    }
    t.ok(resends <= 3, `at most a resend per interruption (${resends})`);
    const unique = [...byId.values()];
    const seq = unique.map((r) => Number(r.controlId.slice(2)));
    t.same(
      seq,
      [...seq].sort((a, b) => a - b),
      'arrival order is queue order',
    );

    // every PCD-01 conforms and parses with python3-hl7
    const problems = unique.flatMap((r) => checkProfile(r.text, r.type === 'ORU^R01' ? 'PCD-01' : 'PCD-04').map((p) => `${r.controlId}: ${p}`));
    t.same(problems, [], 'profile required fields');
    const parsed = pyParseAll(unique.map((r) => r.text));
    t.ok(
      parsed.every((s) => s.slice(0, 4).join() === 'MSH,PID,PV1,OBR' && s.length >= 5),
      'python3-hl7 parses every message',
    );

    // PCD-01 windows: consecutive, and a message exactly for each window holding readings, with that window's newest value
    const windows = unique
      .filter((r) => r.type === 'ORU^R01')
      .map((r) => {
        const m = parseHl7(r.text);
        const obr = m.segments.find((s) => s.id === 'OBR');
        const obx = m.segments.find((s) => s.id === 'OBX');
        return {
          from: parseHl7Time(comp(m, obr, 7)) as number,
          last: parseHl7Time(comp(m, obr, 8)) as number,
          value: Number(comp(m, obx, 5)),
          pid: comp(m, m.segments[1], 3),
        };
      });
    t.ok(windows.length >= OUTAGE_INTERVALS, `PCD-01 messages: ${windows.length} (windows without a reading send none)`);
    t.equal(windows[0].pid, 'M123');
    let gaps = 0;
    let wrong = 0;
    for (let k = 0; k < windows.length; k++) {
      const w = windows[k];
      t.equal((w.last + 1 - w.from) % I, 0, 'a whole interval (the first may start at the case start)');
      const latest = await series.latestNumerics({ bed: 'or3-1', from: w.from, to: w.last });
      if (latest[0]?.value !== w.value) wrong++;
      if (k === 0) continue;
      // windows between two messages must hold no reading (else a message is missing)
      const between = await series.latestNumerics({ bed: 'or3-1', from: windows[k - 1].last + 1, to: w.from - 1 });
      if (between.length) gaps++;
    }
    t.equal(gaps, 0, 'no window with readings went unsent');
    t.equal(wrong, 0, "each message carries its window's newest reading");
    const spanned = windows[windows.length - 1].last - windows[0].from;
    t.ok(spanned >= (OUTAGE_INTERVALS + 10) * I, 'the messages span the outage');

    // PCD-04: start, end, start — each once, in the order they happened
    const alarms = unique
      .filter((r) => r.type === 'ORU^R40')
      .map((r) => {
        const m = parseHl7(r.text);
        const obx = m.segments.filter((s) => s.id === 'OBX');
        return [comp(m, obx[1], 5), comp(m, obx[2], 5)];
      });
    t.same(alarms, [
      ['HR high', 'start'],
      ['HR high', 'end'],
      ['SpO2 low ^ check', 'start'],
    ]);

    // REST: status and dead letters
    const again = await startIngest(config, { logger, series });
    t.teardown(() => again.close());
    const admin = bearer(mintToken(again.services, 'admin'));
    const biomed = bearer(mintToken(again.services, 'biomed'));
    const viewer = bearer(mintToken(again.services, 'viewer'));
    const st = await again.app.inject({ method: 'GET', url: '/hl7-out/status', headers: biomed });
    t.equal(st.statusCode, 200);
    t.match(st.json(), { endpoints: [{ endpoint: 'emr', queued: 0, dead: 0, lastAckCode: 'AA' }] });
    t.equal((await again.app.inject({ method: 'GET', url: '/hl7-out/dead-letters', headers: viewer })).statusCode, 403);
    t.equal((await again.app.inject({ method: 'POST', url: '/hl7-out/dead-letters/1/retry', headers: biomed })).statusCode, 403);
    t.equal((await again.app.inject({ method: 'POST', url: '/hl7-out/dead-letters/999999/retry', headers: admin })).statusCode, 404);
  },
);

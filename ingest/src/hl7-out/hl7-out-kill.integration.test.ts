/**
 * The outbound queue survives a SIGKILL of ingest (a real process, kill-child.fixture.ts) while the
 * endpoint is down: every message committed before the kill reaches the endpoint after it comes
 * back, once (by MSH-10) and in order, and the restarted producer continues where the committed
 * marks end (no window twice). Time compressed: intervals of 100 ms.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { comp, parseHl7 } from '../../../gateway/src/protocols/hl7-mllp/hl7.js';
import { parseHl7Time } from '../../../gateway/src/protocols/hl7-mllp/hl7-time.js';
import { openDb } from '../registry/database.js';
import { TestEmr } from './test-emr.js';

const FIXTURE = join(import.meta.dirname, 'kill-child.fixture.ts');

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function child(t: Tap, arg: unknown): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child did not start')), 60_000);
    c.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(c);
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited ${code}`));
    });
  });
}
type Tap = { teardown(fn: () => void): void };

const exited = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) resolve();
    else c.once('exit', () => resolve());
  });

t.test('SIGKILL of ingest during an endpoint outage: every committed message arrives once and in order, no window twice', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-hl7kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const emr = new TestEmr();
  const emrPort = await emr.start(0);
  t.teardown(() => emr.stop());
  const arg = { db: join(dir, 'ingest.sqlite'), emrPort };
  const db = openDb(arg.db);
  t.teardown(() => db.close());
  const pending = () => db.prepare("SELECT control_id AS c FROM hl7_out_queue WHERE state <> 'dead' ORDER BY id").all() as { c: string }[];

  let c = await child(t, arg);
  await until('3 PCD-01 delivered', () => emr.received.length >= 3);
  await emr.stop();
  await until('20 messages queued during the outage', () => pending().length >= 20);
  c.kill('SIGKILL');
  await exited(c);
  const committed = pending().map((r) => r.c);

  c = await child(t, arg);
  await new Promise((r) => setTimeout(r, 1000));
  await emr.start();
  await until('queue drained after the restart', () => pending().length === 0 && emr.received.length > committed.length + 3);
  c.kill('SIGTERM');
  await exited(c);

  const ids = [...new Set(emr.received.map((r) => r.controlId))];
  const n = ids.map((id) => Number(id.slice(2)));
  t.same(
    n,
    [...n].sort((a, b) => a - b),
    'in queue order',
  );
  t.ok(
    committed.every((id) => ids.includes(id)),
    'every message committed before the kill arrived',
  );
  t.ok(emr.received.length - ids.length <= 2, 'resends only at the interruptions');
  const windows = ids
    .map((id) => emr.received.find((r) => r.controlId === id)!)
    .map((r) => {
      const m = parseHl7(r.text);
      const obr = m.segments.find((s) => s.id === 'OBR');
      return [parseHl7Time(comp(m, obr, 7)) as number, parseHl7Time(comp(m, obr, 8)) as number];
    });
  let overlaps = 0;
  for (let k = 1; k < windows.length; k++) if (windows[k][0] <= windows[k - 1][1]) overlaps++;
  t.equal(overlaps, 0, 'windows strictly after one another: none produced twice across the kill');
});

import t from 'tap';
import pino from 'pino';
import { CaseStore } from '../cases/case-store.js';
import { openDb } from '../registry/database.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { alarmPoint, numericPoint } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { Producer } from './producer.js';
import { OutboundQueue } from './queue.js';

const I = 60_000;
const T0 = Date.UTC(2026, 11, 8, 1, 0, 0);

async function rig(maxBytes: number) {
  let now = T0;
  const db = openDb(':memory:');
  const registry = new SqliteRegistry(db);
  registry.createSite({ id: 's1', name: 'Site 1' });
  registry.createSite({ id: 's2', name: 'Site 2' });
  registry.createRoom({ id: 'r1', siteId: 's1', name: 'OR 1' });
  registry.createRoom({ id: 'r2', siteId: 's2', name: 'OR 2' });
  registry.createBed({ id: 'b1', roomId: 'r1', name: 'Table' });
  registry.createBed({ id: 'b2', roomId: 'r2', name: 'Table' });
  const cases = new CaseStore(db, () => now);
  const c1 = cases.create({ bedId: 'b1', start: T0 + 10_000, externalIds: { mrn: 'M1' } });
  cases.create({ bedId: 'b2', start: T0 + 10_000, externalIds: { mrn: 'M2' } });
  const series = new MemorySeriesStore();
  const queue = new OutboundQueue(db, maxBytes, () => now);
  const producer = new Producer({
    endpoints: [{ name: 'emr', intervalS: I / 1000, sites: ['s1'] }],
    queue,
    cases,
    registry,
    series,
    settleMs: 5000,
    maxWindowsPerTick: 1000,
    maxAlarmsPerTick: 1000,
    logger: pino({ level: 'silent' }),
    now: () => now,
  });
  // a reading every 10 s on both beds for 3 hours
  const pts = [];
  for (let tt = T0 + 10_000; tt < T0 + 3 * 3600_000; tt += 10_000) {
    for (const bed of ['b1', 'b2']) {
      pts.push(
        numericPoint(
          { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: (tt / 10_000) % 100, unit: '/min', t: tt, vendorCode: 'HR' },
          { site: bed === 'b1' ? 's1' : 's2', room: bed === 'b1' ? 'r1' : 'r2', bed, device: 'd1' },
        ),
      );
    }
  }
  pts.push(
    alarmPoint(
      { kind: 'alarm', mdc: null, code: null, text: 'leads off', priority: 'low', source: 'technical', phase: 'start', t: T0 + 20_000, vendorCode: 'LO' },
      { site: 's1', room: 'r1', bed: 'b1', device: 'd1' },
    ),
  );
  pts.push(
    alarmPoint(
      { kind: 'alarm', mdc: null, code: null, text: 'leads off', priority: 'low', source: 'technical', phase: 'update', t: T0 + 25_000, vendorCode: 'LO' },
      { site: 's1', room: 'r1', bed: 'b1', device: 'd1' },
    ),
  );
  await series.write(pts);
  return {
    db,
    queue,
    producer,
    c1,
    registry,
    series,
    setNow: (n: number) => {
      now = n;
    },
  };
}

const rows = (db: ReturnType<typeof openDb>) =>
  db.prepare('SELECT kind, case_id, window_from, window_to FROM hl7_out_queue ORDER BY id').all() as {
    kind: string;
    case_id: string;
    window_from: number;
    window_to: number;
  }[];

t.test("windows are consecutive, one message each; only the endpoint's sites; alarm updates are no state change", async (t) => {
  const r = await rig(64 << 20);
  for (let k = 1; k <= 70; k++) {
    r.setNow(T0 + k * I + 5000);
    await r.producer.tick();
  }
  const all = rows(r.db);
  const p1 = all.filter((x) => x.kind === 'pcd01');
  t.equal(p1.length, 70);
  t.ok(
    all.every((x) => x.case_id === r.c1.id),
    'the site-2 case is not sent to this endpoint',
  );
  t.equal(p1[0].window_from, T0, 'first window is the one holding the case start');
  for (let k = 1; k < p1.length; k++) t.equal(p1[k].window_from, p1[k - 1].window_to);
  t.equal(all.filter((x) => x.kind === 'pcd04').length, 1, 'start sent, update not');
});

t.test('a full queue holds production back and loses nothing: the missed windows follow when there is room', async (t) => {
  const r = await rig(5 * 1024);
  for (let k = 1; k <= 60; k++) {
    r.setNow(T0 + k * I + 5000);
    await r.producer.tick();
  }
  const before = rows(r.db).filter((x) => x.kind === 'pcd01');
  t.ok(before.length < 60, `only ${before.length} fit`);
  t.ok(r.producer.stats.refusedFull > 0 && r.queue.refusedFull > 0, 'refusals counted');
  // the endpoint drains the queue (rows ACKed), the producer catches up on its next ticks
  const drained = [...before];
  for (let k = 0; k < 40 && (r.queue.mark('emr', r.c1.id, 'pcd01') ?? 0) < T0 + 60 * I; k++) {
    for (let m = r.queue.head('emr'); m; m = r.queue.head('emr')) r.queue.done(m, 'AA');
    await r.producer.tick();
    drained.push(...rows(r.db).filter((x) => x.kind === 'pcd01' && !drained.some((d) => d.window_from === x.window_from)));
  }
  const windows = drained.map((x) => x.window_from).sort((a, b) => a - b);
  t.equal(windows.length, 60, 'every window produced once');
  t.same(
    windows,
    Array.from({ length: 60 }, (_, k) => T0 + k * I),
  );
});

t.test('a case closed mid-window: its last window ends at the case end, then its marks go', async (t) => {
  const r = await rig(64 << 20);
  for (let k = 1; k <= 3; k++) {
    r.setNow(T0 + k * I + 5000);
    await r.producer.tick();
  }
  const cases = new CaseStore(r.db, () => T0 + 3 * I + 6000);
  cases.close(r.c1.id, T0 + 3 * I + 30_000);
  r.setNow(T0 + 3 * I + 32_000);
  await r.producer.tick();
  t.ok(r.queue.markedCases('emr').includes(r.c1.id), 'not yet settled: marks kept');
  r.setNow(T0 + 5 * I);
  await r.producer.tick();
  const p1 = rows(r.db).filter((x) => x.kind === 'pcd01');
  t.same(
    p1.map((x) => [x.window_from - T0, x.window_to - T0]),
    [
      [0, I],
      [I, 2 * I],
      [2 * I, 3 * I],
      [3 * I, 3 * I + 30_000],
    ],
  );
  t.same(r.queue.markedCases('emr'), [], 'marks dropped once covered to the end');
  await r.producer.tick();
  t.equal(rows(r.db).filter((x) => x.kind === 'pcd01').length, 4, 'nothing more for the closed case');
});

t.test('a move recorded before the last windows on the old bed were produced: those are read on the old bed, the new bed from the move on', async (t) => {
  const r = await rig(64 << 20);
  r.registry.createBed({ id: 'b3', roomId: 'r1', name: 'PACU bay' });
  const tags = { site: 's1', room: 'r1', bed: 'b3', device: 'd3' };
  const hr = (tt: number, value: number) =>
    numericPoint({ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value, unit: '/min', t: tt, vendorCode: 'HR' }, tags);
  // on the new bed: before the move (not this patient's) 999, after it 42 and 43
  await r.series.write([
    hr(T0 + 3 * I + 15_000, 999),
    hr(T0 + 3 * I + 40_000, 42),
    hr(T0 + 4 * I + 10_000, 43),
    alarmPoint(
      {
        kind: 'alarm',
        mdc: null,
        code: null,
        text: 'probe off',
        priority: 'low',
        source: 'technical',
        phase: 'start',
        t: T0 + 3 * I + 20_000,
        vendorCode: 'PO',
      },
      tags,
    ),
  ]);
  for (let k = 1; k <= 3; k++) {
    r.setNow(T0 + k * I + 5000);
    await r.producer.tick();
  }
  // moved at 3I + 30 s, recorded at 3I + 31 s: window 3 (holding the move) is not produced yet
  new CaseStore(r.db, () => T0 + 3 * I + 31_000).move(r.c1.id, { bedId: 'b3', at: T0 + 3 * I + 30_000 });
  r.setNow(T0 + 5 * I + 5000);
  await r.producer.tick();
  const msgs = r.db.prepare("SELECT kind, window_from, message FROM hl7_out_queue WHERE kind = 'pcd01' ORDER BY id").all() as {
    window_from: number;
    message: string;
  }[];
  t.same(
    msgs.map((m) => (m.window_from - T0) / I),
    [0, 1, 2, 3, 4],
    'every window once',
  );
  const obx = (m: string) =>
    m
      .split('\r')
      .filter((x) => x.startsWith('OBX|'))
      .map((x) => x.split('|')[5]);
  // window 3: the old bed's newest reading before the move (3I + 20 s: value (tt / 10 s) % 100) and the new bed's after it
  t.same(
    obx(msgs[3]!.message).sort(),
    [String(((T0 + 3 * I + 20_000) / 10_000) % 100), '42'].sort(),
    "window 3: old bed up to the move, new bed after it, not the new bed's earlier reading",
  );
  t.same(obx(msgs[4]!.message), ['43'], 'window 4: the new bed only');
  t.equal(
    (r.db.prepare("SELECT count(*) AS n FROM hl7_out_queue WHERE kind = 'pcd04' AND message LIKE '%probe off%'").get() as { n: number }).n,
    0,
    "the new bed's alarm before the move is not this case's",
  );
});

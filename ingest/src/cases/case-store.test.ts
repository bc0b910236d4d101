/**
 * The wrong-patient guard in the case store: one open case per bed, no overlapping windows,
 * explicit transfer, moves that split bindings, corrections, audit, listeners, the constraint
 * behind the checks, racing writers on one database file, and the migration of legacy data.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { AuditLog } from '../audit/audit-log.js';
import { MIGRATIONS, migrate, openDb, type Db } from '../registry/database.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { CaseStore, type BindingChange } from './case-store.js';

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1, 8);

function setup(t: Test, file = ':memory:', makeAudit?: (db: Db, now: () => number) => AuditLog) {
  const db = openDb(file);
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'r', siteId: 's', name: 'R' });
  for (const b of ['b1', 'b2', 'b3']) r.createBed({ id: b, roomId: 'r', name: b });
  const clock = { now: T0 + 10 * H };
  const audit = makeAudit?.(db, () => clock.now) ?? new AuditLog(db, () => clock.now);
  const cases = new CaseStore(db, () => clock.now, audit);
  const events: BindingChange[] = [];
  cases.onBindingChange((e) => events.push(e));
  return { db, cases, audit, clock, events };
}

interface RaceResult {
  ok?: string;
  code?: string;
  message?: string;
}

const count = (db: Db, sql: string): number => (db.prepare(sql).get() as { n: number }).n;

t.test('a second open case on a bed is refused, naming the open one', async (t) => {
  const { db, cases, events } = setup(t);
  const a = cases.create({ bedId: 'b1', start: T0 });
  t.equal(a.status, 'open');
  t.same(a.bindings, [{ bed: 'b1', from: T0, to: null }]);
  t.throws(() => cases.create({ bedId: 'b1' }), { code: 'ING_ERR_CONFLICT', message: new RegExp(`open case ${a.id}`) });
  t.throws(() => cases.create({ bedId: 'b1', start: T0 - H }), { code: 'ING_ERR_CONFLICT', message: new RegExp(a.id) }, 'also when it would start earlier');
  t.equal(count(db, 'SELECT COUNT(*) AS n FROM cases'), 1, 'nothing written');
  t.equal(events.length, 1, 'only the first open was announced');
  t.ok(cases.create({ bedId: 'b2' }), 'another bed is free');
});

t.test('overlapping windows are refused, adjacent ones accepted (half-open [start, end))', async (t) => {
  const { cases } = setup(t);
  const a = cases.create({ bedId: 'b1', start: T0, end: T0 + 2 * H });
  t.equal(a.status, 'closed');
  t.throws(() => cases.create({ bedId: 'b1', start: T0 + H, end: T0 + 3 * H }), { code: 'ING_ERR_CONFLICT', message: new RegExp(`overlaps case ${a.id}`) });
  t.throws(() => cases.create({ bedId: 'b1', start: T0 - H, end: T0 + 1 }), { code: 'ING_ERR_CONFLICT' });
  t.throws(() => cases.create({ bedId: 'b1', start: T0 + H }), { code: 'ING_ERR_CONFLICT' }, 'an open case starting inside a closed one');
  t.throws(() => cases.create({ bedId: 'b1', start: T0 - H, end: T0 + 3 * H }), { code: 'ING_ERR_CONFLICT' }, 'enclosing');
  const before = cases.create({ bedId: 'b1', start: T0 - H, end: T0 });
  const after = cases.create({ bedId: 'b1', start: T0 + 2 * H });
  t.equal(cases.caseIdAt('b1', T0 - 1), before.id);
  t.equal(cases.caseIdAt('b1', T0), a.id, 'the boundary belongs to the later case');
  t.equal(cases.caseIdAt('b1', T0 + 2 * H - 1), a.id);
  t.equal(cases.caseIdAt('b1', T0 + 2 * H), after.id);
  t.throws(
    () => cases.create({ bedId: 'b1', start: T0 + 5 * H, end: T0 + 6 * H }),
    { code: 'ING_ERR_CONFLICT', message: new RegExp(after.id) },
    'a retroactive case inside the open one',
  );
  t.throws(() => cases.create({ bedId: 'b1', start: T0, end: T0 }), { code: 'ING_ERR_BAD_REQUEST' }, 'empty window');
  t.throws(() => cases.create({ bedId: 'nobed' }), { code: 'ING_ERR_NOT_FOUND' });
  t.same(
    cases.listForBed('b1').map((c) => c.id),
    [before.id, a.id, after.id],
  );
});

t.test('transfer: the new case closes the open one at its start, atomically', async (t) => {
  const { db, cases, audit, events } = setup(t);
  const first = cases.create({ bedId: 'b1', start: T0, externalIds: { mrn: 'PATIENT-123' } });
  t.throws(() => cases.create({ bedId: 'b2', start: T0 + H, replaces: { caseId: first.id, action: 'close' } }), {
    code: 'ING_ERR_CONFLICT',
    message: /open on bed b1, not on bed b2/,
  });
  t.throws(() => cases.create({ bedId: 'b1', start: T0, replaces: { caseId: first.id, action: 'close' } }), {
    code: 'ING_ERR_CONFLICT',
    message: /must start later/,
  });
  t.throws(() => cases.create({ bedId: 'b1', replaces: { caseId: 'nope', action: 'close' } }), { code: 'ING_ERR_NOT_FOUND' });
  const other = cases.create({ bedId: 'b3', start: T0 - 5 * H, end: T0 - 4 * H });
  cases.move(first.id, { bedId: 'b3', at: T0 + H });
  t.throws(() => cases.create({ bedId: 'b3', start: T0 - 4 * H - 1, replaces: { caseId: first.id, action: 'close' } }), {
    code: 'ING_ERR_CONFLICT',
    message: /must start later/,
  });
  t.equal(cases.caseIdAt('b3', T0 - 4 * H - 1), other.id);

  const second = cases.create({ bedId: 'b3', start: T0 + 2 * H, replaces: { caseId: first.id, action: 'close' } });
  const closed = cases.get(first.id);
  t.equal(closed?.status, 'closed');
  t.equal(closed?.end, T0 + 2 * H);
  t.same(closed?.bindings, [
    { bed: 'b1', from: T0, to: T0 + H },
    { bed: 'b3', from: T0 + H, to: T0 + 2 * H },
  ]);
  t.equal(second.status, 'open');
  t.equal(cases.caseIdAt('b3', T0 + 2 * H - 1), first.id);
  t.equal(cases.caseIdAt('b3', T0 + 2 * H), second.id);
  t.same(cases.bedState('b3'), { caseId: second.id, since: T0 + 2 * H });
  t.throws(() => cases.create({ bedId: 'b3', replaces: { caseId: first.id, action: 'close' } }), { code: 'ING_ERR_CONFLICT', message: /already closed/ });
  const tr = audit.list({ entityId: first.id, action: 'case.transfer' });
  t.equal(tr.length, 1);
  t.same(tr[0].detail, { bed: 'b3', from: T0 + H, to: T0 + 2 * H, replacedBy: second.id });
  t.same(audit.list({ entityId: second.id, action: 'case.open' })[0].detail, { bed: 'b3', from: T0 + 2 * H, to: null, replaces: first.id });
  t.notMatch(JSON.stringify(audit.list({ limit: 1000 })), /PATIENT-123|mrn/, 'no external ids in the audit log');
  t.same(events.at(-1), { change: 'transfer', caseId: second.id, beds: ['b3'], at: T0 + 10 * H });
  t.equal(count(db, "SELECT COUNT(*) AS n FROM case_bindings WHERE bed_id = 'b3' AND to_t IS NULL"), 1);
});

t.test('a transfer is one transaction: when any part fails the first case stays open', async (t) => {
  class FailingOpenAudit extends AuditLog {
    override record(...a: Parameters<AuditLog['record']>): ReturnType<AuditLog['record']> {
      if (a[1] === 'case.open' && a[4]?.replaces) throw new Error('audit write failed');
      return super.record(...a);
    }
  }
  const { db, cases, audit, events } = setup(t, ':memory:', (d, now) => new FailingOpenAudit(d, now));
  const first = cases.create({ bedId: 'b1', start: T0 });
  t.throws(() => cases.create({ bedId: 'b1', start: T0 + H, replaces: { caseId: first.id, action: 'close' } }), /audit write failed/);
  t.same(cases.get(first.id)?.bindings, [{ bed: 'b1', from: T0, to: null }], 'the close of the first was rolled back');
  t.equal(cases.get(first.id)?.status, 'open');
  t.equal(count(db, 'SELECT COUNT(*) AS n FROM cases'), 1, 'no second case');
  t.same(
    audit.list().map((e) => e.action),
    ['case.open'],
    'no audit entry of the failed transfer',
  );
  t.equal(events.length, 1, 'nothing announced');
});

t.test('move: the case follows the patient, earlier data stays with the earlier bed', async (t) => {
  const { cases, audit, events, clock } = setup(t);
  const c = cases.create({ bedId: 'b1', start: T0 });
  const moved = cases.move(c.id, { bedId: 'b2', at: T0 + H });
  t.equal(moved.bedId, 'b2');
  t.same(moved.bindings, [
    { bed: 'b1', from: T0, to: T0 + H },
    { bed: 'b2', from: T0 + H, to: null },
  ]);
  t.equal(cases.coveringCase('b1', T0 + H - 1)?.id, c.id);
  t.equal(cases.coveringCase('b1', T0 + H), null, 'the old bed is free from the move on');
  t.equal(cases.coveringCase('b2', T0 + H - 1), null, 'the new bed does not get the earlier data');
  t.equal(cases.coveringCase('b2', T0 + H)?.id, c.id);
  t.same(cases.bedState('b1'), { caseId: null, since: T0 + H });
  t.same(events.at(-1), { change: 'move', caseId: c.id, beds: ['b1', 'b2'], at: clock.now });
  const m = audit.list({ entityId: c.id, action: 'case.move' })[0];
  t.same(m.detail, {
    bed: 'b2',
    from: T0 + H,
    to: null,
    before: [{ bed: 'b1', from: T0, to: null }],
    after: [
      { bed: 'b1', from: T0, to: T0 + H },
      { bed: 'b2', from: T0 + H, to: null },
    ],
  });

  t.throws(() => cases.move(c.id, { bedId: 'b2' }), { code: 'ING_ERR_BAD_REQUEST', message: /already on bed b2/ });
  t.throws(() => cases.move(c.id, { bedId: 'b3', at: T0 + H }), { code: 'ING_ERR_BAD_REQUEST' }, 'not before the current binding started');
  t.throws(() => cases.move(c.id, { bedId: 'zz' }), { code: 'ING_ERR_NOT_FOUND' });
  const occupant = cases.create({ bedId: 'b3', start: T0 + 30 * 60_000 });
  t.throws(() => cases.move(c.id, { bedId: 'b3', at: T0 + 2 * H }), { code: 'ING_ERR_CONFLICT', message: new RegExp(`open case ${occupant.id}`) });
  t.same(cases.get(c.id)?.bindings.length, 2, 'refused move changed nothing');
  const prior = cases.create({ bedId: 'b1', start: T0 + 3 * H, end: T0 + 4 * H });
  t.throws(() => cases.move(c.id, { bedId: 'b1', at: T0 + 2 * H }), { code: 'ING_ERR_CONFLICT', message: new RegExp(`overlaps case ${prior.id}`) });

  // with replaces the occupant is closed where the moved case arrives
  const back = cases.move(c.id, { bedId: 'b3', at: T0 + 2 * H, replaces: { caseId: occupant.id, action: 'close' } });
  t.same(
    back.bindings.map((b) => b.bed),
    ['b1', 'b2', 'b3'],
  );
  t.same(cases.get(occupant.id)?.bindings, [{ bed: 'b3', from: T0 + 30 * 60_000, to: T0 + 2 * H }]);
  t.equal(cases.caseIdAt('b3', T0 + 2 * H - 1), occupant.id);
  t.equal(cases.caseIdAt('b3', T0 + 2 * H), c.id);
  t.equal(audit.list({ entityId: occupant.id, action: 'case.transfer' })[0].detail.replacedBy, c.id);
  const done = cases.close(c.id, T0 + 5 * H);
  t.same(done.bindings.at(-1), { bed: 'b3', from: T0 + 2 * H, to: T0 + 5 * H });
  t.equal(done.end, T0 + 5 * H);
  t.throws(() => cases.move(c.id, { bedId: 'b1' }), { code: 'ING_ERR_CONFLICT', message: /only an open case moves/ });
});

t.test('close and correct re-bind without gaps; overlaps re-checked', async (t) => {
  const { cases, audit, events } = setup(t);
  const a = cases.create({ bedId: 'b1', start: T0, end: T0 + H });
  const b = cases.create({ bedId: 'b1', start: T0 + 2 * H });
  t.throws(() => cases.close(b.id, T0 + 2 * H), { code: 'ING_ERR_BAD_REQUEST' });
  cases.move(b.id, { bedId: 'b2', at: T0 + 3 * H });
  cases.close(b.id, T0 + 4 * H);
  t.same(audit.list({ entityId: b.id, action: 'case.close' })[0].detail, { bed: 'b2', from: T0 + 3 * H, to: T0 + 4 * H });
  t.throws(() => cases.close(b.id), { code: 'ING_ERR_CONFLICT', message: /already closed/ });

  t.throws(() => cases.correct(b.id, { start: T0 + 30 * 60_000 }), { code: 'ING_ERR_CONFLICT', message: new RegExp(`overlaps case ${a.id}`) });
  t.throws(() => cases.correct(b.id, { start: T0 + 3 * H }), { code: 'ING_ERR_BAD_REQUEST', message: /leaves no time on bed b1/ });
  t.throws(() => cases.correct(b.id, { end: T0 + 3 * H }), { code: 'ING_ERR_BAD_REQUEST', message: /leaves no time on bed b2/ });
  const n = events.length;
  const fixed = cases.correct(b.id, { start: T0 + H, end: T0 + 6 * H });
  t.same(fixed.bindings, [
    { bed: 'b1', from: T0 + H, to: T0 + 3 * H },
    { bed: 'b2', from: T0 + 3 * H, to: T0 + 6 * H },
  ]);
  t.equal(fixed.start, T0 + H);
  t.equal(fixed.end, T0 + 6 * H);
  t.equal(cases.caseIdAt('b1', T0 + H), b.id, 'data after the earlier case now belongs to the corrected one');
  t.same(events.slice(n), [{ change: 'correct', caseId: b.id, beds: ['b1', 'b2'], at: T0 + 10 * H }]);
  const corr = audit.list({ entityId: b.id, action: 'case.correct' });
  t.equal(corr.length, 1);
  t.same(corr[0].detail.before, {
    start: T0 + 2 * H,
    end: T0 + 4 * H,
    bindings: [
      { bed: 'b1', from: T0 + 2 * H, to: T0 + 3 * H },
      { bed: 'b2', from: T0 + 3 * H, to: T0 + 4 * H },
    ],
  });
  cases.correct(b.id, { start: T0 + H });
  t.equal(audit.list({ entityId: b.id, action: 'case.correct' }).length, 1, 'a correction that changes nothing is not recorded');
  const open = cases.create({ bedId: 'b3', start: T0 });
  t.throws(() => cases.correct(open.id, { end: T0 + H }), { code: 'ING_ERR_CONFLICT', message: /is open/ });
  t.equal(cases.correct(open.id, { start: T0 - H }).start, T0 - H, 'an open case can start earlier');
  t.throws(() => cases.correct('nope', { start: 1 }), { code: 'ING_ERR_NOT_FOUND' });
});

t.test('the partial unique index refuses a second open binding even past the checks', async (t) => {
  const { db, cases } = setup(t);
  const a = cases.create({ bedId: 'b1', start: T0 });
  db.prepare("INSERT INTO cases (id, bed_id, start, end, status, external_ids, created_at) VALUES ('x', 'b2', 0, NULL, 'open', '{}', 0)").run();
  t.throws(() => db.prepare("INSERT INTO case_bindings (case_id, seq, bed_id, from_t, to_t) VALUES ('x', 0, 'b1', ?, NULL)").run(T0 + H), {
    code: 'SQLITE_CONSTRAINT_UNIQUE',
  });
  t.throws(() => db.prepare("UPDATE cases SET bed_id = 'b1' WHERE id = 'x'").run(), { code: 'SQLITE_CONSTRAINT_UNIQUE' }, 'and a second open case row');
  t.equal(cases.caseIdAt('b1', T0 + H), a.id);
});

t.test('racing writer processes on one database file: exactly one open case', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-case-race-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ingest.sqlite');
  const { db } = setup(t, file);
  const N = 6;
  const fixture = fileURLToPath(new URL('./race-writer.fixture.ts', import.meta.url));
  const writers = Array.from({ length: N }, () =>
    fork(fixture, [file, 'b1'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
  t.teardown(() => {
    for (const w of writers) if (w.exitCode === null) w.kill();
  });
  const exited = writers.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
  const messages = writers.map((w) => {
    const ready = new Promise<void>((resolve) => w.once('message', () => resolve()));
    const result = ready.then(() => new Promise<RaceResult>((resolve) => w.once('message', (m) => resolve(m as RaceResult))));
    return { ready, result };
  });
  await Promise.all(messages.map((m) => m.ready));
  for (const w of writers) w.send('go');
  const out = await Promise.all(messages.map((m) => m.result));
  await Promise.all(exited);
  const ok = out.filter((r) => r.ok);
  t.equal(ok.length, 1, 'one writer opened the case');
  t.same(
    out.filter((r) => !r.ok).map((r) => r.code),
    Array(N - 1).fill('ING_ERR_CONFLICT'),
    'the others got a conflict',
  );
  for (const r of out.filter((x) => !x.ok)) t.match(r.message, ok[0].ok as string, 'naming the open case');
  t.equal(count(db, "SELECT COUNT(*) AS n FROM cases WHERE bed_id = 'b1'"), 1);
});

t.test('vitals: each reading labelled with the case of its own time, plus the case bound now', async (t) => {
  const { cases } = setup(t);
  const a = cases.create({ bedId: 'b1', start: T0 });
  const b = cases.create({ bedId: 'b1', start: T0 + H, replaces: { caseId: a.id, action: 'close' } });
  const v = cases.vitalsCase('b1', T0 + H + 5, {
    MDC_ECG_HEART_RATE: { t: T0 + H - 2, value: 61, unit: '/min', device: 'm' },
    MDC_PULS_OXIM_SAT_O2: { t: T0 + H + 1, value: 97, unit: '%', device: 'm' },
    MDC_TEMP: { t: T0 - 1, value: 36.5, unit: 'Cel', device: 'm' },
  });
  t.same(v, {
    caseId: b.id,
    caseSince: T0 + H,
    numerics: {
      MDC_ECG_HEART_RATE: { t: T0 + H - 2, value: 61, unit: '/min', device: 'm', caseId: a.id },
      MDC_PULS_OXIM_SAT_O2: { t: T0 + H + 1, value: 97, unit: '%', device: 'm', caseId: b.id },
      MDC_TEMP: { t: T0 - 1, value: 36.5, unit: 'Cel', device: 'm', caseId: null },
    },
  });
  t.same(cases.vitalsCase('b2', T0, {}), { caseId: null, caseSince: null, numerics: {} });
});

t.test('listeners cannot fail a committed change', async (t) => {
  const { cases } = setup(t);
  cases.onBindingChange(() => {
    throw new Error('listener bug');
  });
  const c = cases.create({ bedId: 'b1' });
  t.equal(cases.get(c.id)?.status, 'open');
  t.equal(cases.stats.listenerErrors, 1);
});

t.test('migration of a database with several open cases on one bed', async (t) => {
  // rebuild the schema as it was before the bindings migration
  const v = MIGRATIONS.findIndex((s) => s.includes('CREATE TABLE case_bindings')) + 1;
  t.ok(v > 0);
  const legacy = (await import('better-sqlite3')).default(':memory:');
  t.teardown(() => legacy.close());
  legacy.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  for (let i = 0; i < v - 1; i++) {
    legacy.exec(MIGRATIONS[i]);
    legacy.prepare('INSERT INTO schema_version VALUES (?, 0)').run(i + 1);
  }
  legacy.exec(`INSERT INTO sites VALUES ('s', 'S', 0); INSERT INTO rooms VALUES ('r', 's', 'R', 0);
    INSERT INTO beds VALUES ('b1', 'r', 'B1', 0), ('b2', 'r', 'B2', 0);
    INSERT INTO cases VALUES ('c1', 'b1', 100, NULL, 'open', '{"mrn":"P1"}', 1), ('c2', 'b1', 300, NULL, 'open', '{}', 2),
      ('c3', 'b1', 200, NULL, 'open', '{}', 3), ('c4', 'b2', 50, 80, 'closed', '{}', 4), ('c5', 'b2', 90, NULL, 'open', '{}', 5);`);
  t.ok(migrate(legacy) >= v);
  const rows = legacy.prepare('SELECT id, end, status FROM cases ORDER BY id').all();
  t.same(rows, [
    { id: 'c1', end: 200, status: 'closed' },
    { id: 'c2', end: null, status: 'open' },
    { id: 'c3', end: 300, status: 'closed' },
    { id: 'c4', end: 80, status: 'closed' },
    { id: 'c5', end: null, status: 'open' },
  ]);
  const cases = new CaseStore(legacy);
  t.equal(cases.caseIdAt('b1', 150), 'c1');
  t.equal(cases.caseIdAt('b1', 250), 'c3');
  t.equal(cases.caseIdAt('b1', 1000), 'c2', 'what coveringCase reported before the migration');
  t.same(cases.get('c4')?.bindings, [{ bed: 'b2', from: 50, to: 80 }]);
  const audited = legacy.prepare("SELECT entity_id, detail FROM audit_log WHERE action = 'case.close' ORDER BY entity_id").all() as {
    entity_id: string;
    detail: string;
  }[];
  t.same(
    audited.map((a) => [a.entity_id, JSON.parse(a.detail).to]),
    [
      ['c1', 200],
      ['c3', 300],
    ],
  );
  t.notMatch(JSON.stringify(audited), /P1|mrn/);
  t.throws(() => cases.create({ bedId: 'b1' }), { code: 'ING_ERR_CONFLICT', message: /c2/ });
});

/** The audit log is append-only in the database: no statement can change or remove an entry. */
import t from 'tap';
import { openDb } from '../registry/database.js';
import { AuditLog } from './audit-log.js';

t.test('entries are appended and listed newest first, filtered by entity, action and time', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  let now = 1_700_000_000_000;
  const log = new AuditLog(db, () => now);
  log.record({ id: 'token:a:nurse', role: 'recorder', ip: '10.0.0.7' }, 'case.open', 'case', 'c1', { bed: 'b1' });
  now += 1000;
  log.record({ id: 'cli:root' }, 'gateway.create', 'gateway', 'gw1', { bed: 'b1' });
  now += 1000;
  log.record({ id: 'token:a:nurse', role: 'recorder' }, 'case.close', 'case', 'c1', { to: now });
  t.same(
    log.list().map((e) => e.action),
    ['case.close', 'gateway.create', 'case.open'],
  );
  t.same(
    log.list({ entity: 'case', entityId: 'c1' }).map((e) => e.action),
    ['case.close', 'case.open'],
  );
  t.same(
    log.list({ action: 'gateway.create' }).map((e) => e.actor),
    ['cli:root'],
  );
  t.same(log.list({ since: 1_700_000_001_000 }).length, 2);
  t.match(log.list({ action: 'case.open' })[0], { role: 'recorder', ip: '10.0.0.7', detail: { bed: 'b1' } });
});

t.test('UPDATE and DELETE on audit_log are aborted by the database, and the entries stay as written', async (t) => {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const log = new AuditLog(db);
  const e = log.record({ id: 'cli:root' }, 'site.create', 'site', 's1', { name: 'Main' });
  t.throws(() => db.prepare("UPDATE audit_log SET actor = 'someone-else' WHERE id = ?").run(e.id), /append-only/);
  t.throws(() => db.prepare('UPDATE audit_log SET detail = ?').run('{}'), /append-only/);
  t.throws(() => db.prepare('DELETE FROM audit_log WHERE id = ?').run(e.id), /append-only/);
  t.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
  // a transaction that tries it is rolled back whole
  const insertThenDelete = db.transaction(() => {
    log.record({ id: 'cli:root' }, 'site.create', 'site', 's2');
    db.prepare('DELETE FROM audit_log').run();
  });
  t.throws(() => insertThenDelete(), /append-only/);
  t.same(
    log.list().map((x) => [x.id, x.actor, x.entityId, x.detail]),
    [[e.id, 'cli:root', 's1', { name: 'Main' }]],
  );
});

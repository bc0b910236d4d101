/** The ingest database is owner-only on disk, whatever the umask (docs/gateway.md §Files on disk). */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from './database.js';

const mode = (f: string) => fs.statSync(f).mode & 0o777;

for (const umask of [0, 0o277])
  t.test(`database, -wal and -shm 0600, created directories 0700 (umask ${umask.toString(8)})`, async (t) => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-db-'));
    t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
    fs.chmodSync(base, 0o755);
    const old = process.umask(umask);
    t.teardown(() => {
      process.umask(old);
    });
    const file = path.join(base, 'var', 'lib', 'ingest.sqlite');
    const db = openDb(file);
    db.prepare('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)').run('main', 'Main', Date.now());
    t.ok(fs.existsSync(`${file}-wal`) && fs.existsSync(`${file}-shm`), 'WAL files exist while open');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) t.equal(mode(f), 0o600, `${path.basename(f)} 0600`);
    t.equal(mode(path.join(base, 'var')), 0o700);
    t.equal(mode(path.join(base, 'var', 'lib')), 0o700);
    t.equal(mode(base), 0o755, 'an existing parent is left alone');
    db.close();
  });

t.test('an existing database with wide modes is tightened on open', async (t) => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-db-'));
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const file = path.join(base, 'ingest.sqlite');
  openDb(file).close();
  fs.chmodSync(file, 0o644);
  const db = openDb(file);
  t.equal(mode(file), 0o600);
  db.prepare('INSERT INTO sites (id, name, created_at) VALUES (?, ?, ?)').run('s2', 'S2', Date.now());
  t.equal(mode(`${file}-wal`), 0o600, 'WAL follows the database file');
  db.close();
  const mem = openDb(':memory:');
  t.ok(mem.open, ':memory: still works');
  mem.close();
});

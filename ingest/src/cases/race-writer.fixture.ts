/**
 * Test fixture (case-store.test.ts): one writer process of a race. Opens the database file on its
 * own connection, says `ready`, waits for `go`, then tries to open a case on the bed and reports.
 * Usage: node --import tsx race-writer.fixture.ts <db file> <bed> (forked, with an IPC channel).
 */
import { openDb } from '../registry/database.js';
import { CaseStore } from './case-store.js';

const [file, bed] = process.argv.slice(2);
const send = (m: object) =>
  new Promise<void>((resolve) => {
    process.send?.(m, () => resolve());
  });
const db = openDb(file);
const cases = new CaseStore(db);
process.once('message', async () => {
  let out: object;
  try {
    out = { ok: cases.create({ bedId: bed }).id };
  } catch (err) {
    out = { code: (err as { code?: string }).code ?? 'unknown', message: (err as Error).message };
  }
  db.close();
  await send(out);
  process.disconnect();
});
await send({ ready: true });

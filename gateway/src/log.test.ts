import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from './log.js';

t.test('patient fields and secrets are redacted', async (t) => {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const log = createLogger('info', dest).child({ component: 'test' });
  log.info({ patientName: 'Doe^John', mrn: '123', ctx: { patientId: 'p1', dob: '1970-01-01' }, mqtt: { password: 'pw' }, hr: 80 }, 'reading');
  const rec = JSON.parse(lines[0]);
  t.equal(rec.patientName, '[redacted]');
  t.equal(rec.mrn, '[redacted]');
  t.equal(rec.ctx.patientId, '[redacted]');
  t.equal(rec.ctx.dob, '[redacted]');
  t.equal(rec.mqtt.password, '[redacted]');
  t.equal(rec.hr, 80);
  t.equal(rec.component, 'test');
  t.equal(rec.msg, 'reading');
});

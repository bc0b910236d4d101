import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger, withLocation } from './log.js';

t.test('patient fields and secrets are redacted', async (t) => {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
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

t.test('withLocation: gateway id, site, room and bed on every line, children included, bound once', async (t) => {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const loc = { gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1' };
  const root = withLocation(createLogger('info', dest), loc);
  t.equal(withLocation(root, loc), root, 'already bound: the same logger');
  withLocation(root, loc).child({ component: 'session' }).child({ deviceId: 'mon1' }).warn('link stalled');
  root.info('started');
  t.equal(lines.length, 2);
  for (const l of lines) {
    t.match(JSON.parse(l), loc);
    t.equal(l.match(/"gatewayId"/g)?.length, 1, 'the key once per line');
  }
  t.equal(JSON.parse(lines[0]).deviceId, 'mon1');
});

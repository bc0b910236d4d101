import t from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { build } from '../app.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { OutboundQueue } from './queue.js';

t.test('dead letters: biomed sees no patient identifier, admin with withMessage does (audited); retry is admin only', async (t) => {
  const config = loadIngestConfig({
    input: {
      db: { path: ':memory:' },
      series: { kind: 'memory' },
      log: { level: 'silent' },
      hl7Out: { endpoints: [{ name: 'emr', host: '127.0.0.1', port: 9 }] },
    },
    env: {},
  });
  const services = createServices(config, { series: new MemorySeriesStore() });
  const app = await build({ config, services });
  t.teardown(async () => {
    await app.close();
    services.db.close();
  });
  const q = new OutboundQueue(services.db, 1 << 20);
  const [m] = q.enqueue([
    {
      endpoint: 'emr',
      kind: 'pcd01',
      caseId: 'case-1',
      window: { from: 0, to: 60_000 },
      build: (id) => `MSH|^~\\&|ORLINK||||20261208010000+0000||ORU^R01^ORU_R01|${id}|P|2.6\rPID|1||MRN777^^^H^MR\r`,
    },
  ]);
  q.dead(m.id, 'AR: rejected: unknown patient MRN777', 'AR');
  const admin = bearer(mintToken(services, 'admin'));
  const biomed = bearer(mintToken(services, 'biomed'));

  const b = await app.inject({ method: 'GET', url: '/hl7-out/dead-letters?withMessage=true', headers: biomed });
  t.equal(b.statusCode, 200);
  t.equal(b.json().count, 1);
  t.notMatch(b.body, /MRN777/, 'no identifier for biomed, even when asked for the message');
  t.match(b.json().items[0], { id: m.id, controlId: m.controlId, ackCode: 'AR', caseId: 'case-1' });

  const before = services.audit.list({}).filter((e) => e.action === 'case.read-identifiers').length;
  const a = await app.inject({ method: 'GET', url: '/hl7-out/dead-letters?withMessage=true', headers: admin });
  t.match(a.json().items[0], { reason: /unknown patient/, message: /MRN777/ });
  t.equal(services.audit.list({}).filter((e) => e.action === 'case.read-identifiers').length, before + 1, 'audited');
  t.notMatch((await app.inject({ method: 'GET', url: '/hl7-out/dead-letters', headers: admin })).json().items[0], { message: /./ }, 'message only when asked');

  const st = await app.inject({ method: 'GET', url: '/hl7-out/status', headers: biomed });
  t.match(st.json(), { endpoints: [{ endpoint: 'emr', queued: 0, dead: 1 }] });

  t.equal((await app.inject({ method: 'POST', url: `/hl7-out/dead-letters/${m.id}/retry`, headers: biomed })).statusCode, 403);
  const r = await app.inject({ method: 'POST', url: `/hl7-out/dead-letters/${m.id}/retry`, headers: admin });
  t.equal(r.statusCode, 200);
  t.equal(q.head('emr')?.controlId, m.controlId, 'back at the head with its control id');
  t.equal((await app.inject({ method: 'POST', url: `/hl7-out/dead-letters/${m.id}/retry`, headers: admin })).statusCode, 404, 'no longer dead');
  t.ok(services.audit.list({}).some((e) => e.action === 'hl7out.retry'));
});

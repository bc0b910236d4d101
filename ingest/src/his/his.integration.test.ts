/**
 * Integration: a running ingest (embedded broker, memory series store, REST) with the HIS MLLP
 * listener, spoken to over real loopback sockets. SIU^S12 → ADT^A02 to OR1 → A02 to PACU → A03:
 * ACK codes, the case's bindings and externalIds, the audit rows, the schedule state; late binding
 * (a reading stored on OR1 before the A02 arrived, timed after the A02 event, belongs to the case;
 * one timed before does not); bad messages (garbage, unknown location, missing PID) answered AR/AE,
 * kept in /his/messages, counted; POST /schedule/:id/arrive; a sender outside his.allow is refused.
 */
import net from 'node:net';
import t from 'tap';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { startIngest } from '../main.js';
import { silent } from '../mqtt/test-fixtures.js';
import { envelopeToPoints } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { HisFeed } from './his-feed.js';
import { HisListener } from './his-listener.js';
import { adt, siu } from './test-messages.js';

const MIN = 60_000;
const config = loadIngestConfig({
  input: {
    http: { port: 0 },
    db: { path: ':memory:' },
    broker: { port: 0 },
    mqtt: { clientId: 'ingest-his-it' },
    series: { kind: 'memory' },
    log: { level: 'silent' },
    his: { enabled: true, port: 0, allow: ['127.0.0.1'], locationMap: { 'OP^OR1^T1': 'bed-or1', 'PACU^AWR^B1': 'bed-pacu1' } },
  },
  env: { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' },
});
const series = new MemorySeriesStore();
const ing = await startIngest(config, { logger: silent, series });
t.teardown(() => ing.close());
const hisPort = ing.his?.port ?? 0;
const tokens = {
  admin: bearer(mintToken(ing.services, 'admin')),
  recorder: bearer(mintToken(ing.services, 'recorder')),
  viewer: bearer(mintToken(ing.services, 'viewer')),
  biomed: bearer(mintToken(ing.services, 'biomed')),
};
type Who = keyof typeof tokens;
const api = async (method: string, url: string, body?: unknown, who: Who = 'admin') => {
  const res = await fetch(`${ing.url}${url}`, {
    method,
    headers: { ...tokens[who], ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
};

/** one MLLP connection: send a message, wait (bounded) for its ACK */
async function connect(port: number) {
  const sock = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const framer = new MllpFramer();
  const acks: string[] = [];
  let waiter: (() => void) | null = null;
  sock.on('data', (c) => {
    for (const p of framer.push(c)) acks.push(p.toString('utf8'));
    waiter?.();
  });
  return {
    async send(text: string | Buffer): Promise<string> {
      const before = acks.length;
      sock.write(mllpWrap(text));
      const deadline = Date.now() + 10_000;
      while (acks.length === before) {
        if (Date.now() > deadline || sock.destroyed) throw new Error('no ACK within 10 s');
        await new Promise<void>((r) => {
          waiter = r;
          setTimeout(r, 200);
        });
      }
      return acks[before];
    },
    close: () => sock.destroy(),
  };
}
const msa = (ack: string) => /\rMSA\|([A-Z]{2})\|([^|\r]*)/.exec(ack)?.slice(1, 3) ?? [];

const T0 = Math.floor((Date.now() - 4 * 3_600_000) / 1000) * 1000;
const inRoom = T0 + 30 * MIN;
const toPacu = T0 + 120 * MIN;
const out = T0 + 180 * MIN;
const env = (seq: number, t: number, hr: number): Envelope => ({
  gatewayId: 'gw1',
  bootId: 'b',
  seq,
  sentAt: t,
  devices: [
    {
      deviceId: 'mon1',
      profileId: 'p',
      numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: hr, unit: '/min', t, vendorCode: 'hr' }],
      waves: [],
      alarms: [],
      settings: [],
    },
  ],
});

t.test('registry', async (t) => {
  t.ok(ing.his && hisPort > 0, 'HIS listener started');
  t.equal((await api('POST', '/sites', { id: 'site1', name: 'Main' })).status, 201);
  for (const [room, bed] of [
    ['or1', 'bed-or1'],
    ['pacu', 'bed-pacu1'],
  ]) {
    t.equal((await api('POST', '/rooms', { id: room, siteId: 'site1', name: room })).status, 201);
    t.equal((await api('POST', '/beds', { id: bed, roomId: room, name: 'T1' })).status, 201);
  }
});

let caseId = '';
let scheduleId = '';

t.test('SIU S12 → A02 OR1 → A02 PACU → A03 over MLLP, with late binding', async (t) => {
  const his = await connect(hisPort);
  t.teardown(() => his.close());
  t.same(msa(await his.send(siu({ controlId: 'S-1', appointment: 'APT-100', start: T0 + 20 * MIN, minutes: 120, location: 'OP^OR1^T1' }))), ['AA', 'S-1']);
  const sched = await api('GET', '/schedule?site=site1&state=scheduled', undefined, 'recorder');
  t.equal(sched.status, 200);
  t.equal(sched.body.length, 1);
  t.match(sched.body[0], { appointment: 'APT-100', state: 'scheduled', roomId: 'or1', caseId: null, externalIds: { mrn: 'MRN-4711' } });
  scheduleId = sched.body[0].id;
  const day = new Date(T0 + 20 * MIN).toISOString().slice(0, 10);
  const next = new Date(T0 + 20 * MIN + 86_400_000).toISOString().slice(0, 10);
  t.equal((await api('GET', `/schedule?day=${day}`, undefined, 'viewer')).body.length, 1, 'the day of its planned start');
  t.equal((await api('GET', `/schedule?day=${next}`, undefined, 'viewer')).body.length, 0, 'not the next day');
  t.equal((await api('GET', '/schedule?day=2026-13-45', undefined, 'viewer')).status, 400);

  // the monitor on OR1 recorded before the A02 arrives: one reading before the event time, one after
  await series.write(envelopeToPoints(env(1, inRoom - 10 * MIN, 61), { site: 'site1', room: 'or1', bed: 'bed-or1' }));
  await series.write(envelopeToPoints(env(2, inRoom + MIN, 72), { site: 'site1', room: 'or1', bed: 'bed-or1' }));

  t.same(msa(await his.send(adt('A02', 'A-1', inRoom, 'OP^OR1^T1'))), ['AA', 'A-1']);
  const byBed = await api('GET', `/beds/bed-or1/latest?windowMs=${86_400_000}`, undefined, 'recorder');
  caseId = byBed.body.caseId;
  t.ok(caseId, 'a case is open on OR1');
  const c = await api('GET', `/cases/${caseId}`, undefined, 'recorder');
  t.match(c.body, {
    bedId: 'bed-or1',
    start: inRoom,
    status: 'open',
    externalIds: { mrn: 'MRN-4711', ni: '99887766', visit: 'V-2026-0815', appointment: 'APT-100' },
  });
  t.notOk('externalIds' in (await api('GET', `/cases/${caseId}`, undefined, 'viewer')).body, 'no identifiers for a viewer');
  const tl = await api('GET', `/cases/${caseId}/timeline`, undefined, 'recorder');
  t.equal(tl.status, 200);
  t.same(
    tl.body.numerics.flatMap((n: { points: unknown[] }) => n.points),
    [[inRoom + MIN, 72]],
    "late binding: the reading timed after the A02 event is the case's although stored before; the one 10 min before is not",
  );

  t.same(msa(await his.send(adt('A02', 'A-2', toPacu, 'PACU^AWR^B1'))), ['AA', 'A-2']);
  t.same(msa(await his.send(adt('A03', 'A-3', out, 'PACU^AWR^B1'))), ['AA', 'A-3']);
  const done = await api('GET', `/cases/${caseId}`, undefined, 'recorder');
  t.match(done.body, { status: 'closed', start: inRoom, end: out });
  t.same(done.body.bindings, [
    { bed: 'bed-or1', from: inRoom, to: toPacu },
    { bed: 'bed-pacu1', from: toPacu, to: out },
  ]);

  const schedule = await api('GET', '/schedule', undefined, 'viewer');
  t.match(schedule.body, [{ id: scheduleId, state: 'done', caseId }]);
  t.notOk('externalIds' in schedule.body[0], 'viewer: schedule without identifiers');

  const audit = await api('GET', `/audit?entity=case&entityId=${caseId}`);
  t.same(
    audit.body
      .filter((e: { actor: string }) => e.actor.startsWith('his:'))
      .map((e: { action: string }) => e.action)
      .reverse(),
    ['case.open', 'case.move', 'case.close'],
    'case changes audited under the HIS actor',
  );
  const sAudit = await api('GET', `/audit?entity=schedule&entityId=${scheduleId}`);
  t.same(sAudit.body.map((e: { action: string }) => e.action).reverse(), ['schedule.create', 'schedule.arrive', 'schedule.done']);
  t.ok((await api('GET', '/audit?action=schedule.read-identifiers')).body.length >= 1, 'schedule identifier reads audited');
  t.notMatch(JSON.stringify((await api('GET', '/audit?limit=1000')).body), /MRN-4711|99887766|Mustermann/, 'no identifier in the audit log');
});

t.test('bad messages: AR/AE with the reason, kept for review, counted', async (t) => {
  const his = await connect(hisPort);
  t.teardown(() => his.close());
  const garbage = await his.send(Buffer.from('this is not HL7 \x00\x01'));
  t.equal(msa(garbage)[0], 'AR');
  t.match(garbage, /\rERR\|\|\|100\^/);
  const unknown = await his.send(adt('A02', 'B-2', out + MIN, 'OP^OR7^T1'));
  t.same(msa(unknown), ['AE', 'B-2']);
  t.match(unknown, /unknown location OP\\S\\OR7\\S\\T1/);
  const noPid = await his.send(adt('A02', 'B-3', out + MIN, 'OP^OR1^T1').replace(/\rPID\|[^\r]*/, ''));
  t.same(msa(noPid), ['AE', 'B-3']);
  t.match(noPid, /PID segment missing/);

  const listed = await api('GET', '/his/messages?status=rejected', undefined, 'biomed');
  t.equal(listed.status, 200);
  t.same(
    listed.body.map((m: { controlId: string | null }) => m.controlId),
    ['B-3', 'B-2', null],
  );
  t.same(
    listed.body.map((m: { ackCode: string }) => m.ackCode),
    ['AE', 'AE', 'AR'],
  );
  t.notMatch(JSON.stringify(listed.body), /MRN-4711|Mustermann|99887766/, 'no patient identifiers in the listing');
  t.equal((await api('GET', '/his/messages?raw=true', undefined, 'biomed')).status, 403);
  t.equal((await api('GET', '/his/messages', undefined, 'recorder')).status, 403);
  const raw = await api('GET', '/his/messages?status=rejected&raw=true');
  t.match(raw.body[1].raw, /Mustermann/, 'admin may read the kept message');
  t.equal((await api('GET', '/audit?action=his.read-messages')).body.length, 1, 'that read is audited');

  const metrics = (await api('GET', '/metrics')).body as string;
  t.match(metrics, /orlink_ingest_his_messages_applied_total 4\n/);
  t.match(metrics, /orlink_ingest_his_messages_error_total 2\n/);
  t.match(metrics, /orlink_ingest_his_messages_rejected_total 1\n/);
});

t.test('POST /schedule/:id/arrive: the in-room of the record system opens the scheduled case', async (t) => {
  const his = await connect(hisPort);
  t.teardown(() => his.close());
  const p2 = { mrn: 'MRN-2', visit: 'V-2', family: 'Roe', given: 'Rita' };
  t.same(msa(await his.send(siu({ controlId: 'S-2', appointment: 'APT-200', start: out + 30 * MIN, minutes: 60, location: 'OP^OR1^T1', patient: p2 }))), [
    'AA',
    'S-2',
  ]);
  const entry = (await api('GET', '/schedule?state=scheduled')).body[0];
  t.equal(entry.appointment, 'APT-200');
  t.equal((await api('POST', `/schedule/${entry.id}/arrive`, { bed: 'bed-or1', at: out + 25 * MIN }, 'viewer')).status, 403);
  const r = await api('POST', `/schedule/${entry.id}/arrive`, { bed: 'bed-or1', at: out + 25 * MIN }, 'recorder');
  t.equal(r.status, 200);
  t.match(r.body, {
    schedule: { state: 'in-progress', caseId: r.body.case.id },
    case: { bedId: 'bed-or1', start: out + 25 * MIN, status: 'open', externalIds: { mrn: 'MRN-2', appointment: 'APT-200' } },
  });
  t.equal((await api('POST', `/schedule/${entry.id}/arrive`, { bed: 'bed-or1' }, 'recorder')).status, 409, 'already arrived');
  // the HIS's own A02 for the same arrival afterwards changes nothing
  t.same(msa(await his.send(adt('A02', 'A-9', out + 25 * MIN, 'OP^OR1^T1', p2))), ['AA', 'A-9']);
  t.equal((await api('GET', `/cases/${r.body.case.id}`)).body.bindings.length, 1);
});

t.test('a sender outside his.allow is refused', async (t) => {
  const feed = new HisFeed({ db: ing.services.db, cases: ing.services.cases, registry: ing.services.registry, audit: ing.services.audit, config: config.his });
  const l = new HisListener({ ...config.his, allow: ['10.9.9.9'] }, feed);
  await l.start();
  t.teardown(() => l.close());
  const sock = net.connect({ host: '127.0.0.1', port: l.port });
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    sock.on('error', () => {
      /* reset */
    });
    sock.on('connect', () => sock.write(mllpWrap(adt('A03', 'Z-1', out, 'OP^OR1^T1'))));
  });
  t.ok(closed, 'connection closed');
  t.equal(l.stats.refused, 1);
  t.equal(feed.schedule.messages({ status: 'applied', limit: 1000 }).filter((m) => m.controlId === 'Z-1').length, 0, 'nothing received');
});

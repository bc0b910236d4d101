/**
 * HIS feed, without sockets: message parsing (PID-3 → externalIds, SIU fields, rejects), the
 * location map, the state transitions of the schedule and the case (SIU → A02 OR → A02 PACU → A03,
 * corrected time, cancel, A11/A13), ACK/NAK text checked with python3-hl7, no PID field in logs.
 */
import { pyAck } from '../../../test/helpers/python-hl7.js';
import { Writable } from 'node:stream';
import pino from 'pino';
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { MemorySeriesStore } from '../series/memory.js';
import { createServices } from '../services.js';
import { buildHisAck } from './his-ack.js';
import { HisFeed } from './his-feed.js';
import { HisReject, parseText, toEvent } from './his-message.js';
import { adt, PATIENT, siu } from './test-messages.js';

const T0 = Date.UTC(2026, 11, 8, 7, 30);
const MIN = 60_000;

function rig(t: Test) {
  const config = loadIngestConfig({
    input: {
      db: { path: ':memory:' },
      series: { kind: 'memory' },
      log: { level: 'silent' },
      his: { locationMap: { 'OP^OR1^T1': 'bed-or1', 'OP^OR2': 'bed-or2', 'PACU^AWR^B1': 'bed-pacu1' } },
    },
    env: {},
  });
  const s = createServices(config, { series: new MemorySeriesStore() });
  t.teardown(() => s.db.close());
  s.registry.createSite({ id: 'site1', name: 'Main' });
  for (const [room, bed] of [
    ['or1', 'bed-or1'],
    ['or2', 'bed-or2'],
    ['pacu', 'bed-pacu1'],
  ]) {
    s.registry.createRoom({ id: room, siteId: 'site1', name: room.toUpperCase() });
    s.registry.createBed({ id: bed, roomId: room, name: 'T1' });
  }
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  );
  const feed = new HisFeed({ db: s.db, cases: s.cases, registry: s.registry, audit: s.audit, config: config.his, metrics: s.metrics, logger });
  const send = (text: string) => feed.handle(Buffer.from(text), '127.0.0.1');
  return { s, feed, send, lines, config };
}

/** [MSH-9, MSA-1, MSA-2, ERR-3.1] as python3-hl7 reads the ACK */
function python(text: string): string[] {
  const a = pyAck(text);
  return [a.type, a.code, a.controlId, a.errCode];
}

t.test('parsing: PID-3 → externalIds, visit, event time, SIU fields', async (t) => {
  const a = toEvent(parseText(adt('A02', 'c1', T0, 'OP^OR1^T1')), 'UTC');
  t.equal(a.kind, 'adt');
  t.same(a.patient, { key: 'MRN-4711', keyName: 'mrn', ids: { mrn: 'MRN-4711', ni: '99887766', visit: PATIENT.visit } });
  t.equal(a.at, T0, 'EVN-6');
  t.same(a.kind === 'adt' && a.location, { poc: 'OP', room: 'OR1', bed: 'T1' });
  const s = toEvent(parseText(siu({ controlId: 's1', appointment: 'APT1', start: T0, minutes: 90, location: 'OP^OR1' })), 'UTC');
  if (s.kind !== 'siu') throw new Error('not SIU');
  t.equal(s.appointment, 'APT1', 'SCH-2 filler id');
  t.equal(s.start, T0);
  t.equal(s.end, T0 + 90 * MIN);
  t.equal(s.procedure, 'Laparoscopic cholecystectomy');
  t.equal(s.surgeon, 'Gregory House (D100)');
  t.equal(s.anesthetist, 'Michaela Quinn (D200)');
  t.same(s.location, { poc: 'OP', room: 'OR1', bed: '' });
  const local = toEvent(parseText(adt('A03', 'c2', T0, 'X').replace(/\+0000/g, '')), 'Europe/Berlin');
  t.equal(local.at, T0 - 3_600_000, 'times without an offset in his.timeZone (CET)');
});

t.test('parsing: rejects with AR/AE and the field, never a PID value', async (t) => {
  const cases: [string, 'AE' | 'AR', string][] = [
    ['MSH|^~\\&|HIS|H|||20261208||ORU^R01|1|P|2.5\r', 'AR', '200'],
    ['MSH|^~\\&|HIS|H|||20261208||ADT^A99|1|P|2.5\rPID|1||X\r', 'AR', '201'],
    ['MSH|^~\\&|HIS|H|||20261208||ADT^A02||P|2.5\r', 'AR', '101'],
    ['MSH|^~\\&|HIS|H|||20261208||ADT^A02|1|P|2.5\rEVN|A02|20261208\rPV1|1|I|OP^OR1^T1\r', 'AE', '100'],
    [adt('A02', 'c', T0, 'OP^OR1^T1').replace(/PID\|1\|\|[^|]*\|/, 'PID|1|||'), 'AE', '101'],
    [adt('A02', 'c', T0, 'OP^OR1^T1').replace(/EVN\|[^\r]*/, 'EVN|A02|2026XX'), 'AE', '102'],
  ];
  for (const [text, ack, code] of cases) {
    const err = t.throws(() => toEvent(parseText(text), 'UTC')) as unknown;
    t.ok(err instanceof HisReject && err.ack === ack && err.errCode === code, `${ack} ${code}: ${(err as Error).message}`);
    t.notMatch((err as Error).message, /MRN-4711|Mustermann/);
  }
});

t.test('ACK and NAK parse with python3-hl7 (independent check)', async (t) => {
  const m = parseText(adt('A02', 'CTRL-9', T0, 'OP^OR1^T1'));
  t.same(python(buildHisAck(m, 'AA', { nowMs: T0, controlId: 'A1' })), ['ACK^A02^ACK', 'AA', 'CTRL-9', '']);
  const ae = buildHisAck(m, 'AE', { nowMs: T0, controlId: 'A2', text: 'unknown location OP^OR9', errCode: '204', location: 'PV1^1^3' });
  t.same(python(ae), ['ACK^A02^ACK', 'AE', 'CTRL-9', '204']);
  t.match(ae, /MSA\|AE\|CTRL-9\|unknown location OP\\S\\OR9\r/, 'separators in the reason escaped');
  t.same(python(buildHisAck(undefined, 'AR', { nowMs: T0, controlId: 'A3', text: 'unparseable', errCode: '100' })).slice(1), ['AR', '', '100']);
});

t.test('location map: bed, room-level entry, unknown in a mapped unit, outside', async (t) => {
  const { feed } = rig(t);
  t.match(feed.resolve({ poc: 'OP', room: 'OR1', bed: 'T1' }), { kind: 'bed', bed: { id: 'bed-or1', roomId: 'or1', siteId: 'site1' } });
  t.match(feed.resolve({ poc: 'OP', room: 'OR2', bed: '' }), { kind: 'bed', bed: { id: 'bed-or2' } });
  t.match(feed.resolve({ poc: 'OP', room: 'OR2', bed: 'X' }), { kind: 'bed', bed: { id: 'bed-or2' } }, 'room-level entry for any bed');
  t.same(feed.resolve({ poc: 'OP', room: 'OR9', bed: 'T1' }), { kind: 'unknown' });
  t.same(feed.resolve({ poc: 'WARD3', room: '12', bed: 'A' }), { kind: 'outside' });
});

t.test('location by registry names (matchRegistryNames)', async (t) => {
  const { s, config } = rig(t);
  const byName = new HisFeed({
    db: s.db,
    cases: s.cases,
    registry: s.registry,
    audit: s.audit,
    config: { ...config.his, locationMap: {}, matchRegistryNames: true },
  });
  t.match(byName.resolve({ poc: 'ANY', room: 'or2', bed: 't1' }), { kind: 'bed', bed: { id: 'bed-or2' } }, 'room and bed names, case-insensitive');
  t.match(byName.resolve({ poc: 'ANY', room: 'PACU', bed: '' }), { kind: 'bed', bed: { id: 'bed-pacu1' } }, 'the only bed of the room');
  t.same(byName.resolve({ poc: 'ANY', room: 'OR1', bed: 'T9' }), { kind: 'unknown' }, 'known room, unknown bed');
  t.same(byName.resolve({ poc: 'WARD', room: '12', bed: 'A' }), { kind: 'outside' });
});

t.test('SIU S12 → A02 OR → A02 PACU → A03: schedule, case, bindings, audit, counters, logs', async (t) => {
  const { s, feed, send, lines } = rig(t);
  t.equal(send(siu({ controlId: 's1', appointment: 'APT1', start: T0, minutes: 90, location: 'OP^OR1' })).code, 'AE', 'OR1 has no room-level entry: unknown');
  const r1 = send(siu({ controlId: 's2', appointment: 'APT1', start: T0, minutes: 90, location: 'OP^OR1^T1' }));
  t.equal(r1.code, 'AA');
  const [sched] = feed.schedule.list();
  t.match(sched, { appointment: 'APT1', state: 'scheduled', roomId: 'or1', siteId: 'site1', plannedStart: T0, plannedEnd: T0 + 90 * MIN, caseId: null });
  t.same(sched.externalIds, { mrn: 'MRN-4711', ni: '99887766', visit: PATIENT.visit });

  t.equal(send(siu({ trigger: 'S13', controlId: 's3', appointment: 'APT1', start: T0 + 15 * MIN, minutes: 60, location: 'OP^OR1^T1' })).code, 'AA');
  t.match(feed.schedule.get(sched.id), { plannedStart: T0 + 15 * MIN, plannedEnd: T0 + 75 * MIN }, 'rescheduled');

  const inRoom = T0 + 20 * MIN;
  t.equal(send(adt('A02', 'a1', inRoom, 'OP^OR1^T1')).code, 'AA');
  const c = s.cases.openCaseWithExternalId('mrn', 'MRN-4711');
  t.ok(c);
  t.match(c, { bedId: 'bed-or1', start: inRoom, status: 'open', externalIds: { mrn: 'MRN-4711', visit: PATIENT.visit, appointment: 'APT1' } });
  t.match(feed.schedule.get(sched.id), { state: 'in-progress', caseId: c!.id });

  // the same transfer again with a corrected time: the case start is corrected, not a second case
  t.equal(send(adt('A02', 'a1b', inRoom - 2 * MIN, 'OP^OR1^T1')).code, 'AA');
  t.equal(s.cases.get(c!.id)!.start, inRoom - 2 * MIN, 'corrected start');
  t.equal(send(adt('A02', 'a1c', inRoom, 'OP^OR1^T1')).code, 'AA');

  const pacu = T0 + 100 * MIN;
  t.equal(send(adt('A02', 'a2', pacu, 'PACU^AWR^B1')).code, 'AA');
  t.same(
    s.cases.get(c!.id)!.bindings,
    [
      { bed: 'bed-or1', from: inRoom, to: pacu },
      { bed: 'bed-pacu1', from: pacu, to: null },
    ],
    'moved OR → PACU',
  );

  const out = T0 + 160 * MIN;
  t.equal(send(adt('A03', 'a3', out, 'PACU^AWR^B1')).code, 'AA');
  t.match(s.cases.get(c!.id), { status: 'closed', end: out });
  t.match(feed.schedule.get(sched.id), { state: 'done' });

  const actions = s.audit
    .list({ entity: 'case', entityId: c!.id })
    .map((e) => `${e.actor} ${e.action}`)
    .reverse();
  t.same(actions, ['his:HIS^HOSP case.open', 'his:HIS^HOSP case.correct', 'his:HIS^HOSP case.correct', 'his:HIS^HOSP case.move', 'his:HIS^HOSP case.close']);
  t.same(
    s.audit
      .list({ entity: 'schedule' })
      .map((e) => e.action)
      .reverse(),
    ['schedule.create', 'schedule.update', 'schedule.arrive', 'schedule.done'],
  );
  t.notMatch(JSON.stringify(s.audit.list({})), /MRN-4711|99887766|Mustermann|V-2026/, 'no identifier in the audit log');
  t.equal(s.metrics.get('his_messages_applied_total'), 7);
  t.equal(s.metrics.get('his_messages_error_total'), 1);
  t.equal(lines.length, 8, 'one log line per message');
  t.notMatch(lines.join(''), /MRN-4711|99887766|Mustermann|Erika|V-2026/, 'no PID field in the logs');
  t.match(lines[0], /"controlId":"s1".*"type":"SIU\^S12"/);

  // a resend of an applied message (lost ACK) is acknowledged, not applied again
  const again = send(adt('A02', 'a2', pacu, 'PACU^AWR^B1'));
  t.equal(again.code, 'AA');
  t.match(again.note, /duplicate/);
  t.equal(s.cases.get(c!.id)!.status, 'closed');
});

t.test('unscheduled arrival, conflicts, unknown location, outside transfer, cancels', async (t) => {
  const { s, feed, send } = rig(t);
  const other = { mrn: 'MRN-1', visit: 'V-1', family: 'Doe', given: 'John' };
  t.equal(send(adt('A02', 'x1', T0, 'OP^OR2^1', other)).code, 'AA', 'unscheduled (emergency) case opens');
  const first = s.cases.openCaseWithExternalId('mrn', 'MRN-1')!;
  t.same(first.externalIds, { mrn: 'MRN-1', ni: '99887766', visit: 'V-1' });
  t.equal(send(adt('A02', 'x1b', T0 + 5 * MIN, 'OP^OR2^2', other)).code, 'AA', 'another HIS bed of OR2 (the same registry bed)');
  t.same(s.cases.get(first.id)!.bindings, [{ bed: 'bed-or2', from: T0, to: null }], 'not a corrected time: the case start stays');

  const r = send(adt('A02', 'x2', T0 + MIN, 'OP^OR2^1'));
  t.equal(r.code, 'AE', 'bed taken by another patient: wrong-patient guard');
  t.match(r.reason, /ING_ERR_CONFLICT/);
  t.match(r.ack, /ERR\|\|\|207\^/);
  t.equal(s.cases.openCaseWithExternalId('mrn', 'MRN-4711'), null, 'nothing applied');

  const u = send(adt('A02', 'x3', T0, 'OP^OR9^1'));
  t.equal(u.code, 'AE');
  t.match(u.ack, /ERR\|\|PV1\^1\^3\|204\^Unknown key identifier/);

  t.equal(send(adt('A02', 'x4', T0 + 30 * MIN, 'WARD3^12^A', other)).code, 'AA');
  t.match(s.cases.get(first.id), { status: 'closed', end: T0 + 30 * MIN }, 'left the monitored area: case closed');

  // A13 after a discharge that closed a case: AE, kept; A11: visit cancelled
  t.equal(send(adt('A02', 'x5', T0 + 40 * MIN, 'OP^OR2^1', other)).code, 'AA');
  t.equal(send(adt('A03', 'x6', T0 + 50 * MIN, 'OP^OR2^1', other)).code, 'AA');
  const a13 = send(adt('A13', 'x7', T0 + 55 * MIN, 'OP^OR2^1', other));
  t.equal(a13.code, 'AE');
  t.match(a13.reason, /not reopened automatically/);
  t.equal(send(adt('A11', 'x8', T0 + 56 * MIN, 'OP^OR2^1', other)).code, 'AA');
  t.equal(feed.schedule.visit('MRN-1')?.state, 'cancelled');

  // S15 cancels a scheduled case; an A02 then does not bind it
  t.equal(send(siu({ controlId: 'y1', appointment: 'APT9', start: T0 + 3 * 3_600_000, minutes: 30, location: 'OP^OR1^T1' })).code, 'AA');
  t.equal(send(siu({ trigger: 'S15', controlId: 'y2', appointment: 'APT9', start: T0 + 3 * 3_600_000, minutes: 30, location: 'OP^OR1^T1' })).code, 'AA');
  t.equal(feed.schedule.byAppointment('APT9')?.state, 'cancelled');
  t.equal(
    send(siu({ trigger: 'S14', controlId: 'y3', appointment: 'APT9', start: T0, minutes: 30, location: 'OP^OR1^T1' })).code,
    'AE',
    'a cancelled appointment is not modified',
  );
  t.equal(send(siu({ trigger: 'S13', controlId: 'y4', appointment: 'NOPE', start: T0, minutes: 30, location: 'OP^OR1^T1' })).code, 'AE', 'unknown appointment');

  const rejected = feed.schedule.messages({ status: 'rejected' });
  t.same(rejected.map((m) => m.controlId).reverse(), ['x2', 'x3', 'x7', 'y3', 'y4'], 'every rejected message kept');
  t.ok(rejected.every((m) => m.reason && !('raw' in m)));
  t.match(feed.schedule.messages({ status: 'rejected', withRaw: true })[0].raw, /^MSH\|/);
  const garbage = send('hello there');
  t.equal(garbage.code, 'AR');
  t.equal(feed.schedule.messages({ status: 'rejected', limit: 1, withRaw: true })[0].raw, 'hello there', 'garbage kept too');
  const broken = send(adt('A02', 'z1', T0, 'OP^OR1^T1').replace('Mustermann^Erika', 'Muster\nmann^Erika'));
  t.equal(broken.code, 'AR', 'a line break inside PID: unparseable');
  t.equal(broken.reason, 'unparseable HL7 (bad-segment)', 'the reason quotes no fragment of the text');
});

t.test('config: his.allow required when enabled, entries must be addresses', async (t) => {
  const load = (his: unknown) => () => loadIngestConfig({ input: { his }, env: {} });
  t.throws(load({ enabled: true }), /\/his\/allow: required when his.enabled/);
  t.throws(load({ enabled: true, allow: ['his.example.org'] }), /\/his\/allow\/0: 'his.example.org' is not an IP address/);
  t.equal(load({ enabled: true, allow: ['10.1.5.0/24'] })().his.port, 2575);
  t.equal(load({})().his.enabled, false, 'off by default');
});

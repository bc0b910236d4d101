/**
 * The event store: events inside the case window, kinds and content bounds (note text, Steward
 * scores), corrections and soft deletes with before/after in the audit log, PACU moves in the
 * event's transaction (a refused move stores nothing), and the timeline helper's paging.
 */
import t, { type Test } from 'tap';
import { AuditLog } from '../audit/audit-log.js';
import { CaseStore, type BindingChange } from '../cases/case-store.js';
import { IngestError } from '../errors.js';
import { openDb } from '../registry/database.js';
import { SqliteRegistry } from '../registry/sqlite-registry.js';
import { EVENT_TEXT_MAX } from './event-kinds.js';
import { EVENT_CLOCK_SKEW_MS, EventStore } from './event-store.js';
import { timelineEvents } from './timeline-events.js';

const M = 60_000;
const T0 = Date.UTC(2024, 0, 1, 8);
const actor = { id: 'token:t1:or-record', role: 'recorder', ip: '127.0.0.1' };

function setup(t: Test) {
  const db = openDb(':memory:');
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'or1', siteId: 's', name: 'OR 1' });
  r.createRoom({ id: 'pacu', siteId: 's', name: 'PACU' });
  r.createBed({ id: 'or1-bed', roomId: 'or1', name: 'table' });
  for (const b of ['pacu-1', 'pacu-2']) r.createBed({ id: b, roomId: 'pacu', name: b });
  const clock = { now: T0 + 120 * M };
  const audit = new AuditLog(db, () => clock.now);
  const cases = new CaseStore(db, () => clock.now, audit);
  const changes: BindingChange[] = [];
  cases.onBindingChange((e) => changes.push(e));
  const events = new EventStore(db, cases, audit, () => clock.now);
  return { db, cases, audit, events, clock, changes };
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof IngestError ? err.code : `not coded: ${String(err)}`;
  }
  return undefined;
};

t.test('events lie inside the case window; kinds, text and data are checked', async (t) => {
  const { cases, events, clock } = setup(t);
  const c = cases.create({ bedId: 'or1-bed', start: T0 }, actor);
  const induction = events.add(c.id, { kind: 'induction', t: T0 + 5 * M }, actor);
  t.match(induction, { caseId: c.id, kind: 'induction', t: T0 + 5 * M, createdAt: clock.now, createdBy: actor.id });
  t.notOk('text' in induction || 'data' in induction || 'bed' in induction || 'deletedAt' in induction, 'absent fields are omitted');
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'incision', t: T0 - 1 }, actor)),
    'ING_ERR_BAD_REQUEST',
    'before the start',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'incision', t: clock.now + EVENT_CLOCK_SKEW_MS + 1 }, actor)),
    'ING_ERR_BAD_REQUEST',
    'past now + skew on an open case',
  );
  t.ok(events.add(c.id, { kind: 'incision', t: clock.now + EVENT_CLOCK_SKEW_MS }, actor), 'clock skew tolerated');
  t.equal(
    codeOf(() => events.add('nope', { kind: 'incision', t: T0 }, actor)),
    'ING_ERR_NOT_FOUND',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'bogus' as 'note', t: T0 }, actor)),
    'ING_ERR_BAD_REQUEST',
    'unknown kind',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'note', t: T0 }, actor)),
    'ING_ERR_BAD_REQUEST',
    'a note needs text',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'note', t: T0, text: 'x'.repeat(EVENT_TEXT_MAX + 1) }, actor)),
    'ING_ERR_BAD_REQUEST',
    'text bounded',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'incision', t: T0, bed: 'pacu-1' }, actor)),
    'ING_ERR_BAD_REQUEST',
    'only pacu-in / in-room name a bed',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'pacu-score', t: T0, data: { consciousness: 2 } }, actor)),
    'ING_ERR_BAD_REQUEST',
    'score without scheme',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'pacu-score', t: T0, data: { scheme: 'steward', consciousness: 3, airway: 2, movement: 1 } }, actor)),
    'ING_ERR_BAD_REQUEST',
    'item out of range',
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'pacu-score', t: T0, data: { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 6 } }, actor)),
    'ING_ERR_BAD_REQUEST',
    'total not the sum',
  );
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'note', t: T0, text: 'x', data: many }, actor)),
    'ING_ERR_BAD_REQUEST',
    'data bounded',
  );
  const score = events.add(
    c.id,
    { kind: 'pacu-score', t: T0 + 60 * M, data: { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 5 } },
    actor,
  );
  t.same(score.data, { scheme: 'steward', consciousness: 2, airway: 2, movement: 1, total: 5 });
  t.ok(events.add(c.id, { kind: 'pacu-score', t: T0 + 61 * M, data: { scheme: 'aldrete', activity: 2, total: 9 } }, actor), 'other schemes kept as sent');

  cases.close(c.id, T0 + 100 * M, actor);
  t.ok(events.add(c.id, { kind: 'out-of-room', t: T0 + 100 * M }, actor), 'a closed case takes events up to its end');
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'note', t: T0 + 100 * M + 1, text: 'late' }, actor)),
    'ING_ERR_BAD_REQUEST',
    'after the end',
  );
  t.same(
    events.list(c.id).map((e) => e.t),
    [T0 + 5 * M, T0 + 60 * M, T0 + 61 * M, T0 + 100 * M, clock.now + EVENT_CLOCK_SKEW_MS],
    'ordered by t',
  );
});

t.test('corrections and soft deletes are audited with before and after; deleted events are kept', async (t) => {
  const { cases, events, audit, clock } = setup(t);
  const c = cases.create({ bedId: 'or1-bed', start: T0, externalIds: { mrn: 'P-4711' } }, actor);
  const note = events.add(c.id, { kind: 'note', t: T0 + M, text: 'difficult airway, video laryngoscope' }, actor);
  clock.now += M;
  const fixed = events.correct(c.id, note.id, { t: T0 + 2 * M, text: 'difficult airway' }, actor);
  t.match(fixed, { t: T0 + 2 * M, text: 'difficult airway', updatedAt: clock.now, updatedBy: actor.id });
  t.equal(
    codeOf(() => events.correct(c.id, note.id, { text: null }, actor)),
    'ING_ERR_BAD_REQUEST',
    'a note keeps its text',
  );
  t.equal(
    codeOf(() => events.correct(c.id, note.id, { t: T0 - 1 }, actor)),
    'ING_ERR_BAD_REQUEST',
    'the corrected time is checked',
  );
  t.equal(
    codeOf(() => events.correct(c.id, 'nope', { t: T0 }, actor)),
    'ING_ERR_NOT_FOUND',
  );
  const other = cases.create({ bedId: 'pacu-1', start: T0 }, actor);
  t.equal(
    codeOf(() => events.correct(other.id, note.id, { t: T0 }, actor)),
    'ING_ERR_NOT_FOUND',
    'an event is found under its own case only',
  );

  const gone = events.delete(c.id, note.id, actor);
  t.equal(gone.deletedAt, clock.now);
  t.equal(gone.deletedBy, actor.id);
  t.same(events.list(c.id), [], 'hidden from lists');
  t.same(
    events.list(c.id, { includeDeleted: true }).map((e) => e.id),
    [note.id],
    'kept for the audit trail',
  );
  t.equal(
    codeOf(() => events.delete(c.id, note.id, actor)),
    'ING_ERR_CONFLICT',
    'deleted once',
  );
  t.equal(
    codeOf(() => events.correct(c.id, note.id, { t: T0 + M }, actor)),
    'ING_ERR_CONFLICT',
    'a deleted event is not corrected',
  );

  const trail = audit
    .list({ entity: 'case', entityId: c.id })
    .filter((e) => e.action.startsWith('event.'))
    .reverse();
  t.same(
    trail.map((e) => e.action),
    ['event.add', 'event.correct', 'event.delete'],
  );
  t.same(
    trail.map((e) => e.actor),
    [actor.id, actor.id, actor.id],
  );
  t.match(trail[1].detail, {
    eventId: note.id,
    before: { kind: 'note', t: T0 + M, text: 'difficult airway, video laryngoscope' },
    after: { kind: 'note', t: T0 + 2 * M, text: 'difficult airway' },
  });
  t.match(trail[2].detail, { before: { t: T0 + 2 * M }, after: null });
  t.notMatch(JSON.stringify(trail), /P-4711/, 'no patient identifier in the audit detail');
});

t.test('pacu-in with a bed moves the case at t in the same transaction; a refused move stores nothing', async (t) => {
  const { cases, events, audit, changes, db } = setup(t);
  const c = cases.create({ bedId: 'or1-bed', start: T0 }, actor);
  const blocker = cases.create({ bedId: 'pacu-2', start: T0 }, actor);
  changes.length = 0;
  const rows = () => (db.prepare('SELECT COUNT(*) AS n FROM case_events').get() as { n: number }).n;

  t.equal(
    codeOf(() => events.add(c.id, { kind: 'pacu-in', t: T0 + 90 * M, bed: 'pacu-2' }, actor)),
    'ING_ERR_CONFLICT',
    "the PACU bed is taken: the move's 409",
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'pacu-in', t: T0, bed: 'pacu-1' }, actor)),
    'ING_ERR_BAD_REQUEST',
    "not after the current binding: the move's 400",
  );
  t.equal(
    codeOf(() => events.add(c.id, { kind: 'pacu-in', t: T0 + 90 * M, bed: 'nope' }, actor)),
    'ING_ERR_NOT_FOUND',
    'unknown bed',
  );
  t.equal(rows(), 0, 'no event stored for a refused move');
  t.same(cases.get(c.id)?.bindings, [{ bed: 'or1-bed', from: T0, to: null }], 'bindings unchanged');
  t.same(changes, [], 'no listener heard of a refused move');
  t.equal(audit.list({ entity: 'case', entityId: c.id, action: 'event.add' }).length, 0);

  const pacuIn = events.add(c.id, { kind: 'pacu-in', t: T0 + 90 * M, bed: 'pacu-1' }, actor);
  t.equal(pacuIn.bed, 'pacu-1');
  t.same(cases.get(c.id)?.bindings, [
    { bed: 'or1-bed', from: T0, to: T0 + 90 * M },
    { bed: 'pacu-1', from: T0 + 90 * M, to: null },
  ]);
  t.same(
    changes.map((e) => [e.change, e.beds]),
    [['move', ['or1-bed', 'pacu-1']]],
  );
  t.match(audit.list({ entity: 'case', entityId: c.id, action: 'event.add' })[0].detail, { eventId: pacuIn.id, movedTo: 'pacu-1' });
  t.equal(audit.list({ entity: 'case', entityId: c.id, action: 'case.move' })[0].actor, actor.id, 'the move is audited under the same actor');

  const again = events.add(c.id, { kind: 'in-room', t: T0 + 91 * M, bed: 'pacu-1' }, actor);
  t.equal(again.bed, 'pacu-1');
  t.equal(cases.get(c.id)?.bindings.length, 2, 'already on that bed: no move');
  t.equal(
    codeOf(() => events.correct(c.id, pacuIn.id, { t: T0 + 95 * M }, actor)),
    'ING_ERR_CONFLICT',
    'the time of a binding event is fixed',
  );
  t.ok(events.correct(c.id, pacuIn.id, { text: 'from OR 1' }, actor), 'its text is not');
  events.delete(c.id, pacuIn.id, actor);
  t.equal(cases.get(c.id)?.bedId, 'pacu-1', 'deleting the event does not undo the move');
  cases.close(blocker.id, T0 + 10 * M, actor);
});

t.test('timeline pages hold each event once: cursor ≤ t < nextCursor, the last page up to to', async (t) => {
  const { db, cases, audit, events } = setup(t);
  const c = cases.create({ bedId: 'or1-bed', start: T0, end: T0 + 60 * M }, actor);
  for (const m of [0, 10, 20, 30, 60]) events.add(c.id, { kind: 'note', t: T0 + m * M, text: `n${m}` }, actor);
  const dead = events.add(c.id, { kind: 'note', t: T0 + 15 * M, text: 'deleted' }, actor);
  events.delete(c.id, dead.id, actor);
  const s = { db, cases, audit };
  const whole = timelineEvents(s, c.id, { from: T0, to: T0 + 60 * M });
  t.same(
    whole.map((e) => e.text),
    ['n0', 'n10', 'n20', 'n30', 'n60'],
    'deleted events are not on the timeline',
  );
  const p1 = timelineEvents(s, c.id, { from: T0, to: T0 + 60 * M, nextCursor: String(T0 + 20 * M) });
  const p2 = timelineEvents(s, c.id, { from: T0, to: T0 + 60 * M }, String(T0 + 20 * M));
  t.same(
    [...p1, ...p2].map((e) => e.text),
    ['n0', 'n10', 'n20', 'n30', 'n60'],
  );
  t.same(
    p1.map((e) => e.text),
    ['n0', 'n10'],
  );
  t.same(
    timelineEvents(s, c.id, { from: T0 + 5 * M, to: T0 + 25 * M }).map((e) => e.text),
    ['n10', 'n20'],
    'clipped to the window',
  );
});

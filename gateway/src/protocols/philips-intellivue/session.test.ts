/** IntelliVueSession state machine on a simulated clock (no timers): every request the driver sends is parsed back. */
import t from 'tap';
import { mdsCreateEvent, nuObs, pollReplyMessages } from './encode.js';
import { MibFramer } from './framer.js';
import { ATTR, MOC } from './nomenclature.js';
import { ABORT, REFUSE, encodeRoer, parseHostRequest, type HostRequest } from './requests.js';
import { IntelliVueSession, resolveSettings } from './session.js';
import { frameMessage } from './fcs.js';

const AC = Buffer.from([0x0e, 0x00]);
const T0 = 1_800_000_000_000;

function harness(options: Record<string, unknown> = {}, framing: 'lan' | 'serial' = 'lan') {
  const s = new IntelliVueSession({ options: { framing, ...options }, now: () => T0 });
  const sent: HostRequest[] = [];
  const framer = new MibFramer();
  s.start({
    write: (b) => {
      for (const m of framing === 'serial' ? framer.push(b) : [Buffer.from(b)]) sent.push(parseHostRequest(m));
    },
  });
  const rx = (m: Buffer, at: number) => s.onBytes(framing === 'serial' ? frameMessage(m) : m, at);
  const kinds = () => sent.map((r) => (r.kind === 'poll' ? `poll-${r.objType}` : r.kind));
  return { s, sent, rx, kinds };
}

const mds = (invokeId = 1) => mdsCreateEvent({ invokeId, manufacturer: 'Philips', model: 'MP70', absTime: T0, relTime: 5000 });

t.test('association → MDS create result → RTSA list + polls; keep-alive; refresh; release', async (t) => {
  for (const framing of ['lan', 'serial'] as const) {
    const h = harness({ waves: ['0x0102', '0x4BB4'] }, framing);
    t.same(h.kinds(), ['aarq'], `${framing}: AARQ first`);
    t.equal(h.s.state(), 'associating');
    h.rx(AC, T0 + 10);
    t.equal(h.s.state(), 'wait-mds');
    h.rx(mds(7), T0 + 20);
    t.equal(h.s.state(), 'running');
    t.same(h.kinds(), ['aarq', 'mds-create-result', 'set-rtsa', 'poll-6', 'poll-9', 'poll-54']);
    t.same((h.sent[1] as { invokeId: number }).invokeId, 7, 'result echoes the event invoke id');
    t.same((h.sent[2] as { textIds: number[] }).textIds, [0x20102, 0x24bb4]);
    t.equal((h.sent[3] as { durationTicks?: number }).durationTicks, 30 * 8000, 'TIME_PD_POLL 30 s');
    const reply = pollReplyMessages(4, { pollNumber: 1, sequenceNo: 1, relTime: 5000 + 8000, objType: MOC.VMO_METRIC_NU }, [
      { handle: 1, avas: [[ATTR.NU_VAL_OBS, nuObs({ physioId: 0x4182, unitCode: 0x0aa0, value: 64 })]] },
    ]);
    for (let s = 1; s <= 5; s++) {
      const obs = h.rx(reply[0], T0 + s * 1000);
      t.equal(obs.length, 1);
      h.s.tick(T0 + s * 1000 + 500);
    }
    t.equal(h.kinds().filter((k) => k === 'mds-create-result').length, 1, 'no keep-alive before 6 s');
    h.rx(reply[0], T0 + 6200);
    h.s.tick(T0 + 6200);
    t.equal(h.kinds().filter((k) => k === 'mds-create-result').length, 2, 'keep-alive every 6 s');
    for (let s = 7; s <= 21; s++) {
      h.rx(reply[0], T0 + s * 1000);
      h.s.tick(T0 + s * 1000);
    }
    t.equal(h.kinds().filter((k) => k === 'poll-6').length, 2, 'polls re-issued after refreshS (20 s) < 30 s');
    h.s.stop();
    t.equal(h.kinds().at(-1), 'release');
    t.equal(h.s.state(), 'stopped');
  }
});

t.test('silence, monitor abort and a new MDS create (restart) re-associate', async (t) => {
  const h = harness({ alerts: false, silenceS: 5 });
  h.rx(AC, T0);
  h.rx(mds(), T0);
  h.s.tick(T0 + 4000);
  t.equal(h.kinds().filter((k) => k === 'aarq').length, 1);
  h.s.tick(T0 + 5000);
  t.equal(h.kinds().filter((k) => k === 'aarq').length, 2, 'silence → AARQ');
  h.rx(AC, T0 + 5100);
  h.rx(mds(), T0 + 5200);
  h.rx(ABORT, T0 + 6000);
  t.equal(h.kinds().filter((k) => k === 'aarq').length, 3, 'abort → AARQ');
  h.rx(AC, T0 + 6100);
  h.rx(mds(), T0 + 6200);
  h.rx(mds(2), T0 + 7000);
  t.equal(h.kinds().filter((k) => k === 'poll-6').length, 4, 'monitor restart: result + polls again');
  h.rx(encodeRoer(9, 2), T0 + 7100);
  const errs = h.s.decoder().stats().errors;
  t.same([errs['silence-reassociate'], errs['monitor-abort'], errs['roer-access_denied']], [1, 1, 1]);
});

t.test('no answer: AARQ repeated every assocTimeoutS, not faster', async (t) => {
  const h = harness({ assocTimeoutS: 5 });
  for (let ms = 0; ms <= 20_000; ms += 500) h.s.tick(T0 + ms);
  t.equal(h.kinds().length, 5, 'at 0, 5, 10, 15, 20 s');
});

t.test('refusal: reported, retried with a doubling delay', async (t) => {
  const h = harness({ refuseRetryS: 10 });
  h.rx(REFUSE, T0);
  t.equal(h.s.state(), 'refused');
  t.equal(h.s.decoder().identity()?.protocolLevel, 'association-refused');
  for (let ms = 0; ms < 10_000; ms += 500) h.s.tick(T0 + ms);
  t.equal(h.kinds().length, 1);
  t.equal(h.s.lastFrameAt(), T0 + 9_500, 'while refused the watchdog sees a live driver (no link reopen loop)');
  h.s.tick(T0 + 10_000);
  t.equal(h.kinds().length, 2, 'retry after 10 s');
  h.rx(REFUSE, T0 + 10_010);
  h.s.tick(T0 + 29_000);
  t.equal(h.kinds().length, 2, 'next after 20 s, not 10');
  h.s.tick(T0 + 30_010);
  t.equal(h.kinds().length, 3);
});

t.test('option validation', async (t) => {
  t.throws(() => resolveSettings({ framing: 'tcp' }, undefined), { code: 'GW_ERR_INTELLIVUE_CONFIG' });
  t.throws(() => resolveSettings({ waves: ['ECG'] }, undefined), { code: 'GW_ERR_INTELLIVUE_CONFIG' });
  t.throws(() => resolveSettings({ keepAliveS: 10 }, undefined), { code: 'GW_ERR_INTELLIVUE_CONFIG' });
  t.throws(() => resolveSettings({ refreshS: 40 }, undefined), { code: 'GW_ERR_INTELLIVUE_CONFIG' });
  t.throws(
    () => new IntelliVueSession({ profileId: 'philips/intellivue-x2/data-export', options: { waves: ['0x0102', '0x4BB4', '0x4A10'] } }),
    /at most 2 waves/,
  );
  t.same(resolveSettings({ waves: [0x0102, '0x4bb4'] }, undefined).waves, [0x0102, 0x4bb4]);
});

t.test("framing 'auto' (default): AARQ alternates serial/LAN until the monitor answers, then follows it", async (t) => {
  for (const answer of ['lan', 'serial'] as const) {
    const s = new IntelliVueSession({ options: { assocTimeoutS: 5 }, now: () => T0 });
    t.equal(s.settings.framing, 'auto');
    const raw: Buffer[] = [];
    s.start({ write: (b) => raw.push(Buffer.from(b)) });
    s.tick(T0 + 5000);
    t.same(
      raw.map((b) => b[0]),
      [0xc0, 0x0d],
      'serial frame first, then a bare datagram',
    );
    s.tick(T0 + 10_000);
    t.equal(raw[2][0], 0xc0);
    const wrap = (m: Buffer): Buffer => (answer === 'serial' ? frameMessage(m) : m);
    s.onBytes(wrap(AC), T0 + 10_100);
    s.onBytes(wrap(mds()), T0 + 10_200);
    t.equal(s.state(), 'running');
    t.equal(s.framing(), answer);
    const after = raw.slice(3);
    t.ok(
      after.length >= 3 && after.every((b) => (answer === 'serial' ? b[0] === 0xc0 : b[0] === 0xe1)),
      `${answer}: every later message in the monitor's framing`,
    );
  }
});

import t from 'tap';
import { loadProtocol } from '../registry.js';
import { mllpWrap } from './mllp.js';
import { Hl7Session } from './session.js';

const ORU =
  'MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|||20261122013855+0100||ORU^R01^ORU_R01|S1|P|2.6|||NE|AL\rOBX|1|NM|147842^HR^MDC|1.5.1.1|60|264864|||||R\r';

t.test('registry loads the driver; server role: one ACK per message, written to the link', async (t) => {
  const p = await loadProtocol('hl7-mllp');
  t.equal(p?.name, 'hl7-mllp');
  const s = p!.createSession({ profileId: 'auto' });
  const written: string[] = [];
  s.start({ write: (b) => written.push(Buffer.from(b).toString()) });
  const wire = mllpWrap(ORU);
  const obs = [...s.onBytes(wire.subarray(0, 20), 1), ...s.onBytes(wire.subarray(20), 2)];
  t.equal(obs.length, 1);
  t.equal(written.length, 1);
  t.match(written[0], /\rMSA\|AA\|S1\r/);
  for (let i = 0; i < 5; i++) s.tick(i * 1000);
  t.equal(written.length, 1, 'no heartbeat in server role');
  t.equal(s.lastFrameAt(), 2);
  s.stop();
  s.onBytes(mllpWrap(ORU.replace('S1', 'S2')), 3);
  t.equal(written.length, 1, 'nothing written after stop');
});

t.test('client role (Mindray PDS): heartbeat every heartbeatS, no ACKs', async (t) => {
  const s = new Hl7Session({ profileId: 'hl7/mindray/pds' });
  const written: string[] = [];
  s.start({ write: (b) => written.push(Buffer.from(b).toString()) });
  s.tick(10_000);
  s.tick(10_500);
  s.tick(11_000);
  t.same(
    written,
    [0, 1].map(() => '\x0bMSH|^~\\&|||||||ORU^R01|106|P|2.3.1|\r\x1c\r'),
  );
  s.onBytes(mllpWrap('MSH|^~\\&|||||||ORU^R01|204|P|2.3.1|\rOBX||NM|101^HR||70||||||F\r'), 11_100);
  t.equal(written.length, 2, 'PDS expects no ACK');
  const fast = new Hl7Session({ profileId: 'hl7/ge/b40', options: { heartbeatS: 2 } });
  const w2: unknown[] = [];
  fast.start({ write: (b) => w2.push(b) });
  [0, 1000, 2000, 3000, 4000].forEach((x) => fast.tick(x));
  t.equal(w2.length, 3, 'heartbeat option overrides the profile');
});

t.test('device options are validated (fatal GW_ERR_HL7_CONFIG)', async (t) => {
  for (const options of [{ timeZone: 'Nowhere/Zone' }, { ack: 'sometimes' }, { acceptBeds: 'OR1' }, { heartbeatS: -1 }]) {
    t.throws(() => new Hl7Session({ options }), { code: 'GW_ERR_HL7_CONFIG' }, JSON.stringify(options));
  }
  t.throws(() => new Hl7Session({ profileId: 'hl7/nope' }), { code: 'GW_ERR_PROFILE_NOT_FOUND' });
  const s = new Hl7Session({ options: { ack: 'none', timeZone: '+0100', acceptBeds: ['OR1^^BED1'], app: 'GW1' } });
  const w: unknown[] = [];
  s.start({ write: (b) => w.push(b) });
  s.onBytes(mllpWrap(ORU), 0);
  t.equal(w.length, 0, 'ack none');
  t.same(s.decoder().stats().errors, { 'other-bed': 1 }, 'no PV1 → not this bed');
});

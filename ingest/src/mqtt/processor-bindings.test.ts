/**
 * The processor follows the registry: a device's readings go to its registered bed, a device of
 * another gateway or a retired one is refused (dead-lettered, counted) while the other devices of
 * the envelope are stored, a partly refused envelope is deduped like any other, bindings are
 * cached per batch, and the gateway status feeds the identity check.
 */
import pino from 'pino';
import t, { type Test } from 'tap';
import { decodeEnvelope, encodeEnvelope, type DeviceBatch, type Envelope } from '../../../schemas/src/envelope.js';
import { IngestError } from '../errors.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { SeriesPoint, SeriesWriter } from '../series/types.js';
import { BatchProcessor } from './processor.js';
import { fixtureDb } from './test-fixtures.js';
import { onlineStatus, streamingDevice } from '../../../test/helpers/status-docs.js';

const T = 'orlink/v1/s1/or1/bed1/gw1';
const signal = () => new AbortController().signal;
const msg = (topic: string, payload: Uint8Array | string) => ({ topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload });

const batch = (deviceId: string, t: number, hr: number): DeviceBatch => ({
  deviceId,
  profileId: 'p',
  alarms: [],
  settings: [],
  waves: [],
  numerics: [{ kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: hr, unit: '/min', t, vendorCode: 'hr' }],
});
const env = (seq: number, devices: DeviceBatch[], gatewayId = 'gw1'): Envelope => ({ gatewayId, bootId: 'boot', seq, sentAt: Date.now(), devices });
const data = (e: Envelope) => msg(`orlink/v1/s1/or1/${e.gatewayId === 'gw1' ? 'bed1' : 'bed2'}/${e.gatewayId}/data`, encodeEnvelope(e));

async function make(t: Test, series: SeriesWriter = new MemorySeriesStore()) {
  const f = await fixtureDb();
  t.teardown(() => f.db.close());
  await f.registry.createGateway({ id: 'gw2', bedId: 'bed2', password: 'secret-2' });
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (s: string) => {
        logs.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  const p = new BatchProcessor({ prefix: 'orlink/v1', ...f, series, logger, retryMinMs: 1, retryMaxMs: 5 });
  return { ...f, p, logs };
}

/** beds the numeric points of a device were stored under */
async function bedsOf(store: MemorySeriesStore, device: string): Promise<string[]> {
  const beds = new Set<string>();
  for (const bed of ['bed1', 'bed2']) {
    const r = await store.query({ bed, from: 0, to: Date.now() + 60_000 });
    if (r.numerics.some((n) => n.device === device)) beds.add(bed);
  }
  return [...beds];
}

t.test("a registered device's readings go to its registered bed; unregistered ones to the gateway's", async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store);
  s.registry.createDevice({ id: 'mon-b', gatewayId: 'gw1', bedId: 'bed2' });
  s.registry.createDevice({ id: 'mon-gw', gatewayId: 'gw1' });
  const now = Date.now();
  const out = await s.p.process([data(env(1, [batch('mon-b', now, 60), batch('mon-gw', now, 61), batch('loose', now, 62)]))], signal());
  t.same(out.ack, [true]);
  t.same(await bedsOf(store, 'mon-b'), ['bed2']);
  t.same(await bedsOf(store, 'mon-gw'), ['bed1'], 'bound to the gateway only: the gateway bed');
  t.same(await bedsOf(store, 'loose'), ['bed1'], 'unregistered: the gateway bed, as before');
  t.same(out.vitals.map((v) => v.topic).sort(), ['orlink/v1/s1/or1/bed1/vitals', 'orlink/v1/s1/or1/bed2/vitals']);
  t.equal(JSON.parse(out.vitals.find((v) => v.topic.includes('bed2'))!.payload).numerics.MDC_ECG_HEART_RATE.device, 'mon-b');
});

t.test('wrong gateway and retired devices are refused; the rest of the envelope is stored; a resend is a duplicate', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store);
  s.registry.createDevice({ id: 'good', gatewayId: 'gw1' });
  s.registry.createDevice({ id: 'foreign', gatewayId: 'gw2' });
  s.registry.createDevice({ id: 'old', gatewayId: 'gw1' });
  s.registry.retireDevice('old', 'scrapped');
  const now = Date.now();
  const e = env(7, [batch('good', now, 70), batch('foreign', now, 71), batch('old', now, 72)]);
  const out = await s.p.process([data(e)], signal());
  t.same(out.ack, [true], 'acked: the accepted part is stored and the refused part recorded');
  t.same(await bedsOf(store, 'good'), ['bed1']);
  t.same(await bedsOf(store, 'foreign'), []);
  t.same(await bedsOf(store, 'old'), []);
  t.equal(s.metrics.get('device_wrong_gateway_total'), 1);
  t.equal(s.metrics.get('device_retired_total'), 1);
  t.equal(s.metrics.get('envelopes_written_total'), 1);
  const dl = s.deadLetters.list().reverse();
  t.same(
    dl.map((d) => d.code),
    ['ING_ERR_DEVICE_WRONG_GATEWAY', 'ING_ERR_DEVICE_RETIRED'],
  );
  t.match(dl[0].reason, /device foreign is registered to gateway gw2, not gw1/);
  t.match(dl[0].reason, /other devices were stored/);
  t.match(dl[1].reason, /device old was retired at .*\(scrapped\)/);
  t.same(
    decodeEnvelope(dl[0].payload).devices.map((d) => d.deviceId),
    ['foreign'],
    'the dead letter holds the refused batch only',
  );
  t.equal(decodeEnvelope(dl[0].payload).seq, 7);
  t.same(
    s.logs.map((l) => [l.msg, l.deviceId, l.code]),
    [
      ['device readings refused by the registry binding', 'foreign', 'ING_ERR_DEVICE_WRONG_GATEWAY'],
      ['device readings refused by the registry binding', 'old', 'ING_ERR_DEVICE_RETIRED'],
    ],
  );

  const again = await s.p.process([data(e)], signal());
  t.same(again.ack, [true]);
  t.equal(s.metrics.get('envelopes_deduped_total'), 1, 'the redelivery is a duplicate');
  t.equal(s.deadLetters.count(), 2, 'and is not dead-lettered twice');
  t.equal(s.metrics.get('device_wrong_gateway_total'), 1);
  const e2 = env(8, [batch('foreign', now + 1000, 73)]);
  await s.p.process([data(e2)], signal());
  t.equal(s.logs.length, 2, 'the warning is rate-limited; the counter carries the rate');
  t.equal(s.metrics.get('device_wrong_gateway_total'), 2);
});

t.test('an envelope whose every device is refused: acked, dead-lettered, deduped, nothing written', async (t) => {
  let writes = 0;
  const inner = new MemorySeriesStore();
  const counting: SeriesWriter = {
    kind: 'c',
    open: async () => {},
    ping: async () => true,
    close: async () => {},
    write: (p) => {
      writes++;
      return inner.write(p);
    },
  };
  const s = await make(t, counting);
  s.registry.createDevice({ id: 'foreign', gatewayId: 'gw2' });
  const e = env(1, [batch('foreign', Date.now(), 50)]);
  t.same((await s.p.process([data(e)], signal())).ack, [true]);
  t.equal(writes, 0);
  t.equal(s.metrics.get('envelopes_dead_lettered_total'), 1);
  t.equal(s.metrics.get('envelopes_written_total'), 0);
  t.equal(s.dedupe.seen({ gatewayId: 'gw1', bootId: 'boot', seq: 1 }), true);
});

t.test('a series data error on a partly refused envelope keeps both reasons', async (t) => {
  const inner = new MemorySeriesStore();
  const picky: SeriesWriter = {
    kind: 'picky',
    open: async () => {},
    ping: async () => true,
    close: async () => {},
    write: async (p: readonly SeriesPoint[]) => {
      if (p.some((x) => x.fields.value === 666)) throw new IngestError('ING_ERR_SERIES_PARTIAL', 'data', 'field type conflict');
      return inner.write(p);
    },
  };
  const s = await make(t, picky);
  s.registry.createDevice({ id: 'foreign', gatewayId: 'gw2' });
  const out = await s.p.process([data(env(1, [batch('bad', Date.now(), 666), batch('foreign', Date.now(), 1)]))], signal());
  t.same(out.ack, [true]);
  t.same(
    s.deadLetters
      .list()
      .map((d) => d.code)
      .sort(),
    ['ING_ERR_DEVICE_WRONG_GATEWAY', 'ING_ERR_SERIES_PARTIAL'],
  );
});

t.test('bindings are cached: no registry look-up per reading; a registry change is seen by the next batch', async (t) => {
  const store = new MemorySeriesStore();
  const s = await make(t, store);
  s.registry.createDevice({ id: 'mon', gatewayId: 'gw1', bedId: 'bed1' });
  const now = Date.now();
  await s.p.process([data(env(1, [batch('mon', now, 60)]))], signal());
  const after1 = s.p.bindings.lookups;
  t.equal(after1, 2, 'one look-up for the gateway, one for the device');
  for (let i = 2; i <= 5; i++)
    await s.p.process([data(env(i, [batch('mon', now + i * 1000, 60 + i)])), data(env(100 + i, [batch('mon', now + i * 1000 + 1, 60)]))], signal());
  t.equal(s.p.bindings.lookups, after1, 'eight more envelopes, no sqlite look-up');
  s.registry.moveDevice('mon', { bedId: 'bed2' });
  await s.p.process([data(env(9, [batch('mon', now + 9000, 99)]))], signal());
  t.equal(s.p.bindings.lookups, after1 + 2, 'reloaded after the change');
  const bed2 = await store.query({ bed: 'bed2', from: 0, to: now + 60_000 });
  t.same(
    bed2.numerics.map((n) => n.value),
    [99],
    'the reading after the move is in the new bed',
  );
});

t.test('retired gateway: data and status dead-lettered; a cleared retained status is acked under any topic', async (t) => {
  const s = await make(t);
  s.registry.moveGateway('gw2', 'bed1');
  s.registry.retireGateway('gw1', 'replaced');
  const out = await s.p.process(
    [
      data(env(1, [batch('x', Date.now(), 1)])),
      msg(`${T}/status`, JSON.stringify({ online: true })),
      msg('orlink/v1/s1/or1/bed2/gw2/status', ''), // gw2's old location, cleared after its move
    ],
    signal(),
  );
  t.same(out.ack, [true, true, true]);
  t.same(
    s.deadLetters.list().map((d) => d.code),
    ['ING_ERR_GATEWAY_RETIRED', 'ING_ERR_GATEWAY_RETIRED'],
  );
  t.equal(s.registry.getGateway('gw1')?.online, null, "a retired gateway's status is not taken");
});

t.test('identity check: the status flags a mismatch once, repeats cost nothing, the gauge counts it', async (t) => {
  const s = await make(t);
  s.registry.createDevice({ id: 'mon1', gatewayId: 'gw1', serial: 'SN-100', model: 'S/5' });
  s.registry.createDevice({ id: 'mon2', gatewayId: 'gw2', serial: 'SN-200' });
  const status = (serial: string) =>
    JSON.stringify(
      onlineStatus(
        { gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'bed1' },
        {
          devices: [
            streamingDevice('mon1', { identity: { vendor: 'GE', model: 'S/5', serial, firmware: '3.2' } }),
            streamingDevice('mon2', { identity: { vendor: 'GE', serial: 'other' } }), // registered to gw2: gw1's report is not taken
            streamingDevice('unknown', { identity: { vendor: 'GE', serial: 'whatever' }, link: 'connecting' }),
          ],
        },
      ),
    );
  await s.p.process([msg(`${T}/status`, status('SN-999'))], signal());
  const d = s.registry.getDevice('mon1');
  t.same(
    d?.identityMismatch.map((m) => [m.field, m.registered, m.reported]),
    [['serial', 'SN-100', 'SN-999']],
  );
  t.same(d?.reportedIdentity && { ...d.reportedIdentity, at: 0 }, { vendor: 'GE', model: 'S/5', serial: 'SN-999', firmware: '3.2', gatewayId: 'gw1', at: 0 });
  t.same(s.registry.getDevice('mon2')?.reportedIdentity, null);
  t.match(await s.metrics.render(), /orlink_ingest_device_identity_mismatch 1\n/);
  const warn = s.logs.filter((l) => l.msg === 'device identity differs from the registry');
  t.same(
    warn.map((l) => [l.deviceId, l.field, l.registered, l.reported]),
    [['mon1', 'serial', 'SN-100', 'SN-999']],
  );
  const at = d?.reportedIdentity?.at;
  await new Promise((r) => setTimeout(r, 5));
  await s.p.process([msg(`${T}/status`, status('SN-999'))], signal());
  t.equal(s.registry.getDevice('mon1')?.reportedIdentity?.at, at, 'an unchanged report is not written again');
  t.equal(s.logs.filter((l) => l.msg === 'device identity differs from the registry').length, 1, 'warned once');
  await s.p.process([msg(`${T}/status`, status('sn-100'))], signal());
  t.same(s.registry.getDevice('mon1')?.identityMismatch, [], 'the device reports the registered serial again: cleared');
  t.match(await s.metrics.render(), /orlink_ingest_device_identity_mismatch 0\n/);
});

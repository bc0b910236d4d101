/** Per-gateway and per-device series from the registry and the stored status documents. */
import t from 'tap';
import { Metrics } from '../metrics.js';
import { fixtureDb } from '../mqtt/test-fixtures.js';
import { parseExposition, samplesOf, valueOf } from './exposition.js';
import { MAX_KINDS, registerFleetMetrics } from './fleet-metrics.js';

const T0 = 1_800_000_000_000;

t.test('gateway and device series', async (t) => {
  const f = await fixtureDb(); // s1/or1/bed1 with gw1
  let now = T0;
  const m = new Metrics({ processMetrics: false });
  registerFleetMetrics(m, f.registry, () => now);
  await f.registry.createGateway({ id: 'gw2', bedId: 'bed2', password: 'secret-2' });
  await f.registry.createGateway({ id: 'gw-old', bedId: 'bed2', password: 'secret-3' });
  f.registry.retireGateway('gw-old', 'replaced');
  f.registry.createDevice({ id: 'mon1', gatewayId: 'gw1', bedId: 'bed1' });
  f.registry.createDevice({ id: 'pump1', gatewayId: 'gw1', bedId: 'bed1' });
  f.registry.createDevice({ id: 'mon-retired', gatewayId: 'gw1', bedId: 'bed1' });
  f.registry.retireDevice('mon-retired', 'broken');
  f.registry.createDevice({ id: 'spare' }); // bound to no gateway
  const scrape = async () => parseExposition(await m.render());
  const gw1 = { gateway: 'gw1', site: 's1', room: 'or1', bed: 'bed1' };

  let e = await scrape();
  t.same(
    samplesOf(e, 'orlink_gateway_up')
      .map((s) => [s.labels.gateway, s.value])
      .sort(),
    [
      ['gw1', 0],
      ['gw2', 0],
    ],
    'registered, not retired; never seen: 0',
  );
  t.same(samplesOf(e, 'orlink_gateway_last_seen_seconds'), [], 'never seen: no age');
  t.same(
    samplesOf(e, 'orlink_device_link_up')
      .map((s) => s.labels.device)
      .sort(),
    ['mon1', 'pump1'],
    'registered, bound, not retired',
  );
  t.equal(e.types.get('orlink_device_decode_errors_total'), 'counter');

  const kinds: Record<string, number> = { crc: 3, 'second-sender-refused': 1, 'bad kind with spaces': 9, negative: -1 };
  for (let i = 0; i < MAX_KINDS + 5; i++) kinds[`k${String(i).padStart(2, '0')}`] = i;
  f.registry.updateGatewayStatus('gw1', T0, true, {
    schema: 1,
    online: true,
    gatewayId: 'gw1',
    t: T0,
    outbox: { kind: 'file', records: 12, bytes: 3400 },
    devices: [
      { id: 'mon1', link: 'streaming', lastFrameAt: T0 - 2_000, errorsByKind: kinds },
      { id: 'pump1', link: 'stalled', lastFrameAt: T0 - 60_000, errorsByKind: {} },
      { id: 'unregistered', link: 'streaming', lastFrameAt: T0, errorsByKind: { crc: 1 } },
    ],
  });
  now = T0 + 5_000;
  e = await scrape();
  t.equal(valueOf(e, 'orlink_gateway_up', gw1), 1);
  t.same(samplesOf(e, 'orlink_gateway_up', { gateway: 'gw1' })[0].labels, gw1, 'labels: gateway, site, room, bed');
  t.equal(valueOf(e, 'orlink_gateway_last_seen_seconds', gw1), 5);
  t.equal(valueOf(e, 'orlink_gateway_outbox_records', gw1), 12);
  t.equal(valueOf(e, 'orlink_gateway_outbox_bytes', gw1), 3400);
  t.equal(valueOf(e, 'orlink_device_link_up', { device: 'mon1' }), 1);
  t.equal(valueOf(e, 'orlink_device_link_up', { device: 'pump1' }), 0, 'stalled is not up');
  t.same(samplesOf(e, 'orlink_device_link_up', { device: 'mon1' })[0].labels, { ...gw1, device: 'mon1' });
  t.equal(valueOf(e, 'orlink_device_last_reading_age_seconds', { device: 'mon1' }), 7);
  t.equal(valueOf(e, 'orlink_device_last_reading_age_seconds', { device: 'pump1' }), 65);
  t.same(samplesOf(e, 'orlink_device_link_up', { device: 'unregistered' }), [], 'a device only the gateway knows: no series');
  const errs = samplesOf(e, 'orlink_device_decode_errors_total', { device: 'mon1' });
  t.equal(errs.length, MAX_KINDS, 'kinds capped');
  t.equal(valueOf(e, 'orlink_device_decode_errors_total', { device: 'mon1', kind: 'crc' }), 3);
  t.notOk(
    errs.some((s) => s.labels.kind.includes(' ') || s.labels.kind === 'negative'),
    'malformed kinds and negative counts left out',
  );
  t.same(samplesOf(e, 'orlink_device_decode_errors_total', { device: 'unregistered' }), []);

  // the last will replaces the document: offline, no outbox known, devices not up; ages keep growing
  f.registry.updateGatewayStatus('gw1', T0 + 10_000, false, { schema: 1, online: false, reason: 'lwt', gatewayId: 'gw1' });
  now = T0 + 70_000;
  e = await scrape();
  t.equal(valueOf(e, 'orlink_gateway_up', gw1), 0);
  t.equal(valueOf(e, 'orlink_gateway_last_seen_seconds', gw1), 60);
  t.equal(valueOf(e, 'orlink_gateway_outbox_records', gw1), undefined);
  t.equal(valueOf(e, 'orlink_device_link_up', { device: 'mon1' }), 0);
  t.equal(valueOf(e, 'orlink_device_last_reading_age_seconds', { device: 'mon1' }), undefined, 'nothing reported in a last will');

  // a retired gateway's series disappear (bounded: only what the registry holds as active)
  f.registry.retireGateway('gw2', 'moved out');
  e = await scrape();
  t.same(samplesOf(e, 'orlink_gateway_up', { gateway: 'gw2' }), []);
  f.db.close();
});

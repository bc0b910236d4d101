import t from 'tap';
import { MemorySeriesStore } from '../series/memory.js';
import type { Envelope } from '../../../schemas/src/envelope.js';
import { envelopeToSourcedPoints, numericPoint, seriesKeyOf, storedToPoint } from '../series/layout.js';
import { ContentIndex, UNVERIFIED, type ContentIndexOptions } from './content-index.js';
import { contentOf, seriesKey } from './reading-identity.js';

const where = { site: 's', room: 'r', bed: 'b' };
const point = (t: number, value: number, vendorCode = 'hr') =>
  numericPoint({ kind: 'numeric', mdc: null, code: null, value, unit: '', t, vendorCode }, { ...where, device: 'd' });
const opts = (o: Partial<ContentIndexOptions>): ContentIndexOptions => ({
  windowMs: 60_000,
  futureAllowanceMs: 3_600_000,
  maxEntriesPerBed: 1000,
  lookupSpanMs: 60_000,
  maxLookupsPerBatch: 4,
  reader: null,
  ...o,
});

t.test('a bed is loaded once from the store; stored and recorded points are answered from memory', async (t) => {
  const store = new MemorySeriesStore();
  const now = 1_800_000_000_000;
  await store.write([point(now - 1000, 60)]);
  const learned: string[] = [];
  const idx = new ContentIndex(opts({ reader: store, onSeries: (k) => learned.push(k) }));
  await idx.prepare('b', [now - 1000, now], now);
  const p = point(now - 1000, 0);
  t.equal(idx.stored('b', seriesKey(p), now - 1000), contentOf(point(now - 1000, 60)));
  t.not(contentOf(point(now - 1000, 60)), contentOf(point(now - 1000, 60.000000001)));
  t.equal(idx.stored('b', seriesKey(p), now), undefined);
  t.same(learned, [seriesKey(p)], 'the series found is reported (series budget)');
  idx.record('b', seriesKey(p), now, contentOf(point(now, 61)), now);
  t.equal(idx.stored('b', seriesKey(p), now), contentOf(point(now, 61)));
  idx.forget('b', seriesKey(p), now);
  t.equal(idx.stored('b', seriesKey(p), now), undefined);
  t.same(idx.stats, { loads: 1, lookups: 0, rowsRead: 1, evictions: 0 });
});

t.test('over its entry bound a bed drops its oldest bucket: those times are looked up again, never answered wrongly', async (t) => {
  const store = new MemorySeriesStore();
  const now = 1_800_000_000_000;
  const idx = new ContentIndex(opts({ reader: store, maxEntriesPerBed: 100, windowMs: 600_000 }));
  await idx.prepare('b', [], now);
  const pts = Array.from({ length: 300 }, (_, i) => point(now - 300_000 + i * 1000, i));
  await store.write(pts);
  for (const p of pts) idx.record('b', seriesKey(p), p.time, contentOf(p), now);
  await idx.prepare(
    'b',
    pts.map((p) => p.time),
    now,
  );
  t.ok(idx.stats.evictions > 0, 'evicted');
  t.ok(idx.stats.lookups > 0, 'the evicted times were looked up');
  for (const p of pts) if (idx.stored('b', seriesKey(p), p.time) !== contentOf(p)) t.fail(`wrong answer at ${p.time}`);
  t.ok(idx.entries <= 100 + 300, 'bounded');
});

t.test('without a reader, older times are unverified', async (t) => {
  const now = 1_800_000_000_000;
  const idx = new ContentIndex(opts({}));
  await idx.prepare('b', [now - 3_600_000, now], now);
  const k = seriesKey(point(now, 1));
  t.equal(idx.stored('b', k, now - 3_600_000), UNVERIFIED);
  t.equal(idx.stored('b', k, now), undefined);
});

t.test('series key and content of every kind survive the store: what is read back matches what was written', async (t) => {
  const now = 1_800_000_000_000;
  const env: Envelope = {
    gatewayId: 'g',
    bootId: 'x',
    seq: 1,
    sentAt: now,
    devices: [
      {
        deviceId: 'd',
        profileId: 'p',
        status: { link: 'streaming' },
        numerics: [
          { kind: 'numeric', mdc: 'MDC_A', code: 1, value: 36.6, unit: 'Cel', t: now, vendorCode: 'temp' },
          { kind: 'numeric', mdc: null, code: null, value: null, unit: '', t: now, vendorCode: 'raw' },
          { kind: 'numeric', mdc: null, code: null, value: 1, unit: '', t: now + 1, vendorCode: '' },
        ],
        waves: [
          { kind: 'wave', mdc: null, code: null, unit: 'mV', t0: now, rateHz: 4, scale: 0.005, offset: -1, vendorCode: 'ecg', samples: [0.1, null, -0.35, 2] },
        ],
        alarms: [
          { kind: 'alarm', mdc: 'MDC_EVT_X', code: 9, text: 'HR high', priority: 'high', source: 'physiological', phase: 'start', t: now },
          { kind: 'alarm', mdc: null, code: null, text: 'Lead off', priority: 'low', source: 'technical', phase: 'start', t: now, vendorCode: 'LO' },
          { kind: 'alarm', mdc: null, code: null, text: 'Something', priority: 'medium', source: 'technical', phase: 'end', t: now },
        ],
        settings: [
          { kind: 'setting', name: 'mode', value: 'VC', t: now },
          { kind: 'setting', name: 'peep', value: 5, unit: 'cm[H2O]', t: now },
          { kind: 'setting', name: 'off', value: null, t: now },
        ],
      },
    ],
  };
  const sourced = envelopeToSourcedPoints(env, where);
  for (const s of sourced) t.equal(s.series, seriesKeyOf(s.point), `prefix-built key of ${s.point.measurement}`);
  const store = new MemorySeriesStore();
  await store.write(sourced.map((s) => s.point));
  const r = await store.query({ bed: 'b', from: now - 1, to: now + 2 });
  const back = new Map(
    [...r.numerics, ...r.waves, ...r.alarms, ...r.settings].map((o) => {
      const p = storedToPoint(o);
      return [`${seriesKeyOf(p)}@${p.time}`, contentOf(p)];
    }),
  );
  const readings = sourced.filter((s) => s.obs);
  t.equal(back.size, readings.length);
  for (const s of readings) t.equal(back.get(`${s.series}@${s.point.time}`), contentOf(s.point), `${s.point.measurement} ${s.series}`);
});

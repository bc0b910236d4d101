/**
 * Timeline paging (caseTimeline over the memory store): pages partition the window on time, so
 * concatenating them gives exactly the one-page answer — across a move between beds, with alarms
 * and settings, with more items than the limit in one millisecond; a window that fits stays one page.
 */
import t from 'tap';
import type { Envelope } from '../../../schemas/src/envelope.js';
import type { Case } from '../cases/case-store.js';
import { envelopeToPoints } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';
import { caseTimeline, type Timeline, type TimelineOptions } from './timeline.js';

const T = 1_700_000_000_000;
const where = (bed: string) => ({ site: 's', room: 'r', bed });

/** `n` seconds from `from` on `bed`: `params` numerics per device per second, an alarm every 7 s, a setting every 11 s. */
async function record(store: MemorySeriesStore, bed: string, from: number, n: number, params: number, devices = ['mon', 'vent']) {
  for (let i = 0; i < n; i++) {
    const t = from + i * 1000;
    const env: Envelope = {
      gatewayId: 'gw',
      bootId: 'b',
      seq: i,
      sentAt: t,
      devices: devices.map((d) => ({
        deviceId: d,
        profileId: 'p',
        numerics: Array.from({ length: params }, (_, k) => ({
          kind: 'numeric' as const,
          mdc: `MDC_P${k}`,
          code: k,
          value: i * 10 + k,
          unit: '1',
          t,
          vendorCode: `p${k}`,
        })),
        waves: [{ kind: 'wave' as const, mdc: 'MDC_W', code: 1, unit: 'mV', t0: t, rateHz: 2, scale: 1, offset: 0, vendorCode: 'w', samples: [i, -i] }],
        alarms:
          i % 7 === 0
            ? [
                {
                  kind: 'alarm' as const,
                  mdc: null,
                  code: null,
                  text: `a${i}`,
                  priority: 'low' as const,
                  source: 'technical' as const,
                  phase: 'start' as const,
                  t,
                },
              ]
            : [],
        settings: i % 11 === 0 ? [{ kind: 'setting' as const, name: 'PEEP', value: i, unit: 'cm[H2O]', t }] : [],
      })),
    };
    await store.write(envelopeToPoints(env, where(bed)));
  }
}

const kase = (bindings: Case['bindings'], end: number | null): Case => ({
  id: 'c1',
  bedId: bindings[bindings.length - 1].bed,
  start: bindings[0].from,
  end,
  status: end === null ? 'open' : 'closed',
  externalIds: {},
  createdAt: T,
  bindings,
});

const opts = (o: Partial<TimelineOptions>): TimelineOptions => ({
  maxWaveWindowMs: 300_000,
  maxWindowMs: 7 * 86_400_000,
  now: T + 86_400_000,
  limit: 100_000,
  ...o,
});

/** follows nextCursor (at most maxPages) and concatenates the pages */
async function allPages(c: Case, store: MemorySeriesStore, o: Partial<TimelineOptions>, maxPages = 500) {
  const pages: Timeline[] = [];
  let cursor: string | undefined;
  do {
    const p = await caseTimeline(c, store, opts({ ...o, cursor }));
    pages.push(p);
    cursor = p.nextCursor;
  } while (cursor !== undefined && pages.length < maxPages);
  const numerics = new Map<string, [number, number | null][]>();
  for (const p of pages) {
    for (const n of p.numerics) {
      const key = `${n.device}/${n.mdc}/${n.vendorCode}`;
      const pts = numerics.get(key) ?? [];
      for (const pt of n.points) pts.push(pt);
      numerics.set(key, pts);
    }
  }
  return {
    pages,
    done: cursor === undefined,
    numerics,
    alarms: pages.flatMap((p) => p.alarms),
    settings: pages.flatMap((p) => p.settings),
    blocks: pages.flatMap((p) => p.waves.flatMap((w) => w.blocks.map((b) => `${w.device}@${b.t0}`))),
  };
}

const asMap = (tl: Timeline) => new Map(tl.numerics.map((n) => [`${n.device}/${n.mdc}/${n.vendorCode}`, n.points]));

t.test('a window that fits in one page is answered as before: no nextCursor', async (t) => {
  const store = new MemorySeriesStore();
  await record(store, 'b1', T, 30, 2);
  const c = kase([{ bed: 'b1', from: T, to: null }], null);
  const tl = await caseTimeline(c, store, opts({ to: T + 29_000 }));
  t.equal(tl.nextCursor, undefined);
  t.same(Object.keys(tl).sort(), ['alarms', 'case', 'from', 'numerics', 'settings', 'to', 'waves']);
  t.equal(tl.numerics.length, 4);
  t.equal(tl.numerics[0].points.length, 30);
  const exact = await caseTimeline(c, store, opts({ to: T + 29_000, limit: 120 }));
  t.equal(exact.nextCursor, undefined, 'exactly `limit` items of a kind: one page...');
  const over = await caseTimeline(c, store, opts({ to: T + 29_000, limit: 119 }));
  t.ok(over.nextCursor, '...and one more than fits: a second page');
});

t.test('pages partition the window: concatenated they equal the one-page answer, across a move', async (t) => {
  const store = new MemorySeriesStore();
  await record(store, 'b1', T, 80, 3);
  await record(store, 'b2', T, 80, 3, ['mon', 'other']);
  const c = kase(
    [
      { bed: 'b1', from: T, to: T + 50_000 },
      { bed: 'b2', from: T + 50_000, to: T + 80_000 },
    ],
    T + 80_000,
  );
  for (const withWaves of [false, true]) {
    const o = { from: T + 3000, maxWaveWindowMs: withWaves ? 300_000 : 1000 };
    const one = await caseTimeline(c, store, opts(o));
    t.equal(one.nextCursor, undefined);
    const paged = await allPages(c, store, { ...o, limit: 25 });
    t.ok(paged.done, 'the last page has no nextCursor');
    t.ok(paged.pages.length > 10, `${paged.pages.length} pages`);
    t.same(paged.numerics, asMap(one), 'every numeric point once, in order');
    t.same(paged.alarms, one.alarms);
    t.same(paged.settings, one.settings);
    t.same(paged.blocks.sort(), one.waves.flatMap((w) => w.blocks.map((b) => `${w.device}@${b.t0}`)).sort(), 'every wave block once');
    t.equal(paged.blocks.length, withWaves ? 154 : 0);
    t.ok(
      paged.pages.every((p) => p.numerics.reduce((s, n) => s + n.points.length, 0) <= 25 && p.alarms.length <= 25),
      'no page holds more than limit of a kind',
    );
    t.ok(
      paged.pages.every((p) => p.from === T + 3000 && p.to === T + 80_000),
      'every page states the same window',
    );
    const mon = paged.numerics.get('mon/MDC_P0/p0') ?? [];
    t.same(mon.map((p) => p[1]).slice(45, 49), [480, 490, 500, 510], 'b1 up to the move, b2 from it: one series');
    t.notOk(paged.numerics.has('other/MDC_P0/p0') && paged.numerics.get('other/MDC_P0/p0')?.some((p) => p[0] < T + 50_000), 'b2 only from the move');
  }
});

t.test('more items than the limit in one millisecond: that millisecond is a page of its own', async (t) => {
  const store = new MemorySeriesStore();
  await record(store, 'b1', T, 6, 10); // 2 devices × 10 params = 20 numerics per second
  const c = kase([{ bed: 'b1', from: T, to: null }], null);
  const paged = await allPages(c, store, { to: T + 5000, limit: 7 });
  t.ok(paged.done);
  t.same(
    paged.pages.map((p) => p.numerics.reduce((s, n) => s + n.points.length, 0)),
    [20, 20, 20, 20, 20, 20],
  );
  t.same(
    paged.pages.map((p) => p.nextCursor),
    ['1700000000001', '1700000001001', '1700000002001', '1700000003001', '1700000004001', undefined],
  );
  const mixed = await allPages(c, store, { to: T + 5000, limit: 30 });
  t.same(
    mixed.pages.map((p) => p.numerics.reduce((s, n) => s + n.points.length, 0)),
    [20, 20, 20, 20, 20, 20],
  );
  t.same(mixed.numerics, asMap(await caseTimeline(c, store, opts({ to: T + 5000 }))));
});

t.test('the cursor must lie in the window', async (t) => {
  const store = new MemorySeriesStore();
  const c = kase([{ bed: 'b1', from: T, to: null }], null);
  await t.rejects(caseTimeline(c, store, opts({ to: T + 5000, cursor: String(T + 5001) })), { code: 'ING_ERR_BAD_REQUEST' });
  await t.rejects(caseTimeline(c, store, opts({ from: T + 10, to: T + 5000, cursor: String(T) })), { code: 'ING_ERR_BAD_REQUEST' });
  const last = await caseTimeline(c, store, opts({ to: T + 5000, cursor: String(T + 5000) }));
  t.same(last.numerics, []);
});

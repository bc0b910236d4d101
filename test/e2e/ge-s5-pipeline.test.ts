/**
 * End to end, on real components: a simulated GE S/5 on a pty (socat) → gateway (serialport,
 * GE DRI session, file outbox, MQTT QoS 1) → embedded aedes → ingest (acks after the write) →
 * Debian's InfluxDB → GET /cases/:id/timeline. The timeline must return exactly the values, at
 * exactly the times, that the simulator put on the wire: nothing lost, nothing invented.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startStack, type OrRig } from '../../cli/stack.js';
import type { Produced, ProducedNumeric, ProducedWave } from '../../simulators/src/index.js';

interface TimelineNumeric {
  mdc: string | null;
  vendorCode: string;
  device: string;
  points: [number, number | null][];
}
interface TimelineWave {
  mdc: string | null;
  device: string;
  rateHz: number;
  blocks: { t0: number; samples: (number | null)[] }[];
}
interface Timeline {
  numerics: TimelineNumeric[];
  waves: TimelineWave[];
}

const RUN_MS = 9_000;
const DRAIN_DEADLINE_MS = 30_000;

/** Samples keyed by their index on the channel's own sample clock (exact for contiguous streams). */
function sampleMap(blocks: { t0: number; samples: (number | null)[] }[], rateHz: number, origin: number): Map<number, number | null> {
  const m = new Map<number, number | null>();
  for (const b of blocks) {
    const first = Math.round(((b.t0 - origin) * rateHz) / 1000);
    b.samples.forEach((s, i) => m.set(first + i, s));
  }
  return m;
}

t.test('S/5 simulator → gateway → aedes → ingest → InfluxDB → case timeline, exact', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const truth = new Map<string, Produced[]>(); // by bed
  let recording = true;
  const stack = await startStack({
    dir,
    ors: 2,
    logger: pino({ level: 'warn' }),
    waves: ['ECG1', 'INVP1', 'PLETH', 'CO2'],
    phdbIntervalS: 1,
    onProduced: (or: OrRig, r: Produced) => {
      if (!recording) return;
      const list = truth.get(or.bed) ?? [];
      list.push(r);
      truth.set(or.bed, list);
    },
  });
  t.teardown(() => stack.close());

  const started = Date.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  // Stop the monitors (no more truth), then give the path time to deliver what is in flight.
  recording = false;
  for (const or of stack.ors) await or.sim.close();

  for (const or of stack.ors) {
    const produced = truth.get(or.bed) ?? [];
    const numerics = produced.filter((r): r is ProducedNumeric => r.kind === 'numeric');
    const waves = produced.filter((r): r is ProducedWave => r.kind === 'wave');
    t.ok(numerics.length >= 50, `${or.room}: simulator produced numerics (${numerics.length})`);
    t.ok(waves.length >= 10, `${or.room}: simulator produced wave blocks (${waves.length})`);

    const kase = await stack.api<{ id: string }>('POST', '/cases', { bed: or.bed, start: started - 60_000 });
    const lastT = Math.max(...numerics.map((n) => n.t), ...waves.map((w) => w.t0 + (w.samples.length * 1000) / w.rateHz));
    const url = `/cases/${kase.id}/timeline?from=${started - 60_000}&to=${lastT + 1000}`;

    // Poll (with a deadline) until every produced reading is queryable.
    const deadline = Date.now() + DRAIN_DEADLINE_MS;
    let tl: Timeline;
    let stored = new Map<string, number | null>();
    for (;;) {
      tl = await stack.api<Timeline>('GET', url);
      stored = new Map();
      for (const n of tl.numerics) for (const [ts, v] of n.points) stored.set(`${n.mdc}|${n.vendorCode}|${ts}`, v);
      const missing = numerics.filter((n) => !stored.has(`${n.mdc}|${n.vendorCode}|${n.t}`)).length;
      if (missing === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    // Numerics: every produced reading stored once with its exact value and time.
    const mismatches: string[] = [];
    let lost = 0;
    for (const n of numerics) {
      const key = `${n.mdc}|${n.vendorCode}|${n.t}`;
      if (!stored.has(key)) {
        lost++;
        continue;
      }
      if (stored.get(key) !== n.value) mismatches.push(`${key}: stored ${stored.get(key)} produced ${n.value}`);
    }
    t.equal(lost, 0, `${or.room}: no numeric lost of ${numerics.length}`, {
      lostKeys: numerics
        .filter((n) => !stored.has(`${n.mdc}|${n.vendorCode}|${n.t}`))
        .slice(0, 8)
        .map((n) => `${n.mdc}|${n.vendorCode}|${n.t}`),
    });
    t.same(mismatches, [], `${or.room}: every numeric has the produced value`);
    // Nothing invented: every stored value in the produced time range was produced.
    const producedKeys = new Set(numerics.map((n) => `${n.mdc}|${n.vendorCode}|${n.t}`));
    const tMin = Math.min(...numerics.map((n) => n.t));
    const tMax = Math.max(...numerics.map((n) => n.t));
    const invented = [...stored.entries()]
      .filter(([k, v]) => v !== null && !producedKeys.has(k))
      .filter(([k]) => {
        const ts = Number(k.split('|')[2]);
        return ts >= tMin && ts <= tMax;
      });
    t.same(invented.slice(0, 5), [], `${or.room}: no stored numeric the simulator did not produce`);
    t.ok(
      tl!.numerics.every((n) => n.device === or.deviceId),
      `${or.room}: data tagged with its own device`,
    );

    // Waves: per channel, every produced sample stored at the same position on the sample clock.
    const byMdc = new Map<string, ProducedWave[]>();
    for (const w of waves) byMdc.set(w.mdc, [...(byMdc.get(w.mdc) ?? []), w]);
    t.ok(byMdc.size >= 4, `${or.room}: four wave channels produced (${[...byMdc.keys()].join(', ')})`);
    for (const [mdc, blocks] of byMdc) {
      const rate = blocks[0].rateHz;
      const origin = Math.min(...blocks.map((b) => b.t0));
      const want = sampleMap(blocks, rate, origin);
      const got = tl!.waves.filter((w) => w.mdc === mdc);
      t.equal(got.length, 1, `${or.room} ${mdc}: one stored channel`);
      t.equal(got[0]?.rateHz, rate, `${or.room} ${mdc}: rate ${rate} Hz`);
      const have = sampleMap(got[0]?.blocks ?? [], rate, origin);
      let missing = 0;
      let wrong = 0;
      for (const [i, v] of want) {
        if (!have.has(i)) missing++;
        else if (have.get(i) !== v) wrong++;
      }
      t.equal(missing, 0, `${or.room} ${mdc}: no sample lost of ${want.size}`);
      t.equal(wrong, 0, `${or.room} ${mdc}: every sample has the produced value at the produced time`);
    }
  }

  const metrics = await stack.ingest.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${stack.adminToken}` } });
  t.match(metrics.body, /orlink_ingest_dead_lettered_total 0|orlink_ingest_envelopes_dead_lettered_total 0/, 'nothing dead-lettered');
});

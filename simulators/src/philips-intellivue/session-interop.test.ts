/** The gateway's IntelliVueSession against the simulated monitor, in process (LAN and serial framing). */
import t from 'tap';
import type { NumericObs, Observation, WaveObs } from '../../../schemas/src/observation.js';
import { frameMessage } from '../../../gateway/src/protocols/philips-intellivue/fcs.js';
import { MibFramer } from '../../../gateway/src/protocols/philips-intellivue/framer.js';
import { IntelliVueSession } from '../../../gateway/src/protocols/philips-intellivue/session.js';
import { IntelliVueMonitor, type MonitorFaults } from './monitor.js';
import type { Produced, ProducedNumeric, ProducedWave } from './truth.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function wire(framing: 'lan' | 'serial', faults: MonitorFaults = {}, options: Record<string, unknown> = {}) {
  const monitor = new IntelliVueMonitor({ seed: 7, faults, clockOffsetMs: 0 });
  const session = new IntelliVueSession({ options: { framing, waves: ['0x0102', '0x4BB4'], ...options } });
  const obs: Observation[] = [];
  const produced: Produced[] = [];
  monitor.on('produced', (p: Produced) => produced.push(p));
  const hostFramer = new MibFramer();
  monitor.on('send', (m: Buffer) => setImmediate(() => obs.push(...session.onBytes(framing === 'serial' ? frameMessage(m) : m, Date.now()))));
  session.start({
    write: (b) => {
      const msgs = framing === 'serial' ? hostFramer.push(b) : [Buffer.from(b)];
      for (const m of msgs) setImmediate(() => monitor.receive(m));
    },
  });
  const timer = setInterval(() => session.tick(Date.now()), 100);
  return {
    monitor,
    session,
    obs,
    produced,
    stop: () => {
      clearInterval(timer);
      session.stop();
      monitor.close();
    },
  };
}

for (const framing of ['lan', 'serial'] as const) {
  t.test(`${framing}: association, numerics, waves and alerts equal the produced truth`, async (t) => {
    const w = wire(framing, { alarm: true });
    t.teardown(w.stop);
    await until(() => w.produced.filter((p) => p.kind === 'numeric').length >= 24 && w.obs.some((o) => o.kind === 'wave'));
    await new Promise((r) => setTimeout(r, 50));
    t.equal(w.session.state(), 'running');
    t.same(w.session.decoder().identity(), { vendor: 'Philips', model: 'MX800', firmware: 'M.00.03' });
    t.equal(w.session.decoder().profileId(), 'philips/intellivue-mx/data-export');
    const nums = w.obs.filter((o): o is NumericObs => o.kind === 'numeric');
    for (const p of w.produced.filter((x): x is ProducedNumeric => x.kind === 'numeric').slice(0, 24)) {
      const o = nums.find((n) => n.vendorCode === p.vendorCode && n.t === p.t);
      if (!o) {
        t.fail(`no observation for ${p.vendorCode} at ${p.t}`);
        continue;
      }
      t.same([o.value, o.unit], [p.value, p.unit], `${p.vendorCode} ${o.mdc}`);
    }
    const waves = w.obs.filter((o): o is WaveObs => o.kind === 'wave');
    const pw = w.produced.filter((x): x is ProducedWave => x.kind === 'wave');
    t.same([...new Set(pw.map((p) => p.vendorCode))].sort(), ['0x0102', '0x4BB4'], 'only the RTSA-listed waves are sent');
    for (const p of pw.slice(0, 4)) {
      const o = waves.find((x) => x.vendorCode === p.vendorCode && x.t0 === p.t0);
      t.ok(o, `wave ${p.vendorCode} at ${p.t0}`);
      if (o) t.same([o.samples, o.rateHz], [p.samples, p.rateHz]);
    }
    const alarms = w.obs.filter((o) => o.kind === 'alarm');
    t.same(
      alarms.map((a) => a.kind === 'alarm' && [a.text, a.priority, a.phase]),
      [['**HR HIGH', 'high', 'start']],
    );
    t.same(w.session.decoder().stats().errors, {});
  });
}

t.test('a refusing monitor is reported in identity and not hammered', async (t) => {
  const w = wire('lan', { refuse: true }, { refuseRetryS: 30 });
  t.teardown(w.stop);
  await until(() => w.session.state() === 'refused');
  await new Promise((r) => setTimeout(r, 400));
  t.equal(w.monitor.counters.aarq, 1, 'one AARQ, no fast retry loop');
  t.equal(w.session.decoder().identity()?.protocolLevel, 'association-refused');
  t.equal(w.session.decoder().stats().errors['association-refused'], 1);
});

t.test('monitor abort (keep-alive lapse or restart) leads to a re-association', async (t) => {
  const w = wire('lan');
  t.teardown(w.stop);
  await until(() => w.session.state() === 'running');
  w.monitor.abort();
  await until(() => (w.monitor.counters.aarq ?? 0) >= 2);
  await until(() => w.session.state() === 'running');
  t.equal(w.session.decoder().stats().errors['monitor-abort'], 1);
  const before = w.obs.length;
  await until(() => w.obs.length > before);
  t.pass('data flows again after re-association');
});

/**
 * Profile `auto` in a session: no command that changes the device's configuration unless the
 * options ask, and through the gateway's device session runner (DeviceSession + an in-memory
 * link) the same observations as the explicit profile, with identity and profile reported once
 * the format is proven.
 */
import t from 'tap';
import type { DeviceConfig } from '../../../../schemas/src/gateway-config.js';
import type { Observation } from '../../../../schemas/src/observation.js';
import { silentLogger } from '../../log.js';
import { DeviceSession, type DeviceSessionStatus } from '../../session/device-session.js';
import { MemoryLink } from '../../transports/memory.js';
import { encodeSelectFormat, type DataFormat } from './frame.js';
import { nonin, NoninSession } from './index.js';
import { stream } from './test-streams.js';

const PROFILE: Record<DataFormat, string> = { 2: 'nonin/oem-iii/format2', 7: 'nonin/onyx-ii-9560/format7', 8: 'nonin/wristox2-3150/format8' };

function commandsOf(opts: ConstructorParameters<typeof NoninSession>[0]): number[][] {
  const w: Buffer[] = [];
  const s = new NoninSession({ now: () => 0, ...opts });
  s.start({ write: (b) => w.push(Buffer.from(b)) });
  s.tick(60_000);
  return w.map((b) => [...b]);
}

t.test('auto sends no command unless the options ask for one, and then only with a format', async (t) => {
  t.same(commandsOf({ profileId: 'auto' }), [], 'auto');
  t.same(commandsOf({}), [], 'no profile');
  for (const f of [7, 8])
    t.same(commandsOf({ options: { dataFormat: f } }), [], `auto + dataFormat ${f}: its profile says selectFormat, auto does not follow it`);
  t.same(
    commandsOf({ options: { dataFormat: 8, selectFormat: true } }),
    [[...encodeSelectFormat(8)], [...encodeSelectFormat(8)]],
    'auto + selectFormat + dataFormat: the command, retried while no frame comes',
  );
  t.same(
    commandsOf({ profileId: PROFILE[7] }),
    [[...encodeSelectFormat(7)], [...encodeSelectFormat(7)]],
    'an explicit profile that says selectFormat: as before',
  );
  t.same(commandsOf({ profileId: PROFILE[7], options: { selectFormat: false } }), [], 'explicit profile, selectFormat false');
  t.throws(() => new NoninSession({ options: { selectFormat: true } }), { code: 'GW_ERR_NONIN_CONFIG', message: /needs option dataFormat/ });
  t.throws(() => new NoninSession({ options: { dataFormat: 9 } }), { code: 'GW_ERR_NONIN_CONFIG' });
  t.throws(() => new NoninSession({ options: { dataFormat: '7' } }), { code: 'GW_ERR_NONIN_CONFIG' });
  t.throws(() => new NoninSession({ options: { selectFormat: 'yes' } }), { code: 'GW_ERR_NONIN_CONFIG' });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A DeviceSession running the Nonin driver on a memory link; `clock` is the receive time. */
async function runner(
  profile: string,
): Promise<{ s: DeviceSession; link: () => MemoryLink; got: Observation[]; changes: DeviceSessionStatus[]; clock: { now: number } }> {
  const clock = { now: 1_700_000_000_000 };
  const links: MemoryLink[] = [];
  const got: Observation[] = [];
  const changes: DeviceSessionStatus[] = [];
  const config: DeviceConfig = {
    id: 'oxi',
    protocol: 'nonin',
    profile,
    transport: { kind: 'tcp', host: '127.0.0.1', port: 1 },
    options: {},
    watchdogMs: 60_000,
    timeBase: 'gateway',
    clockToleranceMs: 5000,
  };
  const s = new DeviceSession({
    config,
    protocol: nonin,
    logger: silentLogger(),
    tickMs: 20,
    now: () => clock.now,
    backoff: { baseMs: 5, maxMs: 40 },
    linkFactory: () => {
      const l = new MemoryLink(`n${links.length}`);
      links.push(l);
      return l;
    },
    sink: (_id, obs) => got.push(...obs),
    onChange: (st) => changes.push(st),
  });
  s.start();
  await until(() => s.status().link === 'identifying');
  return { s, link: () => links.at(-1)!, got, changes, clock };
}

/** The device sends one packet (#2/#7) or second (#8) per chunk, each at its end. */
function send(r: { link: () => MemoryLink; clock: { now: number } }, b: Buffer, f: DataFormat, from = 0, to = Infinity): void {
  const unit = f === 8 ? 4 : 125;
  for (let i = from; i < Math.min(to, b.length / unit); i++) {
    r.clock.now += f === 8 ? 1000 : 333;
    r.link().deviceSend(b.subarray(i * unit, (i + 1) * unit));
  }
}

for (const f of [2, 7, 8] as const) {
  t.test(`runner, #${f}: auto identifies, then publishes what the explicit profile publishes`, async (t) => {
    const b = stream(f, f === 8 ? 10 : 8, 100 + f);
    const auto = await runner('auto');
    const ref = await runner(PROFILE[f]);
    t.teardown(() => Promise.all([auto.s.stop(), ref.s.stop()]));
    const proofUnits = f === 8 ? 4 : 2;
    send(auto, b, f, 0, proofUnits - 1);
    t.same(
      [auto.s.status().link, auto.s.status().profile, auto.s.status().identity, auto.got],
      ['identifying', undefined, undefined, []],
      'before the proof: identifying, nothing published',
    );
    send(auto, b, f, proofUnits - 1);
    send(ref, b, f);
    const st = auto.s.status();
    t.equal(st.link, 'streaming');
    t.equal(st.profile, PROFILE[f], 'profile reported');
    t.same(
      st.identity,
      { vendor: 'Nonin', protocolLevel: `format-${f}`, ...(f === 8 ? {} : { firmware: ref.s.status().identity!.firmware }) },
      'identity: the format (no model)',
    );
    t.ok(
      auto.changes.some((c) => c.profile === PROFILE[f]),
      'the change was announced (status republish)',
    );
    t.same(
      auto.got.map((o) => JSON.stringify(o)),
      ref.got.map((o) => JSON.stringify(o)),
      `${auto.got.length} observations equal the explicit profile's (values, waves, times)`,
    );
    t.same([st.frames, st.errorsByKind], [ref.s.status().frames, ref.s.status().errorsByKind]);
    t.equal(st.bytesTx, 0, 'auto wrote nothing to the device');
    t.equal(auto.link().written.length, 0);
  });
}

t.test('runner: the device switches #2 → #8 mid-stream; the undecided bytes of a link that goes are counted', async (t) => {
  const r = await runner('auto');
  t.teardown(() => r.s.stop());
  send(r, stream(2, 6, 110), 2);
  t.equal(r.s.status().profile, PROFILE[2]);
  const before = r.got.length;
  send(r, stream(8, 6, 111), 8);
  const st = r.s.status();
  t.equal(st.profile, PROFILE[8], 'the new format is reported');
  t.equal(st.errorsByKind['format-changed'], 1);
  t.same(
    r.changes.map((c) => c.profile).filter((p, i, a) => p && p !== a[i - 1]),
    [PROFILE[2], PROFILE[8]],
    'both announced',
  );
  t.equal(r.got.slice(before).filter((o) => o.kind === 'numeric').length, 12, 'the 6 seconds after the switch: HR and SpO2 each');
  const q = await runner('auto');
  send(q, stream(8, 2, 112), 8);
  await q.s.stop();
  t.same(q.s.status().errorsByKind, { 'format-undetermined': 8 }, 'stop: 2 seconds held undecided, counted');
});

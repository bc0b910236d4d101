import t from 'tap';
import type { Observation } from '../../../schemas/src/observation.js';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import { MemoryLink } from '../transports/memory.js';
import { silentLogger } from '../log.js';
import { DeviceSession, type DeviceSessionStatus } from './device-session.js';
import { Backoff } from './backoff.js';
import { fakeProtocol } from './testdata/fake-protocol.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function setup(over: Partial<DeviceConfig> = {}, failOpens = 0, now?: () => number) {
  const links: MemoryLink[] = [];
  const got: Observation[] = [];
  const states: string[] = [];
  const tap = { rx: [] as string[], tx: [] as string[], notes: [] as string[] };
  const config: DeviceConfig = {
    id: 'mon1',
    protocol: 'fake-line',
    profile: 'auto',
    transport: { kind: 'tcp', host: '127.0.0.1', port: 1 },
    options: {},
    watchdogMs: 10_000,
    timeBase: 'gateway',
    clockToleranceMs: 5000,
    ...over,
  };
  let pendingFails = failOpens;
  const s = new DeviceSession({
    config,
    protocol: fakeProtocol,
    logger: silentLogger(),
    tickMs: 20,
    ...(now ? { now } : {}),
    backoff: { baseMs: 5, maxMs: 40 },
    linkFactory: () => {
      const l = new MemoryLink(`l${links.length}`);
      if (pendingFails > 0) {
        pendingFails--;
        l.failOpens = 1;
      }
      links.push(l);
      return l;
    },
    sink: (id, obs) => {
      if (id === 'mon1') got.push(...obs);
    },
    recorder: {
      rx: (c) => tap.rx.push(Buffer.from(c).toString()),
      tx: (c) => tap.tx.push(Buffer.from(c).toString()),
      note: (n) => tap.notes.push(n),
    },
    onChange: (st: DeviceSessionStatus) => {
      if (states.at(-1) !== st.link) states.push(st.link);
    },
  });
  const cur = () => links.at(-1)!;
  return { s, links, got, states, tap, cur };
}

t.test('connect → identify → stream; observations, identity and counters', async (t) => {
  const { s, got, states, tap, cur } = setup();
  s.start();
  await until(() => s.status().link === 'identifying');
  t.equal(cur().written[0].toString(), 'START\n');
  cur().deviceSend(Buffer.from('ID ge s5 2003\nN hr 8'));
  cur().deviceSend(Buffer.from('0\nW ecg 100 1,2,3\nxx\n'));
  await until(() => s.status().link === 'streaming');
  t.same(
    got.map((o) => o.kind),
    ['numeric', 'wave'],
  );
  t.equal((got[0] as any).value, 80);
  const st = s.status();
  t.equal(st.profile, 'ge/s5');
  t.same(st.identity, { vendor: 'ge', model: 's5', firmware: '2003' });
  t.equal(st.clockOffsetMs, -42);
  t.equal(st.frames, 3);
  t.same(st.errorsByKind, { garbage: 1 });
  t.equal(st.bytesRx, 'ID ge s5 2003\nN hr 8'.length + '0\nW ecg 100 1,2,3\nxx\n'.length);
  t.equal(st.bytesTx, 6);
  t.equal(st.observations, 2);
  t.same(states, ['connecting', 'identifying', 'streaming']);
  t.same(tap.tx, ['START\n']);
  t.equal(tap.rx.join(''), 'ID ge s5 2003\nN hr 80\nW ecg 100 1,2,3\nxx\n');
  await s.stop();
  t.equal(cur().written.at(-1)!.toString(), 'STOP\n', 'driver.stop sent its stop request before close');
  t.equal(cur().isOpen, false);
  t.equal(s.status().link, 'down');
});

t.test('failed opens back off and retry', async (t) => {
  const { s, links, cur } = setup({}, 3);
  s.start();
  await until(() => s.status().link === 'identifying');
  t.equal(links.length, 4);
  t.equal(s.status().reconnects, 3);
  t.equal(s.status().lastError, 'GW_ERR_TRANSPORT_OPEN');
  cur().deviceSend(Buffer.from('N hr 70\n'));
  await until(() => s.status().link === 'streaming');
  await s.stop();
});

t.test('lost link → down → reopen; counters accumulate across connections', async (t) => {
  const { s, links, got, cur } = setup();
  s.start();
  await until(() => s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('N hr 70\nbad\n'));
  cur().drop();
  await until(() => links.length === 2 && s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('N hr 71\n'));
  await until(() => got.length === 2);
  const st = s.status();
  t.equal(st.frames, 2);
  t.equal(st.errors, 1);
  t.equal(st.reconnects, 1);
  t.equal(st.lastError, 'GW_ERR_TRANSPORT_IO');
  await s.stop();
});

t.test('what the driver holds when the link goes away is flushed to the sink, not dropped', async (t) => {
  const { s, got, cur, links } = setup();
  s.start();
  await until(() => s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('N hr 70\nH ecg 1.5\n'));
  await until(() => got.length === 1);
  t.same(
    got.map((o) => (o as { vendorCode?: string }).vendorCode),
    ['hr'],
    'the held reading is not out yet',
  );
  cur().drop();
  await until(() => got.length === 2);
  t.match(got[1], { kind: 'numeric', vendorCode: 'ecg', value: 1.5 }, 'flushed when the peer closed the link');
  await until(() => links.length === 2 && s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('H ecg 1.6\n'));
  await until(() => s.status().frames === 3);
  await s.stop();
  t.match(got[2], { vendorCode: 'ecg', value: 1.6 }, 'and on stop()');
  t.equal(s.status().observations, 3, 'flushed readings are counted');
});

t.test('watchdog: a step of the wall clock is not silence (the watchdog runs on a monotonic clock)', async (t) => {
  let step = 0;
  const { s, links, cur } = setup({ watchdogMs: 300 }, 0, () => Date.now() + step);
  s.start();
  await until(() => s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('N hr 70\n'));
  await until(() => s.status().link === 'streaming');
  for (const jump of [3_600_000, -7_200_000]) {
    // to +1 h, then to −1 h of the clock the link opened on
    step += jump;
    await new Promise((r) => setTimeout(r, 60)); // a few ticks between the step and the next frame
    for (let i = 0; i < 6; i++) {
      // frames keep coming for 6 × 100 ms, twice the watchdog
      cur().deviceSend(Buffer.from(`N hr ${70 + i}\n`));
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.equal(s.status().watchdogTrips, 0, 'no reopen on ±1 h steps while frames arrive');
  t.equal(links.length, 1);
  // and an hour behind the clock the link opened on, it still notices real silence
  await until(() => s.status().watchdogTrips >= 1, 3000);
  t.pass('silence after the steps still trips the watchdog');
  await s.stop();
});

t.test('watchdog: port open but silent → stalled → closed and reopened', async (t) => {
  const { s, links, states, tap, cur } = setup({ watchdogMs: 100 });
  s.start();
  await until(() => s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('N hr 70\n'));
  await until(() => s.status().link === 'streaming');
  const first = cur();
  await until(() => links.length >= 2 && s.status().link === 'identifying');
  t.equal(first.isOpen, false, 'stalled port closed');
  t.ok(s.status().watchdogTrips >= 1);
  t.ok(states.includes('stalled'));
  t.ok(tap.notes.some((n) => n.startsWith('watchdog')));
  cur().deviceSend(Buffer.from('N hr 70\n'));
  await until(() => s.status().link === 'streaming');
  await s.stop();
});

t.test('a throwing driver is counted; the next good input still gets through', async (t) => {
  const { s, got, cur } = setup({ options: { throwOn: 'BOOM' } });
  s.start();
  await until(() => s.status().link === 'identifying');
  cur().deviceSend(Buffer.from('BOOM\n'));
  cur().deviceSend(Buffer.from('N hr 75\n'));
  await until(() => got.length === 1);
  t.equal(s.status().errorsByKind.driver, 1);
  await s.stop();
});

t.test('a link factory that throws is retried like a failed open', async (t) => {
  let calls = 0;
  const s = new DeviceSession({
    config: {
      id: 'x',
      protocol: 'fake-line',
      profile: 'auto',
      transport: { kind: 'serial', path: '/dev/x' },
      options: {},
      watchdogMs: 10_000,
      timeBase: 'gateway',
      clockToleranceMs: 0,
    },
    protocol: fakeProtocol,
    logger: silentLogger(),
    backoff: { baseMs: 5, maxMs: 10 },
    sink: () => {},
    linkFactory: () => {
      calls++;
      if (calls < 3) throw new Error('bad settings');
      return new MemoryLink('ok');
    },
  });
  s.start();
  await until(() => s.status().link === 'identifying');
  t.equal(calls, 3);
  t.equal(s.status().lastError, 'bad settings');
  await s.stop();
});

t.test('stop during backoff cancels the retry', async (t) => {
  const { s, links } = setup({}, 100);
  s.start();
  await until(() => links.length >= 2);
  await s.stop();
  t.equal((s as unknown as { retryTimer?: unknown }).retryTimer, undefined, 'no retry pending');
  t.equal(s.status().link, 'down');
});

t.test('backoff doubles, caps and jitters', async (t) => {
  const lo = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
  t.same(
    [1, 2, 3, 4, 5, 6].map(() => lo.next()),
    [50, 100, 200, 400, 500, 500],
  );
  const hi = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
  t.same(
    [1, 2, 3, 4, 5].map(() => hi.next()),
    [100, 200, 400, 800, 1000],
  );
  hi.reset();
  t.equal(hi.next(), 100);
  const def = new Backoff();
  let last = 0;
  for (let i = 0; i < 20; i++) last = def.next();
  t.ok(last <= 30_000 && last >= 15_000, 'default cap ~30 s');
});

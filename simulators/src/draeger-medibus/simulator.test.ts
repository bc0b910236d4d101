// Device behaviour of the simulated workstation on its own (host bytes scripted by the test).
import { Duplex } from 'node:stream';
import t from 'tap';
import { CMD, encodeCommand, encodeResponse, MedibusFramer, type Frame } from '../../../gateway/src/protocols/draeger-medibus/index.js';
import { ManualClock } from '../ge-dri/clock.js';
import { MedibusSimulator } from './simulator.js';

class Tap extends Duplex {
  readonly framer = new MedibusFramer();
  readonly frames: Frame[] = [];
  rt = 0;
  override _read(): void {
    /* pushed by the test */
  }
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    for (const ev of this.framer.push(c)) {
      if (ev.kind === 'frame') this.frames.push(ev.frame);
      else this.rt += ev.bytes.length;
    }
    cb();
  }
  names(): string[] {
    return this.frames
      .splice(0)
      .map((f) => (f.kind === 'command' ? `cmd ${String.fromCharCode(f.cmd)}` : `ans ${f.echo === 0x15 ? 'NAK' : String.fromCharCode(f.echo)}`));
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

async function rig() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const sim = new MedibusSimulator({ clock, interleaveEvery: 0 });
  const tap = new Tap();
  sim.attach(tap);
  sim.start();
  const send = async (b: Buffer): Promise<string[]> => {
    tap.push(b);
    await flush();
    return tap.names();
  };
  return { clock, sim, tap, send };
}

t.test('ICC on connect, repeated until acknowledged; NAK until both sides are initialised', async (t) => {
  const r = await rig();
  t.teardown(() => r.sim.close());
  t.same(r.tap.names(), ['cmd Q'], 'device ICC on connect');
  r.clock.advance(1000);
  t.same(r.tap.names(), ['cmd Q'], 'repeated after 1 s');
  t.same(await r.send(encodeCommand(CMD.DATA_CP1)), ['ans NAK'], 'no host ICC yet → NAK');
  t.same(await r.send(encodeCommand(CMD.ICC)), ['ans Q', 'cmd R'], 'host ICC acknowledged, then the device asks for the host id');
  t.same(await r.send(encodeCommand(CMD.DATA_CP1)), ['ans NAK'], 'device ICC still unacknowledged → NAK (real Atlan)');
  await r.send(encodeResponse(CMD.ICC));
  const a = await r.send(encodeCommand(CMD.DATA_CP1));
  t.same(a, ['ans $']);
  t.same(await r.send(encodeCommand(0x7a)), ['ans NAK'], 'unknown command → NAK');
  t.same(await r.send(encodeCommand(CMD.NOP)), ['ans 0']);
});

t.test('link timeout: 3 s without a host frame stops realtime and re-sends ICC', async (t) => {
  const r = await rig();
  t.teardown(() => r.sim.close());
  await r.send(encodeCommand(CMD.ICC));
  await r.send(encodeResponse(CMD.ICC));
  t.same(await r.send(encodeCommand(CMD.RT_CONFIGURE, '00010101')), ['ans T']);
  r.clock.advance(1000);
  await flush();
  t.ok(r.tap.rt >= 5 * 50, `realtime flowing: 2 streams, 5 bytes per 20 ms cycle (${r.tap.rt} bytes)`);
  r.clock.advance(2500);
  await flush();
  t.equal(r.sim.stats().linkTimeouts, 1);
  t.same(r.tap.names(), ['cmd Q'], 'ICC again');
  const before = r.tap.rt;
  r.clock.advance(1000);
  await flush();
  t.equal(r.tap.rt, before, 'realtime stopped');
});

// `orlink sim draeger-medibus --tcp 127.0.0.1:0`: the gateway's session connects over loopback TCP
// and gets identified, measured data and realtime waves; usage errors are reported together.
import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import t from 'tap';
import pino from 'pino';
import { MedibusSession } from '../../../gateway/src/protocols/draeger-medibus/index.js';
import type { Observation } from '../../../schemas/src/observation.js';
import { parseArgs, run } from './cli.js';

t.test('usage', async (t) => {
  t.throws(() => parseArgs(['draeger-medibus', '--seed', 'x']), /--seed needs a non-negative integer; give exactly one of/);
  t.same(parseArgs(['draeger-medibus', '--tcp', ':5000', '--device-name', 'Primus']).link, { kind: 'tcp', host: '127.0.0.1', port: 5000 });
  const out = new PassThrough();
  t.equal(await run(['draeger-medibus', '--help'], { stdout: out }), 0);
  t.match(out.read()?.toString(), /orlink sim draeger-medibus/);
});

t.test('simulator on loopback TCP, driven by the gateway session', async (t) => {
  const out = new PassThrough();
  const ac = new AbortController();
  const lines: Record<string, unknown>[] = [];
  let listening: (v: Record<string, unknown>) => void;
  const ready = new Promise<Record<string, unknown>>((r) => {
    listening = r;
  });
  out.on('data', (b: Buffer) => {
    for (const l of b.toString().split('\n').filter(Boolean)) {
      const ev = JSON.parse(l) as Record<string, unknown>;
      lines.push(ev);
      if (ev.event === 'listening') listening(ev);
    }
  });
  const done = run(['draeger-medibus', '--tcp', '127.0.0.1:0', '--seed', '3'], { stdout: out, signal: ac.signal, logger: pino({ level: 'silent' }) });
  const ev = await ready;
  const sock = connect(Number(ev.port), '127.0.0.1');
  const session = new MedibusSession({});
  const obs: Observation[] = [];
  sock.on('data', (c: Buffer) => obs.push(...session.onBytes(c, Date.now())));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  session.start({ write: (b) => sock.write(b) });
  const timer = setInterval(() => session.tick(Date.now()), 100);
  const deadline = Date.now() + 8000;
  while (
    Date.now() < deadline &&
    !(obs.some((o) => o.kind === 'numeric' && o.mdc === 'MDC_ECG_HEART_RATE') && obs.some((o) => o.kind === 'wave' && o.mdc === 'MDC_PRESS_AWAY'))
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  clearInterval(timer);
  session.stop();
  sock.destroy();
  ac.abort();
  t.equal(await done, 0);
  t.ok(
    obs.some((o) => o.kind === 'numeric' && o.mdc === 'MDC_ECG_HEART_RATE'),
    'heart rate arrived',
  );
  t.ok(
    obs.some((o) => o.kind === 'wave' && o.mdc === 'MDC_PRESS_AWAY' && o.unit === 'mbar'),
    'airway pressure wave arrived',
  );
  t.equal(session.decoder().identity()?.model, 'A3XX');
  t.match(lines.at(-1), { event: 'stopped' });
});

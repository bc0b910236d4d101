import dgram from 'node:dgram';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { encodeAarq } from '../../../gateway/src/protocols/philips-intellivue/requests.js';
import { IntelliVueDecoder } from '../../../gateway/src/protocols/philips-intellivue/decoder.js';
import { run } from './cli.js';

function nextMessage(sock: dgram.Socket, ms = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    sock.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
}

t.test('--lan: announces on loopback, answers an AARQ with AARE + MDS create', async (t) => {
  const ann = dgram.createSocket('udp4');
  await new Promise<void>((r) => ann.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => ann.close());
  const announced = nextMessage(ann);
  const out = new PassThrough();
  const ac = new AbortController();
  let text = '';
  out.on('data', (d) => {
    text += String(d);
  });
  const done = run(['philips-intellivue', '--lan', '--announce-port', String(ann.address().port), '--model', 'MP70'], {
    stdout: out,
    signal: ac.signal,
    logger: pino({ level: 'silent' }),
  });
  const dec = new IntelliVueDecoder();
  const ci = dec.decode(await announced);
  const listening = JSON.parse(text.split('\n')[0]) as { event: string; port: number; host: string };
  t.same(
    ci.events,
    [{ kind: 'connect-indication', model: 'MP70', announce: { model: 'MP70', dataExportPort: listening.port, wireless: false } }],
    'the announced Data Export port is the one listening',
  );
  t.equal(listening.host, '127.0.0.1');
  const host = dgram.createSocket('udp4');
  await new Promise<void>((r) => host.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => host.close());
  const aare = nextMessage(host);
  host.send(encodeAarq(), listening.port, '127.0.0.1');
  t.same(dec.decode(await aare).events, [{ kind: 'associated' }]);
  const mds = dec.decode(await nextMessage(host));
  t.equal(mds.events[0]?.kind, 'mds-create');
  t.equal(dec.device.model, 'MP70');
  ac.abort();
  t.equal(await done, 0);
  t.match(text, /"event":"stopped"/);
});

t.test('usage errors', async (t) => {
  const out = new PassThrough();
  t.equal(await run(['philips-intellivue', '--lan', '--pty'], { stdout: out }), 2);
  t.equal(await run(['philips-intellivue', '--lan', '--port', 'x'], { stdout: out }), 2);
});

/**
 * The gateway's MLLP listener as a trust boundary (real gateway, simulated GE B40 on loopback,
 * in-process aedes): a second connection while the monitor streams is refused and never evicts
 * it (the monitor's values keep arriving, none of the intruder's), a sender outside the
 * allow-list is refused, both are counted in the device status and logged with the address only;
 * `--record` writes an owner-only capture without the patient segments that still decodes to
 * exactly what the monitor sent.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { decodeEnvelope, type Envelope } from '../../schemas/src/envelope.js';
import { Hl7Monitor } from '../../simulators/src/hl7-mllp/simulator.js';
import { VENDORS } from '../../simulators/src/hl7-mllp/vendors.js';
import type { ProducedNumeric } from '../../simulators/src/index.js';
import { run as decode, parseHexlog } from '../../cli/decode.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { buildConfig } from './config.js';
import { createLogger } from './log.js';
import { startGateway } from './main.js';
import { mllpWrap } from './protocols/hl7-mllp/mllp.js';

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function captureLogger() {
  const raw: string[] = [];
  const logger = createLogger(
    'info',
    new Writable({
      write(c, _e, cb) {
        raw.push(String(c));
        cb();
      },
    }),
  );
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function broker(t: Test) {
  const aedes = await Aedes.createBroker();
  const server = net.createServer(aedes.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const envs: Envelope[] = [];
  const sub = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0 });
  sub.on('message', (topic, p) => {
    if (topic.endsWith('/data')) envs.push(decodeEnvelope(p));
  });
  await new Promise<void>((r) => sub.once('connect', () => r()));
  await new Promise((r) => sub.subscribe('orlink/v1/#', { qos: 1 }, r));
  t.teardown(async () => {
    await new Promise<void>((r) => sub.end(true, {}, () => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `mqtt://127.0.0.1:${port}`, envs };
}

/** An intruder: connects, sends a complete ORU^R01 with values of its own, reports when it was closed. */
async function intrude(port: number): Promise<{ closedMs: number; acked: boolean }> {
  const s = net.createConnection({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  let acked = false;
  s.on('data', () => {
    acked = true;
  });
  await once(s, 'connect');
  const t0 = Date.now();
  s.write(
    mllpWrap(
      [
        'MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|ORLINK||20261122083000+0100||ORU^R01^ORU_R01|EVIL1|P|2.6|||NE|AL',
        'PV1||I|OR3^^BED1',
        'OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|222|264864^/min^MDC|||||R',
        'OBX|2|ST|184327^MDC_ATTR_MODE_OP^MDC|1.0.0.0|INJECTED-BY-INTRUDER||||||R',
      ].join('\r') + '\r',
    ),
  );
  if (!s.destroyed) await once(s, 'close');
  return { closedMs: Date.now() - t0, acked };
}

t.test('MLLP listener: a second sender is refused while the monitor streams; allow-list refusal; counted and logged', async (t) => {
  const mq = await broker(t);
  const cap = captureLogger();
  const [pMon, pFar, pAny] = [await freePort(), await freePort(), await freePort()];
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or3',
        site: 's',
        room: 'OR3',
        bed: 'b1',
        mqtt: { url: mq.url, publishIntervalMs: 100, statusIntervalMs: 500 },
        outbox: { kind: 'memory' },
        devices: [
          {
            id: 'b40',
            protocol: 'hl7-mllp',
            transport: { kind: 'tcp-server', host: '127.0.0.1', port: pMon, allow: ['127.0.0.1'] },
            options: { acceptBeds: ['OR3^^BED1'] },
            watchdogMs: 60_000,
          },
          { id: 'far', protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '127.0.0.1', port: pFar, allow: ['10.99.0.0/16'] }, watchdogMs: 60_000 },
          { id: 'bench', protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '127.0.0.1', port: pAny, allowAnySender: true }, watchdogMs: 60_000 },
        ],
      },
      {},
    ),
    { logger: cap.logger, mqttBackoff: { baseMs: 50, maxMs: 200 } },
  );
  t.teardown(() => gw.close());
  t.ok(
    cap.lines().some((l) => l.level === 40 && l.deviceId === 'bench' && /accepts any sender/.test(String(l.msg))),
    'allowAnySender warned at start',
  );
  t.notOk(
    cap.lines().some((l) => /accepts any sender/.test(String(l.msg)) && l.deviceId !== 'bench'),
    'only for that device',
  );

  const mon = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 150, sentinelEvery: 0, bed: 'OR3^^BED1', physiology: { seed: 5 } });
  const produced: ProducedNumeric[] = [];
  mon.on('produced', (p: ProducedNumeric) => produced.push(p));
  t.teardown(() => mon.close());
  await mon.connect('127.0.0.1', pMon);
  const numerics = (id: string) => mq.envs.flatMap((e) => e.devices.filter((d) => d.deviceId === id).flatMap((d) => d.numerics));
  const settings = (id: string) => mq.envs.flatMap((e) => e.devices.filter((d) => d.deviceId === id).flatMap((d) => d.settings));
  await until('monitor values published', () => numerics('b40').length >= 10);

  const refused = await intrude(pMon);
  t.ok(refused.closedMs < 1000, `the second connection was closed at once (${refused.closedMs} ms)`);
  t.notOk(refused.acked, 'nothing answered to it');
  const ackedAtRefusal = mon.stats.acks.AA ?? 0;
  const sentAtRefusal = mon.stats.sent;
  await until('more monitor messages acknowledged after the refusal', () => (mon.stats.acks.AA ?? 0) >= ackedAtRefusal + 4);
  await until('their values published', () => {
    const got = new Set(numerics('b40').map((n) => `${n.vendorCode}|${n.t}`));
    return produced.slice(0, sentAtRefusal * 5).every((p) => got.has(`${p.vendorCode}|${p.t}`)) && got.size > 0;
  });
  const t1 = produced.at(-1)!.t;
  await until('values sent after the refusal arrive too', () => numerics('b40').some((n) => n.t >= t1));
  t.equal(mon.stats.connects, 1, 'the monitor was never disconnected');
  t.notOk(
    numerics('b40').some((n) => n.value === 222),
    "none of the intruder's values published",
  );
  t.notOk(
    settings('b40').some((s) => String(s.value).includes('INJECTED')),
    'nor its text',
  );

  const st = () => Object.fromEntries(gw.status().devices.map((d) => [d.id, d]));
  t.equal(st().b40.errorsByKind['second-sender-refused'], 1, 'counted in the device status');
  t.equal(st().b40.link, 'streaming');

  await intrude(pFar);
  await until('allow-list refusal counted', () => st().far.errorsByKind['sender-not-allowed'] === 1);
  t.equal(numerics('far').length, 0, 'nothing from a sender outside the allow-list');
  t.equal(st().far.link, 'identifying', 'the listener stays up for the real monitor');

  const logs = cap.lines();
  t.match(
    logs.find((l) => l.reason === 'second-sender-refused'),
    { level: 40, deviceId: 'b40', peer: '127.0.0.1', activePeer: '127.0.0.1' },
  );
  t.match(
    logs.find((l) => l.reason === 'sender-not-allowed'),
    { level: 40, deviceId: 'far', peer: '127.0.0.1' },
  );
  t.notOk(cap.raw.join('').match(/INJECTED|EVIL1|222/), 'no message content in the logs');

  // the monitor hangs up; the listener is reopened (a new link): the refusal stays counted
  await mon.close();
  await until('listening again', () => st().b40.reconnects >= 1 && st().b40.link === 'identifying');
  t.equal(st().b40.errorsByKind['second-sender-refused'], 1, 'kept across the reconnect');
});

t.test('--record: owner-only capture, patient segments redacted, decodes to exactly what the monitor sent', async (t) => {
  const mq = await broker(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-rec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const old = process.umask(0);
  t.teardown(() => {
    process.umask(old);
  });
  const file = path.join(dir, 'captures', 'or3.hexlog');
  const port = await freePort();
  const cap = captureLogger();
  const gw = await startGateway(
    buildConfig(
      {
        gatewayId: 'gw-or3',
        site: 's',
        room: 'OR3',
        bed: 'b1',
        mqtt: { url: mq.url, publishIntervalMs: 100 },
        outbox: { kind: 'file', dir: path.join(dir, 'outbox') },
        devices: [
          {
            id: 'b40',
            protocol: 'hl7-mllp',
            transport: { kind: 'tcp-server', host: '127.0.0.1', port, allow: ['127.0.0.1'] },
            options: { acceptBeds: ['OR3^^BED1'] },
            watchdogMs: 60_000,
          },
        ],
      },
      {},
    ),
    { logger: cap.logger, record: file, mqttBackoff: { baseMs: 50, maxMs: 200 } },
  );
  let closed = false;
  t.teardown(() => (closed ? undefined : gw.close()));
  const mon = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 100, sentinelEvery: 3, count: 5, bed: 'OR3^^BED1', physiology: { seed: 9 } });
  const produced: ProducedNumeric[] = [];
  mon.on('produced', (p: ProducedNumeric) => produced.push(p));
  t.teardown(() => mon.close());
  await mon.connect('127.0.0.1', port);
  await until('5 messages acknowledged', () => (mon.stats.acks.AA ?? 0) >= 5);
  await gw.close();
  closed = true;

  const mode = (f: string) => fs.statSync(f).mode & 0o777;
  t.equal(mode(file), 0o600, 'capture 0600 (umask 0)');
  t.equal(mode(path.dirname(file)), 0o700, 'capture directory 0700');
  t.equal(mode(path.join(dir, 'outbox')), 0o700, 'outbox directory 0700');
  for (const f of fs.readdirSync(path.join(dir, 'outbox'))) t.equal(mode(path.join(dir, 'outbox', f)), 0o600, `outbox/${f} 0600`);

  const text = fs.readFileSync(file, 'utf8');
  const rx = Buffer.concat(
    parseHexlog(text)
      .chunks.filter((c) => c.dir === 'RX')
      .map((c) => c.bytes),
  ).toString('latin1');
  t.ok(rx.includes('ORU^R01'), 'the capture holds the messages');
  // the simulator's PID: `PID|||SIM0001^^^ORLINK^PI||Doe^John^^^^^L|||U` (PID-3 identifier, PID-5 name)
  for (const phi of ['SIM0001', 'Doe', 'John']) t.notOk(rx.includes(phi), `'${phi}' not in the capture`);
  t.equal(rx.split('PID|||REDACTED||REDACTED|||REDACTED\r').length - 1, 5, 'every PID redacted, its field count kept');
  t.equal(rx.split('PV1||I|OR3^^BED1\r').length - 1, 5, 'PV1-3 (the bed) kept');
  t.notOk(cap.raw.join('').includes('phi: KEPT'));

  let out = '';
  let err = '';
  t.equal(
    await decode(['--protocol', 'hl7-mllp', '--input', file], {
      out: (l) => {
        out += l;
      },
      err: (l) => {
        err += l;
      },
    }),
    0,
  );
  const summary = (JSON.parse(err) as { summary: { frames: number; errors: Record<string, number> } }).summary;
  t.equal(summary.frames, 5);
  t.same(summary.errors, {});
  const decoded = out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string; mdc: string | null; vendorCode: string; t: number; value: number | null });
  const key = (o: { mdc: string | null; vendorCode: string; t: number; value: number | null }) => `${o.mdc}|${o.vendorCode}|${o.t}|${o.value}`;
  const got = new Set(decoded.filter((o) => o.kind === 'numeric' && o.value !== null).map(key));
  t.ok(produced.length >= 25, `${produced.length} values sent`);
  t.same(produced.filter((p) => !got.has(key(p))).map(key), [], 'every value the monitor sent decodes from the redacted capture');
  t.equal(got.size, new Set(produced.map(key)).size, 'and nothing else');
});

t.test('recordPhi / --record-phi keeps patient data: said in the capture and warned at start (lab use only)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-rec-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cfg = (recordPhi?: boolean) =>
    buildConfig(
      {
        gatewayId: 'gw-or3',
        site: 's',
        room: 'OR3',
        bed: 'b1',
        mqtt: { url: 'mqtt://127.0.0.1:1' },
        outbox: { kind: 'memory' },
        devices: [{ id: 'b40', protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '127.0.0.1', port: 0, allow: ['127.0.0.1'] } }],
        ...(recordPhi === undefined ? {} : { recordPhi }),
      },
      {},
    );
  const cases: [string, Parameters<typeof startGateway>[0], { recordPhi?: boolean }, RegExp][] = [
    ['default', cfg(), {}, /^# phi: redacted/m],
    ['config recordPhi', cfg(true), {}, /^# phi: KEPT/m],
    ['--record-phi over the config', cfg(false), { recordPhi: true }, /^# phi: KEPT/m],
  ];
  for (const [name, config, opts, header] of cases) {
    const cap = captureLogger();
    const file = path.join(dir, `${name.replace(/\W+/g, '-')}.hexlog`);
    const gw = await startGateway(config, { logger: cap.logger, record: file, ...opts, drainMs: 0 });
    await gw.close();
    t.match(fs.readFileSync(file, 'utf8'), header, name);
    t.equal(
      cap.lines().some((l) => l.level === 40 && /keeps patient data/.test(String(l.msg))),
      header.source.includes('KEPT'),
      `${name}: warned only when kept`,
    );
  }
  const { run } = await import('./main.js');
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((c: string) => {
    err += c;
    return true;
  }) as typeof process.stderr.write;
  try {
    t.equal(await run(['--record-phi=yes']), 2, 'the flag takes no value');
  } finally {
    process.stderr.write = write;
  }
  t.match(err, /unknown argument '--record-phi=yes'.*\n.*--record-phi/s, 'usage lists --record-phi');
});

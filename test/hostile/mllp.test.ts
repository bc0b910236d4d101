/**
 * The gateway's MLLP listener as a trust boundary, on the real stack: a simulated GE B40 streams to
 * a real gateway (hl7-mllp on a tcp-server transport) → ingest's embedded broker → InfluxDB. Probes:
 * a sender outside the allow-list, a second sender while the monitor is connected, and — from an
 * allowed sender on a second listener of the same gateway — HL7 injection in fields (escaped
 * delimiters, a forged MSH in a field, a raw CR with a forged MSH and OBX), over-long fields, a
 * frame without end, garbage bytes, an unparseable block, a bad version, no control id, an
 * oversized block. Each: the refusal or the ACK/NAK code, the counter in the device's
 * `errorsByKind` (read back through ingest: GET /gateways/:id → the gateway's status), and the
 * monitor's values before and after stored exactly in the case timeline.
 */
import net from 'node:net';
import { once } from 'node:events';
import pino from 'pino';
import t, { type Test } from 'tap';
import { buildConfig } from '../../gateway/src/config.js';
import { startGateway } from '../../gateway/src/main.js';
import { mllpWrap } from '../../gateway/src/protocols/hl7-mllp/mllp.js';
import { freePort } from '../../ingest/src/series/influxd-launcher.js';
import { Hl7Monitor } from '../../simulators/src/hl7-mllp/simulator.js';
import { VENDORS } from '../../simulators/src/hl7-mllp/vendors.js';
import type { ProducedNumeric } from '../../simulators/src/index.js';
import { startStack, until } from './stack.js';

const s = await startStack(t, 'mllp');
const pw = await s.registerGateway({ room: 'or3', bed: 'bed3', gatewayId: 'gw-or3', deviceId: 'b40' });
for (const id of ['feed', 'far']) await s.api('POST', '/devices', { id, gatewayId: 'gw-or3', bedId: 'bed3', vendor: 'GE', model: 'B40' });
const kase = await s.api<{ id: string }>('POST', '/cases', { bed: 'bed3', start: Date.now() - 3600_000 });
const [pMon, pFeed, pFar] = [await freePort(), await freePort(), await freePort()];
const gw = await startGateway(
  buildConfig(
    {
      gatewayId: 'gw-or3',
      site: 'main',
      room: 'or3',
      bed: 'bed3',
      mqtt: { url: s.mqttUrl, username: 'gw-or3', publishIntervalMs: 200, statusIntervalMs: 300 },
      outbox: { kind: 'memory' },
      devices: [
        {
          id: 'b40',
          protocol: 'hl7-mllp',
          transport: { kind: 'tcp-server', host: '127.0.0.1', port: pMon, allow: ['127.0.0.1'] },
          options: { acceptBeds: ['OR3^^BED1'] },
          watchdogMs: 60_000,
        },
        {
          id: 'feed',
          protocol: 'hl7-mllp',
          transport: { kind: 'tcp-server', host: '127.0.0.1', port: pFeed, allow: ['127.0.0.1/32'] },
          options: { acceptBeds: ['OR3^^BED1'] },
          watchdogMs: 60_000,
        },
        { id: 'far', protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '127.0.0.1', port: pFar, allow: ['10.99.0.0/16'] }, watchdogMs: 60_000 },
      ],
    },
    { ORLINK_MQTT_PASSWORD: pw },
  ),
  { logger: pino({ level: 'silent' }), mqttBackoff: { baseMs: 50, maxMs: 200 } },
);
t.teardown(() => gw.close());

const mon = new Hl7Monitor({ style: VENDORS['ge-b40'], intervalMs: 200, sentinelEvery: 0, bed: 'OR3^^BED1', physiology: { seed: 7 } });
const produced: ProducedNumeric[] = [];
mon.on('produced', (p: ProducedNumeric) => produced.push(p));
t.teardown(() => mon.close());
await mon.connect('127.0.0.1', pMon);

interface TlNumeric {
  mdc: string | null;
  vendorCode: string;
  device: string;
  points: [number, number | null][];
}
interface TlSetting {
  name: string;
  value: number | string | null;
  t: number;
  device: string;
}
const timeline = async (from: number, to: number) =>
  s.api<{ numerics: TlNumeric[]; settings: TlSetting[] }>('GET', `/cases/${kase.id}/timeline?from=${from}&to=${to}`);
/** errorsByKind of a device as ingest stored it (the gateway's last status document) */
const errorsVia = async (id: string): Promise<Record<string, number>> => {
  const g = await s.api('GET', '/gateways/gw-or3');
  return (g.status?.devices as { id: string; errorsByKind: Record<string, number> }[] | undefined)?.find((d) => d.id === id)?.errorsByKind ?? {};
};
const errorsNow = (id: string) => gw.status().devices.find((d) => d.id === id)?.errorsByKind ?? {};

/** every value the monitor produced up to now is in the timeline at its exact time (the monitor cost nothing) */
async function monitorIntact(t: Test, what: string): Promise<void> {
  const upTo = produced.length;
  const want = produced.slice(0, upTo);
  const k = (mdc: string | null, vc: string, ts: number) => `${mdc}|${vc}|${ts}`;
  let missing: string[] = [];
  await until(
    `${what}: monitor values stored`,
    async () => {
      const tl = await timeline(Math.min(...want.map((p) => p.t)) - 1000, Math.max(...want.map((p) => p.t)) + 1000);
      const stored = new Map<string, number | null>();
      for (const n of tl.numerics) if (n.device === 'b40') for (const [ts, v] of n.points) stored.set(k(n.mdc, n.vendorCode, ts), v);
      missing = want.filter((p) => stored.get(k(p.mdc, p.vendorCode, p.t)) !== p.value).map((p) => k(p.mdc, p.vendorCode, p.t));
      return missing.length === 0;
    },
    20_000,
  ).catch(() => undefined);
  t.same(missing, [], `${what}: all ${want.length} monitor values stored exactly`);
  t.equal(mon.stats.connects, 1, `${what}: the monitor was never disconnected`);
}

/** waits for `n` more monitor messages acknowledged AA (the monitor streams on) */
const monitorAdvances = async (n: number) => {
  const at = mon.stats.acks.AA ?? 0;
  await until('monitor acknowledged', () => (mon.stats.acks.AA ?? 0) >= at + n, 15_000);
};

/** a raw MLLP sender: connects, writes bytes, collects the ACK/NAKs it receives (MSA-1, MSA-2) */
async function sender(port: number) {
  const sock = net.createConnection({ host: '127.0.0.1', port });
  sock.on('error', () => undefined);
  let buf = '';
  const acks: { code: string; id: string; text: string }[] = [];
  let closedAt = 0;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let end = buf.indexOf('\x1c\r'); end >= 0; end = buf.indexOf('\x1c\r')) {
      const msg = buf.slice(buf.indexOf('\x0b') + 1, end);
      buf = buf.slice(end + 2);
      const msa =
        msg
          .split('\r')
          .find((l) => l.startsWith('MSA|'))
          ?.split('|') ?? [];
      acks.push({ code: msa[1] ?? '', id: msa[2] ?? '', text: msa[3] ?? '' });
    }
  });
  sock.on('close', () => {
    closedAt = Date.now();
  });
  await once(sock, 'connect');
  return { sock, acks, closed: () => closedAt > 0, write: (b: Buffer | string) => sock.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b) };
}

const ts = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
const MSH = (id: string, at: number, version = '2.6') =>
  `MSH|^~\\&|B40^080019FFFE1443EC^EUI-64|GE|ORLINK||${ts(at)}||ORU^R01^ORU_R01|${id}|P|${version}|||NE|AL`;
const HR = (v: number) => `OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|${v}|264864^/min^MDC|||||R`;
const ST = (v: string, n = 2) => `OBX|${n}|ST|184327^MDC_ATTR_MODE_OP^MDC|1.0.0.0|${v}||||||R`;
const msg = (id: string, at: number, segs: string[], version?: string) => mllpWrap([MSH(id, at, version), 'PV1||I|OR3^^BED1', ...segs].join('\r') + '\r');

t.test('the monitor streams: its values are stored', async (t) => {
  await monitorAdvances(3);
  await monitorIntact(t, 'start');
});

t.test('a sender outside the allow-list: closed at once, nothing answered, counted sender-not-allowed', async (t) => {
  const before = (await errorsVia('far'))['sender-not-allowed'] ?? 0;
  const x = await sender(pFar);
  x.write(msg('FAR1', Date.now(), [HR(222)]));
  await until('closed', x.closed, 5000);
  t.same(x.acks, [], 'no ACK');
  await until('counted through ingest', async () => ((await errorsVia('far'))['sender-not-allowed'] ?? 0) === before + 1, 10_000);
  t.pass('sender-not-allowed +1 in the status ingest holds');
  await monitorAdvances(2);
  await monitorIntact(t, 'after the allow-list probe');
});

t.test('a second sender while the monitor is connected: refused, the monitor continues, counted second-sender-refused', async (t) => {
  const at = Date.now();
  const x = await sender(pMon);
  x.write(msg('EVIL1', at, [HR(222), ST('INJECTED-BY-INTRUDER')]));
  await until('closed', x.closed, 5000);
  t.same(x.acks, [], 'no ACK to the intruder');
  await until('counted through ingest', async () => ((await errorsVia('b40'))['second-sender-refused'] ?? 0) === 1, 10_000);
  t.pass('second-sender-refused +1 in the status ingest holds');
  await monitorAdvances(3);
  await monitorIntact(t, 'after the second sender');
  const tl = await timeline(at - 5000, Date.now());
  t.notOk(
    tl.numerics.some((n) => n.points.some(([, v]) => v === 222)),
    "none of the intruder's values",
  );
  t.notOk(
    tl.settings.some((x2) => String(x2.value).includes('INJECTED')),
    'nor its text',
  );
});

t.test(
  "HL7 injection and broken framing from an allowed sender: the right ACK/NAK per message, counted, nothing crosses to the monitor's device",
  async (t) => {
    const before = errorsNow('feed');
    const x = await sender(pFeed);
    const base = Date.now() - 60_000;
    const at = (i: number) => base + i * 1000;
    const wait = async (n: number) => until(`${n} answers`, () => x.acks.length >= n, 10_000);
    // 1. escaped delimiters in OBX-5: literal text, not structure
    x.write(msg('M1', at(1), [HR(71), ST('A\\F\\B\\S\\C\\R\\D\\E\\X\\T\\F')]));
    await wait(1);
    // 2. a forged MSH inside a field (escaped): text, no second message
    x.write(msg('M2', at(2), [HR(72), ST('MSH\\F\\\\S\\\\R\\\\E\\\\T\\\\F\\EVIL\\F\\\\F\\\\F\\\\F\\\\F\\\\F\\ORU\\S\\R01\\F\\FORGED2')]));
    await wait(2);
    // 3. a raw CR inside OBX-5 followed by a forged MSH and an OBX: a segment by definition; one message, one ACK with M3's id
    x.write(
      msg('M3', at(3), [
        HR(73),
        ST('harmless'),
        `MSH|^~\\&|EVIL|EVIL|||${ts(at(3))}||ORU^R01|FORGED3|P|2.6`,
        'OBX|3|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|250|264864^/min^MDC|||||R',
      ]),
    );
    await wait(3);
    // 4. over-long fields: a 5,000-character text (cut at 256), a 300-character code (dropped)
    x.write(msg('M4', at(4), [HR(74), ST('L'.repeat(5000)), `OBX|3|NM|${'9'.repeat(300)}^X^99X|1.0.0.0|1|264864^/min^MDC|||||R`]));
    await wait(4);
    // 5. a frame without end, then a good frame
    x.write(Buffer.concat([Buffer.from('\x0b' + MSH('M5LOST', at(5)) + '\r', 'latin1'), msg('M5', at(5), [HR(75)])]));
    await wait(5);
    // 6. garbage bytes outside a block, then a good frame
    x.write(Buffer.concat([Buffer.from([0x00, 0xff, 0x41, 0x42, 0x7f, 0xfe]), msg('M6', at(6), [HR(76)])]));
    await wait(6);
    // 7. an unparseable block
    x.write(mllpWrap('THIS IS NOT HL7\r'));
    await wait(7);
    // 8. an unsupported version, 9. no control id
    x.write(msg('M8', at(8), [HR(78)], '9.9'));
    await wait(8);
    x.write(msg('', at(9), [HR(79)]));
    await wait(9);
    // 10. a block over the 1 MiB cap (dropped), then a good frame
    x.write(
      Buffer.concat([Buffer.from('\x0b' + MSH('M10BIG', at(10)) + '\r' + ST('B'.repeat(1_100_000)) + '\r\x1c\r', 'latin1'), msg('M10', at(10), [HR(80)])]),
    );
    await wait(10);

    t.same(
      x.acks.map((a) => `${a.code} ${a.id}`),
      ['AA M1', 'AA M2', 'AA M3', 'AA M4', 'AA M5', 'AA M6', 'AR ', 'AR M8', 'AE ', 'AA M10'],
      'one answer per complete message: AA, AR for unparseable / bad version, AE without control id; none for the forged MSH, the unterminated or the oversized block',
    );
    t.notOk(x.closed(), 'the allowed sender stays connected');
    const d = (k: string) => (errorsNow('feed')[k] ?? 0) - (before[k] ?? 0);
    t.same(
      {
        truncated: d('truncated'),
        garbage: d('garbage'),
        oversize: d('oversize'),
        'text-truncated': d('text-truncated'),
        'code-too-long': d('code-too-long'),
        'bad-version': d('bad-version'),
        'no-control-id': d('no-control-id'),
        'no-msh': d('no-msh'),
      },
      { truncated: 1, garbage: 1, oversize: 1, 'text-truncated': 1, 'code-too-long': 1, 'bad-version': 1, 'no-control-id': 1, 'no-msh': 1 },
      'each counted in the device status',
    );
    await until('the counts reach ingest', async () => ((await errorsVia('feed'))['no-control-id'] ?? 0) === (before['no-control-id'] ?? 0) + 1, 10_000);
    t.pass('and in the status ingest holds');

    const hrs = [71, 72, 73, 74, 75, 76, 80];
    // MSH-7 is a minute behind the gateway's clock: the gateway may shift the times (clock-offset), so read around both
    const window = () => timeline(at(0) - 1000, Date.now() + 1000);
    let tl = await window();
    await until(
      'the good values of the sender stored',
      async () => {
        tl = await window();
        const got = tl.numerics.filter((n) => n.device === 'feed' && n.mdc === 'MDC_ECG_HEART_RATE').flatMap((n) => n.points.map(([, v]) => v));
        return hrs.every((v) => got.includes(v));
      },
      15_000,
    ).catch(() => undefined);
    const feedHr = tl.numerics.filter((n) => n.device === 'feed' && n.mdc === 'MDC_ECG_HEART_RATE').flatMap((n) => n.points.map(([, v]) => v));
    t.same(
      feedHr.filter((v) => [78, 79].includes(v as number)),
      [],
      'nothing of the refused messages (bad version, no control id)',
    );
    t.notOk(
      tl.numerics.some((n) => n.device === 'b40' && n.points.some(([, v]) => v === 250)),
      "the forged OBX never lands on the monitor's device",
    );
    // the forged OBX has the code and time of M3's own HR: the same reading slot, so the first value stays (intake integrity)
    t.same(
      feedHr.filter((v) => v === 250),
      [],
      "nor replaces the sender's own HR 73 in the main series",
    );
    t.ok(feedHr.includes(73), 'HR 73 of M3 stored');
    const texts = tl.settings.filter((x2) => x2.device === 'feed').map((x2) => String(x2.value));
    t.ok(texts.includes('A|B^C~D\\X&F'), 'escaped delimiters stored as literal text');
    t.ok(
      texts.some((v) => v.startsWith('MSH|^~\\&|EVIL')),
      'the forged MSH stored as text of its field',
    );
    t.ok(
      texts.every((v) => v.length <= 256),
      'no text longer than 256 characters',
    );
    t.ok(
      texts.some((v) => v === 'L'.repeat(256)),
      'the over-long text cut at 256',
    );
    x.sock.destroy();
    await monitorAdvances(3);
    await monitorIntact(t, 'after the injection probes');
  },
);

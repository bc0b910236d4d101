import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { decodeFloat, encodeFloat } from './float.js';
import { fcs16, frameBytes, frameMessage } from './fcs.js';
import { encodeAarq, encodeMdsCreateResult, encodePoll, encodeSetRtsaPrio, parseAarq, parseHostRequest, waveTextId } from './requests.js';

// Third-party vectors and captures, read where they live (../shared beside the checkout), never copied.
const SHARED = resolve(import.meta.dirname, '../../../../../shared/captures/philips-intellivue');
const vectors = readFileSync(resolve(SHARED, 'fcs_and_float_unit_vectors.txt'), 'utf8');
/** Every MP20 LAN payload by name; the tests below pick the host->monitor requests. */
const lanPayloads = new Map(
  readFileSync(resolve(SHARED, 'mp20_lan_udp_payloads_mpsimulator.hex'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' ') as [string, string]),
);

t.test('FCS/stuffing vectors of the mdpnp unit test (file parsed, not retyped)', async (t) => {
  const lines = vectors.split('\n').filter((l) => l.startsWith('FCS '));
  t.equal(lines.length, 2);
  for (const l of lines) {
    const [, data, frame] = /^FCS ([0-9A-F ]+?) -> ([0-9A-F ]+)$/.exec(l.trim())!;
    const out = frameBytes(Buffer.from(data.replace(/ /g, ''), 'hex'));
    t.equal(out.toString('hex').toUpperCase(), frame.replace(/ /g, ''), l);
  }
  t.equal(fcs16(Buffer.from([0x3a, 0x91])), 0xc195);
});

t.test('FLOAT-Type vectors with their stated results', async (t) => {
  const lines = vectors.split('\n').filter((l) => l.startsWith('FLOAT '));
  t.ok(lines.length >= 14);
  const specials: Record<string, string> = { NaN: 'nan', NRes: 'nres', '+INF': '+inf', '-INF': '-inf' };
  for (const l of lines) {
    const [, hex, res] = /^FLOAT ([0-9A-F]{8}) -> (\S+)/.exec(l)!;
    const d = decodeFloat(parseInt(hex, 16));
    if (specials[res]) {
      t.equal(d.value, null, `${hex} is never a number`);
      t.equal(d.special, specials[res], l);
    } else t.equal(d.value, Number(res), l);
  }
  t.equal(decodeFloat(0xff0003b6).exponent, -1, 'resolution kept');
  for (const [v, e] of [
    [95, -1],
    [-0.9, -1],
    [3200, 2],
    [0, 0],
    [37.25, -2],
  ] as const)
    t.equal(decodeFloat(encodeFloat(v, e)).value, v, `encode ${v}`);
  t.equal(decodeFloat(encodeFloat(null)).special, 'nan');
});

t.test('request encoders equal the captured MP20 LAN requests byte for byte', async (t) => {
  t.equal(encodeAarq().toString('hex'), lanPayloads.get('association_request'));
  t.equal(encodeMdsCreateResult(1, 0xabd00).toString('hex'), lanPayloads.get('mds_create_event_result'));
  t.equal(encodePoll({ invokeId: 1, pollNumber: 1, objType: 6, extended: true }).toString('hex'), lanPayloads.get('data_poll_request'));
  t.equal(encodePoll({ invokeId: 4, pollNumber: 3, objType: 9, durationTicks: 0x493e00 }).toString('hex'), lanPayloads.get('ext_poll_wave_request'));
  t.equal(encodeSetRtsaPrio(0, [0x0102, 0x0101, 0x013d, 0x4bb4].map(waveTextId)).toString('hex'), lanPayloads.get('set_rtsa_priority_list_request'));
});

t.test('serial framing of requests equals the digest examples', async (t) => {
  t.equal(frameMessage(encodeMdsCreateResult(1, 0xabd00)).toString('hex'), 'c01101001ce10000020002001400010001000e002100000000000abd000d0600003917c1');
  t.equal(
    frameMessage(encodePoll({ invokeId: 1, pollNumber: 1, objType: 6, durationTicks: 0x3a980 })).toString('hex'),
    'c011010030e10000020001002800010007002200210000000000000000f13b0014000100010006000000010008f13e00040003a9805871c1',
  );
});

t.test('AARQ patching and host request parsing', async (t) => {
  const a = encodeAarq({ minPollPeriodTicks: 1000, maxMtuRx: 2500, maxMtuTx: 1000, pollExtOptions: 0x8c000000 });
  t.equal(a.length, encodeAarq().length, 'length unchanged');
  t.same(parseAarq(a), { minPollPeriodTicks: 1000, maxMtuRx: 2500, maxMtuTx: 1000, pollExtOptions: 0x8c000000 });
  t.same(parseHostRequest(encodePoll({ invokeId: 7, pollNumber: 9, objType: 0x36, durationTicks: 240000 })), {
    kind: 'poll',
    invokeId: 7,
    pollNumber: 9,
    objType: 0x36,
    extended: true,
    durationTicks: 240000,
  });
  t.same(parseHostRequest(encodeSetRtsaPrio(3, [0x20102])), { kind: 'set-rtsa', invokeId: 3, textIds: [0x20102] });
  t.same(parseHostRequest(encodeMdsCreateResult(5)), { kind: 'mds-create-result', invokeId: 5 });
  t.equal(parseHostRequest(Buffer.from([0xe1])).kind, 'other', 'short input is not a crash');
});

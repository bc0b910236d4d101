/**
 * Three targets per protocol:
 *  - `<p>/framer`  the framer alone (a small buffer cap on half the cases, so overflow paths run):
 *                  every frame within its cap, byte counter = bytes pushed;
 *  - `<p>/decode`  what `orlink decode` runs: the protocol's StreamDecoder (framer + decoder +
 *                  profile mapping); a one-chunk case through cli/decode.ts decodeCapture() itself,
 *                  else RX chunks to push(), TX to pushTx(), then flush() and the summary
 *                  accessors; ~40 % of the cases with receive times and the gateway time base;
 *  - `<p>/session` the session driver on an in-memory link, as the session tests drive it:
 *                  start(), onBytes() per RX chunk and tick() on a simulated clock, a quiet minute
 *                  (timeouts, keep-alives, re-association), flush(), stop() twice.
 * Oracle (oracle.ts): canonical observations, sane counters; anything thrown is a crash.
 */
import type { DeviceProtocol, StreamDecoder } from '../../../gateway/src/protocols/protocol.js';
import { geDri, DriFramer } from '../../../gateway/src/protocols/ge-dri/index.js';
import { MAX_RECORD_BYTES } from '../../../gateway/src/protocols/ge-dri/layout.js';
import { draegerMedibus, MedibusFramer, MAX_FRAME_BYTES as MEDIBUS_MAX } from '../../../gateway/src/protocols/draeger-medibus/index.js';
import { philipsIntelliVue, MibFramer } from '../../../gateway/src/protocols/philips-intellivue/index.js';
import { MAX_FRAME_BYTES as MIB_MAX } from '../../../gateway/src/protocols/philips-intellivue/framer.js';
import { hl7Mllp, MllpFramer } from '../../../gateway/src/protocols/hl7-mllp/index.js';
import { masimo, LineFramer, DEFAULT_MAX_LINE_BYTES } from '../../../gateway/src/protocols/masimo/index.js';
import { nonin, NoninFramer } from '../../../gateway/src/protocols/nonin/index.js';
import { FRAME_SIZE, type DataFormat } from '../../../gateway/src/protocols/nonin/frame.js';
import { geDriEncoded, hl7Encoded, intelliVueEncoded, masimoEncoded, medibusEncoded, noninEncoded } from '../encoder-seeds.js';
import { decodeCapture } from '../../../cli/decode.js';
import { checkObservation, checkObservations, checkStats } from '../oracle.js';
import { goldenSeeds } from '../seeds.js';
import { InvariantError, type Codec, type FuzzCase, type FuzzTarget, type Seed } from '../types.js';
import { geDriCodec, hl7Codec, intelliVueCodec, masimoCodec, medibusCodec, noninCodec } from './codecs.js';

/** Gateway clock of a case's first chunk (ms). */
export const T0 = 1_790_000_000_000;
const MAX_SESSION_WRITE = 4 << 20;

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const fail = (msg: string): never => {
  throw new InvariantError(msg);
};

interface AnyFramer {
  push(chunk: Uint8Array): unknown[];
  stats(): { bytes: number; errors: Record<string, number> } & ({ frames: number } | { lines: number });
}

interface ProtocolSpec {
  protocol: DeviceProtocol;
  encoded: () => Seed[];
  codec: Codec;
  dict: Buffer[];
  sessionOptions?: Record<string, unknown>;
  /** the framer for `variant`, its cap, and the size of one of its outputs */
  framer(variant: number): { f: AnyFramer; cap: number; size(item: unknown): number };
}

const bufLen = (x: unknown): number => (x as Buffer).length;

export const SPECS: Record<string, ProtocolSpec> = {
  'ge-dri': {
    protocol: geDri,
    encoded: geDriEncoded,
    codec: geDriCodec,
    dict: [Buffer.of(0x7e), Buffer.of(0x7d), Buffer.of(0x7d, 0x5e), Buffer.of(0x7d, 0x5d), Buffer.of(0x7e, 0x7e), Buffer.of(0x00, 0x80), Buffer.of(0x01, 0x80)],
    sessionOptions: { waves: ['ECG1', 'INVP1', 'PLETH', 'CO2'], intervalS: 5 },
    framer: (v) => {
      const cap = v < 4 ? MAX_RECORD_BYTES : 64 + v * 40;
      return { f: new DriFramer({ maxRecordBytes: cap }), cap, size: bufLen };
    },
  },
  'philips-intellivue': {
    protocol: philipsIntelliVue,
    encoded: intelliVueEncoded,
    codec: intelliVueCodec,
    dict: [
      Buffer.of(0xc0),
      Buffer.of(0xc1),
      Buffer.of(0x7d),
      Buffer.of(0x7d, 0xe0),
      Buffer.of(0xc0, 0x11, 0x01),
      Buffer.of(0x0e, 0x00),
      Buffer.of(0x0c, 0x00),
      Buffer.of(0x19, 0x00),
      Buffer.of(0xe1, 0x00, 0x00, 0x02),
      Buffer.of(0x09, 0x6e),
      Buffer.of(0x09, 0x6d),
      Buffer.of(0x09, 0x4b),
      Buffer.of(0xff, 0xff, 0xff, 0xff),
      Buffer.of(0x00, 0x7f, 0xff, 0xff),
    ],
    sessionOptions: { waves: ['0x0102', '0x4BB4'] },
    framer: (v) => {
      const cap = v < 4 ? MIB_MAX : 32 + v * 64;
      return { f: new MibFramer({ maxFrameBytes: cap }), cap, size: bufLen };
    },
  },
  'draeger-medibus': {
    protocol: draegerMedibus,
    encoded: medibusEncoded,
    codec: medibusCodec,
    dict: [
      Buffer.of(0x1b),
      Buffer.of(0x01),
      Buffer.of(0x0d),
      Buffer.of(0x03),
      Buffer.of(0x15),
      Buffer.of(0xd0),
      Buffer.of(0xdf),
      Buffer.of(0xc4),
      Buffer.of(0xc5),
      Buffer.of(0xc6, 0xc1),
      Buffer.of(0xcf),
      b('\x1bT'),
      b('\x01S'),
      b('\x01R'),
      b('\x1bQ'),
      b('  '),
      b('-.'),
      b('FFF'),
      b('99999'),
    ],
    sessionOptions: { waves: ['00', '01', '05'] },
    framer: (v) => {
      const cap = v < 4 ? MEDIBUS_MAX : 8 + v * 8;
      const size = (x: unknown): number => {
        const e = x as { kind: string; frame?: { args?: Buffer; data?: Buffer } };
        return e.kind === 'frame' ? (e.frame!.args ?? e.frame!.data ?? Buffer.alloc(0)).length : 0;
      };
      return { f: new MedibusFramer({ maxFrameBytes: cap }), cap, size };
    },
  },
  'hl7-mllp': {
    protocol: hl7Mllp,
    encoded: hl7Encoded,
    codec: hl7Codec,
    dict: [
      Buffer.of(0x0b),
      Buffer.of(0x1c, 0x0d),
      Buffer.of(0x1c),
      b('\r'),
      b('\n'),
      b('MSH|^~\\&|'),
      b('\rOBX|1|NM|'),
      b('\rOBR|'),
      b('\rPV1||I|'),
      b('|'),
      b('^'),
      b('~'),
      b('\\'),
      b('&'),
      b('\\X41\\'),
      b('\\X\\'),
      b('\\.br\\'),
      b('\u2028'),
      Buffer.of(0xef, 0xbb, 0xbf),
      b('+9999'),
      b('-1400'),
      b('99991231235959.9999'),
      b('19000101'),
      b('-100'),
      b('NaN'),
      b('1e400'),
    ],
    framer: (v) => {
      const cap = v < 4 ? 1 << 20 : 16 + v * 32;
      return { f: new MllpFramer({ maxBytes: cap }), cap, size: bufLen };
    },
  },
  masimo: {
    protocol: masimo,
    encoded: masimoEncoded,
    codec: masimoCodec,
    dict: [
      b('\r\n'),
      b('\r'),
      b('\n'),
      b('='),
      b(' '),
      b('SPO2='),
      b('BPM='),
      b('PI='),
      b('SN='),
      b('EXC='),
      b('ALARM='),
      b('---'),
      b('%'),
      b('--.-%'),
      b('+--'),
      b('FFFFFFFF'),
      b('99/99/99 99:99:99 '),
      b('1e400'),
      b('0x'),
    ],
    framer: (v) => {
      const cap = v < 4 ? DEFAULT_MAX_LINE_BYTES : 8 + v * 8;
      return { f: new LineFramer({ maxLineBytes: cap }), cap, size: (x) => Buffer.byteLength(x as string, 'latin1') };
    },
  },
  nonin: {
    protocol: nonin,
    encoded: noninEncoded,
    codec: noninCodec,
    dict: [
      Buffer.of(0x01),
      Buffer.of(0x80),
      Buffer.of(0x81),
      Buffer.of(0x01, 0x81),
      Buffer.of(0xff),
      Buffer.of(0x7f),
      Buffer.of(0x03, 0x7f),
      Buffer.of(0x02, 0x00),
    ],
    framer: (v) => {
      const fmt = ([2, 7, 8] as DataFormat[])[v % 3];
      return { f: new NoninFramer(fmt), cap: FRAME_SIZE[fmt], size: bufLen };
    },
  },
};

export const PROTOCOLS = Object.keys(SPECS);

function seedsOf(name: string, spec: ProtocolSpec): () => Seed[] {
  return () => [...goldenSeeds(name).seeds, ...spec.encoded()];
}

interface DecoderExtras {
  pushTx?(chunk: Uint8Array): unknown;
  recordCounts?(): Record<string, number>;
  unmapped?(): Record<string, number>;
  takeForSession?(): unknown[];
}

function checkCounts(what: string, o: Record<string, number> | undefined): void {
  for (const [k, v] of Object.entries(o ?? {})) if (!Number.isSafeInteger(v) || v < 0) fail(`${what}.${k} = ${String(v)}`);
}

function checkDecoderEnd(dec: StreamDecoder & DecoderExtras, rxBytes?: number): void {
  checkStats(dec.stats(), rxBytes);
  const off = dec.clockOffsetMs();
  if (off !== undefined && !Number.isFinite(off)) fail(`clockOffsetMs ${off}`);
  const id = dec.identity();
  if (id !== undefined && typeof id.vendor !== 'string') fail('identity without a vendor string');
  const p = dec.profileId();
  if (p !== undefined && typeof p !== 'string') fail('profileId is not a string');
  checkCounts('records', dec.recordCounts?.());
  checkCounts('unmapped', dec.unmapped?.());
}

function decodeTarget(name: string, spec: ProtocolSpec): FuzzTarget {
  return {
    name: `${name}/decode`,
    group: name,
    kind: 'stream',
    seeds: seedsOf(name, spec),
    dict: spec.dict,
    codec: spec.codec,
    run(c: FuzzCase) {
      const gateway = c.clock === 'gateway';
      const dec: StreamDecoder & DecoderExtras = spec.protocol.createDecoder({
        profileId: c.profileId,
        timeBase: gateway ? 'gateway' : 'device',
        now: () => T0,
      });
      if (!gateway && c.chunks.length === 1 && c.chunks[0].dir === 'RX') {
        // a raw capture: literally what `orlink decode --format raw` runs
        let n = 0;
        const summary = decodeCapture(dec, c.chunks[0].bytes, 'raw', (o) => {
          checkObservation(o);
          n++;
        });
        if (summary.bytes !== c.chunks[0].bytes.length) fail(`summary bytes ${String(summary.bytes)} != ${c.chunks[0].bytes.length}`);
        checkDecoderEnd(dec);
        return n;
      }
      let t = T0;
      let rxBytes = 0;
      let n = 0;
      for (const ch of c.chunks) {
        t += c.stepMs;
        if (ch.dir === 'TX') {
          const o = dec.pushTx?.(ch.bytes);
          if (o !== undefined) n += checkObservations(o);
          continue;
        }
        rxBytes += ch.bytes.length;
        n += checkObservations(dec.push(ch.bytes, gateway ? t : undefined));
      }
      n += checkObservations(dec.flush?.() ?? []);
      dec.takeForSession?.();
      checkDecoderEnd(dec, rxBytes);
      return n;
    },
  };
}

function sessionTarget(name: string, spec: ProtocolSpec): FuzzTarget {
  return {
    name: `${name}/session`,
    group: name,
    kind: 'stream',
    seeds: seedsOf(name, spec),
    dict: spec.dict,
    codec: spec.codec,
    run(c: FuzzCase) {
      let now = T0;
      const s = spec.protocol.createSession({
        profileId: c.profileId,
        now: () => now,
        timeBase: c.clock === 'gateway' ? 'gateway' : 'device',
        options: spec.sessionOptions,
      });
      let written = 0;
      s.start({
        write: (bytes) => {
          if (!(bytes instanceof Uint8Array)) fail(`session wrote a ${typeof bytes}`);
          written += bytes.length;
          if (written > MAX_SESSION_WRITE) fail(`session wrote more than ${MAX_SESSION_WRITE} bytes in one case`);
        },
      });
      let n = 0;
      for (const ch of c.chunks) {
        now += c.stepMs;
        if (ch.dir === 'RX') n += checkObservations(s.onBytes(ch.bytes, now));
        s.tick(now);
      }
      for (let k = 0; k < 6; k++) s.tick((now += 10_000)); // a quiet minute: keep-alives, timeouts, re-association
      const last = s.lastFrameAt();
      if (last !== undefined && !Number.isFinite(last)) fail(`lastFrameAt ${last}`);
      n += checkObservations(s.flush?.() ?? []);
      s.stop();
      s.stop();
      checkDecoderEnd(s.decoder());
      return n;
    },
  };
}

function framerTarget(name: string, spec: ProtocolSpec): FuzzTarget {
  return {
    name: `${name}/framer`,
    group: name,
    kind: 'stream',
    seeds: seedsOf(name, spec),
    dict: spec.dict,
    codec: spec.codec,
    run(c: FuzzCase) {
      const { f, cap, size } = spec.framer(c.variant);
      let pushed = 0;
      let n = 0;
      for (const ch of c.chunks) {
        if (ch.dir !== 'RX') continue;
        pushed += ch.bytes.length;
        const out = f.push(ch.bytes);
        if (!Array.isArray(out)) fail('framer push did not return an array');
        for (const item of out) if (size(item) > cap) fail(`framer emitted ${size(item)} bytes over its cap ${cap}`);
        n += out.length;
      }
      checkStats(f.stats(), pushed);
      return n;
    },
  };
}

export function protocolTargets(): FuzzTarget[] {
  return PROTOCOLS.flatMap((p) => [framerTarget(p, SPECS[p]), decodeTarget(p, SPECS[p]), sessionTarget(p, SPECS[p])]);
}

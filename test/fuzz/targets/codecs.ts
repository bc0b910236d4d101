/**
 * Structure-aware mutation per protocol: the seed is cut into frame payloads with the protocol's
 * own framer, and the payloads are framed again with its own encoder after mutation, so checksums,
 * byte stuffing and MLLP blocks stay valid and the decoder (not only the framer) sees the mutation.
 */
import { DriFramer, frameRecord } from '../../../gateway/src/protocols/ge-dri/index.js';
import { encodeCommand, encodeResponse, ESC, MedibusFramer, SOH } from '../../../gateway/src/protocols/draeger-medibus/index.js';
import { frameMessage } from '../../../gateway/src/protocols/philips-intellivue/fcs.js';
import { MibFramer } from '../../../gateway/src/protocols/philips-intellivue/framer.js';
import { detectFraming } from '../../../gateway/src/protocols/philips-intellivue/stream-decoder.js';
import { MllpFramer, mllpWrap } from '../../../gateway/src/protocols/hl7-mllp/mllp.js';
import { LineFramer } from '../../../gateway/src/protocols/masimo/line-framer.js';
import { NoninFramer } from '../../../gateway/src/protocols/nonin/framer.js';
import type { DataFormat } from '../../../gateway/src/protocols/nonin/frame.js';
import type { Chunk, Codec, Rec, Seed } from '../types.js';

const rxOnly = (seed: Seed): Buffer[] => seed.chunks.filter((c) => c.dir === 'RX').map((c) => c.bytes);

/** A codec whose payloads come out of one framer over the RX bytes, and go back with one frame function. */
function simple(framer: () => { push(b: Uint8Array): (Buffer | string)[] }, frame: (b: Buffer) => Buffer): Codec {
  return {
    split(seed) {
      const f = framer();
      return rxOnly(seed)
        .flatMap((b) => f.push(b))
        .map((p): Rec => ({ dir: 'RX', bytes: typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p), tag: 0 }));
    },
    join: (recs) => recs.map((r): Chunk => ({ dir: r.dir, bytes: frame(r.bytes) })),
  };
}

export const geDriCodec = simple(() => new DriFramer(), frameRecord);
export const hl7Codec = simple(
  () => new MllpFramer(),
  (b) => mllpWrap(b),
);
export const masimoCodec = simple(
  () => new LineFramer({ maxLineBytes: 4096 }),
  (b) => Buffer.concat([b, Buffer.from('\r\n')]),
);

const LAN = 1;
/** LAN: every RX chunk is one datagram (no framing); serial: MIB frames with FCS. */
export const intelliVueCodec: Codec = {
  split(seed) {
    const rx = rxOnly(seed);
    if (rx.length && detectFraming(rx[0]) === 'lan') return rx.map((bytes) => ({ dir: 'RX', bytes, tag: LAN }));
    const f = new MibFramer();
    return rx.flatMap((b) => f.push(b)).map((bytes) => ({ dir: 'RX', bytes, tag: 0 }));
  },
  join: (recs) => recs.map((r) => ({ dir: r.dir, bytes: r.tag === LAN ? r.bytes : frameMessage(r.bytes) })),
};

const RT = -1;
/** Commands, responses (both directions: the host's ESC T matters) and realtime byte runs. */
export const medibusCodec: Codec = {
  split(seed) {
    const framers = { RX: new MedibusFramer(), TX: new MedibusFramer() };
    const out: Rec[] = [];
    for (const c of seed.chunks) {
      for (const ev of framers[c.dir].push(c.bytes)) {
        if (ev.kind === 'rt') out.push({ dir: c.dir, bytes: ev.bytes, tag: RT });
        else if (ev.frame.kind === 'command') out.push({ dir: c.dir, bytes: ev.frame.args, tag: (ESC << 8) | ev.frame.cmd });
        else out.push({ dir: c.dir, bytes: ev.frame.data, tag: (SOH << 8) | ev.frame.echo });
      }
    }
    return out;
  },
  join: (recs) =>
    recs.map((r) => ({
      dir: r.dir,
      bytes: r.tag === RT ? r.bytes : r.tag >> 8 === ESC ? encodeCommand(r.tag & 0xff, r.bytes) : encodeResponse(r.tag & 0xff, r.bytes),
    })),
};

/** Nonin #2/#7/#8 frames; #2/#7 checksums recomputed (sum of the first 4 bytes). */
export function noninFormatOf(seed: Seed): DataFormat {
  const m = /format([278])/.exec(`${seed.profileId ?? ''} ${seed.expectProfile ?? ''} ${seed.name}`);
  return m ? (Number(m[1]) as DataFormat) : 2;
}

export const noninCodec: Codec = {
  split(seed) {
    const f = new NoninFramer(noninFormatOf(seed));
    return rxOnly(seed)
      .flatMap((b) => f.push(b))
      .map((bytes) => ({ dir: 'RX', bytes: Buffer.from(bytes), tag: 0 }));
  },
  join: (recs, seed) => {
    const fmt = noninFormatOf(seed);
    return [
      {
        dir: 'RX',
        bytes: Buffer.concat(
          recs.map((r) => {
            const b = Buffer.from(r.bytes);
            if (fmt !== 8 && b.length === 5) b[4] = (b[0] + b[1] + b[2] + b[3]) & 0xff;
            return b;
          }),
        ),
      },
    ];
  },
};

/**
 * `hl7-mllp/parser`: the HL7 v2 parser and what the decoder reads with it, on one message
 * payload (the MLLP blocks of the HL7 seeds). parseHl7 may only throw Hl7ParseError; component
 * access, unescaping, HL7 times (UTC, a fixed offset, an IANA zone) and the ACK built for the
 * message must not throw, and a time is finite or undefined.
 */
import { buildAck, comp, comps, Hl7ParseError, parseHl7, parseHl7Time, unescapeHl7, type Hl7Message } from '../../../gateway/src/protocols/hl7-mllp/index.js';
import { goldenSeeds } from '../seeds.js';
import { hl7Encoded } from '../encoder-seeds.js';
import { InvariantError, type FuzzCase, type FuzzTarget, type Seed } from '../types.js';
import { hl7Codec } from './codecs.js';
import { SPECS } from './protocols.js';

const ZONES = ['UTC', '+0100', '-0330', 'Europe/Berlin', 'America/New_York'];
const MAX_FIELDS = 40;

function seeds(): Seed[] {
  const all = [...goldenSeeds('hl7-mllp').seeds, ...hl7Encoded()];
  return all.flatMap((s) => hl7Codec.split(s).map((r, i): Seed => ({ name: `${s.name}/msg${i}`, chunks: [{ dir: 'RX', bytes: r.bytes }] })));
}

function time(s: string, zone: string): void {
  const t = parseHl7Time(s, zone);
  if (t !== undefined && !Number.isFinite(t)) throw new InvariantError(`parseHl7Time('${s.slice(0, 40)}', ${zone}) = ${t}`);
}

export const parserTarget: FuzzTarget = {
  name: 'hl7-mllp/parser',
  group: 'hl7-mllp',
  kind: 'buffer',
  seeds,
  dict: SPECS['hl7-mllp'].dict,
  maxBytes: 8192,
  run(c: FuzzCase) {
    let msg: Hl7Message;
    try {
      msg = parseHl7(c.chunks[0]?.bytes ?? Buffer.alloc(0));
    } catch (err) {
      if (err instanceof Hl7ParseError) return 0;
      throw err;
    }
    const zone = ZONES[c.variant % ZONES.length];
    for (const seg of msg.segments.slice(0, 64)) {
      for (let n = 1; n < Math.min(seg.fields.length, MAX_FIELDS); n++) {
        comps(msg, seg, n);
        comp(msg, seg, n, 2, 2);
        unescapeHl7(seg.fields[n], msg.seps);
      }
      if (seg.id === 'OBX') time(comp(msg, seg, 14), zone);
      if (seg.id === 'OBR') time(comp(msg, seg, 7), zone);
    }
    time(comp(msg, msg.segments[0], 7), zone);
    buildAck(msg, 'AE', { nowMs: 1_790_000_000_000, controlId: 'A1', text: 'fuzz' });
    return msg.segments.length;
  },
};

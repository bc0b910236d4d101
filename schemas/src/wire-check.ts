/**
 * protobufjs decodes a known field sent with another wire type by skipping it: an envelope whose
 * `devices` arrive as a fixed64 decodes as a valid envelope without devices, and its readings are
 * gone without an error. This walk, run before decoding, refuses that: every known field must carry
 * the wire type its declaration allows (a repeated scalar may also be packed), and a message field
 * is walked recursively. Unknown field numbers are allowed (a newer gateway's additions).
 */
import protobuf from 'protobufjs';

const VARINT = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64 = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32 = new Set(['fixed32', 'sfixed32', 'float']);

/** The wire types a field may arrive with, and the message type to walk into (if any). */
function expected(f: protobuf.Field): { wire: number[]; message: protobuf.Type | null } {
  const r = f.resolve().resolvedType;
  if (r instanceof protobuf.Type) return { wire: [2], message: r };
  let wt: number;
  if (r instanceof protobuf.Enum || VARINT.has(f.type)) wt = 0;
  else if (FIXED64.has(f.type)) wt = 1;
  else if (FIXED32.has(f.type)) wt = 5;
  else return { wire: [2], message: null }; // string, bytes
  return { wire: f.repeated ? [wt, 2] : [wt], message: null };
}

const plans = new WeakMap<protobuf.Type, Map<number, { name: string; wire: number[]; message: protobuf.Type | null }>>();
function planOf(t: protobuf.Type) {
  let p = plans.get(t);
  if (!p) {
    p = new Map();
    for (const f of t.fieldsArray) p.set(f.id, { name: f.name, ...expected(f) });
    plans.set(t, p);
  }
  return p;
}

/** Throws an Error naming the path of the first field with a wrong wire type; `maxDepth` bounds nesting. */
export function checkWireTypes(type: protobuf.Type, bytes: Uint8Array, maxDepth = 16): void {
  walk(type, protobuf.Reader.create(bytes), bytes.length, type.name, maxDepth);
}

function walk(type: protobuf.Type, r: protobuf.Reader, end: number, path: string, depth: number): void {
  if (depth < 0) throw new Error(`${path}: nested too deeply`);
  const plan = planOf(type);
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wt = tag & 7;
    const f = plan.get(id);
    if (f && !f.wire.includes(wt)) throw new Error(`${path}.${f.name}: wire type ${wt}, declared ${f.wire.join(' or ')}`);
    if (f?.message) {
      const len = r.uint32();
      const stop = r.pos + len;
      if (stop > end) throw new Error(`${path}.${f.name}: length ${len} past the end of its message`);
      walk(f.message, r, stop, `${path}.${f.name}`, depth - 1);
      r.pos = stop;
    } else {
      r.skipType(wt);
    }
  }
  if (r.pos !== end) throw new Error(`${path}: a field runs past the end of its message`);
}

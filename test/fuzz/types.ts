/** Shapes shared by the fuzzer's pieces (see README.md). */
export type Dir = 'RX' | 'TX';

/** One read (RX: device → host) or write (TX: host → device) as it reaches the code under test. */
export interface Chunk {
  dir: Dir;
  bytes: Buffer;
}

/** A starting input: a golden testcase (or a window of one), or encoder output. */
export interface Seed {
  name: string;
  chunks: Chunk[];
  /** Profile the case decodes with (case.json "profile"); undefined = auto. */
  profileId?: string;
  /** The profile the decoding ends up with (case.json expect.profile): lets a window from the middle decode with it. */
  expectProfile?: string;
}

/** One generated input and how it is fed. */
export interface FuzzCase {
  chunks: Chunk[];
  profileId?: string;
  /** 'device': as `orlink decode` (no receive times); 'gateway': receive times and the gateway time base. */
  clock: 'device' | 'gateway';
  /** ms between two chunks (receive times, session ticks). */
  stepMs: number;
  /** 0..7, for a target's own choices (a framer's buffer cap, a data format). */
  variant: number;
}

/** A frame payload without its framing/checksum, so a mutation inside it survives the checksum. */
export interface Rec {
  dir: Dir;
  bytes: Buffer;
  tag: number;
}

/** Structure-aware mutation: seed → payloads, payloads → valid frames again (checksums recomputed). */
export interface Codec {
  split(seed: Seed): Rec[];
  join(recs: Rec[], seed: Seed): Chunk[];
  /** mutate the whole record list (default: a window of 1..10 records, as a stream is read) */
  keepAll?: boolean;
}

export interface FuzzTarget {
  /** e.g. 'ge-dri/decode'; also the crasher folder under crashers/. */
  name: string;
  /** Report grouping: the protocol, or 'ingest' / 'hl7'. */
  group: string;
  /** stream: chunks in order (saved as hexlog); buffer: one input buffer (saved as .bin). */
  kind: 'stream' | 'buffer';
  seeds(): Seed[];
  /** Tokens worth inserting: frame delimiters, keywords. */
  dict?: Buffer[];
  codec?: Codec;
  /** Generated inputs are cut to this many bytes (default 8 KiB). */
  maxBytes?: number;
  /**
   * Throws on a failure: an escaped exception, or an InvariantError from the oracle. May return
   * how many observations (or messages) the case produced: the report shows how often cases get
   * through to the decoder rather than being rejected at the framer.
   */
  run(c: FuzzCase): number | void | Promise<number | void>;
  /** Once per worker before the cases (slow fixtures: not under the hang watch). */
  setup?(): Promise<void>;
}

/** Raised by the oracle (not by the code under test): a result that breaks a stated invariant. */
export class InvariantError extends Error {
  /** which invariant (failures of one rule are one defect, whatever the values) */
  readonly rule: string;
  constructor(message: string, rule?: string) {
    super(message);
    this.name = 'InvariantError';
    this.rule = rule ?? message.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, 'N');
  }
}

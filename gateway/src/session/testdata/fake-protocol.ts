/**
 * A tiny line protocol for tests of the runtime (not a vendor protocol):
 *   device → gateway:  "ID vendor model fw\n" | "N <vendorCode> <value>\n" | "W <vendorCode> <rateHz> <s1,s2,...>\n"
 *                      "A <text>\n" (alarm start) | "S <name> <value>\n"
 *                      "H <vendorCode> <value>\n": a numeric the driver holds until flush() (as a
 *                      MEDIBUS open wave block is held); anything else is a `garbage` error
 *   gateway → device:  "START\n" on start, "POLL\n" on each tick, "STOP\n" on stop
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { DecodeStats, DeviceIdentity, DeviceProtocol, SessionDriver, SessionIO, SessionOptions, StreamDecoder } from '../../protocols/protocol.js';

const MAP: Record<string, { mdc: string; code: number; unit: string }> = {
  hr: { mdc: 'MDC_ECG_HEART_RATE', code: 147842, unit: '/min' },
  spo2: { mdc: 'MDC_PULS_OXIM_SAT_O2', code: 150456, unit: '%' },
  ecg: { mdc: 'MDC_ECG_ELEC_POTL_II', code: 131074, unit: 'mV' },
};

class FakeDecoder implements StreamDecoder {
  private buf = '';
  private st: DecodeStats = { frames: 0, bytes: 0, errors: {} };
  private id: DeviceIdentity | undefined;
  last: number | undefined;
  /** 'H' readings, handed out only by the driver's flush() */
  held: Observation[] = [];
  constructor(
    private readonly now: () => number,
    private readonly forcedProfile?: string,
  ) {}

  push(chunk: Uint8Array, rx = this.now()): Observation[] {
    this.st.bytes += chunk.length;
    this.buf += Buffer.from(chunk).toString('latin1');
    if (this.buf.length > 4096) {
      this.buf = '';
      this.err('oversize');
    }
    const out: Observation[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      const [k, a, b, c] = line.split(' ');
      if (k === 'ID' && a) {
        this.id = { vendor: a, model: b, firmware: c };
      } else if (k === 'N' && a && b !== undefined && Number.isFinite(Number(b))) {
        const m = MAP[a];
        out.push({
          kind: 'numeric',
          mdc: m?.mdc ?? null,
          code: m?.code ?? null,
          value: Number(b),
          unit: m?.unit ?? '',
          t: rx,
          vendorCode: a,
          ...(m ? {} : { flags: ['unmapped' as const] }),
        });
      } else if (k === 'W' && a && Number(b) > 0 && c) {
        const m = MAP[a];
        const samples = c.split(',').map(Number);
        out.push({
          kind: 'wave',
          mdc: m?.mdc ?? null,
          code: m?.code ?? null,
          unit: m?.unit ?? '',
          t0: rx,
          rateHz: Number(b),
          samples,
          scale: 0.01,
          offset: 0,
          vendorCode: a,
        });
      } else if (k === 'H' && a && b !== undefined && Number.isFinite(Number(b))) {
        this.held.push({ kind: 'numeric', mdc: null, code: null, value: Number(b), unit: '', t: rx, vendorCode: a, flags: ['unmapped'] });
      } else if (k === 'A' && a) {
        out.push({ kind: 'alarm', mdc: null, code: null, text: line.slice(2), priority: 'high', source: 'physiological', phase: 'start', t: rx });
      } else if (k === 'S' && a && b !== undefined) {
        out.push({ kind: 'setting', name: a, value: Number.isFinite(Number(b)) ? Number(b) : b, t: rx });
      } else {
        this.err('garbage');
        continue;
      }
      this.st.frames++;
      this.last = rx;
    }
    return out;
  }
  private err(kind: string): void {
    this.st.errors[kind] = (this.st.errors[kind] ?? 0) + 1;
  }
  stats(): DecodeStats {
    return { ...this.st, errors: { ...this.st.errors } };
  }
  identity(): DeviceIdentity | undefined {
    return this.id;
  }
  profileId(): string | undefined {
    return this.forcedProfile ?? (this.id ? `${this.id.vendor}/${this.id.model}` : undefined);
  }
  clockOffsetMs(): number | undefined {
    return this.id ? -42 : undefined;
  }
}

export class FakeDriver implements SessionDriver {
  private io: SessionIO | undefined;
  readonly dec: FakeDecoder;
  constructor(private readonly opts: SessionOptions = {}) {
    this.dec = new FakeDecoder(opts.now ?? Date.now, opts.profileId);
  }
  start(io: SessionIO): void {
    this.io = io;
    io.write(Buffer.from('START\n'));
  }
  onBytes(chunk: Uint8Array, rx: number): Observation[] {
    if (this.opts.options?.throwOn && Buffer.from(chunk).toString().includes(String(this.opts.options.throwOn))) throw new Error('driver bug');
    return this.dec.push(chunk, rx);
  }
  tick(): void {
    if (this.opts.options?.poll) this.io?.write(Buffer.from('POLL\n'));
  }
  stop(): void {
    this.io?.write(Buffer.from('STOP\n'));
  }
  decoder(): StreamDecoder {
    return this.dec;
  }
  lastFrameAt(): number | undefined {
    return this.dec.last;
  }
  flush(): Observation[] {
    return this.dec.held.splice(0);
  }
}

export const fakeProtocol: DeviceProtocol = {
  name: 'fake-line',
  serialDefaults: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false },
  createDecoder: (opts) => new FakeDecoder(opts?.now ?? Date.now, opts?.profileId),
  createSession: (opts) => new FakeDriver(opts),
};

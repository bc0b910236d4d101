/**
 * Capture recorder: writes every byte a device session receives (`RX`) and sends (`TX`) as the
 * hexlog text format (record/README.md), so `orlink decode` can replay a field problem:
 *   # comments (device, protocol, link, gateway time; `# t=<ISO>` marks when traffic resumes)
 *   RX 10 02 fe ...   (one received chunk per line)
 *   TX 10 02 ...      (one written chunk per line)
 * Lines are buffered and flushed every `flushMs` (and at close). Write errors are counted, never thrown.
 * Privacy: the file is created 0600 (a directory it creates 0700, modes set explicitly); for
 * `hl7-mllp` the patient segments are redacted in both directions before anything is written
 * (hl7-redactor.ts) unless `keepPhi` (`--record-phi`, lab use only) says otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mkdirPrivate, openPrivate } from '../outbox/private-fs.js';
import { Hl7Redactor } from './hl7-redactor.js';

export interface RecorderMeta {
  deviceId: string;
  protocol: string;
  gatewayId?: string;
  link?: string;
}

export interface RecorderOptions {
  flushMs?: number;
  now?: () => number;
  /** Drop (and count) lines beyond this many buffered bytes when the disk cannot keep up. */
  maxBufferedBytes?: number;
  /** Keep HL7 patient segments in clear (`--record-phi`): lab use only. Default false = redacted. */
  keepPhi?: boolean;
}

/** Protocols whose bytes are HL7 v2 text and get patient segments redacted. */
const HL7_PROTOCOLS = new Set(['hl7-mllp']);

/** One capture file per device: the given path for one device, `name.<deviceId>.ext` for several. */
export function recordPaths(file: string, deviceIds: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (deviceIds.length === 1) {
    out.set(deviceIds[0], file);
    return out;
  }
  for (const id of deviceIds) out.set(id, devicePath(file, id));
  return out;
}

/** One device's capture when the file names several: `<base>.<deviceId><ext or .hexlog>`. */
export function devicePath(file: string, deviceId: string): string {
  const ext = path.extname(file);
  const base = ext ? file.slice(0, -ext.length) : file;
  return `${base}.${deviceId}${ext || '.hexlog'}`;
}

export function hexLine(dir: 'RX' | 'TX', bytes: Uint8Array): string {
  return `${dir} ${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ')}\n`;
}

export class HexlogRecorder {
  private fd: number | undefined;
  private lines: string[] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastTraffic = 0;
  private readonly opts: Required<RecorderOptions>;
  private readonly redact: { RX: Hl7Redactor; TX: Hl7Redactor } | undefined;
  readonly counters = { rxChunks: 0, txChunks: 0, bytes: 0, droppedLines: 0, writeErrors: 0, redactedSegments: 0 };

  constructor(
    private readonly file: string,
    private readonly meta: RecorderMeta,
    opts: RecorderOptions = {},
  ) {
    this.opts = { flushMs: 250, now: Date.now, maxBufferedBytes: 8 * 1024 * 1024, keepPhi: false, ...opts };
    this.redact = HL7_PROTOCOLS.has(meta.protocol) && !this.opts.keepPhi ? { RX: new Hl7Redactor(), TX: new Hl7Redactor() } : undefined;
  }

  async open(): Promise<void> {
    if (this.fd !== undefined) return;
    mkdirPrivate(path.dirname(this.file));
    this.fd = openPrivate(this.file, 'a');
    const m = this.meta;
    this.push('# orlink hexlog v1\n');
    this.push(`# device: ${m.deviceId}\n# protocol: ${m.protocol}\n`);
    if (m.gatewayId) this.push(`# gateway: ${m.gatewayId}\n`);
    if (m.link) this.push(`# link: ${m.link}\n`);
    if (this.redact) this.push('# phi: redacted (HL7 patient segments: PID PD1 MRG NK1 GT1 IN1-3 PV2, PV1 except PV1-1..3)\n');
    else if (HL7_PROTOCOLS.has(m.protocol)) this.push('# phi: KEPT (--record-phi): lab use only, this file holds patient data\n');
    this.push(`# gateway-time: ${new Date(this.opts.now()).toISOString()}\n`);
    this.timer = setInterval(() => this.flush(), this.opts.flushMs);
    this.timer.unref();
    this.flush();
  }

  rx(chunk: Uint8Array): void {
    this.chunk('RX', chunk);
  }
  tx(chunk: Uint8Array): void {
    this.chunk('TX', chunk);
  }

  /** A comment line (link opened/closed, watchdog). Newlines are flattened. */
  note(text: string): void {
    if (this.fd === undefined) return;
    this.push(`# ${new Date(this.opts.now()).toISOString()} ${text.replace(/[\r\n]+/g, ' ')}\n`);
  }

  flush(): void {
    if (this.fd === undefined || !this.lines.length) return;
    const text = this.lines.join('');
    this.lines = [];
    this.buffered = 0;
    try {
      fs.writeSync(this.fd, text);
    } catch {
      this.counters.writeErrors++;
    }
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    if (this.timer) clearInterval(this.timer);
    for (const dir of ['RX', 'TX'] as const) {
      const held = this.redact?.[dir].end();
      if (held?.length) this.push(hexLine(dir, held));
    }
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      this.counters.writeErrors++;
    }
  }

  private chunk(dir: 'RX' | 'TX', chunk: Uint8Array): void {
    if (this.fd === undefined || chunk.length === 0) return;
    const now = this.opts.now();
    if (now - this.lastTraffic >= 1000) this.push(`# t=${new Date(now).toISOString()}\n`);
    this.lastTraffic = now;
    if (dir === 'RX') this.counters.rxChunks++;
    else this.counters.txChunks++;
    this.counters.bytes += chunk.length;
    const r = this.redact?.[dir];
    const bytes = r ? r.push(chunk) : chunk; // the head of an unfinished segment comes with the next chunk
    if (r) this.counters.redactedSegments = this.redact!.RX.stats.segments + this.redact!.TX.stats.segments;
    if (bytes.length) this.push(hexLine(dir, bytes));
  }

  private push(line: string): void {
    if (this.buffered + line.length > this.opts.maxBufferedBytes) {
      this.counters.droppedLines++;
      return;
    }
    this.lines.push(line);
    this.buffered += line.length;
  }
}

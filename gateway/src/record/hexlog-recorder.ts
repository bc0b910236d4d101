/**
 * Capture recorder: writes every byte a device session receives (`RX`) and sends (`TX`) as the
 * hexlog text format (record/README.md), so `orlink decode` can replay a field problem:
 *   # comments (device, protocol, link, gateway time; `# t=<ISO>` marks when traffic resumes)
 *   RX 10 02 fe ...   (one received chunk per line)
 *   TX 10 02 ...      (one written chunk per line)
 * Lines are buffered and flushed every `flushMs` (and at close). Write errors are counted, never thrown.
 */
import fs from 'node:fs';
import path from 'node:path';

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
}

/** One capture file per device: the given path for one device, `name.<deviceId>.ext` for several. */
export function recordPaths(file: string, deviceIds: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (deviceIds.length === 1) { out.set(deviceIds[0], file); return out; }
  const ext = path.extname(file);
  const base = ext ? file.slice(0, -ext.length) : file;
  for (const id of deviceIds) out.set(id, `${base}.${id}${ext || '.hexlog'}`);
  return out;
}

export function hexLine(dir: 'RX' | 'TX', bytes: Uint8Array): string {
  return `${dir} ${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').replace(/(..)(?!$)/g, '$1 ')}\n`;
}

export class HexlogRecorder {
  private fd: number | undefined;
  private lines: string[] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastTraffic = 0;
  private readonly opts: Required<RecorderOptions>;
  readonly counters = { rxChunks: 0, txChunks: 0, bytes: 0, droppedLines: 0, writeErrors: 0 };

  constructor(private readonly file: string, private readonly meta: RecorderMeta, opts: RecorderOptions = {}) {
    this.opts = { flushMs: 250, now: Date.now, maxBufferedBytes: 8 * 1024 * 1024, ...opts };
  }

  async open(): Promise<void> {
    if (this.fd !== undefined) return;
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    this.fd = fs.openSync(this.file, 'a');
    const m = this.meta;
    this.push('# orlink hexlog v1\n');
    this.push(`# device: ${m.deviceId}\n# protocol: ${m.protocol}\n`);
    if (m.gatewayId) this.push(`# gateway: ${m.gatewayId}\n`);
    if (m.link) this.push(`# link: ${m.link}\n`);
    this.push(`# gateway-time: ${new Date(this.opts.now()).toISOString()}\n`);
    this.timer = setInterval(() => this.flush(), this.opts.flushMs);
    this.timer.unref();
    this.flush();
  }

  rx(chunk: Uint8Array): void { this.chunk('RX', chunk); }
  tx(chunk: Uint8Array): void { this.chunk('TX', chunk); }

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
    try { fs.writeSync(this.fd, text); } catch { this.counters.writeErrors++; }
  }

  async close(): Promise<void> {
    if (this.fd === undefined) return;
    if (this.timer) clearInterval(this.timer);
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    try { fs.closeSync(fd); } catch { this.counters.writeErrors++; }
  }

  private chunk(dir: 'RX' | 'TX', chunk: Uint8Array): void {
    if (this.fd === undefined || chunk.length === 0) return;
    const now = this.opts.now();
    if (now - this.lastTraffic >= 1000) this.push(`# t=${new Date(now).toISOString()}\n`);
    this.lastTraffic = now;
    if (dir === 'RX') this.counters.rxChunks++; else this.counters.txChunks++;
    this.counters.bytes += chunk.length;
    this.push(hexLine(dir, chunk));
  }

  private push(line: string): void {
    if (this.buffered + line.length > this.opts.maxBufferedBytes) { this.counters.droppedLines++; return; }
    this.lines.push(line);
    this.buffered += line.length;
  }
}

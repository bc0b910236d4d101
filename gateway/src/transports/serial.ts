/**
 * Serial link over serialport 13. Settings come from the device config, falling back to the
 * `link` block of the device's firmware profile, then to the protocol's serialDefaults (e.g. DRI
 * 19200 8E1 RTS/CTS). `listSerialPorts()` tolerates machines
 * without udev (`spawn udevadm ENOENT`).
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import type { SerialTransportConfig } from '../../../schemas/src/gateway-config.js';
import type { DeviceProtocol } from '../protocols/protocol.js';
import { GatewayError, GW_ERR } from '../errors.js';
import type { Link, LinkEvents } from './link.js';

export interface SerialSettings {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  rtscts: boolean;
}

/**
 * Each setting from the device's transport config when it gives it, else from the firmware
 * profile's `link` block (`profile`, when the device names a profile that has one), else from the
 * protocol's serialDefaults.
 */
export function serialSettings(cfg: SerialTransportConfig, defaults: DeviceProtocol['serialDefaults'], profile?: Omit<SerialSettings, 'path'>): SerialSettings {
  const base = profile ?? defaults;
  return {
    path: cfg.path,
    baudRate: cfg.baudRate ?? base.baudRate,
    dataBits: cfg.dataBits ?? base.dataBits,
    parity: cfg.parity ?? base.parity,
    stopBits: cfg.stopBits ?? base.stopBits,
    rtscts: cfg.rtscts ?? base.rtscts,
  };
}

export function describeSerial(s: SerialSettings): string {
  return `serial:${s.path}@${s.baudRate}-${s.dataBits}${s.parity[0].toUpperCase()}${s.stopBits}${s.rtscts ? '-rtscts' : ''}`;
}

export class SerialLink extends EventEmitter implements Link {
  readonly description: string;
  private port: SerialPort | undefined;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(private readonly settings: SerialSettings) {
    super();
    this.description = describeSerial(settings);
  }

  open(): Promise<void> {
    const s = this.settings;
    const port = new SerialPort({
      path: s.path,
      baudRate: s.baudRate,
      dataBits: s.dataBits,
      parity: s.parity,
      stopBits: s.stopBits,
      rtscts: s.rtscts,
      autoOpen: false,
    });
    return new Promise((resolve, reject) => {
      port.open((err) => {
        if (err) {
          void explainSerialOpenError(err, s.path).then((why) =>
            reject(
              new GatewayError(GW_ERR.TRANSPORT_OPEN, 'transient', `cannot open ${this.description}${why ? `: ${why}` : ''}`, {
                cause: err,
                ...(why ? { details: { hint: why } } : {}),
              }),
            ),
          );
          return;
        }
        this.port = port;
        let lastError: Error | undefined;
        port.on('data', (d: Buffer) => this.emit('data', d));
        port.on('error', (e: Error) => {
          lastError = e;
          this.emit('error', new GatewayError(GW_ERR.TRANSPORT_IO, 'transient', `${this.description} failed`, { cause: e }));
        });
        this.closed = new Promise((done) =>
          port.once('close', (e?: Error | null) => {
            this.port = undefined;
            const error = e ?? lastError;
            this.emit('close', { byUs: this.closing, ...(error ? { error } : {}) });
            done();
          }),
        );
        resolve();
      });
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.port?.isOpen) {
      this.emit('error', new GatewayError(GW_ERR.TRANSPORT_CLOSED, 'transient', `write on closed ${this.description}`));
      return;
    }
    this.port.write(Buffer.from(bytes));
  }

  async close(): Promise<void> {
    this.closing = true;
    const port = this.port;
    if (port?.isOpen) {
      // let queued writes (a driver's stop request) reach the wire, but never wait forever on a stalled port
      await Promise.race([new Promise<void>((r) => port.drain(() => r())), new Promise<void>((r) => setTimeout(r, 500).unref())]);
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
    }
    await this.closed;
  }

  override on<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.on(event, listener);
  }
  override off<E extends keyof LinkEvents>(event: E, listener: LinkEvents[E]): this {
    return super.off(event, listener);
  }
}

/** a serial port present on this machine; USB details where udev gives them */
export interface SerialPortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

/** Ports present on this machine; [] (not a crash) when udev is missing. */
export async function listSerialPorts(): Promise<SerialPortInfo[]> {
  try {
    return (await SerialPort.list()).map((p) => {
      const out: SerialPortInfo = { path: p.path };
      for (const k of ['manufacturer', 'serialNumber', 'vendorId', 'productId'] as const) if (p[k]) out[k] = p[k];
      return out;
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'ENOENT' || /udevadm|ENOENT/.test(String((err as Error)?.message))) return [];
    throw err;
  }
}

/**
 * The cause and the fix of a failed serial open, from the message of @serialport/bindings-cpp
 * ("Error: <strerror>, cannot open <path>"): a missing port lists the ports present, a permission
 * error names the dialout group, a busy port the other program. undefined for anything else.
 */
export async function explainSerialOpenError(
  err: Error,
  portPath: string,
  list: () => Promise<SerialPortInfo[]> = listSerialPorts,
): Promise<string | undefined> {
  const m = `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`;
  if (/ENOENT|No such file or directory/.test(m)) {
    let present: SerialPortInfo[] = [];
    try {
      present = await list();
    } catch {
      /* the hint goes without the list */
    }
    const names = present.map(
      (p) => p.path + (p.vendorId ? ` (USB ${p.vendorId}:${p.productId ?? '?'}${p.serialNumber ? ` serial ${p.serialNumber}` : ''})` : ''),
    );
    return `port ${portPath} not found; ports present: ${names.length ? names.join(', ') : 'none'} (is the USB adapter plugged in? \`orlink ports\` lists them; fix transport.path)`;
  }
  if (/EACCES|Permission denied/.test(m)) {
    const user = process.env.USER ?? process.env.LOGNAME ?? '<user>';
    return `no permission to open ${portPath}: add the user to the dialout group: sudo usermod -aG dialout ${user}, then log in again`;
  }
  if (/EBUSY|Resource busy|Cannot lock port|Resource temporarily unavailable/.test(m)) {
    return `port ${portPath} is in use by another program (another gateway, a terminal such as minicom/screen, or ModemManager): stop it`;
  }
  return undefined;
}

/**
 * The monitor's side of a serial line (a real port or the device end of a pty pair), opened
 * with the serialport package. DRI defaults: 19200 bit/s, 8 data bits, even parity, 1 stop bit.
 */
import { SerialPort } from 'serialport';
import { SIM_ERR, SimError } from '../errors.js';

export interface SerialLinkOptions {
  baudRate?: number;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  stopBits?: 1 | 2;
  rtscts?: boolean;
}

export async function openSerialLink(path: string, o: SerialLinkOptions = {}): Promise<SerialPort> {
  const port = new SerialPort({
    path,
    autoOpen: false,
    baudRate: o.baudRate ?? 19200,
    dataBits: o.dataBits ?? 8,
    parity: o.parity ?? 'even',
    stopBits: o.stopBits ?? 1,
    rtscts: o.rtscts ?? false,
  });
  await new Promise<void>((resolve, reject) =>
    port.open((e) => (e ? reject(new SimError(SIM_ERR.LINK_OPEN, `cannot open ${path}`, { kind: 'transient', cause: e })) : resolve())),
  );
  return port;
}

/** Close a port if open; never throws. */
export async function closeSerialLink(port: SerialPort): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}

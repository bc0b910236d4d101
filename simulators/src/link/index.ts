export { openPtyPair, type PtyPair, type PtyOptions } from './pty.js';
export { openSerialLink, closeSerialLink, type SerialLinkOptions } from './serial-link.js';
export { TcpDeviceServer } from './tcp-link.js';
export { memoryLinkPair } from './memory-link.js';

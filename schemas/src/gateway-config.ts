/**
 * Gateway configuration schema (TypeBox) and its defaults. One file (YAML or JSON) per bedside
 * gateway; `gateway/src/config.ts` loads it (defaults < file < env), validates it and freezes it.
 * Leaf module: imports nothing from the repo.
 */
import { Type, type Static } from '@sinclair/typebox';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });

export const SerialTransportSchema = Type.Object({
  kind: Type.Literal('serial'),
  path: Type.String({ minLength: 1 }),
  baudRate: Type.Optional(Type.Integer({ minimum: 50, maximum: 4_000_000 })),
  parity: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')])),
  dataBits: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(8)])),
  stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
  rtscts: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const TcpTransportSchema = Type.Object({
  kind: Type.Literal('tcp'),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
}, { additionalProperties: false });

/** The device connects to the gateway (HL7/MLLP monitors): listen on host:port, one device connection at a time. */
export const TcpServerTransportSchema = Type.Object({
  kind: Type.Literal('tcp-server'),
  host: Type.String({ minLength: 1, default: '127.0.0.1' }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** Remote addresses allowed to connect (e.g. the monitor's IP); empty/absent = any. */
  allow: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
}, { additionalProperties: false });

/**
 * Philips IntelliVue LAN (Data Export over UDP: one datagram = one message) to host:port
 * (port default 24105). Served by the generic datagram link gateway/src/transports/udp.ts.
 */
export const IntelliVueLanTransportSchema = Type.Object({
  kind: Type.Literal('intellivue-lan'),
  host: Type.String({ minLength: 1 }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  /** Local UDP port to bind (default: any). */
  localPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
}, { additionalProperties: false });

export const TransportConfigSchema = Type.Union([SerialTransportSchema, TcpTransportSchema, TcpServerTransportSchema, IntelliVueLanTransportSchema]);

export const DeviceExpectSchema = Type.Object({
  serial: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  firmware: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });

export const DeviceConfigSchema = Type.Object({
  id: Id,
  protocol: Type.String({ minLength: 1 }),
  profile: Type.String({ minLength: 1, default: 'auto' }),
  transport: TransportConfigSchema,
  /** Protocol-specific, free-form (e.g. which waves to request). */
  options: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
  /** No valid frame for this long while the port stays open → close and reopen. */
  watchdogMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  timeBase: Type.Union([Type.Literal('gateway'), Type.Literal('device')], { default: 'gateway' }),
  clockToleranceMs: Type.Integer({ minimum: 0, default: 5_000 }),
  /**
   * The identity this device should report (e.g. from the asset register). When the device says
   * otherwise, the status marks the device `identityMismatch` (schemas/src/device-identity.ts rule).
   */
  expect: Type.Optional(DeviceExpectSchema),
}, { additionalProperties: false });

export const MqttTlsSchema = Type.Object({
  /** PEM CA bundle to trust (private CA of the hospital broker). */
  caFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Client certificate + key (PEM) when the broker authenticates gateways by certificate. */
  certFile: Type.Optional(Type.String({ minLength: 1 })),
  keyFile: Type.Optional(Type.String({ minLength: 1 })),
  rejectUnauthorized: Type.Boolean({ default: true }),
}, { additionalProperties: false });

export const MqttConfigSchema = Type.Object({
  url: Type.String({ pattern: '^(mqtt|mqtts|tcp|tls|ws|wss)://', default: 'mqtt://127.0.0.1:1883' }),
  username: Type.Optional(Type.String()),
  /** Prefer passwordFile or env ORLINK_MQTT_PASSWORD: secrets do not belong in the file. */
  password: Type.Optional(Type.String()),
  passwordFile: Type.Optional(Type.String({ minLength: 1 })),
  topicPrefix: Type.String({ minLength: 1, pattern: '^[^#+]+$', default: 'orlink/v1' }),
  publishIntervalMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 1_000 }),
  keepaliveS: Type.Integer({ minimum: 0, maximum: 65_535, default: 30 }),
  /** In-flight window: QoS 1 publishes awaiting PUBACK. */
  maxInflight: Type.Integer({ minimum: 1, maximum: 65_535, default: 32 }),
  statusIntervalMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
  connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
  /** TLS settings for mqtts:// URLs. */
  tls: Type.Optional(MqttTlsSchema),
}, { additionalProperties: false });

export const OutboxConfigSchema = Type.Object({
  kind: Type.Union([Type.Literal('file'), Type.Literal('memory')], { default: 'file' }),
  dir: Type.String({ minLength: 1, default: './outbox' }),
  /** Total bytes kept on disk; beyond it the OLDEST segment is dropped (counted). */
  maxBytes: Type.Integer({ minimum: 4_096, default: 512 * 1024 * 1024 }),
  segmentBytes: Type.Integer({ minimum: 1_024, default: 8 * 1024 * 1024 }),
  /** fsync each group commit before append() resolves. false = faster, loses the tail on power loss. */
  fsync: Type.Boolean({ default: true }),
}, { additionalProperties: false });

export const GatewayConfigSchema = Type.Object({
  gatewayId: Id,
  site: Id,
  room: Id,
  bed: Id,
  mqtt: MqttConfigSchema,
  outbox: OutboxConfigSchema,
  devices: Type.Array(DeviceConfigSchema, { default: [] }),
  log: Type.Object({
    level: Type.Union([
      Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'),
      Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent'),
    ], { default: 'info' }),
  }, { additionalProperties: false, default: {} }),
  /** Path of a hexlog capture of every byte (format: gateway/src/record/README.md); one file per device if several. */
  record: Type.Optional(Type.String({ minLength: 1 })),
}, { additionalProperties: false });

export type SerialTransportConfig = Static<typeof SerialTransportSchema>;
export type TcpTransportConfig = Static<typeof TcpTransportSchema>;
export type TcpServerTransportConfig = Static<typeof TcpServerTransportSchema>;
export type IntelliVueLanTransportConfig = Static<typeof IntelliVueLanTransportSchema>;
export type TransportConfig = Static<typeof TransportConfigSchema>;
export type DeviceConfig = Static<typeof DeviceConfigSchema>;
export type DeviceExpect = Static<typeof DeviceExpectSchema>;
export type MqttConfig = Static<typeof MqttConfigSchema>;
export type MqttTlsConfig = Static<typeof MqttTlsSchema>;
export type OutboxConfig = Static<typeof OutboxConfigSchema>;
export type GatewayConfig = Static<typeof GatewayConfigSchema>;

/** Defaults of the nested objects, applied before the file (defaults < file < env). */
export const GATEWAY_CONFIG_DEFAULTS = {
  mqtt: {
    url: 'mqtt://127.0.0.1:1883', topicPrefix: 'orlink/v1', publishIntervalMs: 1_000, keepaliveS: 30,
    maxInflight: 32, statusIntervalMs: 5_000, connectTimeoutMs: 10_000,
  },
  outbox: { kind: 'file', dir: './outbox', maxBytes: 512 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024, fsync: true },
  devices: [],
  log: { level: 'info' },
} as const;

export const DEVICE_CONFIG_DEFAULTS = {
  profile: 'auto', options: {}, watchdogMs: 10_000, timeBase: 'gateway', clockToleranceMs: 5_000,
} as const;

/**
 * Gateway configuration schema (TypeBox) and its defaults. One file (YAML or JSON) per bedside
 * gateway; `gateway/src/config.ts` loads it (defaults < file < env), validates it and freezes it.
 * Leaf module: imports nothing from the repo.
 */
import { isIP } from 'node:net';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ValueError } from '@sinclair/typebox/errors';

/** default envelope cap: 1 MiB (the broker's default max packet size) minus 8 KiB for topic and header */
export const MAX_ENVELOPE_BYTES = 1_048_576 - 8_192;

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });

export const SerialTransportSchema = Type.Object(
  {
    kind: Type.Literal('serial'),
    path: Type.String({ minLength: 1 }),
    baudRate: Type.Optional(Type.Integer({ minimum: 50, maximum: 4_000_000 })),
    parity: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')])),
    dataBits: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(8)])),
    stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])),
    rtscts: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const TcpTransportSchema = Type.Object(
  {
    kind: Type.Literal('tcp'),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
  },
  { additionalProperties: false },
);

/**
 * The device connects to the gateway (HL7/MLLP monitors): listen on host:port, ONE sender at a
 * time (a second connection while one is active is refused, never swapped in). `allow` is required
 * (senderProblems below) unless `allowAnySender: true` says on purpose that anyone may send.
 */
export const TcpServerTransportSchema = Type.Object(
  {
    kind: Type.Literal('tcp-server'),
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** Sender addresses allowed to connect: the monitor's IP (`10.1.20.31`) or a subnet (`10.1.20.0/28`). */
    allow: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** Accept any sender (simulator, test bench): logged as a warning at start. Not with `allow`. */
    allowAnySender: Type.Optional(Type.Boolean()),
    /** MLLP over TLS (gateway/src/transports/tcp-server.ts, docs/hl7-mllp.md "TLS"). */
    tls: Type.Optional(
      Type.Object(
        {
          /** server certificate + key (PEM files; relative to the config file) */
          certFile: Type.String({ minLength: 1 }),
          keyFile: Type.String({ minLength: 1 }),
          /** CA the sender's client certificate must chain to (needed for clientCerts optional/required) */
          caFile: Type.Optional(Type.String({ minLength: 1 })),
          /** none (default): no client certificate asked; optional: one presented must verify; required: must present one that verifies */
          clientCerts: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')])),
          /** the client certificate's CN must be one of these (with clientCerts: required) */
          allowCn: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** `allow` entry → [address, prefix length, family] or undefined when it is not an IP address or CIDR subnet. */
export function parseAllowEntry(entry: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', bits, extra] = entry.trim().split('/');
  const v = isIP(address);
  if (!v || extra !== undefined) return undefined;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return { address, family };
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  return prefix <= (v === 4 ? 32 : 128) ? { address, prefix, family } : undefined;
}

/**
 * Listening transports must say who may send (a security probe evicted a monitor and injected
 * values through an open MLLP port): every `tcp-server` device needs a non-empty `allow` of IP
 * addresses / CIDR subnets, or an explicit `allowAnySender: true`. One message per problem.
 */
export function senderProblems(devices: unknown): string[] {
  if (!Array.isArray(devices)) return [];
  const out: string[] = [];
  devices.forEach((d: { id?: unknown; transport?: { kind?: unknown; allow?: unknown; allowAnySender?: unknown } } | null, i) => {
    const tr = d?.transport;
    if (tr?.kind !== 'tcp-server') return;
    const name = typeof d?.id === 'string' ? d.id : `#${i}`;
    const allow = Array.isArray(tr.allow) ? tr.allow : [];
    if (tr.allowAnySender === true && allow.length) {
      out.push(
        `/devices/${i}/transport/allowAnySender: device '${name}' sets both allow and allowAnySender: keep allow (the monitor's address) and remove allowAnySender`,
      );
    } else if (tr.allowAnySender !== true && !allow.length) {
      out.push(
        `/devices/${i}/transport/allow: device '${name}' listens (tcp-server) without an allow-list of senders: set transport.allow to the monitor's IP address(es), e.g. allow: ["10.1.20.31"], or allowAnySender: true for a simulator or test bench only`,
      );
    }
    allow.forEach((a, j) => {
      if (typeof a === 'string' && !parseAllowEntry(a))
        out.push(`/devices/${i}/transport/allow/${j}: device '${name}': '${a}' is not an IP address or CIDR subnet (host names are not resolved)`);
    });
  });
  return out;
}

/**
 * The vendor-neutral transport kinds: any protocol may use them. (A datagram link exists,
 * gateway/src/transports/udp.ts, but no protocol needs a plain `udp` kind yet: the Philips one
 * declares `intellivue-lan` on top of it.)
 */
export const NEUTRAL_TRANSPORT_SCHEMAS: Readonly<Record<string, TSchema>> = {
  serial: SerialTransportSchema,
  tcp: TcpTransportSchema,
  'tcp-server': TcpServerTransportSchema,
};
export const NEUTRAL_TRANSPORT_KINDS = Object.keys(NEUTRAL_TRANSPORT_SCHEMAS);

/**
 * A transport kind declared by the device's protocol (`DeviceProtocol.transports`, e.g.
 * `intellivue-lan` of gateway/src/protocols/philips-intellivue/): any object here; its `kind` and
 * fields are checked by transportProblems below, against the protocol's own schema (which refuses
 * unknown keys like every object of this file).
 */
export const ProtocolTransportSchema = Type.Record(Type.String(), Type.Unknown());
const PROTOCOL_KIND = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/** Validates the neutral kinds and the outline of a protocol's kind; its static type is the neutral kinds (TransportConfig below). */
export const TransportConfigSchema = Type.Unsafe<TransportConfig>(
  Type.Union([SerialTransportSchema, TcpTransportSchema, TcpServerTransportSchema, ProtocolTransportSchema]),
);

/** The transport kinds a protocol declares, by kind ({} for none). */
export type ProtocolTransportLookup = (protocol: string) => Readonly<Record<string, TSchema>>;
let registered: ProtocolTransportLookup | undefined;

/**
 * Where the checks below find the kinds each protocol declares when they are not given them: the
 * gateway registers its protocol registry (gateway/src/transports/declared.ts). A process that
 * registers none (ingest, which loads no protocol driver) checks a protocol's kind for its outline
 * only; the gateway checks it against the protocol when it loads its config or receives a document.
 */
export function registerProtocolTransports(lookup: ProtocolTransportLookup): void {
  registered = lookup;
}

/**
 * Problems of one device's transport (`at`: its JSON path), one message each: a neutral kind
 * against its schema; another kind against the kinds the device's protocol declares (`declared`,
 * else the registered lookup); a kind it does not declare names the kinds allowed.
 */
export function transportProblems(
  tr: unknown,
  at: string,
  protocol: string,
  declared?: Readonly<Record<string, TSchema>>,
  describe: (e: ValueError) => string = (e) => `${e.path}: ${e.message}`,
): string[] {
  const kinds = declared ?? registered?.(protocol);
  const kind = typeof tr === 'object' && tr !== null && !Array.isArray(tr) ? (tr as { kind?: unknown }).kind : undefined;
  const allowed = [...NEUTRAL_TRANSPORT_KINDS, ...Object.keys(kinds ?? {})].map((k) => `'${k}'`).join(', ');
  const own = (m: Readonly<Record<string, TSchema>> | undefined): TSchema | undefined =>
    typeof kind === 'string' && m && Object.hasOwn(m, kind) ? m[kind] : undefined;
  const schema = own(NEUTRAL_TRANSPORT_SCHEMAS) ?? own(kinds);
  if (!schema && kinds) {
    return [
      typeof kind === 'string'
        ? `${at}/kind: '${kind}' is not a transport kind of protocol '${protocol}': use one of ${allowed}`
        : `${at}/kind: expected one of ${allowed}`,
    ];
  }
  if (schema) return [...Value.Errors(schema, tr)].map((e) => describe({ ...e, path: `${at}${e.path}` }));
  // no protocol at hand (ingest): the outline of a protocol's kind
  return typeof kind === 'string' && PROTOCOL_KIND.test(kind) ? [] : [`${at}/kind: expected one of ${allowed} or a kind declared by the device's protocol`];
}

export const DeviceExpectSchema = Type.Object(
  {
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    firmware: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const DeviceConfigSchema = Type.Object(
  {
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
  },
  { additionalProperties: false },
);

export const MqttTlsSchema = Type.Object(
  {
    /** PEM CA bundle to trust (private CA of the hospital broker). */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Client certificate + key (PEM) when the broker authenticates gateways by certificate. */
    certFile: Type.Optional(Type.String({ minLength: 1 })),
    keyFile: Type.Optional(Type.String({ minLength: 1 })),
    rejectUnauthorized: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export const MqttConfigSchema = Type.Object(
  {
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
    /**
     * Largest envelope (MQTT payload) the batcher writes; bigger ones are split. Stay below the
     * broker's max packet size (ingest `broker.limits.maxPacketBytes`, default 1 MiB; the topic and
     * header take < 8 KiB): a larger packet makes the broker close the connection.
     */
    maxEnvelopeBytes: Type.Integer({ minimum: 4_096, maximum: 268_435_455, default: MAX_ENVELOPE_BYTES }),
    statusIntervalMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5_000 }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
    /** TLS settings for mqtts:// URLs. */
    tls: Type.Optional(MqttTlsSchema),
  },
  { additionalProperties: false },
);

export const OutboxConfigSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('file'), Type.Literal('memory')], { default: 'file' }),
    dir: Type.String({ minLength: 1, default: './outbox' }),
    /** Total bytes kept on disk; beyond it the OLDEST segment is dropped (counted). */
    maxBytes: Type.Integer({ minimum: 4_096, default: 512 * 1024 * 1024 }),
    segmentBytes: Type.Integer({ minimum: 1_024, default: 8 * 1024 * 1024 }),
    /** fsync each group commit before append() resolves. false = faster, loses the tail on power loss. */
    fsync: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    gatewayId: Id,
    site: Id,
    room: Id,
    bed: Id,
    mqtt: MqttConfigSchema,
    outbox: OutboxConfigSchema,
    devices: Type.Array(DeviceConfigSchema, { default: [] }),
    log: Type.Object(
      {
        level: Type.Union(
          [
            Type.Literal('fatal'),
            Type.Literal('error'),
            Type.Literal('warn'),
            Type.Literal('info'),
            Type.Literal('debug'),
            Type.Literal('trace'),
            Type.Literal('silent'),
          ],
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Path of a hexlog capture of every byte (format: gateway/src/record/README.md); one file per device if several. */
    record: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Keep patient data (HL7 PID, PV1 names/ids, NK1, GT1, IN1 …) in the capture: lab use only, never
     * on a ward. Default false: those fields are redacted before the bytes reach the file.
     */
    recordPhi: Type.Optional(Type.Boolean()),
    /**
     * Where the devices come from (docs/gateway.md "Devices from the registry"): `file` = `devices`
     * above; `registry` = the retained document ingest publishes on the gateway's config topic
     * (schemas/src/gateway-config-doc.ts). Default when loading a file: `registry` when the file has
     * no `devices` key, else `file`.
     */
    configSource: Type.Optional(Type.Union([Type.Literal('file'), Type.Literal('registry')])),
    /** configSource registry: the last good document, to start offline from (default `<outbox.dir>/registry-config.json`) */
    configCacheFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Folder of firmware profiles, laid out as firmware-profiles/ (default: that folder of the package); relative to the config file. */
    profilesDir: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export type SerialTransportConfig = Static<typeof SerialTransportSchema>;
export type TcpTransportConfig = Static<typeof TcpTransportSchema>;
export type TcpServerTransportConfig = Static<typeof TcpServerTransportSchema>;
/** a protocol-declared kind: its fields are the protocol's (read through the protocol's own schema) */
export type ProtocolTransportConfig = { kind: string; [field: string]: unknown };
/**
 * The neutral kinds, which code may narrow on `kind`. A device whose protocol declares its own kind
 * holds a ProtocolTransportConfig there at run time: only the protocol reads it (createLink,
 * gateway/src/transports/index.ts, takes AnyTransportConfig).
 */
export type TransportConfig = SerialTransportConfig | TcpTransportConfig | TcpServerTransportConfig;
export type AnyTransportConfig = TransportConfig | ProtocolTransportConfig;
export type DeviceConfig = Static<typeof DeviceConfigSchema>;
export type DeviceExpect = Static<typeof DeviceExpectSchema>;
export type MqttConfig = Static<typeof MqttConfigSchema>;
export type MqttTlsConfig = Static<typeof MqttTlsSchema>;
export type OutboxConfig = Static<typeof OutboxConfigSchema>;
export type GatewayConfig = Static<typeof GatewayConfigSchema>;

/** Defaults of the nested objects, applied before the file (defaults < file < env). */
export const GATEWAY_CONFIG_DEFAULTS = {
  mqtt: {
    url: 'mqtt://127.0.0.1:1883',
    topicPrefix: 'orlink/v1',
    publishIntervalMs: 1_000,
    keepaliveS: 30,
    maxInflight: 32,
    maxEnvelopeBytes: MAX_ENVELOPE_BYTES,
    statusIntervalMs: 5_000,
    connectTimeoutMs: 10_000,
  },
  outbox: { kind: 'file', dir: './outbox', maxBytes: 512 * 1024 * 1024, segmentBytes: 8 * 1024 * 1024, fsync: true },
  devices: [],
  log: { level: 'info' },
} as const;

export const DEVICE_CONFIG_DEFAULTS = {
  profile: 'auto',
  options: {},
  watchdogMs: 10_000,
  timeBase: 'gateway',
  clockToleranceMs: 5_000,
} as const;

/**
 * `orlink ingest` configuration: TypeBox schema, defaults < file (YAML/JSON) < env, frozen.
 * Secrets (InfluxDB password/token, the broker service and record-system accounts' passwords) come only from env
 * variables or files named by env (`*_FILE`); a secret found in the config file is an error.
 * Every problem is reported at once in one IngestConfigError.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { parseAllowEntry } from './gateway-config.js';
import { describeValueError } from './config-problems.js';

const Port = (def: number) => Type.Integer({ minimum: 0, maximum: 65535, default: def });

/**
 * Broker limits (docs/security.md "Broker limits", docs/mqtt.md). The embedded aedes broker enforces
 * all of them; `orlink mqtt-auth` writes what Mosquitto 2 can express (max_packet_size) into its
 * generated mosquitto.conf; the subscriber applies `maxStatusBytes` with either broker.
 */
export const BrokerLimitsSchema = Type.Object(
  {
    /** a whole MQTT packet (header + topic + payload); larger → connection closed. The gateway's mqtt.maxEnvelopeBytes must stay below. */
    maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 268_435_455, default: 1_048_576 }),
    /** a gateway status document (and its will); larger → refused, not stored in the registry */
    maxStatusBytes: Type.Integer({ minimum: 256, default: 65_536 }),
    /** per gateway (all its sessions): publishes per second beyond the burst are held back (no PUBACK, socket not read) */
    publishesPerSecond: Type.Number({ minimum: 0.1, default: 100 }),
    publishBurst: Type.Integer({ minimum: 1, default: 200 }),
    /** per gateway: payload bytes per second beyond a burst of max(this, maxPacketBytes) are held back */
    bytesPerSecond: Type.Integer({ minimum: 1024, default: 262_144 }),
    /** per gateway: publishes waiting for their PUBACK at once; one more closes that connection */
    maxInflight: Type.Integer({ minimum: 1, default: 64 }),
    /** per gateway: open sessions (distinct client ids); a new login beyond it closes the oldest */
    maxSessions: Type.Integer({ minimum: 1, default: 2 }),
    /** failed MQTT logins per user name (and per user name + address) before a lockout */
    loginMaxFailures: Type.Integer({ minimum: 1, default: 5 }),
    /** failed MQTT logins per source address (any user name) before a lockout */
    loginMaxFailuresPerAddress: Type.Integer({ minimum: 1, default: 20 }),
    /** first lockout; each further failure after it doubles it up to loginLockoutMaxMs */
    loginLockoutMs: Type.Integer({ minimum: 1, default: 1_000 }),
    loginLockoutMaxMs: Type.Integer({ minimum: 1, default: 60_000 }),
    /** failures are forgotten after this long without a new one */
    loginForgetMs: Type.Integer({ minimum: 1000, default: 15 * 60_000 }),
    /** embedded broker intake: batches stored at once (one gateway is in at most one of them) */
    intakeConcurrency: Type.Integer({ minimum: 1, maximum: 16, default: 2 }),
    /** embedded broker intake: payload bytes per batch (a batch holds at least one envelope) */
    intakeBatchMaxBytes: Type.Integer({ minimum: 1024, default: 1_048_576 }),
  },
  { default: {}, additionalProperties: false },
);

export type BrokerLimits = Static<typeof BrokerLimitsSchema>;

/** the defaults of every broker limit */
export const brokerLimitDefaults = (): BrokerLimits => Value.Default(BrokerLimitsSchema, {}) as BrokerLimits;

/**
 * A TLS listener (docs/tls.md): PEM files, read at start; relative paths are relative to the config
 * file's directory. `clientCerts`: 'none' = no certificate asked for; 'optional' = asked for, and
 * one that is presented must verify against `caFile` (and `crlFile`); 'required' = the handshake
 * fails without a verified certificate.
 */
export const TlsServerSchema = Type.Object(
  {
    certFile: Type.String({ minLength: 1 }),
    keyFile: Type.String({ minLength: 1 }),
    /** CA(s) that client certificates must chain to; required unless clientCerts is 'none' */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    /** PEM CRL of that CA: revoked client certificates fail (re-read at restart) */
    crlFile: Type.Optional(Type.String({ minLength: 1 })),
    clientCerts: Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')], { default: 'none' }),
    minVersion: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { default: 'TLSv1.2' }),
  },
  { additionalProperties: false },
);

export type TlsServerConfig = Static<typeof TlsServerSchema>;

/** `broker.tls`: the embedded broker's extra mqtts listener (the plain one stays, on loopback, for ingest itself) */
export const BrokerTlsSchema = Type.Object(
  {
    ...TlsServerSchema.properties,
    host: Type.String({ default: '127.0.0.1' }),
    /** 0 = any free port (reported by startIngest as mqttsPort) */
    port: Port(8883),
  },
  { additionalProperties: false },
);

export type BrokerTlsConfig = Static<typeof BrokerTlsSchema>;

const TLS_FILE_KEYS = ['certFile', 'keyFile', 'caFile', 'crlFile'] as const;

/** TLS checks and path resolution (relative to `baseDir`) of one TLS section; problems named by key */
function checkTls(tls: TlsServerConfig | undefined, at: string, baseDir: string, problems: string[]): void {
  if (!tls) return;
  for (const k of TLS_FILE_KEYS) {
    const v = tls[k];
    if (typeof v === 'string' && v) tls[k] = path.resolve(baseDir, v);
  }
  if (tls.clientCerts !== 'none' && !tls.caFile)
    problems.push(`${at}/caFile: required when ${at.slice(1).replace(/\//g, '.')}.clientCerts is '${tls.clientCerts}'`);
  if (tls.crlFile && !tls.caFile) problems.push(`${at}/crlFile: needs caFile (the CRL's CA)`);
}

const isLoopback = (host: string) => host === 'localhost' || (isIP(host) === 4 ? host.startsWith('127.') : host === '::1');

export const IngestConfigSchema = Type.Object(
  {
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Port(8080),
        /** REST over HTTPS only (docs/tls.md); a client certificate, when asked for, comes in addition to the API token */
        tls: Type.Optional(TlsServerSchema),
      },
      { default: {}, additionalProperties: false },
    ),
    db: Type.Object(
      {
        /** sqlite file for registry, cases, dedupe and dead letters; ':memory:' for tests. */
        path: Type.String({ default: './data/ingest.sqlite' }),
        dedupeRetentionDays: Type.Number({ minimum: 1, default: 7 }),
      },
      { default: {}, additionalProperties: false },
    ),
    series: Type.Object(
      {
        kind: Type.Union([Type.Literal('influx-v1'), Type.Literal('influx-v2'), Type.Literal('memory')], { default: 'influx-v1' }),
        url: Type.String({ default: 'http://127.0.0.1:8086' }),
        database: Type.String({ minLength: 1, default: 'orlink' }),
        retentionPolicy: Type.String({ minLength: 1, default: 'raw' }),
        retentionDuration: Type.String({ pattern: '^(INF|[0-9]+[hdw])$', default: '30d' }),
        createDatabase: Type.Boolean({ default: true }),
        username: Type.Optional(Type.String()),
        org: Type.String({ default: 'orlink' }),
        bucket: Type.String({ default: 'orlink/raw' }),
        maxLinesPerRequest: Type.Integer({ minimum: 1, default: 5000 }),
        concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
        requestTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
        retryMinMs: Type.Integer({ minimum: 1, default: 100 }),
        retryMaxMs: Type.Integer({ minimum: 1, default: 5_000 }),
        retryAttempts: Type.Integer({ minimum: 1, default: 5 }),
      },
      { default: {}, additionalProperties: false },
    ),
    broker: Type.Object(
      {
        kind: Type.Union([Type.Literal('embedded'), Type.Literal('external')], { default: 'embedded' }),
        host: Type.String({ default: '127.0.0.1' }),
        /** embedded listener port; 0 = any free port (reported by startIngest). */
        port: Port(1883),
        /** external broker URL (mqtt://host:port). */
        url: Type.Optional(Type.String()),
        /** the ingest service account (the embedded broker creates it; password from env or random). */
        username: Type.String({ default: 'orlink-ingest' }),
        /** external broker only: 4 = MQTT 3.1.1, 5 = MQTT 5 (aedes speaks only 3.1.1). */
        protocolVersion: Type.Union([Type.Literal(4), Type.Literal(5)], { default: 4 }),
        /** external broker only: subscribe to data as `$share/{shareGroup}/...` so N ingest replicas share the load. */
        shareGroup: Type.Optional(Type.String({ minLength: 1, pattern: '^[^/#+]+$' })),
        /** MQTT 5: how long the broker keeps ingest's session (and its queued QoS 1 messages) after a disconnect. */
        sessionExpiryS: Type.Integer({ minimum: 1, maximum: 4294967295, default: 7 * 86400 }),
        /** embedded broker: PUBACK a gateway's data publish only after it is stored (false = aedes' PUBACK on receipt). */
        ackAfterWrite: Type.Boolean({ default: true }),
        limits: BrokerLimitsSchema,
        /** embedded broker: an mqtts listener as well (docs/tls.md); gateways may log in with a client certificate (CN = gateway id) */
        tls: Type.Optional(BrokerTlsSchema),
        /**
         * embedded broker: the read-only record-system account (docs/mqtt.md): reads `vitals` and `case`
         * only; its password only from ORLINK_RECORD_BROKER_PASSWORD (or _FILE), as for `orlink mqtt-auth`
         */
        record: Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            username: Type.String({ pattern: '^[A-Za-z0-9._-]{1,128}$', default: 'orlink-record' }),
            /** open sessions of the account (distinct client ids); a new login beyond it closes the oldest */
            maxSessions: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    mqtt: Type.Object(
      {
        prefix: Type.String({ default: 'orlink/v1', pattern: '^[^#+]+[^/#+]$' }),
        clientId: Type.String({ minLength: 1, default: 'orlink-ingest-1' }),
        keepaliveS: Type.Integer({ minimum: 5, default: 30 }),
        batchMaxEnvelopes: Type.Integer({ minimum: 1, default: 64 }),
        maxPending: Type.Integer({ minimum: 1, default: 512 }),
        publishVitals: Type.Boolean({ default: true }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** intake integrity (docs/security.md "Intake integrity", docs/ingest.md): caps, time window, content identity */
    intake: Type.Object(
      {
        /** numerics + wave samples + alarms + settings in one envelope; beyond: the envelope is dead-lettered whole */
        maxReadingsPerEnvelope: Type.Integer({ minimum: 1, default: 100_000 }),
        /** new InfluxDB series (measurement + tags) one gateway may create per hour; beyond: refused per point */
        maxNewSeriesPerGatewayHour: Type.Integer({ minimum: 1, default: 1_000 }),
        /** known series kept in memory (all gateways) */
        maxKnownSeries: Type.Integer({ minimum: 1000, default: 500_000 }),
        /** a reading more than this ahead of the receive time is quarantined */
        futureMs: Type.Integer({ minimum: 0, default: 5 * 60_000 }),
        /** the same for readings the gateway flagged clock-jump / clock-offset (a gateway clock step) */
        futureFlaggedMs: Type.Integer({ minimum: 0, default: 2 * 3600_000 }),
        /** a reading more than this older than its envelope's sent_at is quarantined */
        maxLagBehindSentMs: Type.Integer({ minimum: 0, default: 6 * 3600_000 }),
        /** an envelope whose sent_at is more than this behind the receive time: all its readings quarantined */
        maxBacklogMs: Type.Integer({ minimum: 60_000, default: 7 * 86_400_000 }),
        /** the content-identity index covers this much before now in memory (older: looked up in the series backend) */
        contentWindowMs: Type.Integer({ minimum: 10_000, default: 5 * 60_000 }),
        contentMaxEntriesPerBed: Type.Integer({ minimum: 1000, default: 200_000 }),
        /** one lookup query spans at most this much time */
        lookupSpanMs: Type.Integer({ minimum: 1000, default: 10 * 60_000 }),
        /** lookup queries per bed and batch; readings beyond are quarantined as unverified */
        maxLookupsPerBatch: Type.Integer({ minimum: 1, default: 16 }),
      },
      { default: {}, additionalProperties: false },
    ),
    timeline: Type.Object(
      {
        maxWaveWindowMs: Type.Integer({ minimum: 1000, default: 300_000 }),
        maxWindowMs: Type.Integer({ minimum: 1000, default: 7 * 24 * 3600_000 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** REST authentication (docs/api.md "Authentication"). Key names avoid "token": such keys are refused as secrets. */
    auth: Type.Object(
      {
        /** expiry of a new API token when none is asked for */
        defaultExpiryDays: Type.Integer({ minimum: 1, default: 90 }),
        /** the longest expiry a new API token may have */
        maxExpiryDays: Type.Integer({ minimum: 1, default: 365 }),
        rateLimit: Type.Object(
          {
            windowMs: Type.Integer({ minimum: 1000, default: 60_000 }),
            /** requests per window with one API token */
            perCaller: Type.Integer({ minimum: 1, default: 600 }),
            /** failed authentications per window from one client address; beyond: 429 */
            failedAuthPerIp: Type.Integer({ minimum: 1, default: 60 }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    /** outbound HL7 to record systems (docs/hl7-out.md): IHE PCD-01 per open case every intervalS, PCD-04 per alarm state change */
    hl7Out: Type.Object(
      {
        endpoints: Type.Array(
          Type.Object(
            {
              name: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
              host: Type.String({ minLength: 1 }),
              port: Type.Integer({ minimum: 1, maximum: 65535 }),
              /** site ids served; absent or empty = every site */
              sites: Type.Optional(Type.Array(Type.String())),
              /** PCD-01 interval (seconds; fractions for tests) */
              intervalS: Type.Number({ minimum: 0.05, default: 60 }),
              ackTimeoutMs: Type.Integer({ minimum: 10, default: 10_000 }),
              /** AE answers before a message is dead-lettered (AR: at once; no answer: never) */
              maxAttempts: Type.Integer({ minimum: 1, default: 5 }),
              retryMinMs: Type.Integer({ minimum: 1, default: 1_000 }),
              retryMaxMs: Type.Integer({ minimum: 1, default: 60_000 }),
              connectTimeoutMs: Type.Integer({ minimum: 10, default: 5_000 }),
              receivingApp: Type.Optional(Type.String()),
              receivingFacility: Type.Optional(Type.String()),
              /** PID-3.4 of the MRN */
              assigningAuthority: Type.Optional(Type.String()),
              /** MLLP over TLS (docs/hl7-out.md "TLS"); file paths relative to the config file's directory */
              tls: Type.Optional(
                Type.Object(
                  {
                    /** CA(s) the endpoint's server certificate must chain to (default: the system's CAs) */
                    caFile: Type.Optional(Type.String({ minLength: 1 })),
                    /** a client certificate (with chain) and its key, presented when the endpoint asks; both or neither */
                    certFile: Type.Optional(Type.String({ minLength: 1 })),
                    keyFile: Type.Optional(Type.String({ minLength: 1 })),
                    /** the name checked against the server certificate (default: host) */
                    servername: Type.Optional(Type.String({ minLength: 1 })),
                    rejectUnauthorized: Type.Boolean({ default: true }),
                    minVersion: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { default: 'TLSv1.2' }),
                  },
                  { additionalProperties: false },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
        /** bytes of messages not yet ACKed (all endpoints); beyond: new messages refused (counted, logged), produced later */
        queueMaxBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
        /** a window (or an alarm) is produced this long after its end, for readings that arrive late */
        settleMs: Type.Integer({ minimum: 0, default: 5_000 }),
        /** producer tick (alarms are picked up at this pace) */
        pollMs: Type.Integer({ minimum: 10, default: 1_000 }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    /** cases from the HIS over MLLP (docs/his.md): ADT + SIU listener, schedule, late binding */
    his: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        host: Type.String({ default: '127.0.0.1' }),
        /** 0 = any free port (reported by startIngest) */
        port: Port(2575),
        /** HIS interface engine addresses or CIDR subnets allowed to connect; required when enabled */
        allow: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        /** `"<PV1-3.1>^<PV1-3.2>^<PV1-3.3>"` (point of care^room^bed) or `"<poc>^<room>"` → registry bed id */
        locationMap: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { default: {} }),
        /** also match PL room/bed components against registry room and bed names when no map entry fits */
        matchRegistryNames: Type.Boolean({ default: false }),
        /** zone of HL7 times without an offset: 'UTC', '+0100' or an IANA name */
        timeZone: Type.String({ minLength: 1, default: 'UTC' }),
        maxMessageBytes: Type.Integer({ minimum: 1024, maximum: 16_777_216, default: 1_048_576 }),
        /** MLLP over TLS only (docs/his.md "TLS"); his.allow is still checked before the handshake */
        tls: Type.Optional(TlsServerSchema),
        /** with tls.clientCerts 'required': the interface engine's certificate CN must be one of these */
        allowCn: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type IngestConfigBase = Static<typeof IngestConfigSchema>;

/** config `intake`: envelope cap, series budget, device time window, content identity (docs/security.md "Intake integrity") */
export type IntakeLimits = IngestConfigBase['intake'];

/** the defaults of every intake limit */
export const intakeDefaults = (): IntakeLimits => Value.Default(IngestConfigSchema.properties.intake, {}) as IntakeLimits;

/** Secrets never come from the file. */
export interface IngestSecrets {
  influxPassword?: string;
  influxToken?: string;
  brokerPassword?: string;
  /** the embedded broker's record-system account (broker.record) */
  recordPassword?: string;
}

export type IngestConfig = Readonly<IngestConfigBase & { secrets: IngestSecrets }>;

export class IngestConfigError extends Error {
  readonly code = 'ING_ERR_CONFIG';
  readonly problems: string[];
  constructor(problems: string[], options?: { cause?: unknown }) {
    super(`invalid ingest config:\n  ${problems.join('\n  ')}`, options);
    this.name = 'IngestConfigError';
    this.problems = problems;
  }
}

/** env name → config path (non-secret overrides). */
const ENV_OVERRIDES: Record<string, [string, string, 'string' | 'number']> = {
  ORLINK_INGEST_HTTP_HOST: ['http', 'host', 'string'],
  ORLINK_INGEST_HTTP_PORT: ['http', 'port', 'number'],
  ORLINK_INGEST_DB_PATH: ['db', 'path', 'string'],
  ORLINK_INGEST_SERIES_KIND: ['series', 'kind', 'string'],
  ORLINK_INGEST_INFLUX_URL: ['series', 'url', 'string'],
  ORLINK_INGEST_INFLUX_DATABASE: ['series', 'database', 'string'],
  ORLINK_INGEST_BROKER_KIND: ['broker', 'kind', 'string'],
  ORLINK_INGEST_BROKER_PORT: ['broker', 'port', 'number'],
  ORLINK_INGEST_BROKER_URL: ['broker', 'url', 'string'],
  ORLINK_INGEST_BROKER_SHARE_GROUP: ['broker', 'shareGroup', 'string'],
  ORLINK_INGEST_MQTT_CLIENT_ID: ['mqtt', 'clientId', 'string'],
  ORLINK_INGEST_LOG_LEVEL: ['log', 'level', 'string'],
};

const SECRET_ENV: Record<keyof IngestSecrets, string> = {
  influxPassword: 'ORLINK_INGEST_INFLUX_PASSWORD',
  influxToken: 'ORLINK_INGEST_INFLUX_TOKEN',
  brokerPassword: 'ORLINK_INGEST_BROKER_PASSWORD',
  recordPassword: 'ORLINK_RECORD_BROKER_PASSWORD',
};

const SECRET_KEYS = ['password', 'token', 'secret'];

function findSecrets(v: unknown, at: string, out: string[]): void {
  if (!v || typeof v !== 'object') return;
  for (const [k, val] of Object.entries(v)) {
    if (SECRET_KEYS.some((s) => k.toLowerCase().includes(s))) out.push(`${at}/${k}: secrets are read from env or *_FILE only`);
    else findSecrets(val, `${at}/${k}`, out);
  }
}

export interface LoadOptions {
  file?: string;
  /** parsed file content instead of a file (tests, programmatic use). */
  input?: unknown;
  env?: Record<string, string | undefined>;
}

export function loadIngestConfig(opts: LoadOptions = {}): IngestConfig {
  const problems: string[] = [];
  const env = opts.env ?? process.env;
  let raw: unknown = opts.input ?? {};
  if (opts.file) {
    try {
      raw = YAML.parse(readFileSync(opts.file, 'utf8')) ?? {};
    } catch (err) {
      throw new IngestConfigError([`${opts.file}: ${(err as Error).message}`], { cause: err });
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new IngestConfigError(['config root must be a mapping']);
  const merged = structuredClone(raw) as Record<string, Record<string, unknown>>;
  findSecrets(merged, '', problems);
  for (const [name, [section, key, type]] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const sec = (merged[section] ??= {});
    if (type === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) problems.push(`${name}: not a number: ${v}`);
      else sec[key] = n;
    } else sec[key] = v;
  }
  const withDefaults = Value.Default(IngestConfigSchema, merged) as IngestConfigBase;
  for (const e of Value.Errors(IngestConfigSchema, withDefaults)) problems.push(describeValueError(e));
  const secrets: IngestSecrets = {};
  for (const [k, name] of Object.entries(SECRET_ENV) as [keyof IngestSecrets, string][]) {
    if (env[name]) secrets[k] = env[name];
    else if (env[`${name}_FILE`]) {
      try {
        secrets[k] = readFileSync(env[`${name}_FILE`] as string, 'utf8').trim();
      } catch (err) {
        problems.push(`${name}_FILE: ${(err as Error).message}`);
      }
    }
  }
  if (withDefaults.broker?.kind === 'external' && !withDefaults.broker.url) problems.push('/broker/url: required when broker.kind is external');
  if (withDefaults.broker?.kind === 'embedded' && withDefaults.broker.protocolVersion === 5)
    problems.push('/broker/protocolVersion: the embedded aedes broker speaks MQTT 3.1.1 only (4)');
  if (withDefaults.broker?.kind === 'embedded' && withDefaults.broker.shareGroup)
    problems.push('/broker/shareGroup: shared subscriptions need an external broker (aedes has none)');
  const lim = withDefaults.broker?.limits;
  if (lim && lim.loginLockoutMaxMs < lim.loginLockoutMs) problems.push('/broker/limits/loginLockoutMaxMs: shorter than loginLockoutMs');
  if (lim && lim.maxStatusBytes >= lim.maxPacketBytes) problems.push('/broker/limits/maxStatusBytes: must be below maxPacketBytes');
  if (withDefaults.auth && withDefaults.auth.defaultExpiryDays > withDefaults.auth.maxExpiryDays) {
    problems.push('/auth/defaultExpiryDays: longer than auth.maxExpiryDays');
  }
  if (withDefaults.his?.enabled && !withDefaults.his.allow.length)
    problems.push('/his/allow: required when his.enabled: the HIS interface engine\'s address(es), e.g. allow: ["10.1.5.20"]');
  withDefaults.his?.allow.forEach((a, j) => {
    if (!parseAllowEntry(a)) problems.push(`/his/allow/${j}: '${a}' is not an IP address or CIDR subnet`);
  });
  const baseDir = opts.file ? path.dirname(path.resolve(opts.file)) : process.cwd();
  checkTls(withDefaults.http?.tls, '/http/tls', baseDir, problems);
  checkTls(withDefaults.broker?.tls, '/broker/tls', baseDir, problems);
  checkTls(withDefaults.his?.tls, '/his/tls', baseDir, problems);
  if (withDefaults.his?.allowCn && withDefaults.his.tls?.clientCerts !== 'required')
    problems.push("/his/allowCn: pinning certificate CNs needs his.tls.clientCerts 'required'");
  withDefaults.hl7Out?.endpoints.forEach((ep, j) => {
    const c = ep.tls;
    if (!c) return;
    for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
      const v = c[k];
      if (v) c[k] = path.resolve(baseDir, v);
    }
    if (!c.certFile !== !c.keyFile) problems.push(`/hl7Out/endpoints/${j}/tls: certFile and keyFile go together`);
  });
  if (withDefaults.broker?.tls && withDefaults.broker.kind !== 'embedded')
    problems.push('/broker/tls: only for the embedded broker (an external broker has its own TLS config, docs/tls.md)');
  if (withDefaults.broker?.tls && !isLoopback(withDefaults.broker.host)) {
    problems.push(
      `/broker/host: must be a loopback address (127.0.0.1, ::1, localhost) when broker.tls is set: the plain listener is for ingest itself, gateways connect to broker.tls.host:port (got '${withDefaults.broker.host}')`,
    );
  }
  const rec = withDefaults.broker?.record;
  if (rec?.enabled) {
    if (withDefaults.broker.kind !== 'embedded')
      problems.push('/broker/record: only for the embedded broker (with Mosquitto, `orlink mqtt-auth` writes the record-system account)');
    if (rec.username === withDefaults.broker.username) problems.push('/broker/record/username: must differ from broker.username (the service account)');
    if (!secrets.recordPassword) problems.push(`${SECRET_ENV.recordPassword}: required when broker.record.enabled (or ${SECRET_ENV.recordPassword}_FILE)`);
  }
  if (withDefaults.series?.kind === 'influx-v2' && !secrets.influxToken) problems.push(`${SECRET_ENV.influxToken}: required for series.kind influx-v2`);
  if (problems.length) throw new IngestConfigError(problems);
  return deepFreeze({ ...withDefaults, secrets }) as IngestConfig;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

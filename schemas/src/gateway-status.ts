/**
 * The gateway status document: the retained JSON a gateway publishes on
 * `{prefix}/{site}/{room}/{bed}/{gatewayId}/status`, as a contract between both sides.
 *  - the gateway builds it (gateway/src/status/gateway-status.ts, types `Static` of these schemas);
 *  - ingest reads it with `checkGatewayStatus` (ingest/src/mqtt/processor.ts) and refuses what does
 *    not match (counter `status_invalid_total`), so nothing unchecked reaches the registry or InfluxDB.
 * Two shapes, told apart by `online`: the full document (`online: true`, every `statusIntervalMs` and
 * on changes) and the last will / goodbye (`online: false`, `reason`). The JSON Schema export is
 * schemas/json/gateway-status.schema.json (written by schemas/src/write-gateway-status-json.ts,
 * checked by gateway-status.test.ts).
 *
 * Compatibility: unknown properties are allowed (a newer gateway may add optional fields), a new
 * field is always optional (an older gateway's document stays valid), `schemaVersion` changes only
 * when a field changes meaning or type. Gateways of schema version 1 before the contract named
 * the version field `schema`; `checkGatewayStatus` reads that too.
 * Leaf module: imports nothing from the repo but other schemas/ files.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { IDENTITY_FIELDS } from './device-identity.js';
import type { LinkState } from './envelope.js';

export const STATUS_SCHEMA_VERSION = 1;

const Count = Type.Integer({ minimum: 0 });
const Time = Type.Integer({ minimum: 0, description: 'ms since the Unix epoch' });
const Text = Type.String({ minLength: 1 });

export const LinkStateSchema = Type.Union((['connecting', 'identifying', 'streaming', 'stalled', 'down'] as const).map((s) => Type.Literal(s)));

export const IdentityDifferenceSchema = Type.Object({
  field: Type.Union(IDENTITY_FIELDS.map((f) => Type.Literal(f))),
  expected: Type.String(),
  reported: Type.String(),
});

export const DeviceStatusDocSchema = Type.Object({
  id: Text,
  protocol: Text,
  link: LinkStateSchema,
  linkDescription: Type.Optional(Type.String()),
  profile: Type.Optional(Type.String()),
  vendor: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  firmware: Type.Optional(Type.String()),
  serial: Type.Optional(Type.String()),
  clockOffsetMs: Type.Optional(Type.Number({ description: 'device clock minus gateway clock (ms)' })),
  frames: Count,
  errors: Count,
  errorsByKind: Type.Record(Type.String(), Count),
  reconnects: Count,
  watchdogTrips: Count,
  bytesRx: Count,
  bytesTx: Count,
  lastFrameAt: Type.Optional(Time),
  lastError: Type.Optional(Type.String()),
  /** the fields where the device reports something else than the config's `expect` (absent: none) */
  identityMismatch: Type.Optional(Type.Array(IdentityDifferenceSchema)),
});

/** The outbox: its depth (`records`, `bytes`: unacknowledged, waiting for the broker) and counters since the gateway started. */
export const OutboxStatusSchema = Type.Object({
  kind: Text,
  records: Type.Integer({ minimum: 0, description: 'unacknowledged records (the outbox depth)' }),
  bytes: Type.Integer({ minimum: 0, description: 'unacknowledged payload bytes' }),
  appended: Count,
  acked: Count,
  droppedRecords: Count,
  droppedReadings: Count,
  droppedBytes: Count,
  rejectedTooLarge: Count,
  truncatedBytes: Count,
  corruptSegments: Count,
});

export const PublisherStatsSchema = Type.Object({
  connected: Type.Boolean(),
  connects: Count,
  published: Count,
  acked: Count,
  resent: Count,
  /** outbox records above mqtt.maxEnvelopeBytes dropped unsent (the broker would close the connection on each try) */
  droppedTooLarge: Type.Optional(Count),
  lastPublishAt: Type.Optional(Time),
  lastAckAt: Type.Optional(Time),
  lastError: Type.Optional(Type.String()),
});

export const BatcherStatsSchema = Type.Object({
  envelopes: Count,
  observations: Count,
  droppedObservations: Count,
  appendErrors: Count,
  splits: Count,
  clockJumps: Count,
});

const OrNull = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** `configSource: registry` only: the device list the gateway runs, from ingest's config topic (gateway/src/config-sync/). */
export const ConfigSyncStatusSchema = Type.Object({
  source: Type.Literal('registry'),
  /** version running (null: none yet), when ingest issued it, where it came from, when it was applied */
  version: OrNull(Type.Integer({ minimum: 1 })),
  issuedAt: OrNull(Time),
  from: OrNull(Type.Union([Type.Literal('broker'), Type.Literal('cache')])),
  appliedAt: OrNull(Time),
  devices: Count,
  received: Count,
  ignored: Count,
  refused: Count,
  lastRefusal: Type.Optional(Type.Object({ at: Time, version: OrNull(Type.Number()), problems: Type.Array(Type.String()) })),
});

const Identity = {
  schemaVersion: Type.Literal(STATUS_SCHEMA_VERSION),
  gatewayId: Text,
  site: Text,
  room: Text,
  bed: Text,
  version: Text,
  bootId: Text,
};

export const GatewayStatusOnlineSchema = Type.Object(
  {
    ...Identity,
    online: Type.Literal(true),
    startedAt: Time,
    t: Time,
    devices: Type.Array(DeviceStatusDocSchema),
    outbox: OutboxStatusSchema,
    mqtt: PublisherStatsSchema,
    batcher: BatcherStatsSchema,
    config: Type.Optional(ConfigSyncStatusSchema),
  },
  { title: 'orlink gateway status (online)' },
);

/** The MQTT last will (`reason: "lwt"`, no `t`: written at connect) and the goodbye of a clean stop (`"shutdown"`). */
export const GatewayStatusOfflineSchema = Type.Object(
  {
    ...Identity,
    online: Type.Literal(false),
    reason: Type.Union([Type.Literal('lwt'), Type.Literal('shutdown')]),
    t: Type.Optional(Time),
  },
  { title: 'orlink gateway status (offline: last will or goodbye)' },
);

export const GatewayStatusSchema = Type.Union([GatewayStatusOnlineSchema, GatewayStatusOfflineSchema], {
  $id: 'urn:orlink:schema:gateway-status',
  title: 'orlink gateway status document',
  description: 'Retained JSON on {prefix}/{site}/{room}/{bed}/{gatewayId}/status; the two shapes differ by `online`.',
});

export type DeviceStatusDoc = Static<typeof DeviceStatusDocSchema>;
export type OutboxStatus = Static<typeof OutboxStatusSchema>;
export type PublisherStats = Static<typeof PublisherStatsSchema>;
export type BatcherStatus = Static<typeof BatcherStatsSchema>;
export type ConfigSyncStatus = Static<typeof ConfigSyncStatusSchema>;
export type GatewayStatusOnline = Static<typeof GatewayStatusOnlineSchema>;
export type GatewayStatusOffline = Static<typeof GatewayStatusOfflineSchema>;
export type GatewayStatusDoc = GatewayStatusOnline | GatewayStatusOffline;

// the link states here and in the envelope are the same set (compile-time check both ways)
const linkSame: [LinkState, Static<typeof LinkStateSchema>] extends [Static<typeof LinkStateSchema>, LinkState] ? true : never = true;
void linkSame;

/** The JSON Schema document (schemas/json/gateway-status.schema.json): TypeBox's own markers dropped. */
export function gatewayStatusJsonSchema(): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...(JSON.parse(JSON.stringify(GatewayStatusSchema)) as TSchema) }, null, 2)}\n`;
}

export interface StatusProblem {
  path: string;
  message: string;
}
export type StatusCheck = { ok: true; doc: GatewayStatusDoc } | { ok: false; problems: StatusProblem[] };

const online = TypeCompiler.Compile(GatewayStatusOnlineSchema);
const offline = TypeCompiler.Compile(GatewayStatusOfflineSchema);
const MAX_PROBLEMS = 20;

/**
 * A parsed status payload against the contract. `online: false` is checked as a last will/goodbye,
 * anything else as the full document; problems carry the JSON pointer of the offending value
 * (`/devices/0/frames`), at most 20 of them. A document of a gateway that still sent `schema`
 * instead of `schemaVersion` is read as that version.
 */
export function checkGatewayStatus(raw: unknown): StatusCheck {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problems: [{ path: '/', message: 'Expected object' }] };
  let doc = raw as Record<string, unknown>;
  if (doc.schemaVersion === undefined && doc.schema !== undefined) {
    const { schema, ...rest } = doc;
    doc = { ...rest, schemaVersion: schema };
  }
  // `online` tells the two shapes apart: without it no shape applies, and that is the one problem
  if (typeof doc.online !== 'boolean')
    return { ok: false, problems: [{ path: '/online', message: 'Expected boolean (true: full document, false: last will or goodbye)' }] };
  const c = doc.online ? online : offline;
  if (c.Check(doc)) return { ok: true, doc: doc as GatewayStatusDoc };
  const problems: StatusProblem[] = [];
  for (const e of c.Errors(doc)) {
    problems.push({ path: e.path || '/', message: e.message });
    if (problems.length >= MAX_PROBLEMS) break;
  }
  return { ok: false, problems };
}

/** The outbox depth of a status (absent in a last will/goodbye, which knows nothing of it). */
export function outboxDepthOf(doc: GatewayStatusDoc): { records: number; bytes: number } | undefined {
  return doc.online ? { records: doc.outbox.records, bytes: doc.outbox.bytes } : undefined;
}

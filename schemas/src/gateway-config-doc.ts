/**
 * The gateway config document: what ingest publishes, retained and QoS 1, on a gateway's
 * `{prefix}/{site}/{room}/{bed}/{gatewayId}/config` topic (docs/mqtt.md "Config topic"), and what a
 * gateway with `configSource: registry` runs (docs/gateway.md "Devices from the registry").
 *
 *   { schema: 1, version, issuedAt, gatewayId, devices: [ <the gateway config's devices[] entries> ] }
 *
 * `version` grows by one whenever the gateway's device list changes (kept per gateway in ingest's
 * database); `issuedAt` is when that version was made. The devices are validated by the SAME
 * schema as a local config file's `devices[]` (schemas/src/gateway-config.ts), by ingest when a
 * device's connection is set through REST and by the gateway when a document arrives.
 *
 * A device's "connection" is what the registry stores for it: a `devices[]` entry without `id`
 * (the registry id) and `profile` (the registry's `profile` field).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { DEVICE_CONFIG_DEFAULTS, DeviceConfigSchema, senderProblems, transportProblems, type DeviceConfig } from './gateway-config.js';

export const CONFIG_DOC_SCHEMA = 1;
/** more devices than one bed ever has: a bound on what a gateway starts from one document */
export const MAX_CONFIG_DOC_DEVICES = 64;
/** largest document a gateway parses (bytes) */
export const MAX_CONFIG_DOC_BYTES = 256 * 1024;

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });

export const GatewayConfigDocSchema = Type.Object(
  {
    schema: Type.Literal(CONFIG_DOC_SCHEMA),
    version: Type.Integer({ minimum: 1 }),
    issuedAt: Type.Integer({ minimum: 0 }),
    gatewayId: Id,
    devices: Type.Array(DeviceConfigSchema, { maxItems: MAX_CONFIG_DOC_DEVICES }),
  },
  { additionalProperties: false },
);

/** A device's gateway-side settings as the registry stores them (PUT /devices/:id/connection). */
export const DeviceConnectionSchema = Type.Omit(DeviceConfigSchema, ['id', 'profile'], { additionalProperties: false });

export type GatewayConfigDoc = Static<typeof GatewayConfigDocSchema>;
export type DeviceConnection = Static<typeof DeviceConnectionSchema>;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted: equal settings give equal text (digest, diff). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** A `devices[]` entry with the defaults of a local config file applied (a copy; non-objects are returned as they are). */
export function withDeviceDefaults(d: unknown): unknown {
  if (!isObj(d)) return d;
  const out: Record<string, unknown> = { ...structuredClone(DEVICE_CONFIG_DEFAULTS), ...structuredClone(d) };
  if (out.options === undefined) out.options = {};
  return out;
}

/**
 * Every problem of a `devices[]` list, one message each, with JSON paths under `base`: the schema
 * (the transport against the schema of its kind, for readable messages; a kind declared by a
 * protocol: see transportProblems in gateway-config.ts), duplicate ids, and the
 * sender allow-list rule of listening transports. Defaults must already be applied.
 */
export function deviceListProblems(devices: unknown[], base = '/devices'): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  devices.forEach((d, i) => {
    const at = `${base}/${i}`;
    for (const e of Value.Errors(DeviceConfigSchema, d)) {
      if (/^\/transport(\/|$)/.test(e.path)) continue; // reported per kind below
      problems.push(`${at}${e.path}: ${e.message}`);
    }
    // a kind declared by a protocol: against the protocol where the gateway registered its protocols, else its outline
    problems.push(...transportProblems(isObj(d) ? d.transport : undefined, `${at}/transport`, isObj(d) && typeof d.protocol === 'string' ? d.protocol : ''));
    const id = isObj(d) ? d.id : undefined;
    if (typeof id === 'string') {
      if (seen.has(id)) problems.push(`${at}/id: duplicate device id '${id}'`);
      seen.add(id);
    }
  });
  // senderProblems words its paths as /devices/i/...: rebased on `base`
  problems.push(...senderProblems(devices).map((m) => (m.startsWith('/devices/') ? `${base}${m.slice('/devices'.length)}` : m)));
  return problems;
}

/**
 * Problems of a connection set through REST for a registered device (empty: valid). The entry the
 * gateway will run — `{ id, profile, ...connection }` with defaults — is checked as a `devices[]`
 * entry; paths are relative to the request body. TLS files of a listener must be absolute paths
 * (there is no config file folder to resolve them against).
 */
export function connectionProblems(connection: unknown, deviceId: string, profile: string | null): string[] {
  if (!isObj(connection)) return ['/: expected an object'];
  const problems: string[] = [];
  for (const k of ['id', 'profile']) {
    if (k in connection) problems.push(`/${k}: not part of a connection (the device id is the registry id; the profile is the device's profile field)`);
  }
  const entry = withDeviceDefaults({ ...connection, id: deviceId, profile: profile ?? 'auto' });
  problems.push(...deviceListProblems([entry], '').map((m) => m.replace(/^\/0/, '')));
  const tls = isObj(connection.transport) ? connection.transport.tls : undefined;
  if (isObj(tls)) {
    for (const k of ['certFile', 'keyFile', 'caFile']) {
      const f = tls[k];
      if (typeof f === 'string' && !f.startsWith('/')) problems.push(`/transport/tls/${k}: must be an absolute path on the gateway`);
    }
  }
  return problems;
}

/** The `devices[]` entry the gateway runs for a registered device. */
export function deviceEntry(deviceId: string, profile: string | null, connection: DeviceConnection): DeviceConfig {
  return withDeviceDefaults({ ...connection, id: deviceId, profile: profile ?? 'auto' }) as DeviceConfig;
}

export type ConfigDocCheck = { ok: true; doc: GatewayConfigDoc } | { ok: false; problems: string[] };

/** Validate a received document (parsed JSON): device defaults applied, every problem listed. */
export function checkConfigDoc(raw: unknown): ConfigDocCheck {
  if (!isObj(raw)) return { ok: false, problems: ['/: expected an object'] };
  const doc: Record<string, unknown> = { ...raw };
  if (Array.isArray(doc.devices)) doc.devices = doc.devices.map(withDeviceDefaults);
  const problems: string[] = [];
  for (const e of Value.Errors(GatewayConfigDocSchema, doc)) {
    if (/^\/devices\/\d+(\/|$)/.test(e.path)) continue; // reported by deviceListProblems
    problems.push(`${e.path || '/'}: ${e.message}`);
  }
  if (Array.isArray(doc.devices)) problems.push(...deviceListProblems(doc.devices));
  return problems.length ? { ok: false, problems } : { ok: true, doc: doc as GatewayConfigDoc };
}

/** The document for a gateway (devices sorted by id, so equal registries give equal documents). */
export function buildConfigDoc(gatewayId: string, version: number, issuedAt: number, devices: DeviceConfig[]): GatewayConfigDoc {
  return { schema: CONFIG_DOC_SCHEMA, version, issuedAt, gatewayId, devices: [...devices].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

/**
 * Gateway configuration: load a YAML/JSON file, apply defaults < file < env, resolve secrets,
 * validate against schemas/src/gateway-config.ts reporting ALL problems at once (GW_ERR_CONFIG),
 * and freeze the result.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import {
  GatewayConfigSchema,
  GATEWAY_CONFIG_DEFAULTS,
  DEVICE_CONFIG_DEFAULTS,
  senderProblems,
  transportProblems,
  type GatewayConfig,
} from '../../schemas/src/gateway-config.js';
import type { TSchema } from '@sinclair/typebox';
import { declaredTransports, protocolTransportSchemas } from './transports/declared.js';
import { GatewayError, GW_ERR } from './errors.js';
import { tcpServerTlsProblems } from './transports/tcp-server.js';
import { protocolNames } from './protocols/registry.js';
import { describeValueError } from '../../schemas/src/config-problems.js';

export type { GatewayConfig };
export type Env = Record<string, string | undefined>;

/** Environment overrides (env beats file). */
const ENV_MAP: [string, string[], 'string' | 'int'][] = [
  ['ORLINK_GATEWAY_ID', ['gatewayId'], 'string'],
  ['ORLINK_SITE', ['site'], 'string'],
  ['ORLINK_ROOM', ['room'], 'string'],
  ['ORLINK_BED', ['bed'], 'string'],
  ['ORLINK_MQTT_URL', ['mqtt', 'url'], 'string'],
  ['ORLINK_MQTT_USERNAME', ['mqtt', 'username'], 'string'],
  ['ORLINK_MQTT_PASSWORD', ['mqtt', 'password'], 'string'],
  ['ORLINK_MQTT_TOPIC_PREFIX', ['mqtt', 'topicPrefix'], 'string'],
  ['ORLINK_PUBLISH_INTERVAL_MS', ['mqtt', 'publishIntervalMs'], 'int'],
  ['ORLINK_OUTBOX_KIND', ['outbox', 'kind'], 'string'],
  ['ORLINK_OUTBOX_DIR', ['outbox', 'dir'], 'string'],
  ['ORLINK_OUTBOX_MAX_BYTES', ['outbox', 'maxBytes'], 'int'],
  ['ORLINK_LOG_LEVEL', ['log', 'level'], 'string'],
  ['ORLINK_RECORD', ['record'], 'string'],
];

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over === undefined ? structuredClone(base) : over;
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Turn a parsed file object into a validated, frozen config. `baseDir` resolves relative paths
 * (outbox.dir, record, passwordFile) against the config file's folder.
 */
export function buildConfig(
  fileObj: unknown,
  env: Env = process.env,
  baseDir = process.cwd(),
  /** `transports`: the kinds a protocol declares beside the neutral ones (default: the registered protocols' DeviceProtocol.transports) */
  check: { protocols?: readonly string[]; transports?: (protocol: string) => Readonly<Record<string, TSchema>> } = {},
): Readonly<GatewayConfig> {
  const problems: string[] = [];
  if (fileObj !== undefined && fileObj !== null && !isObj(fileObj)) {
    throw new GatewayError(GW_ERR.CONFIG, 'fatal', 'config: the file must hold an object', { details: ['/: expected an object'] });
  }
  const cfg = merge(GATEWAY_CONFIG_DEFAULTS, fileObj ?? {}) as Record<string, any>;
  if (Array.isArray(cfg.devices)) cfg.devices = cfg.devices.map((d: unknown) => (isObj(d) ? merge(DEVICE_CONFIG_DEFAULTS, d) : d));
  // no `devices` in the file: they come from the registry (docs/gateway.md "Devices from the registry")
  cfg.configSource ??= isObj(fileObj) && 'devices' in fileObj ? 'file' : 'registry';
  if (cfg.configSource === 'registry' && Array.isArray(cfg.devices) && cfg.devices.length) {
    problems.push('/devices: configSource is registry: the devices come from the registry; remove devices or set configSource: file');
  }
  for (const [name, keys, type] of ENV_MAP) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let v: unknown = raw;
    if (type === 'int') {
      v = Number(raw);
      if (!Number.isInteger(v)) {
        problems.push(`env ${name}: expected an integer, got '${raw}'`);
        continue;
      }
    }
    let target = cfg;
    for (const k of keys.slice(0, -1)) target = isObj(target[k]) ? target[k] : (target[k] = {});
    target[keys[keys.length - 1]] = v;
  }
  if (isObj(cfg.mqtt) && typeof cfg.mqtt.passwordFile === 'string' && env.ORLINK_MQTT_PASSWORD === undefined) {
    const file = path.resolve(baseDir, cfg.mqtt.passwordFile);
    try {
      cfg.mqtt.password = readFileSync(file, 'utf8').trim();
    } catch (err) {
      problems.push(`/mqtt/passwordFile: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (isObj(cfg.mqtt) && isObj(cfg.mqtt.tls)) {
    const tls = cfg.mqtt.tls;
    tls.rejectUnauthorized ??= true;
    for (const k of ['caFile', 'certFile', 'keyFile'] as const) {
      if (typeof tls[k] !== 'string') continue;
      tls[k] = path.resolve(baseDir, tls[k] as string);
      try {
        readFileSync(tls[k] as string);
      } catch (err) {
        problems.push(`/mqtt/tls/${k}: cannot read ${tls[k]}: ${(err as Error).message}`);
      }
    }
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) problems.push('/mqtt/tls: certFile and keyFile go together');
  }
  for (const e of Value.Errors(GatewayConfigSchema, cfg)) {
    if (/^\/devices\/\d+\/transport(\/|$)/.test(e.path)) continue; // reported per kind below
    problems.push(describeValueError(e));
  }
  if (Array.isArray(cfg.devices)) {
    const seen = new Set<string>();
    cfg.devices.forEach((d: any, i: number) => {
      const tr = d?.transport;
      // the neutral kinds, plus those the device's protocol declares
      const protocol = typeof d?.protocol === 'string' ? d.protocol : '';
      const kinds = check.transports ? check.transports(protocol) : protocolTransportSchemas(declaredTransports(protocol));
      problems.push(...transportProblems(tr, `/devices/${i}/transport`, protocol, kinds, describeValueError));
      if (check.protocols && typeof d?.protocol === 'string' && !check.protocols.includes(d.protocol)) {
        problems.push(`/devices/${i}/protocol: unknown protocol '${d.protocol}' for device '${d?.id ?? `#${i}`}': use one of ${check.protocols.join(', ')}`);
      }
      if (tr?.kind === 'tcp-server') problems.push(...tcpServerTlsProblems(tr.tls, `/devices/${i}/transport/tls`, baseDir));
      if (typeof d?.id === 'string') {
        if (seen.has(d.id)) problems.push(`/devices/${i}/id: duplicate device id '${d.id}'`);
        seen.add(d.id);
      }
    });
    problems.push(...senderProblems(cfg.devices));
  }
  if (
    isObj(cfg.outbox) &&
    typeof cfg.outbox.segmentBytes === 'number' &&
    typeof cfg.outbox.maxBytes === 'number' &&
    cfg.outbox.segmentBytes * 2 > cfg.outbox.maxBytes
  ) {
    problems.push('/outbox/segmentBytes: must be at most half of maxBytes (the drop policy removes whole segments)');
  }
  if (problems.length) {
    throw new GatewayError(GW_ERR.CONFIG, 'fatal', `invalid gateway config:\n  ${problems.join('\n  ')}`, { details: problems });
  }
  if (cfg.outbox.dir) cfg.outbox.dir = path.resolve(baseDir, cfg.outbox.dir);
  if (cfg.record && env.ORLINK_RECORD === undefined) cfg.record = path.resolve(baseDir, cfg.record);
  if (cfg.configCacheFile) cfg.configCacheFile = path.resolve(baseDir, cfg.configCacheFile);
  if (cfg.profilesDir) cfg.profilesDir = path.resolve(baseDir, cfg.profilesDir);
  return deepFreeze(cfg as GatewayConfig);
}

/** Read and validate a config file (YAML, or JSON which YAML parses too). */
export function loadConfig(file: string, env: Env = process.env): Readonly<GatewayConfig> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayError(GW_ERR.CONFIG, 'fatal', `cannot read config file ${file}`, { cause: err, details: [`cannot read ${file}`] });
  }
  let obj: unknown;
  try {
    obj = parseYaml(text);
  } catch (err) {
    throw new GatewayError(GW_ERR.CONFIG, 'fatal', `config file ${file} is not valid YAML/JSON: ${(err as Error).message}`, {
      cause: err,
      details: [(err as Error).message],
    });
  }
  // a file names protocols of the registry only (programmatic callers may bring their own: startGateway's `protocols`)
  return buildConfig(obj, env, path.dirname(path.resolve(file)), { protocols: protocolNames() });
}

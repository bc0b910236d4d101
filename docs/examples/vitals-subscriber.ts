/**
 * Example record-system subscriber for the live `vitals` feed (docs/api.md "Live", docs/mqtt.md).
 *
 * ingest publishes, after each stored batch, one JSON message per bed on
 * `{prefix}/{site}/{room}/{bed}/vitals` (QoS 0, retained): the case bound to the bed now, and the
 * latest value of each parameter with its own case id and its quality flags. This file shows how to
 * read it safely:
 *   - check the shape of every message (`parseVitals`) and skip what does not fit;
 *   - never chart a value whose flags say it is not a patient measurement (`isChartable`): `demo`
 *     (monitor in demo mode: real-looking numbers, not the patient), `invalid` (value is null),
 *     `artifact`, `questionable`, `calibrating`, `unmapped` (vendor code without a standard code);
 *   - file a reading under ITS `caseId` (the case of the reading's own time), not the bed's current
 *     `caseId`: around a patient change the last reading of the previous patient still arrives.
 *
 * Run (any broker; the read-only record-system account `orlink-record` reads `+/+/+/vitals` and
 * `+/+/+/case` only: Mosquitto via `orlink mqtt-auth`, the embedded broker with `broker.record.enabled`
 * and the same ORLINK_RECORD_BROKER_PASSWORD, see docs/mqtt.md):
 *   ORLINK_RECORD_BROKER_PASSWORD=… npx tsx docs/examples/vitals-subscriber.ts \
 *     --url mqtt://127.0.0.1:1883 --username orlink-record [--prefix orlink/v1] [--site st1]
 * It prints one line per reading and runs until Ctrl-C. The password is read from the environment,
 * never from the command line (it would show in the process list). Use `mqtts://` off the host.
 * The test suite imports the functions below and runs them against a loopback broker only.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';

/** One parameter's latest reading in a vitals message (keyed by MDC reference id). */
export interface VitalsReading {
  t: number;
  value: number | null;
  unit: string;
  device: string;
  /** Quality flags as the gateway sent them; absent when there are none. */
  flags?: string[];
  /** The case the bed was bound to at the reading's own time (null: none). */
  caseId: string | null;
}

export interface VitalsMessage {
  site: string;
  room: string;
  bed: string;
  /** The case bound to the bed now, and since when (a change of `caseSince` is a patient change). */
  caseId: string | null;
  caseSince: number | null;
  t: number;
  numerics: Record<string, VitalsReading>;
}

/** A message that is not a vitals message (wrong JSON or shape): the subscriber skips it. */
export class VitalsFormatError extends Error {
  readonly code = 'EXAMPLE_VITALS_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'VitalsFormatError';
  }
}

/** Flags that keep a value off a patient chart. */
export const NOT_CHARTABLE = new Set(['demo', 'invalid', 'artifact', 'questionable', 'calibrating', 'unmapped']);

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks one payload of a `vitals` topic; throws VitalsFormatError when it does not fit. */
export function parseVitals(payload: Buffer | string): VitalsMessage {
  let m: unknown;
  try {
    m = JSON.parse(payload.toString());
  } catch {
    throw new VitalsFormatError('not JSON');
  }
  if (!isObj(m) || !isStr(m.site) || !isStr(m.room) || !isStr(m.bed) || !isNum(m.t) || !isObj(m.numerics)) throw new VitalsFormatError('not a vitals message');
  if (!(m.caseId === null || isStr(m.caseId)) || !(m.caseSince === null || isNum(m.caseSince))) throw new VitalsFormatError('bad caseId/caseSince');
  const numerics: Record<string, VitalsReading> = {};
  for (const [mdc, r] of Object.entries(m.numerics)) {
    if (!isObj(r) || !isNum(r.t) || !(r.value === null || isNum(r.value)) || !isStr(r.unit) || !isStr(r.device) || !(r.caseId === null || isStr(r.caseId))) {
      throw new VitalsFormatError(`bad reading ${mdc}`);
    }
    if (r.flags !== undefined && !(Array.isArray(r.flags) && r.flags.every(isStr))) throw new VitalsFormatError(`bad flags of ${mdc}`);
    numerics[mdc] = { t: r.t, value: r.value, unit: r.unit, device: r.device, caseId: r.caseId, ...(r.flags ? { flags: [...r.flags] } : {}) };
  }
  return { site: m.site, room: m.room, bed: m.bed, caseId: m.caseId, caseSince: m.caseSince, t: m.t, numerics };
}

/** True when the reading is a patient measurement that may be charted: a number and no flag in NOT_CHARTABLE. */
export function isChartable(r: VitalsReading): boolean {
  return r.value !== null && !(r.flags ?? []).some((f) => NOT_CHARTABLE.has(f));
}

export interface FollowOptions {
  url: string;
  username: string;
  password: string;
  prefix?: string;
  /** One site only (a record system of one hospital); default every site. */
  site?: string;
  /** Default `<username>-<8 random hex digits>`: the embedded broker binds client ids to the login (`<username>` or `<username>-…`). */
  clientId?: string;
  /** Reconnect delay (ms) after a lost connection; 0 = do not reconnect. Default 5000. */
  reconnectPeriod?: number;
}

/**
 * Connects, subscribes to the vitals topics and calls `onVitals` for every well-formed message
 * (`onSkipped` for the others). Resolves once subscribed; end with `client.endAsync()`.
 */
export async function followVitals(
  o: FollowOptions,
  onVitals: (v: VitalsMessage, topic: string) => void,
  onSkipped?: (topic: string, err: VitalsFormatError) => void,
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(o.url, {
    protocolVersion: 4,
    username: o.username,
    password: o.password,
    reconnectPeriod: o.reconnectPeriod ?? 5000,
    clientId: o.clientId ?? `${o.username}-${randomBytes(4).toString('hex')}`,
  });
  client.on('message', (topic, payload) => {
    try {
      onVitals(parseVitals(payload), topic);
    } catch (err) {
      if (!(err instanceof VitalsFormatError)) throw err;
      onSkipped?.(topic, err);
    }
  });
  await client.subscribeAsync(`${o.prefix ?? 'orlink/v1'}/${o.site ?? '+'}/+/+/vitals`, { qos: 0 });
  return client;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      username: { type: 'string', default: 'orlink-record' },
      prefix: { type: 'string' },
      site: { type: 'string' },
    },
  });
  const password = process.env.ORLINK_RECORD_BROKER_PASSWORD;
  if (!password) {
    process.stderr.write('set ORLINK_RECORD_BROKER_PASSWORD\n');
    process.exitCode = 2;
    return;
  }
  const client = await followVitals(
    { url: values.url!, username: values.username!, password, prefix: values.prefix, site: values.site },
    (v) => {
      for (const [mdc, r] of Object.entries(v.numerics)) {
        const flags = r.flags?.length ? ` [${r.flags.join(',')}]` : '';
        const use = isChartable(r) ? 'chart' : 'skip';
        process.stdout.write(`${new Date(r.t).toISOString()} ${v.bed} case=${r.caseId ?? '-'} ${mdc}=${r.value ?? 'null'} ${r.unit}${flags} ${use}\n`);
      }
    },
    (topic, err) => process.stderr.write(`skipped ${topic}: ${err.message}\n`),
  );
  process.once('SIGINT', () => void client.endAsync());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  });
}

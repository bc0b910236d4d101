/**
 * What the operator sees when the broker link fails: the cause and the fix in one line
 * (`explainMqttError`), logged once per window with a count instead of once per attempt (`RepeatGate`).
 */

/** the gateway as the broker sees it (for the wording of the hints) */
export interface LinkIdentity {
  gatewayId: string;
  /** the MQTT user name sent (absent: none, e.g. a certificate login) */
  username?: string;
  clientId: string;
  url: string;
}

/** CONNACK return codes of MQTT 3.1.1 (mqtt.js puts them on `error.code`) */
const CONNACK = { PROTOCOL: 1, IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USER_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

/**
 * The cause and the fix of an MQTT link error, worded for the operator; `key` groups identical
 * causes for RepeatGate. Unknown errors keep their message and get no fix.
 */
export function explainMqttError(err: Error & { code?: string | number }, who: LinkIdentity): { key: string; hint: string } {
  const user = who.username ?? who.gatewayId;
  const host = who.url.replace(/\/\/[^@/]*@/, '//');
  switch (err.code) {
    case CONNACK.BAD_USER_OR_PASSWORD:
      return {
        key: 'connack-4',
        hint: `wrong user name or password for gateway ${user} (or its password was rotated/revoked: set a new one with POST /gateways/${user}/password and put it in mqtt.passwordFile / ORLINK_MQTT_PASSWORD)`,
      };
    case CONNACK.NOT_AUTHORIZED:
      return {
        key: 'connack-5',
        hint: `not authorized: wrong user name or password for gateway ${user} (or its password was rotated/revoked: POST /gateways/${user}/password), the gateway is retired or unknown to the registry, or too many failed logins locked it out for a while`,
      };
    case CONNACK.IDENTIFIER_REJECTED:
      return {
        key: 'connack-2',
        hint: `client id '${who.clientId}' refused: the broker accepts only client ids that begin with the login's gateway id; make gatewayId and mqtt.username the same registry gateway id`,
      };
    case CONNACK.SERVER_UNAVAILABLE:
      return { key: 'connack-3', hint: 'the broker is up but cannot check logins right now (server unavailable): see the ingest log' };
    case CONNACK.PROTOCOL:
      return { key: 'connack-1', hint: "the broker refused MQTT 3.1.1: use ingest's embedded broker or a Mosquitto 2 (docs/mqtt.md)" };
    case 'ECONNREFUSED':
      return { key: 'ECONNREFUSED', hint: `nothing listens at ${host}: is ingest (or Mosquitto) running, and are mqtt.url host and port right?` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { key: String(err.code), hint: `the broker host in ${host} does not resolve: fix mqtt.url (or DNS)` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return { key: String(err.code), hint: `no route to ${host} (${err.code}): check the network and firewall between this gateway and the broker` };
    default:
      break;
  }
  if (/certificate|self[- ]signed|CERT_|unable to verify/i.test(`${err.code ?? ''} ${err.message}`)) {
    return {
      key: `tls:${err.code ?? err.message}`,
      hint: `TLS: the broker's certificate did not verify (${err.message}): set mqtt.tls.caFile to the CA that signed it`,
    };
  }
  return { key: `other:${err.code ?? err.message}`, hint: err.message };
}

/**
 * Logs an event the first time and then at most once per `windowMs` per key, with the number of
 * times it happened in between (`repeated`). Keys are few (causes, not values); bounded anyway.
 */
export class RepeatGate {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 64,
  ) {}

  /** undefined: stay silent; a number: log now, with that many suppressed since the last log */
  pass(key: string): number | undefined {
    const t = this.now();
    const s = this.seen.get(key);
    if (s && t - s.at < this.windowMs) {
      s.suppressed++;
      return undefined;
    }
    if (!s && this.seen.size >= this.maxKeys) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { at: t, suppressed: 0 });
    return s?.suppressed ?? 0;
  }

  /** forget a key (the condition ended: the next occurrence is logged at once) */
  clear(key?: string): void {
    if (key === undefined) this.seen.clear();
    else this.seen.delete(key);
  }
}

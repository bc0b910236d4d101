/**
 * The Mosquitto 2 configuration snippet `orlink mqtt-auth` writes beside the password and ACL files
 * (DIR/mosquitto.conf; docs/security.md "Broker limits", docs/mqtt.md). It carries what Mosquitto can
 * enforce of ingest's `broker.limits`, and binds client ids to logins with two listeners:
 *
 *  - the clients listener (gateways, record system): `use_username_as_clientid true`, so a client's
 *    id IS its user name — nobody can present another account's id and close its session;
 *  - the ingest listener (the service account only, its own password file): keeps the client ids ingest
 *    chooses (a persistent session per replica, shared subscriptions). No gateway has an account here,
 *    so none can take ingest's id.
 *
 * With TLS (`tls`, docs/mqtt.md "TLS") two more listeners face the network and every plain one must bind
 * to loopback (ingest's own connection, local tools):
 *  - the TLS listener: the clients listener's password logins and ACL, over TLS (mqtts);
 *  - the mTLS listener: `require_certificate true` + `use_identity_as_username true`: the client
 *    certificate's CN is the user name (no password file is consulted), so a gateway whose CN is its
 *    gateway id gets that id's `user` block of the clients ACL; `use_username_as_clientid` binds its
 *    client id to the CN as well. A CN with no block in the ACL may connect but neither publish nor
 *    read anything. Revoked certificates: `crlfile`.
 *
 * `per_listener_settings true` gives each listener its own password_file/acl_file. Global limits:
 * max_packet_size (every protocol version: a larger packet closes the connection), max_inflight_messages
 * (outgoing per client; for MQTT 5 clients also the "receive maximum" Mosquitto announces),
 * max_queued_messages/_bytes (an offline ingest's queue: beyond either, Mosquitto drops QoS 1
 * messages). What Mosquitto 2.0 cannot express — per-topic retain or size, per-client rates, login
 * backoff — is listed in docs/security.md and handled elsewhere where possible (the subscriber's
 * status size cap).
 */
import path from 'node:path';
import type { BrokerLimits } from '../../../schemas/src/ingest-config.js';

export interface Listener {
  port: number;
  address?: string;
}

export interface MosquittoTls {
  certFile: string;
  keyFile: string;
  /** CA that issued the client certificates (mTLS); required with `mtls` */
  caFile?: string;
  /** PEM CRL of that CA (mTLS listener) */
  crlFile?: string;
  /** TLS listener with password logins */
  listener: Listener;
  /** mTLS listener (certificate logins); absent = none */
  mtls?: Listener;
}

export interface MosquittoConfInput {
  /** absolute directory holding passwd-clients, acl-clients, passwd-ingest, acl-ingest */
  dir: string;
  limits: Pick<BrokerLimits, 'maxPacketBytes' | 'maxInflight'>;
  clients: Listener;
  ingest: Listener;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  /** TLS and mTLS listeners; with it the plain listeners must bind to loopback */
  tls?: MosquittoTls;
  generatedAt?: Date;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

export const AUTH_FILES = {
  clientsPasswd: 'passwd-clients',
  clientsAcl: 'acl-clients',
  ingestPasswd: 'passwd-ingest',
  ingestAcl: 'acl-ingest',
} as const;

/** `PORT` or `PORT@ADDRESS` → Listener */
export function parseListener(s: string): Listener {
  const m = /^(\d{1,5})(?:@(\S+))?$/.exec(s);
  const port = m ? Number(m[1]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`listener '${s}': expected PORT or PORT@ADDRESS`);
  return { port, ...(m[2] ? { address: m[2] } : {}) };
}

export function buildMosquittoConf(i: MosquittoConfInput): string {
  if (!path.isAbsolute(i.dir)) throw new Error(`mosquitto.conf needs an absolute directory, got ${i.dir}`);
  const tls = i.tls;
  const clients: Listener = tls && i.clients.address === undefined ? { ...i.clients, address: '127.0.0.1' } : i.clients;
  const all: [string, Listener][] = [
    ['clients', clients],
    ['ingest', i.ingest],
  ];
  if (tls) {
    for (const [name, l] of all) {
      if (!l.address || !LOOPBACK.test(l.address))
        throw new Error(`with TLS the plain ${name} listener must bind to loopback, got ${l.address ?? 'all interfaces'}`);
    }
    for (const [k, v] of [
      ['certFile', tls.certFile],
      ['keyFile', tls.keyFile],
      ['caFile', tls.caFile],
      ['crlFile', tls.crlFile],
    ] as const) {
      if (v !== undefined && !path.isAbsolute(v)) throw new Error(`TLS ${k} must be an absolute path, got ${v}`);
    }
    if (tls.mtls && !tls.caFile) throw new Error('the mTLS listener needs the CA of the client certificates (caFile)');
    if (tls.crlFile && !tls.mtls) throw new Error('a CRL applies to client certificates: it needs the mTLS listener');
    all.push(['TLS', tls.listener]);
    if (tls.mtls) all.push(['mTLS', tls.mtls]);
  }
  for (let a = 0; a < all.length; a++) {
    for (let b = a + 1; b < all.length; b++) {
      const [x, y] = [all[a][1], all[b][1]];
      if (x.port === y.port && (x.address === y.address || !x.address || !y.address))
        throw new Error(`the ${all[a][0]} and the ${all[b][0]} listener need different ports`);
    }
  }
  const f = (name: string) => path.join(i.dir, name);
  const listen = (l: Listener) => `listener ${l.port}${l.address ? ` ${l.address}` : ''}`;
  const tlsLines = (t: MosquittoTls) => [`certfile ${t.certFile}`, `keyfile ${t.keyFile}`];
  const tlsSection = !tls
    ? []
    : [
        '# gateways and record systems over TLS (mqtts) with their passwords: as the clients listener',
        listen(tls.listener),
        ...tlsLines(tls),
        'use_username_as_clientid true',
        'allow_anonymous false',
        `password_file ${f(AUTH_FILES.clientsPasswd)}`,
        `acl_file ${f(AUTH_FILES.clientsAcl)}`,
        '',
        ...(!tls.mtls
          ? []
          : [
              '# gateways by client certificate (mTLS): the certificate CN is the user name of the clients ACL and the client id;',
              '# no password file is read here; a revoked certificate is refused at the handshake (crlfile)',
              listen(tls.mtls),
              ...tlsLines(tls),
              `cafile ${tls.caFile}`,
              ...(tls.crlFile ? [`crlfile ${tls.crlFile}`] : []),
              'require_certificate true',
              'use_identity_as_username true',
              'use_username_as_clientid true',
              'allow_anonymous false',
              `acl_file ${f(AUTH_FILES.clientsAcl)}`,
              '',
            ]),
      ];
  return [
    `# generated by orlink mqtt-auth at ${(i.generatedAt ?? new Date()).toISOString()}; do not edit, regenerate`,
    '# Include from the main mosquitto.conf, which must not define listeners, password_file or acl_file itself',
    '# (persistence, logging and `user` stay there). Reload (SIGHUP) after regenerating: files and limits are re-read;',
    '# listener changes need a restart.',
    'per_listener_settings true',
    '# ingest broker.limits.maxPacketBytes: a whole packet (header, topic, payload); larger -> connection closed',
    `max_packet_size ${i.limits.maxPacketBytes}`,
    '# outgoing QoS 1 in flight per client; MQTT 5 clients are also told this as their receive maximum',
    `max_inflight_messages ${i.limits.maxInflight}`,
    '# an offline ingest session keeps at most this much; beyond either limit Mosquitto DROPS QoS 1 messages',
    `max_queued_messages ${i.maxQueuedMessages}`,
    `max_queued_bytes ${i.maxQueuedBytes}`,
    '# a retained message is re-sent only if its publisher may still write it (revoked gateways)',
    'check_retain_source true',
    '',
    `# gateways and record systems: the client id is replaced by the user name (no takeover of another account)${tls ? '; loopback only (TLS below)' : ''}`,
    listen(clients),
    'use_username_as_clientid true',
    'allow_anonymous false',
    `password_file ${f(AUTH_FILES.clientsPasswd)}`,
    `acl_file ${f(AUTH_FILES.clientsAcl)}`,
    '',
    '# the ingest service account only (keeps its own client ids: persistent sessions, shared subscriptions)',
    listen(i.ingest),
    'allow_anonymous false',
    `password_file ${f(AUTH_FILES.ingestPasswd)}`,
    `acl_file ${f(AUTH_FILES.ingestAcl)}`,
    '',
    ...tlsSection,
  ].join('\n');
}

/**
 * `orlink mqtt-auth (--db INGEST_SQLITE | --config ingest.yaml) --out DIR` — writes DIR/passwd and
 * DIR/acl for an external Mosquitto 2 from the ingest registry (docs/mqtt.md), the same accounts split
 * per listener (passwd-clients, acl-clients, passwd-ingest, acl-ingest) and DIR/mosquitto.conf: the
 * broker limits Mosquitto can enforce and two listeners that bind client ids to logins
 * (ingest/src/broker/mosquitto-conf.ts, docs/security.md "Broker limits"). Reload Mosquitto
 * afterwards (SIGHUP). Passwords of the service accounts come from env (or `<NAME>_FILE`):
 * ORLINK_INGEST_BROKER_PASSWORD (required) and ORLINK_RECORD_BROKER_PASSWORD (optional: without it
 * no record-system account is written).
 *
 * TLS (`--tls-cert/--tls-key`, docs/mqtt.md "TLS"): a TLS listener for password logins (default 8883)
 * and, with `--tls-ca`, an mTLS listener (default 8884; `--mtls-port off` for none) where the client
 * certificate's CN is the gateway id; `--tls-crl` refuses revoked certificates. The plain listeners
 * then bind to loopback. Gateways without a password get an ACL block for certificate logins.
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brokerLimitDefaults, loadIngestConfig } from '../schemas/src/ingest-config.js';
import { buildMosquittoAuth } from '../ingest/src/broker/mosquitto-auth.js';
import { AUTH_FILES, buildMosquittoConf, parseListener, type MosquittoTls } from '../ingest/src/broker/mosquitto-conf.js';
import { openDb } from '../ingest/src/registry/database.js';
import { SqliteRegistry } from '../ingest/src/registry/sqlite-registry.js';

const USAGE = `usage: orlink mqtt-auth (--db INGEST_SQLITE | --config ingest.yaml) --out DIR
         [--prefix orlink/v1] [--ingest-user orlink-ingest] [--record-user orlink-record]
         [--listener 1883[@ADDRESS]] [--ingest-listener 1884@127.0.0.1]
         [--max-queued-messages 100000] [--max-queued-bytes 1073741824]
         [--tls-cert FILE --tls-key FILE [--tls-ca FILE] [--tls-crl FILE]
          [--tls-port 8883[@ADDRESS]] [--mtls-port 8884[@ADDRESS]|off]]
  writes DIR/passwd, DIR/acl (all accounts), the per-listener files and DIR/mosquitto.conf
  (limits from the --config file's broker.limits, else the defaults); with --tls-cert a TLS
  listener (passwords) and, with --tls-ca, an mTLS listener (certificate CN = gateway id); the
  plain listeners then bind to loopback
  env: ORLINK_INGEST_BROKER_PASSWORD (required), ORLINK_RECORD_BROKER_PASSWORD (optional), or *_FILE
`;

function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}_FILE`];
  return file ? readFileSync(file, 'utf8').trim() : undefined;
}

function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** --tls-* → the TLS part of mosquitto.conf; undefined without --tls-cert. Files must be readable now. */
function tlsOptions(opts: Record<string, string>): MosquittoTls | undefined {
  const given = ['tls-key', 'tls-ca', 'tls-crl', 'tls-port', 'mtls-port'].filter((k) => opts[k] !== undefined);
  if (opts['tls-cert'] === undefined) {
    if (given.length) throw new Error(`--${given[0]} needs --tls-cert and --tls-key`);
    return undefined;
  }
  if (opts['tls-key'] === undefined) throw new Error('--tls-cert needs --tls-key');
  const file = (k: string): string | undefined => {
    if (opts[k] === undefined) return undefined;
    const f = path.resolve(opts[k]);
    try {
      readFileSync(f);
    } catch (err) {
      throw new Error(`--${k}: cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return f;
  };
  const caFile = file('tls-ca');
  const crlFile = file('tls-crl');
  const mtlsOff = opts['mtls-port'] === 'off';
  if (!caFile && opts['mtls-port'] !== undefined && !mtlsOff) throw new Error('--mtls-port needs --tls-ca (the CA of the client certificates)');
  const mtls = caFile && !mtlsOff ? parseListener(opts['mtls-port'] ?? '8884') : undefined;
  return {
    certFile: file('tls-cert') as string,
    keyFile: file('tls-key') as string,
    listener: parseListener(opts['tls-port'] ?? '8883'),
    ...(caFile ? { caFile } : {}),
    ...(crlFile ? { crlFile } : {}),
    ...(mtls ? { mtls } : {}),
  };
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const opts: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    }
    const m =
      /^--(db|config|out|prefix|ingest-user|record-user|listener|ingest-listener|max-queued-messages|max-queued-bytes|tls-cert|tls-key|tls-ca|tls-crl|tls-port|mtls-port)(?:=(.*))?$/.exec(
        a,
      );
    if (!m) {
      process.stderr.write(`orlink mqtt-auth: unknown argument ${a}\n${USAGE}`);
      return 2;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) {
      process.stderr.write(`orlink mqtt-auth: ${a} needs a value\n`);
      return 2;
    }
    opts[m[1]] = v;
  }
  if (!opts.out || !opts.db === !opts.config) {
    process.stderr.write(USAGE);
    return 2;
  }
  let dbPath = opts.db;
  let prefix = opts.prefix ?? 'orlink/v1';
  let ingestUser = opts['ingest-user'] ?? 'orlink-ingest';
  let limits = brokerLimitDefaults();
  try {
    const clients = parseListener(opts.listener ?? '1883');
    const ingestListener = parseListener(opts['ingest-listener'] ?? '1884@127.0.0.1');
    const queued = (name: string, def: number) => {
      const v = opts[name] === undefined ? def : Number(opts[name]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: not a non-negative integer: ${opts[name]}`);
      return v;
    };
    const maxQueuedMessages = queued('max-queued-messages', 100_000);
    const maxQueuedBytes = queued('max-queued-bytes', 1_073_741_824);
    const tls = tlsOptions(opts);
    if (opts.config) {
      const c = loadIngestConfig({ file: opts.config, env });
      dbPath = path.resolve(c.db.path); // as `orlink ingest` opens it: relative to the working directory
      prefix = opts.prefix ?? c.mqtt.prefix;
      ingestUser = opts['ingest-user'] ?? c.broker.username;
      limits = c.broker.limits;
    }
    // opening a missing path would create an empty registry, and files from it lock every gateway out
    const resolved = path.resolve(dbPath as string);
    if (!existsSync(resolved) || !statSync(resolved).isFile()) {
      process.stderr.write(
        `orlink mqtt-auth: database ${resolved} not found${opts.config ? ` (db.path of ${opts.config}, relative to the working directory)` : ''}:` +
          ' give the ingest database (--db PATH, or --config with the ingest.yaml, run from the directory ingest runs in); nothing written\n',
      );
      return 2;
    }
    const ingestPw = secret(env, 'ORLINK_INGEST_BROKER_PASSWORD');
    if (!ingestPw) {
      process.stderr.write('orlink mqtt-auth: ORLINK_INGEST_BROKER_PASSWORD (or _FILE) is required\n');
      return 2;
    }
    const recordPw = secret(env, 'ORLINK_RECORD_BROKER_PASSWORD');
    const db = openDb(dbPath as string);
    let files;
    try {
      files = await buildMosquittoAuth({
        prefix,
        gateways: new SqliteRegistry(db).listMqttCredentials(),
        ingest: { username: ingestUser, password: ingestPw },
        certificateLogins: tls?.mtls !== undefined,
        ...(recordPw ? { record: { username: opts['record-user'] ?? 'orlink-record', password: recordPw } } : {}),
      });
    } finally {
      db.close();
    }
    const dir = path.resolve(opts.out);
    const conf = buildMosquittoConf({ dir, limits, clients, ingest: ingestListener, maxQueuedMessages, maxQueuedBytes, ...(tls ? { tls } : {}) });
    writeAtomic(path.join(dir, 'passwd'), files.passwd);
    writeAtomic(path.join(dir, 'acl'), files.acl);
    writeAtomic(path.join(dir, AUTH_FILES.clientsPasswd), files.clients.passwd);
    writeAtomic(path.join(dir, AUTH_FILES.clientsAcl), files.clients.acl);
    writeAtomic(path.join(dir, AUTH_FILES.ingestPasswd), files.ingest.passwd);
    writeAtomic(path.join(dir, AUTH_FILES.ingestAcl), files.ingest.acl);
    writeAtomic(path.join(dir, 'mosquitto.conf'), conf);
    if (files.certOnly.length)
      process.stderr.write(`orlink mqtt-auth: ${files.certOnly.length} gateway(s) without a password: certificate (mTLS) login only\n`);
    for (const s of files.skipped) process.stderr.write(`orlink mqtt-auth: skipped gateway ${s.id}: ${s.reason}\n`);
    if (!recordPw) process.stderr.write('orlink mqtt-auth: no ORLINK_RECORD_BROKER_PASSWORD: no record-system account written\n');
    process.stdout.write(`${JSON.stringify({ out: opts.out, accounts: files.accounts.length, skipped: files.skipped.length })}\n`);
    return files.skipped.length ? 1 : 0;
  } catch (err) {
    process.stderr.write(`orlink mqtt-auth: ${(err as Error).message}\n`);
    return 1;
  }
}

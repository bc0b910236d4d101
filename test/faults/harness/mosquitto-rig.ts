/**
 * Mosquitto auth for the fault rig: the password and ACL files `orlink mqtt-auth` would write
 * (buildMosquittoAuth over ingest's registry: every gateway only under its own bed prefix, the
 * ingest service account), plus one test account for the rig's own clients (status watcher,
 * duplicate-publish spy) that may read and write every orlink topic. The registry is read through
 * a read-only SQLite handle while ingest runs (WAL: readers never block the writer).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { buildMosquittoAuth } from '../../../ingest/src/broker/mosquitto-auth.js';
import { mosquittoHash } from '../../../ingest/src/registry/password.js';
import { SqliteRegistry } from '../../../ingest/src/registry/sqlite-registry.js';
import type { MqttCredential } from '../../../ingest/src/registry/registry-store.js';
import { existsSync } from 'node:fs';

export interface BrokerAccount {
  username: string;
  password: string;
}

export interface MosquittoAuthTarget {
  dir: string;
  /** ingest's registry; absent file (before ingest's first start): no gateway yet */
  dbPath: string;
  ingest: BrokerAccount;
  test: BrokerAccount;
  prefix?: string;
}

function credentials(dbPath: string): MqttCredential[] {
  if (!existsSync(dbPath)) return [];
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return new SqliteRegistry(db).listMqttCredentials();
  } finally {
    db.close();
  }
}

function writeAtomic(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Writes dir/passwd and dir/acl; the caller reloads Mosquitto (SIGHUP). Returns the gateway accounts. */
export async function writeMosquittoAuth(o: MosquittoAuthTarget): Promise<string[]> {
  const prefix = o.prefix ?? 'orlink/v1';
  const files = await buildMosquittoAuth({ prefix, gateways: credentials(o.dbPath), ingest: o.ingest });
  if (files.skipped.length) throw new Error(`gateways skipped by buildMosquittoAuth: ${JSON.stringify(files.skipped)}`);
  mkdirSync(o.dir, { recursive: true });
  writeAtomic(join(o.dir, 'passwd'), `${files.passwd}${o.test.username}:${await mosquittoHash(o.test.password)}\n`);
  writeAtomic(join(o.dir, 'acl'), `${files.acl}\nuser ${o.test.username}\ntopic readwrite ${prefix}/#\ntopic read $SYS/#\n`);
  return files.accounts.filter((a) => a !== o.ingest.username);
}

/**
 * Messages Mosquitto holds in its store (`$SYS/broker/store/messages/count`, published every
 * `sys_interval`): QoS 1 messages queued for or in flight to a session, plus retained ones.
 */
export async function mosquittoStoredMessages(url: string, account: BrokerAccount, timeoutMs = 5_000): Promise<number> {
  const c = await mqtt.connectAsync(url, { ...account, clientId: `fault-sys-${process.pid}`, reconnectPeriod: 0, connectTimeout: 3000 });
  try {
    const got = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no $SYS/broker/store/messages/count in time')), timeoutMs);
      c.on('message', (_t, payload) => {
        clearTimeout(timer);
        resolve(Number(payload.toString('utf8')));
      });
    });
    await c.subscribeAsync('$SYS/broker/store/messages/count', { qos: 0 });
    return await got;
  } finally {
    await c.endAsync(true);
  }
}

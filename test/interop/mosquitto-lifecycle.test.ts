/**
 * Registry lifecycle with an external Mosquitto 2 (Debian's 2.0.11), as measured for docs/mqtt.md:
 * after `orlink mqtt-auth` regenerates the files and Mosquitto gets a SIGHUP,
 *  - a gateway whose password was rotated is disconnected, its old password refused, the new one accepted;
 *  - a retired gateway (omitted from the files) is disconnected and refused;
 *  - a MOVED gateway keeps its session (same password): Mosquitto re-applies the ACL per message,
 *    so with MQTT 3.1.1 its publishes under the old topic are PUBACKed and dropped. Hence the
 *    advice in docs/mqtt.md: with Mosquitto, rotate the password together with a move.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { run as mqttAuth } from '../../cli/mqtt-auth.js';
import { openDb } from '../../ingest/src/registry/database.js';
import { SqliteRegistry } from '../../ingest/src/registry/sqlite-registry.js';
import { until } from '../helpers/ingest-rig.js';
import { startTestMosquitto } from '../helpers/mosquitto.js';

const NOT_AUTHORIZED = 5;

t.test('rotation and retirement end Mosquitto sessions on reload; a move alone does not', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-mosq-lifecycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = path.join(dir, 'ingest.sqlite');
  const db = openDb(dbPath);
  t.teardown(() => db.close());
  const r = new SqliteRegistry(db);
  r.createSite({ id: 's', name: 'S' });
  r.createRoom({ id: 'or1', siteId: 's', name: 'OR 1' });
  r.createBed({ id: 'a', roomId: 'or1', name: 'A' });
  r.createBed({ id: 'b', roomId: 'or1', name: 'B' });
  for (const id of ['rotated', 'retired', 'moved']) await r.createGateway({ id, bedId: 'a', password: `${id}-password` });
  const env = { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' };
  const generate = async () => {
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write; // the "no record account" notice
    try {
      t.equal(await mqttAuth(['--db', dbPath, '--out', dir], env), 0);
    } finally {
      process.stderr.write = write;
    }
  };
  await generate();
  const mosq = await startTestMosquitto(t, { passwordFile: path.join(dir, 'passwd'), aclFile: path.join(dir, 'acl') });

  const login = async (username: string, password = `${username}-password`) => {
    const c = await mqtt.connectAsync(mosq.url, { protocolVersion: 4, username, password, reconnectPeriod: 0, connectTimeout: 5000 });
    const state = { closed: false };
    c.on('close', () => {
      state.closed = true;
    });
    c.on('error', () => undefined);
    t.teardown(() => {
      c.end(true);
    });
    return { c, state };
  };
  const refusal = async (username: string, password: string) => {
    try {
      (await login(username, password)).c.end(true);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  };
  const rotated = await login('rotated');
  const retired = await login('retired');
  const moved = await login('moved');

  await r.setGatewayPassword('rotated', 'rotated-password-2');
  r.retireGateway('retired', 'replaced');
  r.moveGateway('moved', 'b');
  await generate();
  mosq.reload();
  await until('rotated and retired sessions closed', () => rotated.state.closed && retired.state.closed, 10_000);
  t.equal(await refusal('rotated', 'rotated-password'), NOT_AUTHORIZED, 'old password refused after the reload');
  t.equal(await refusal('rotated', 'rotated-password-2'), 0, 'new password accepted');
  t.equal(await refusal('retired', 'retired-password'), NOT_AUTHORIZED, 'retired: refused');

  t.equal(moved.state.closed, false, 'measured: the moved gateway keeps its session');
  const ack = await moved.c.publishAsync('orlink/v1/s/or1/a/moved/data', 'x', { qos: 1 }).then(
    () => 'puback',
    () => 'refused',
  );
  t.equal(ack, 'puback', 'measured: a publish under the old topic is PUBACKed (and dropped by the ACL)');
});

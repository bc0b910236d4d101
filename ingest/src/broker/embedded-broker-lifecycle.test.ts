/**
 * The embedded broker follows the registry: a rotated password locks out the old one at once, a
 * revoked one refuses every password, a retired gateway cannot log in, and each of these closes the
 * gateway's open session; a moved gateway is closed too, must publish under its new location, and
 * its retained status under the old topic is cleared (its will is not published there). A login
 * whose password check overlapped a rotation is refused. Failed logins never crash the broker.
 */
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { encodeEnvelope } from '../../../schemas/src/envelope.js';
import { BatchProcessor } from '../mqtt/processor.js';
import { envelope, fixtureDb, silent, until } from '../mqtt/test-fixtures.js';
import type { RegistryStore } from '../registry/registry-store.js';
import { MemorySeriesStore } from '../series/memory.js';
import { DurableIntake } from './durable-intake.js';
import { EmbeddedBroker } from './embedded-broker.js';

const PREFIX = 'orlink/v1';
const OLD = `${PREFIX}/s1/or1/bed1/gw1`;
const NEW = `${PREFIX}/s1/or1/bed2/gw1`;

async function setup(t: Test, wrap: (r: RegistryStore) => RegistryStore = (r) => r) {
  const f = await fixtureDb();
  const store = new MemorySeriesStore();
  const processor = new BatchProcessor({ prefix: PREFIX, ...f, series: store, logger: silent, retryMinMs: 5, retryMaxMs: 20 });
  const intake = new DurableIntake({ processor, batchMaxEnvelopes: 16, logger: silent });
  const broker = new EmbeddedBroker({
    host: '127.0.0.1',
    port: 0,
    prefix: PREFIX,
    serviceAccount: { username: 'ingest', password: 'svc' },
    registry: wrap(f.registry),
    logger: silent,
    intake,
  });
  await broker.start();
  const s0 = broker;
  const clients: mqtt.MqttClient[] = [];
  let n = 0;
  const connect = async (password: string, o: mqtt.IClientOptions = {}) => {
    // client ids are bound to the login: `gw1` or `gw1-…` (client-id.ts)
    const c = await mqtt.connectAsync(broker.url, {
      protocolVersion: 4,
      username: 'gw1',
      password,
      clientId: `gw1-${++n}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...o,
    });
    clients.push(c);
    c.on('error', () => undefined);
    return c;
  };
  /** the CONNACK return code of a refused login (0 = accepted) */
  const refusal = async (password: string): Promise<number> => {
    try {
      await (await connect(password)).endAsync(true);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  };
  /** resolves when the client's connection is closed; fails the test after 5 s */
  const closed = (c: mqtt.MqttClient) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the session was not closed within 5 s')), 5000);
      c.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  /** every publish the broker handles on a topic from now on (payloads as text; '' = a retained message cleared) */
  const watch = (topic: string) => {
    const seen: string[] = [];
    s0.instance.on('publish', (p) => {
      if (p.topic === topic) seen.push(Buffer.from(p.payload).toString());
    });
    return seen;
  };
  /** resolves when aedes has finished closing the client (its will handled) */
  const gone = (c: mqtt.MqttClient) =>
    new Promise<void>((r) => {
      const id = c.options.clientId;
      s0.instance.on('clientDisconnect', (x) => {
        if (x.id === id) r();
      });
    });
  const retained = async (topic: string): Promise<number> => {
    let n = 0;
    for await (const _ of (
      broker.instance as unknown as { persistence: { createRetainedStream(p: string): AsyncIterable<unknown> } }
    ).persistence.createRetainedStream(topic))
      n++;
    return n;
  };
  t.teardown(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await intake.close();
    await broker.close();
    f.db.close();
  });
  return { ...f, store, broker, connect, refusal, closed, retained, watch, gone };
}

const BAD_USER_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

t.test('rotation: the old password stops at once, the session is closed, the new one works', async (t) => {
  const s = await setup(t);
  const gw = await s.connect('secret-1');
  const kicked = s.closed(gw);
  t.equal(await s.registry.setGatewayPassword('gw1', 'rotated-2'), true);
  await kicked;
  t.equal(s.broker.stats.sessionsClosed, 1);
  t.equal(await s.refusal('secret-1'), BAD_USER_OR_PASSWORD, 'old password: bad username or password');
  t.equal(await s.refusal('rotated-2'), 0, 'new password accepted');
});

t.test('failed logins (many, at once) are refused and counted; the broker keeps serving', async (t) => {
  const s = await setup(t);
  const codes = await Promise.all(Array.from({ length: 25 }, (_, i) => s.refusal(`wrong-${i}`)));
  // login-guard.ts: at most loginMaxFailures (5) guesses are checked, even in parallel; the rest are refused unchecked
  t.equal(codes.filter((c) => c === BAD_USER_OR_PASSWORD).length, 5, 'five guesses checked');
  t.equal(codes.filter((c) => c === NOT_AUTHORIZED).length, 20, 'twenty refused unchecked (locked out)');
  t.equal(s.broker.stats.authFailures, 25);
  await until(async () => (await s.refusal('secret-1')) === 0, 10_000, 'the lockout (1 s) expires');
  const gw = await s.connect('secret-1');
  await gw.publishAsync(`${OLD}/data`, Buffer.from(encodeEnvelope(envelope(1, Date.now() - 1000, 70))), { qos: 1 });
  t.equal(s.store.size('numeric'), 1, 'a good gateway still stores data');
});

t.test('revocation refuses every password and closes the session; a new password ends it', async (t) => {
  const s = await setup(t);
  const gw = await s.connect('secret-1');
  const kicked = s.closed(gw);
  t.equal(s.registry.revokeGatewayPassword('gw1'), true);
  await kicked;
  t.equal(await s.refusal('secret-1'), BAD_USER_OR_PASSWORD);
  t.equal(await s.refusal('anything-else'), BAD_USER_OR_PASSWORD);
  await s.registry.setGatewayPassword('gw1', 'fresh-password');
  t.equal(await s.refusal('fresh-password'), 0);
});

/** A gateway online with its retained status and a will; `change` is the registry change that must end its session. */
async function endSessionBy(s: Awaited<ReturnType<typeof setup>>, change: () => void): Promise<string[]> {
  const gw = await s.connect('secret-1', { will: { topic: `${OLD}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true } });
  await gw.publishAsync(`${OLD}/status`, '{"online":true}', { qos: 1, retain: true });
  await until(async () => (await s.retained(`${OLD}/status`)) === 1, 5000, 'retained status stored');
  const kicked = s.closed(gw);
  const finished = s.gone(gw);
  const published = s.watch(`${OLD}/status`);
  change();
  await kicked;
  await finished;
  return published;
}

t.test('retired: refused, session closed, retained status cleared', async (t) => {
  const s = await setup(t);
  const published = await endSessionBy(s, () => s.registry.retireGateway('gw1', 'replaced'));
  t.equal(await s.refusal('secret-1'), BAD_USER_OR_PASSWORD);
  t.equal(await s.retained(`${OLD}/status`), 0, 'retained status cleared');
  t.same(published, [''], 'only the clearing was published: the will of the closed session was not');
});

t.test('move: the session is closed, the new location is the only one allowed, the old retained status is cleared', async (t) => {
  const s = await setup(t);
  const published = await endSessionBy(s, () => s.registry.moveGateway('gw1', 'bed2'));
  await until(async () => (await s.retained(`${OLD}/status`)) === 0, 5000, 'old retained status cleared');

  const stale = await s.connect('secret-1');
  const denied = s.closed(stale);
  stale.publish(`${OLD}/data`, Buffer.from(encodeEnvelope(envelope(1, Date.now() - 2000, 60))), { qos: 1 });
  await denied;
  t.equal(s.broker.stats.publishDenied, 1, 'the old location is refused');
  const moved = await s.connect('secret-1');
  await moved.publishAsync(`${NEW}/data`, Buffer.from(encodeEnvelope(envelope(2, Date.now() - 1000, 61))), { qos: 1 });
  const bed2 = await s.store.query({ bed: 'bed2', from: 0, to: Date.now() + 1000 });
  t.same(
    bed2.numerics.map((n) => n.value),
    [61],
    'stored under the new bed',
  );
  t.equal(await s.retained(`${OLD}/status`), 0);
  t.same(published, [''], 'the will of the closed session was not published under the old topic');
});

t.test('a login whose password check overlaps a rotation is refused', async (t) => {
  let hold: Promise<void> | null = null;
  let entered!: () => void;
  const inCheck = new Promise<void>((r) => (entered = r));
  const s = await setup(
    t,
    (r) =>
      new Proxy(r, {
        get(target, prop, recv) {
          if (prop !== 'verifyGateway') return Reflect.get(target, prop, recv);
          return async (id: string, pw: string) => {
            const ok = await target.verifyGateway(id, pw);
            entered();
            if (hold) await hold;
            return ok;
          };
        },
      }),
  );
  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  const login = s.refusal('secret-1');
  await inCheck; // the old password verified; the answer is held back
  await s.registry.setGatewayPassword('gw1', 'rotated-9');
  release();
  t.equal(await login, BAD_USER_OR_PASSWORD, 'the password was rotated while it was being checked');
  hold = null;
  t.equal(await s.refusal('rotated-9'), 0);
});

/**
 * What Mosquitto 2.0 does with a dead member of a shared subscription (the basis of the design
 * in docs/mqtt.md). Two MQTT 5 members A, B on `$share/g/t/#`; A never acks (its messages stay in
 * flight), then its socket dies. With a persistent session A keeps its in-flight messages AND
 * keeps being assigned its share of new messages, all delivered when A's client id reconnects;
 * nothing goes to B. With a clean session A's in-flight messages are lost.
 */
import mqtt from 'mqtt';
import t from 'tap';
import { startTestMosquitto } from '../helpers/mosquitto.js';
import { until } from './interop-util.js';

const N = 20;

for (const persistent of [true, false]) {
  t.test(`dead member with a ${persistent ? 'persistent' : 'clean'} session`, async (t) => {
    const mosq = await startTestMosquitto(t);
    const opts = (clientId: string): mqtt.IClientOptions => ({
      protocolVersion: 5,
      clientId,
      clean: !persistent,
      reconnectPeriod: 0,
      properties: { sessionExpiryInterval: persistent ? 600 : 0 },
    });
    const a = await mqtt.connectAsync(mosq.url, opts('member-a'));
    const aGot: number[] = [];
    a.handleMessage = (p, cb) => {
      aGot.push(Number(p.payload.toString()));
      cb(new Error('never acked'));
    };
    const b = await mqtt.connectAsync(mosq.url, opts('member-b'));
    const bGot: number[] = [];
    b.on('message', (_t, p) => bGot.push(Number(p.toString())));
    const pub = await mqtt.connectAsync(mosq.url, { protocolVersion: 5, clientId: 'pub', reconnectPeriod: 0 });
    t.teardown(() => Promise.all([b, pub].map((c) => c.endAsync(true))));
    await a.subscribeAsync('$share/g/t/#', { qos: 1 });
    await b.subscribeAsync('$share/g/t/#', { qos: 1 });

    for (let i = 0; i < N; i++) await pub.publishAsync('t/x', String(i), { qos: 1 });
    await until(() => aGot.length + bGot.length === N, 5000, 'first half delivered');
    t.ok(aGot.length > 0 && bGot.length > 0, `round robin (A ${aGot.length}, B ${bGot.length})`);
    const inflightA = [...aGot];
    const closed = new Promise<void>((r) => a.once('close', () => r()));
    a.stream.destroy(); // A crashes holding un-acked messages
    await closed;

    for (let i = N; i < 2 * N; i++) await pub.publishAsync('t/x', String(i), { qos: 1 });
    const marker = 999;
    await pub.publishAsync('t/x', String(marker), { qos: 1 });
    await pub.publishAsync('t/x', String(marker + 1), { qos: 1 });
    await until(() => bGot.includes(marker) || bGot.includes(marker + 1), 5000, 'B got the marker');
    const bSecond = bGot.filter((v) => v >= N && v < 2 * N);
    t.notOk(
      inflightA.some((v) => bGot.includes(v)),
      "A's in-flight messages are not handed to B",
    );

    const a2 = mqtt.connect(mosq.url, opts('member-a'));
    const a2Got: number[] = [];
    a2.on('message', (_t, p) => a2Got.push(Number(p.toString()))); // before CONNACK: queued messages follow it at once
    t.teardown(() => a2.endAsync(true));
    await new Promise<void>((resolve, reject) => {
      a2.once('connect', () => resolve());
      a2.once('error', reject);
    });
    if (persistent) {
      await until(() => new Set([...bGot, ...a2Got].filter((v) => v < 2 * N)).size === 2 * N, 5000, 'all delivered after A is back');
      t.ok(bSecond.length < N, `while A was dead B got only its share (${bSecond.length} of ${N})`);
      t.ok(
        inflightA.every((v) => a2Got.includes(v)),
        "A's in-flight messages are redelivered to A's new connection",
      );
    } else {
      await a2.subscribeAsync('$share/g/t/#', { qos: 1 });
      for (const end of [2000, 2001]) await pub.publishAsync('t/x', String(end), { qos: 1 });
      await until(() => [...bGot, ...a2Got].filter((v) => v >= 2000).length === 2, 5000, 'end markers delivered');
      const lost = inflightA.filter((v) => !bGot.includes(v) && !a2Got.includes(v));
      t.same(lost, inflightA, `clean session: A's ${inflightA.length} in-flight messages are lost`);
    }
  });
}

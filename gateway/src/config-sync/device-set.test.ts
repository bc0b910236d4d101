/** diff and apply of a device list: unchanged sessions keep running, removed stop, changed restart, new start. */
import t from 'tap';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import { withDeviceDefaults } from '../../../schemas/src/gateway-config-doc.js';
import { DeviceSet, diffDevices } from './device-set.js';

const dev = (id: string, port: number, extra: Record<string, unknown> = {}): DeviceConfig =>
  withDeviceDefaults({ id, protocol: 'fake-line', transport: { kind: 'tcp', host: '127.0.0.1', port }, ...extra }) as DeviceConfig;

class FakeSession {
  static log: string[] = [];
  running = false;
  constructor(
    readonly id: string,
    readonly port: number,
  ) {}
  start(): void {
    this.running = true;
    FakeSession.log.push(`start ${this.id}:${this.port}`);
  }
  async stop(): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    this.running = false;
    FakeSession.log.push(`stop ${this.id}:${this.port}`);
  }
}
const portOf = (d: DeviceConfig) => (d.transport.kind === 'tcp' ? d.transport.port : 0);

t.test('diffDevices compares entries by content, not by key order', async (t) => {
  const a = dev('a', 1);
  const reordered = { ...Object.fromEntries(Object.entries(a).reverse()), transport: { port: 1, host: '127.0.0.1', kind: 'tcp' } } as DeviceConfig;
  t.same(diffDevices([a, dev('b', 2), dev('c', 3)], [dev('d', 4), reordered, dev('b', 2, { profile: 'x' })]), {
    added: ['d'],
    removed: ['c'],
    changed: ['b'],
    unchanged: ['a'],
  });
  t.same(diffDevices([], []), { added: [], removed: [], changed: [], unchanged: [] });
  t.same(diffDevices([dev('a', 1)], [dev('a', 1, { options: { waves: true } })]).changed, ['a'], 'options count');
});

t.test('apply: untouched sessions keep running, removed stop, changed restart (stop first), new start', async (t) => {
  FakeSession.log = [];
  const set = new DeviceSet((d) => new FakeSession(d.id, portOf(d)));
  await set.apply([dev('a', 1), dev('b', 2), dev('c', 3)]);
  t.same(FakeSession.log, [], 'nothing runs before start()');
  set.start();
  t.same(FakeSession.log.sort(), ['start a:1', 'start b:2', 'start c:3']);
  const a = set.sessions()[0];

  FakeSession.log = [];
  const diff = await set.apply([dev('d', 4), dev('a', 1), dev('b', 5)]);
  t.same(diff, { added: ['d'], removed: ['c'], changed: ['b'], unchanged: ['a'] });
  t.same(FakeSession.log.slice(0, 2).sort(), ['stop b:2', 'stop c:3'], 'the stops come first');
  t.same(FakeSession.log.slice(2).sort(), ['start b:5', 'start d:4']);
  t.equal(set.sessions()[1], a, 'the unchanged session is the same object');
  t.ok(a.running, 'and still running');
  t.same(
    set.sessions().map((s) => s.id),
    ['d', 'a', 'b'],
    'in the order of the new list',
  );
  t.same(set.config('b')?.transport, dev('b', 5).transport, 'the changed entry is the new one');

  FakeSession.log = [];
  t.same(await set.apply(set.configs()), { added: [], removed: [], changed: [], unchanged: ['d', 'a', 'b'] });
  t.same(FakeSession.log, [], 'the same list again changes nothing');

  await set.stop();
  t.notOk(
    set.sessions().some((s) => s.running),
    'stop() stops every session',
  );
  FakeSession.log = [];
  await set.apply([dev('z', 9)]);
  t.same(FakeSession.log, [], 'no apply after stop()');
});

t.test('applies run one after the other', async (t) => {
  FakeSession.log = [];
  const set = new DeviceSet((d) => new FakeSession(d.id, portOf(d)));
  set.start();
  await Promise.all([set.apply([dev('a', 1)]), set.apply([dev('a', 2)]), set.apply([dev('a', 3)])]);
  t.same(FakeSession.log, ['start a:1', 'stop a:1', 'start a:2', 'stop a:2', 'start a:3']);
  t.equal(set.sessions().length, 1);
  await set.stop();
});

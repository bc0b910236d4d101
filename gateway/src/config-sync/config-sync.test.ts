/**
 * Config documents on the gateway side: which ones are applied, ignored or refused (with the
 * reason in the state the status reports), the cache file (0600, atomic, read back at start), and
 * the shared document contract (schemas/src/gateway-config-doc.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { buildConfigDoc, checkConfigDoc, connectionProblems, deviceEntry, type GatewayConfigDoc } from '../../../schemas/src/gateway-config-doc.js';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import { buildConfig } from '../config.js';
import { GatewayError, GW_ERR } from '../errors.js';
import { silentLogger } from '../log.js';
import { readConfigCache, writeConfigCache } from './config-cache.js';
import { ConfigSync } from './config-sync.js';
import { diffDevices } from './device-set.js';

const entry = (id: string, port: number) => deviceEntry(id, null, { protocol: 'fake-line', transport: { kind: 'tcp', host: '127.0.0.1', port } } as never);
const doc = (version: number, devices: DeviceConfig[], gatewayId = 'gw1'): GatewayConfigDoc =>
  buildConfigDoc(gatewayId, version, 1_700_000_000_000 + version, devices);
const tmp = (t: Test) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orlink-cfgsync-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

function rig(t: Test, o: { refuse?: (d: GatewayConfigDoc) => string[]; initial?: GatewayConfigDoc } = {}) {
  const cacheFile = path.join(tmp(t), 'state', 'registry-config.json');
  let running: DeviceConfig[] = o.initial?.devices ?? [];
  const applied: number[] = [];
  let changes = 0;
  const sync = new ConfigSync({
    gatewayId: 'gw1',
    topic: 'orlink/v1/s/r/b/gw1/config',
    cacheFile,
    logger: silentLogger(),
    now: () => 42,
    ...(o.initial ? { initial: o.initial } : {}),
    onChange: () => {
      changes++;
    },
    apply: async (d) => {
      const problems = o.refuse?.(d) ?? [];
      if (problems.length) throw new GatewayError(GW_ERR.CONFIG, 'data', 'not runnable', { details: problems });
      const diff = diffDevices(running, d.devices);
      running = d.devices;
      applied.push(d.version);
      return diff;
    },
  });
  t.teardown(() => sync.stop());
  return { sync, cacheFile, applied, running: () => running, changes: () => changes };
}

t.test("a newer document is applied and cached; the same, an older one or another gateway's is ignored", async (t) => {
  const r = rig(t);
  t.same(r.sync.state(), { source: 'registry', version: null, issuedAt: null, from: null, appliedAt: null, devices: 0, received: 0, ignored: 0, refused: 0 });
  t.equal(await r.sync.receive(JSON.stringify(doc(3, [entry('mon1', 4001)]))), 'applied');
  t.same(
    r.running().map((d) => d.id),
    ['mon1'],
  );
  t.match(r.sync.state(), { version: 3, issuedAt: 1_700_000_000_003, from: 'broker', appliedAt: 42, devices: 1, received: 1 });
  const st = fs.statSync(r.cacheFile);
  t.equal(st.mode & 0o777, 0o600, 'the cache file is owner-only');
  t.equal(fs.statSync(path.dirname(r.cacheFile)).mode & 0o777, 0o700, 'so is the directory it made');
  t.same(fs.readdirSync(path.dirname(r.cacheFile)), ['registry-config.json'], 'no temporary file left');
  t.same(readConfigCache(r.cacheFile, 'gw1'), { doc: doc(3, [entry('mon1', 4001)]) }, 'the cache holds the document, defaults applied');

  t.equal(await r.sync.receive(JSON.stringify(doc(3, [entry('mon1', 4001)]))), 'ignored', 'the same version (redelivered retained)');
  t.equal(await r.sync.receive(JSON.stringify(doc(2, [entry('old', 1)]))), 'ignored', 'an older version');
  t.equal(await r.sync.receive(JSON.stringify(doc(9, [entry('x', 1)], 'gw2'))), 'ignored', 'another gateway');
  t.equal(await r.sync.receive(''), 'ignored', 'a cleared topic');
  t.same(r.applied, [3]);
  t.match(r.sync.state(), { version: 3, received: 5, ignored: 4, refused: 0 });
  t.notOk('lastRefusal' in r.sync.state());

  t.equal(await r.sync.receive(JSON.stringify(doc(4, [entry('mon1', 4001), entry('mon2', 4002)]))), 'applied');
  t.same(r.applied, [3, 4]);
  t.equal(readConfigCache(r.cacheFile, 'gw1').hasOwnProperty('doc') && (readConfigCache(r.cacheFile, 'gw1') as { doc: GatewayConfigDoc }).doc.version, 4);
});

t.test('an invalid or unrunnable document is refused with its reasons; the last good one stays', async (t) => {
  const r = rig(t, { refuse: (d) => (d.devices.some((x) => x.protocol === 'nope') ? ["/devices/0/protocol (mon9): unknown protocol 'nope'"] : []) });
  await r.sync.receive(JSON.stringify(doc(1, [entry('mon1', 4001)])));
  const before = r.changes();

  t.equal(await r.sync.receive('{not json'), 'refused');
  t.match(r.sync.state().lastRefusal, { at: 42, version: null, problems: [/^not JSON/] });

  const bad = {
    ...doc(2, []),
    devices: [
      { id: 'mon1', protocol: 'fake-line', transport: { kind: 'tcp', host: '127.0.0.1', port: 'x' } },
      { id: 'mon1', protocol: 'p', transport: { kind: 'usb' } },
    ],
  };
  t.equal(await r.sync.receive(JSON.stringify(bad)), 'refused');
  const problems = r.sync.state().lastRefusal!.problems;
  t.ok(
    problems.some((p) => p.startsWith('/devices/0/transport/port')),
    'a wrong port type, with its path',
  );
  t.ok(
    problems.some((p) => p.startsWith('/devices/1/transport/kind')),
    'an unknown transport kind',
  );
  t.ok(
    problems.some((p) => p.startsWith('/devices/1/id: duplicate')),
    'a duplicate id',
  );
  t.equal(r.sync.state().lastRefusal!.version, 2);

  t.equal(await r.sync.receive(JSON.stringify({ ...doc(3, []), extra: 1 })), 'refused', 'an unknown top-level field');
  const listener = deviceEntry('mllp', null, { protocol: 'hl7-mllp', transport: { kind: 'tcp-server', host: '0.0.0.0', port: 2575 } } as never);
  t.equal(await r.sync.receive(JSON.stringify(doc(4, [listener]))), 'refused', 'a listener without an allow-list');
  t.match(r.sync.state().lastRefusal!.problems, [/\/devices\/0\/transport\/allow: device 'mllp' listens/]);

  t.equal(await r.sync.receive(JSON.stringify(doc(5, [{ ...entry('mon9', 1), protocol: 'nope' }]))), 'refused', 'not runnable here');
  t.match(r.sync.state().lastRefusal, { version: 5, problems: ["/devices/0/protocol (mon9): unknown protocol 'nope'"] });

  t.same(r.applied, [1], 'nothing refused was applied');
  t.same(
    r.running().map((d) => d.id),
    ['mon1'],
    'the last good devices run on',
  );
  t.match(r.sync.state(), { version: 1, refused: 5 });
  t.ok(r.changes() >= before + 5, 'each refusal asks for a status republish');
  t.equal((readConfigCache(r.cacheFile, 'gw1') as { doc: GatewayConfigDoc }).doc.version, 1, 'the cache keeps the last good one');

  t.equal(await r.sync.receive(JSON.stringify(doc(6, []))), 'applied', 'a good one afterwards is applied');
  t.same(r.running(), []);
});

t.test('started from the cache: a document must be newer than the cached one', async (t) => {
  const r = rig(t, { initial: doc(7, [entry('mon1', 4001)]) });
  t.match(r.sync.state(), { version: 7, from: 'cache', devices: 1 });
  t.equal(await r.sync.receive(JSON.stringify(doc(7, [entry('mon1', 4001)]))), 'ignored');
  t.equal(await r.sync.receive(JSON.stringify(doc(8, []))), 'applied');
});

t.test("readConfigCache: missing, broken, another gateway's", async (t) => {
  const dir = tmp(t);
  const f = path.join(dir, 'c.json');
  t.same(readConfigCache(f, 'gw1'), { missing: true });
  fs.writeFileSync(f, '{');
  t.match(readConfigCache(f, 'gw1'), { problem: /is not JSON/ });
  fs.writeFileSync(f, JSON.stringify({ ...doc(1, []), version: 0 }));
  t.match(readConfigCache(f, 'gw1'), { problem: /not a valid config document: \/version/ });
  await writeConfigCache(f, doc(1, []));
  t.match(readConfigCache(f, 'gw2'), { problem: /config of gateway 'gw1'/ });
  t.equal(fs.statSync(f).mode & 0o777, 0o600, 'an existing file is replaced by an owner-only one');
});

t.test('the contract: connection problems as ingest reports them', async (t) => {
  t.same(connectionProblems({ protocol: 'ge-dri', transport: { kind: 'serial', path: '/dev/ttyUSB0', baudRate: 19200 } }, 'mon1', 'ge-s5'), []);
  t.same(connectionProblems({ protocol: 'ge-dri', transport: { kind: 'tcp', host: 'h', port: 70000 } }, 'mon1', null).length, 1);
  t.match(connectionProblems({ protocol: 'ge-dri', transport: { kind: 'tcp', host: 'h', port: 70000 } }, 'mon1', null), [/^\/transport\/port/]);
  t.match(connectionProblems({ id: 'x', protocol: 'ge-dri', transport: { kind: 'tcp', host: 'h', port: 1 } }, 'mon1', null), [/^\/id: not part/]);
  t.match(
    connectionProblems(
      {
        protocol: 'hl7-mllp',
        transport: { kind: 'tcp-server', host: '0.0.0.0', port: 2575, allow: ['10.1.2.3'], tls: { certFile: 'c.pem', keyFile: '/k.pem' } },
      },
      'm',
      null,
    ),
    [/^\/transport\/tls\/certFile: must be an absolute path/],
  );
  t.match(connectionProblems({ protocol: 'x', transport: { kind: 'tcp', host: 'h', port: 1 }, watchdogMs: 5 }, 'm', null), [/^\/watchdogMs/]);
  t.match(connectionProblems({ protocol: 'x', transport: { kind: 'tcp', host: 'h', port: 1 }, bogus: 1 }, 'm', null), ['/bogus: Unexpected property']);
  t.same(connectionProblems('x', 'm', null), ['/: expected an object']);
  const c = checkConfigDoc(doc(1, [entry('b', 2), entry('a', 1)]));
  t.ok(c.ok);
  t.same(c.ok && c.doc.devices.map((d) => d.id), ['a', 'b'], 'devices sorted by id');
});

t.test('configSource: registry when the file has no devices key, file otherwise; not both', async (t) => {
  const base = { gatewayId: 'gw1', site: 's', room: 'r', bed: 'b', outbox: { kind: 'memory' } };
  t.equal(buildConfig(base, {}, '/etc/orlink').configSource, 'registry');
  t.equal(buildConfig({ ...base, devices: [] }, {}, '/etc/orlink').configSource, 'file', 'an explicit empty list stays on the file');
  t.equal(buildConfig({ ...base, configSource: 'file' }, {}, '/etc/orlink').configSource, 'file');
  t.equal(
    buildConfig({ ...base, configCacheFile: 'state/cfg.json' }, {}, '/etc/orlink').configCacheFile,
    '/etc/orlink/state/cfg.json',
    'relative to the config file',
  );
  const dev = { id: 'mon1', protocol: 'fake-line', transport: { kind: 'tcp', host: '127.0.0.1', port: 1 } };
  t.throws(() => buildConfig({ ...base, configSource: 'registry', devices: [dev] }, {}), {
    code: 'GW_ERR_CONFIG',
    message: /configSource is registry: the devices come from the registry/,
  });
  t.throws(() => buildConfig({ ...base, configSource: 'cloud' }, {}), { code: 'GW_ERR_CONFIG' });
});

/**
 * Transport kinds registered by their protocol (DeviceProtocol.transports): the neutral kinds
 * (serial, tcp, tcp-server) for every protocol; `intellivue-lan` only for the Philips one, at
 * config load (file), in the registry's document (runnable.ts) and in createLink.
 */
import { Type } from '@sinclair/typebox';
import t from 'tap';
import { checkConfigDoc, connectionProblems, withDeviceDefaults } from '../../../schemas/src/gateway-config-doc.js';
import { NEUTRAL_TRANSPORT_KINDS, type DeviceConfig } from '../../../schemas/src/gateway-config.js';
import { buildConfig } from '../config.js';
import { runnableProblems } from '../config-sync/runnable.js';
import { GW_ERR, type GatewayError } from '../errors.js';
import type { DeviceProtocol } from '../protocols/protocol.js';
import { loadProtocol, protocolNames, withProfilesDir } from '../protocols/registry.js';
import { declaredTransports } from './declared.js';
import { createLink } from './index.js';
import { MemoryLink } from './memory.js';
import { UdpLink } from './udp.js';

const NEUTRAL = "'serial', 'tcp', 'tcp-server'";
const file = (...devices: unknown[]) => ({ gatewayId: 'gw1', site: 's1', room: 'or1', bed: 'b1', outbox: { kind: 'memory' }, devices });
/** the problems of a refused config (GW_ERR_CONFIG), [] when accepted */
const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if ((err as GatewayError).code !== GW_ERR.CONFIG) throw err;
    return (err as GatewayError).details as string[];
  }
  return [];
};
const lan = { kind: 'intellivue-lan', host: '10.1.20.44' };

t.test('config file: intellivue-lan accepted for philips-intellivue, refused with the allowed kinds for another protocol', async (t) => {
  const cfg = buildConfig(file({ id: 'mx800', protocol: 'philips-intellivue', transport: lan }), {});
  t.same(cfg.devices[0].transport, lan, 'kept as written');
  const bad = problemsOf(() =>
    buildConfig(file({ id: 'mx800', protocol: 'philips-intellivue', transport: lan }, { id: 's5', protocol: 'ge-dri', transport: lan }), {}),
  );
  t.same(bad, [`/devices/1/transport/kind: 'intellivue-lan' is not a transport kind of protocol 'ge-dri': use one of ${NEUTRAL}`]);
  // the Philips device names the kinds it may use, its own included
  const typo = problemsOf(() => buildConfig(file({ id: 'mx800', protocol: 'philips-intellivue', transport: { kind: 'intellivue-lam', host: 'h' } }), {}));
  t.same(typo, [
    `/devices/0/transport/kind: 'intellivue-lam' is not a transport kind of protocol 'philips-intellivue': use one of ${NEUTRAL}, 'intellivue-lan'`,
  ]);
});

t.test("config file: the protocol kind is checked against the protocol's schema, paths under the transport", async (t) => {
  const bad = problemsOf(() => buildConfig(file({ id: 'mx800', protocol: 'philips-intellivue', transport: { ...lan, port: 70000, prot: 1 } }), {}));
  t.equal(bad.length, 2, bad.join('\n'));
  t.match(bad.join('\n'), '/devices/0/transport/port: Expected integer to be less or equal to 65535');
  t.match(bad.join('\n'), "/devices/0/transport/prot: Unexpected property: unknown key 'prot' (did you mean 'port'?");
  t.same(
    problemsOf(() => buildConfig(file({ id: 'x', protocol: 'ge-dri', transport: { host: 'h' } }), {})),
    [`/devices/0/transport/kind: expected one of ${NEUTRAL}`],
  );
  t.same(
    problemsOf(() => buildConfig(file({ id: 'x', protocol: 'ge-dri', transport: { kind: 'constructor' } }), {})),
    [`/devices/0/transport/kind: 'constructor' is not a transport kind of protocol 'ge-dri': use one of ${NEUTRAL}`],
    'no prototype key taken for a kind',
  );
});

t.test('a caller may declare kinds for its own protocols', async (t) => {
  const own = { 'bench-line': Type.Object({ kind: Type.Literal('bench-line'), lane: Type.Integer() }, { additionalProperties: false }) };
  const transports = (p: string) => (p === 'fake' ? own : {});
  t.equal(buildConfig(file({ id: 'f', protocol: 'fake', transport: { kind: 'bench-line', lane: 2 } }), {}, '/', { transports }).devices.length, 1);
  t.same(
    problemsOf(() => buildConfig(file({ id: 'f', protocol: 'ge-dri', transport: { kind: 'bench-line', lane: 2 } }), {}, '/', { transports })),
    [`/devices/0/transport/kind: 'bench-line' is not a transport kind of protocol 'ge-dri': use one of ${NEUTRAL}`],
  );
});

t.test("registry document: the gateway's document check and runnableProblems ask the protocol", async (t) => {
  const dev = (id: string, protocol: string, transport: unknown) => withDeviceDefaults({ id, protocol, transport }) as DeviceConfig;
  const devices = [dev('mx800', 'philips-intellivue', lan), dev('s5', 'ge-dri', lan), dev('mp70', 'philips-intellivue', { ...lan, port: 0 })];
  // this process registered the protocols' kinds (transports/declared.ts, imported by the config)
  const c = checkConfigDoc({ schema: 1, version: 1, issuedAt: 1, gatewayId: 'gw1', devices });
  t.same(c.ok ? [] : c.problems, [
    `/devices/1/transport/kind: 'intellivue-lan' is not a transport kind of protocol 'ge-dri': use one of ${NEUTRAL}`,
    '/devices/2/transport/port: Expected integer to be greater or equal to 1',
  ]);
  t.same(connectionProblems({ protocol: 'philips-intellivue', transport: lan }, 'm', null), [], 'what ingest checks through the same code');
  const protocols = new Map<string, DeviceProtocol>();
  const problems = await runnableProblems(devices, protocols, async (n) => (await loadProtocol(n))!);
  t.same(problems, [
    `/devices/1/transport/kind: 'intellivue-lan' is not a transport kind of protocol 'ge-dri': use one of ${NEUTRAL}`,
    '/devices/2/transport/port: Expected integer to be greater or equal to 1',
  ]);
});

t.test('createLink: the protocol builds its own kind; another protocol refuses it', async (t) => {
  const philips = (await loadProtocol('philips-intellivue'))!;
  const link = createLink(lan, philips);
  t.ok(link instanceof UdpLink);
  t.equal(link.description, 'udp:10.1.20.44:24105', 'the Philips default port');
  t.equal(createLink({ ...lan, port: 24106 }, withProfilesDir(philips, '/nowhere')).description, 'udp:10.1.20.44:24106', 'kept by withProfilesDir');
  const ge = (await loadProtocol('ge-dri'))!;
  const err = t.throws(() => createLink(lan, ge)) as unknown as GatewayError;
  t.equal(err.code, GW_ERR.CONFIG);
  t.match(err.message, "transport kind 'intellivue-lan' is not one of protocol 'ge-dri'");
  // a protocol of a test brings its own link the same way
  const memory = new MemoryLink();
  t.equal(createLink({ kind: 'bench-line' }, { ...ge, transports: { 'bench-line': { schema: Type.Object({}), create: () => memory } } }), memory);
});

t.test('every kind a registered protocol declares: not a neutral one, its kind literal, unknown keys refused', async (t) => {
  let declared = 0;
  for (const name of protocolNames()) {
    const p = (await loadProtocol(name))!;
    if (p.transports) t.equal(declaredTransports(name), p.transports, `${name}: what config load checks is what the protocol declares`);
    else t.same(declaredTransports(name), {}, `${name}: declares none`);
    for (const [kind, tr] of Object.entries(p.transports ?? {})) {
      declared++;
      t.notOk(NEUTRAL_TRANSPORT_KINDS.includes(kind), `${name}/${kind} does not shadow a neutral kind`);
      t.same((tr.schema as { properties?: { kind?: { const?: unknown } } }).properties?.kind?.const, kind, `${name}/${kind}: kind literal`);
      t.equal((tr.schema as { additionalProperties?: unknown }).additionalProperties, false, `${name}/${kind}: refuses unknown keys`);
    }
  }
  t.ok(declared >= 1, 'intellivue-lan at least');
});

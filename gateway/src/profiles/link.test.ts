/**
 * The profile `link` block fills the serial settings a device's transport leaves out: device config
 * > the named profile's `link` (inherited through `extends`) > the protocol's serialDefaults; `auto`
 * keeps the protocol's defaults (the profile is known only after identification).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import { silentLogger } from '../log.js';
import { loadProtocol, withProfilesDir } from '../protocols/registry.js';
import { DeviceSession } from '../session/device-session.js';
import { createLink, type LinkContext } from '../transports/index.js';
import { MemoryLink } from '../transports/memory.js';
import { serialSettings } from '../transports/serial.js';
import { profileLink } from './link.js';

const profile = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  vendor: 'GE',
  models: ['X'],
  protocol: 'ge-dri',
  match: { priority: 1 },
  numerics: {},
  ...extra,
});
const SLOW = { baudRate: 9600, dataBits: 7, parity: 'odd', stopBits: 2, rtscts: false } as const;

function profilesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-profile-link-'));
  const files: Record<string, unknown> = {
    'bench/slow.json': profile('bench/slow', { link: SLOW }),
    'bench/slow-child.json': profile('bench/slow-child', { extends: 'bench/slow' }),
    'bench/plain.json': profile('bench/plain'),
  };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), JSON.stringify(content));
  }
  return dir;
}

t.test('serialSettings: each field from the device, else the profile link, else the protocol defaults', async (t) => {
  const defaults = { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1, rtscts: true } as const;
  t.same(serialSettings({ kind: 'serial', path: '/dev/x' }, defaults), { path: '/dev/x', ...defaults });
  t.same(serialSettings({ kind: 'serial', path: '/dev/x' }, defaults, SLOW), { path: '/dev/x', ...SLOW });
  t.same(
    serialSettings({ kind: 'serial', path: '/dev/x', baudRate: 38400, rtscts: true }, defaults, SLOW),
    { path: '/dev/x', ...SLOW, baudRate: 38400, rtscts: true },
    'the device config wins field by field',
  );
});

t.test("profileLink: the named profile's block, inherited through extends; nothing for auto, unknown or link-less", async (t) => {
  const dir = profilesDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.same(profileLink('ge-dri', 'bench/slow', dir), SLOW);
  t.same(profileLink('ge-dri', 'bench/slow-child', dir), SLOW, 'from the parent');
  t.equal(profileLink('ge-dri', 'auto', dir), undefined);
  t.equal(profileLink('ge-dri', undefined, dir), undefined);
  t.equal(profileLink('ge-dri', 'bench/none', dir), undefined);
  t.equal(profileLink('ge-dri', 'bench/plain', dir), undefined);
  t.equal(profileLink('nonin', 'bench/slow', dir), undefined, 'a profile of another protocol is not one of this device');
  t.same(profileLink('ge-dri', 'ge/s5/dri-2003'), { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1, rtscts: true }, 'the package folder by default');
});

t.test("createLink: a serial link opens with the profile's settings the transport leaves out", async (t) => {
  const dir = profilesDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ge = (await loadProtocol('ge-dri'))!;
  const tr = { kind: 'serial', path: '/dev/ttyX' } as const;
  t.equal(createLink(tr, ge, { profileId: 'bench/slow', profilesDir: dir }).description, 'serial:/dev/ttyX@9600-7O2');
  t.equal(
    createLink({ ...tr, baudRate: 57600 }, ge, { profileId: 'bench/slow', profilesDir: dir }).description,
    'serial:/dev/ttyX@57600-7O2',
    'device baud rate wins',
  );
  t.equal(createLink(tr, ge, { profileId: 'auto', profilesDir: dir }).description, 'serial:/dev/ttyX@19200-8E1-rtscts', 'auto: the protocol defaults');
  t.equal(
    createLink(tr, withProfilesDir(ge, dir), { profileId: 'bench/slow-child' }).description,
    'serial:/dev/ttyX@9600-7O2',
    'the folder of the gateway config (withProfilesDir)',
  );
});

t.test('the device session hands its profile to the link factory', async (t) => {
  const ge = (await loadProtocol('ge-dri'))!;
  const seen: LinkContext[] = [];
  const config = {
    id: 's5',
    protocol: 'ge-dri',
    profile: 'ge/s5/dri-2003',
    transport: { kind: 'serial', path: '/dev/x' },
    options: {},
    watchdogMs: 10_000,
    timeBase: 'gateway',
    clockToleranceMs: 0,
  } satisfies DeviceConfig;
  const s = new DeviceSession({
    config,
    protocol: ge,
    logger: silentLogger(),
    backoff: { baseMs: 5, maxMs: 10 },
    sink: () => {},
    linkFactory: (_tr, _p, ctx) => {
      seen.push(ctx ?? {});
      const l = new MemoryLink('m');
      l.failOpens = 1;
      return l;
    },
  });
  s.start();
  const end = Date.now() + 3_000;
  while (!seen.length && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  await s.stop();
  t.equal(seen[0]?.profileId, 'ge/s5/dri-2003');
});

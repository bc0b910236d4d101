import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_PROFILE_DIR } from '../profiles/load.js';
import { encodePhdbRecord } from './ge-dri/encode.js';
import { frameRecord } from './ge-dri/frame.js';
import { loadProtocol, protocolNames, withProfilesDir } from './registry.js';

t.test('registry resolves ge-dri lazily and says no to unknown names', async (t) => {
  t.ok(protocolNames().includes('ge-dri'));
  const p = await loadProtocol('ge-dri');
  t.equal(p?.name, 'ge-dri');
  t.same(p?.serialDefaults, { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1, rtscts: true });
  t.equal(await loadProtocol('nope'), undefined);
});

t.test('withProfilesDir: decoders and sessions map with the configured folder', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'orlink-registry-profiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(DEFAULT_PROFILE_DIR, 'ge'), join(dir, 'ge'), { recursive: true, filter: (src) => !src.includes('testcases') });
  const file = join(dir, 'ge/s5/dri-2003.json');
  const p = JSON.parse(readFileSync(file, 'utf8')) as { numerics: Record<string, unknown> };
  delete p.numerics['spo2.spo2'];
  writeFileSync(file, JSON.stringify(p));
  const rec = frameRecord(encodePhdbRecord({ time: 1_700_000_000, classes: { basic: { spo2: { fields: { spo2: 9800, pr: 60 } } } } }));
  const geDri = (await loadProtocol('ge-dri'))!;
  t.equal(withProfilesDir(geDri, undefined), geDri, 'no folder configured: the protocol as registered');
  const own = withProfilesDir(geDri, dir);
  t.equal(own.name, 'ge-dri');
  const mdcOf = (obs: { vendorCode?: string; mdc?: string | null }[]): unknown => obs.find((o) => o.vendorCode === 'spo2.spo2')?.mdc;
  t.equal(mdcOf(geDri.createDecoder().push(rec, 1)), 'MDC_PULS_OXIM_SAT_O2', 'packaged profiles');
  t.equal(mdcOf(own.createDecoder().push(rec, 1)), null, 'decoder: the configured folder');
  t.equal(mdcOf(own.createSession({ timeBase: 'device' }).onBytes(rec, 1)), null, 'session: the configured folder');
  t.equal(mdcOf(own.createDecoder({ profilesDir: DEFAULT_PROFILE_DIR }).push(rec, 1)), 'MDC_PULS_OXIM_SAT_O2', 'an explicit option still wins');
});

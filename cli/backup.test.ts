/**
 * `orlink backup` / `orlink restore` against two real InfluxDB 1.6 instances (A: source, B: target)
 * on loopback with temp dirs: a populated ingest (registry, cases, audit log, dedupe keys, dead
 * letters, ~5,500 points) is backed up while its database is open, restored into B and a fresh
 * SQLite path, and compared row for row and point for point. Refusals: corrupted or altered backup,
 * non-empty target without --force, target SQLite open in another process, unreachable InfluxDB.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import type { Envelope } from '../schemas/src/envelope.js';
import { loadIngestConfig } from '../schemas/src/ingest-config.js';
import { envelopeToPoints, gatewayHealthPoint } from '../ingest/src/series/layout.js';
import { freePort } from '../ingest/src/series/influxd-launcher.js';
import { createServices, type Services } from '../ingest/src/services.js';
import { startTestInfluxd, type TestInfluxd } from '../test/helpers/influxdb.js';
import { onlineStatus } from '../test/helpers/status-docs.js';
import { parseBindAddress, resolveRpc } from './backup-influx.js';
import { run as backup, withoutUserinfo, type Io } from './backup.js';
import { checkInflux, run as restore } from './restore.js';

const SECRET = 'influx-pw-never-in-a-backup';
const ENV = { ORLINK_INGEST_INFLUX_PASSWORD: SECRET };

function capture(): Io & { text(): string } {
  const chunks: string[] = [];
  return {
    out: (s) => {
      chunks.push(s);
    },
    err: (s) => {
      chunks.push(s);
    },
    text: () => chunks.join(''),
  };
}

function writeConfig(file: string, dbPath: string, influx: TestInfluxd | { url: string }, database: string): string {
  writeFileSync(
    file,
    YAML.stringify({
      db: { path: dbPath },
      series: { kind: 'influx-v1', url: influx.url, database, retentionPolicy: 'raw', retentionDuration: '30d', username: 'orlink' },
      broker: { port: 0 },
      http: { port: 0 },
    }),
  );
  return file;
}

/** A small deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const BEDS = ['b1', 'b2', 'b3'];
const T0 = Math.floor((Date.now() - 3 * 3600_000) / 1000) * 1000;

/** Registry, cases, audit, dedupe, dead letters through the ingest stores; ~5,500 points through the series writer. */
async function populate(s: Services): Promise<number> {
  const r = s.registry;
  r.createSite({ id: 'site1', name: 'Main' });
  r.createRoom({ id: 'or1', siteId: 'site1', name: 'OR 1' });
  for (const b of BEDS) r.createBed({ id: b, roomId: 'or1', name: `Bed ${b}` });
  for (const b of BEDS) await r.createGateway({ id: `gw-${b}`, bedId: b, password: `pw-${b}`, notes: 'rack 2' });
  for (const b of BEDS)
    r.createDevice({ id: `mon-${b}`, gatewayId: `gw-${b}`, vendor: 'GE', model: 'S5', serial: `SN${b}`, firmware: '2003', profile: 'ge-dri' });
  r.updateGatewayStatus('gw-b1', T0, true, { outboxDepth: 3 });
  r.retireDevice('mon-b3', 'broken screen', T0);
  const actor = { id: 'nurse@10.0.0.7', ip: '10.0.0.7' };
  const c1 = s.cases.create({ bedId: 'b1', start: T0, externalIds: { mrn: '123' } }, actor);
  s.cases.close(c1.id, T0 + 600_000, actor);
  s.cases.create({ bedId: 'b2', start: T0 + 1000 }, actor);
  for (const b of BEDS) s.audit.record(actor, 'gateway.create', 'gateway', `gw-${b}`, { bed: b });
  s.dedupe.markAll(
    Array.from({ length: 150 }, (_, i) => ({ gatewayId: 'gw-b1', bootId: 'boot-1', seq: i })),
    T0,
  );
  for (let i = 0; i < 3; i++)
    s.deadLetters.add({ topic: 'orlink/v1/x', code: 'ING_ERR_ENVELOPE', reason: 'bad', gatewayId: 'gw-b1', payload: Buffer.from([0, 255, i]), at: T0 + i });

  await s.series.open();
  const rand = rng(7);
  const points = [];
  for (const bed of BEDS) {
    for (let sec = 0; sec < 600; sec++) {
      const t = T0 + sec * 1000;
      const env: Envelope = {
        gatewayId: `gw-${bed}`,
        bootId: 'boot-1',
        seq: sec,
        sentAt: t + 50,
        devices: [
          {
            deviceId: `mon-${bed}`,
            profileId: 'ge-dri',
            numerics: [
              { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 60 + Math.round(rand() * 40), unit: '/min', t, vendorCode: 'hr' },
              {
                kind: 'numeric',
                mdc: 'MDC_PRESS_BLD_ART_ABP_MEAN',
                code: 150035,
                value: sec % 97 === 0 ? null : 70 + rand() * 20,
                unit: 'mm[Hg]',
                t,
                vendorCode: 'p1.mean',
              },
            ],
            waves: [
              {
                kind: 'wave',
                mdc: 'MDC_ECG_ELEC_POTL_II',
                code: 131074,
                unit: 'mV',
                t0: t,
                rateHz: 25,
                scale: 0.001,
                offset: 0,
                vendorCode: 'ecg2',
                samples: Array.from({ length: 25 }, (_, i) => (i === 7 && sec % 50 === 0 ? null : Math.round((rand() - 0.5) * 4000) / 1000)),
              },
            ],
            alarms:
              sec % 60 === 0
                ? [
                    {
                      kind: 'alarm',
                      mdc: null,
                      code: null,
                      text: `LEADS OFF ${sec}`,
                      priority: 'medium',
                      source: 'technical',
                      phase: 'start',
                      t: t + 10,
                      vendorCode: 'leads',
                    },
                  ]
                : [],
            settings:
              sec % 120 === 0
                ? [
                    { kind: 'setting', name: 'PEEP', value: 5 + sec / 120, unit: 'cm[H2O]', t: t + 20 },
                    { kind: 'setting', name: 'agent', value: 'SEV', t: t + 20 },
                  ]
                : [],
            ...(sec % 60 === 0
              ? { status: { link: 'streaming' as const, model: 'S5', firmware: '2003', clockOffsetMs: sec, frames: sec * 10, errors: 0 } }
              : {}),
          },
        ],
      };
      points.push(...envelopeToPoints(env, { site: 'site1', room: 'or1', bed }));
    }
    points.push(
      gatewayHealthPoint(
        { site: 'site1', room: 'or1', bed },
        `gw-${bed}`,
        onlineStatus({ gatewayId: `gw-${bed}`, site: 'site1', room: 'or1', bed }, { outbox: { records: 2, bytes: 900 }, t: T0 }),
        T0,
      ),
    );
  }
  const res = await s.series.write(points);
  return res.points;
}

async function influxQuery(url: string, q: string): Promise<{ name?: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]> {
  const res = await fetch(`${url}/query?epoch=ms`, { method: 'POST', body: new URLSearchParams({ q }) });
  const json = (await res.json()) as { results: { error?: string; series?: { name?: string; columns: string[]; values: unknown[][] }[] }[] };
  if (json.results[0]?.error) throw new Error(json.results[0].error);
  return json.results[0]?.series ?? [];
}

/** Every point of every measurement of every retention policy, and every field's type. */
async function dumpInflux(url: string, db: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const rp of (await influxQuery(url, `SHOW RETENTION POLICIES ON "${db}"`))[0].values.map((v) => String(v[0]))) {
    for (const m of (await influxQuery(url, `SHOW MEASUREMENTS ON "${db}"`)).flatMap((s) => s.values.map((v) => String(v[0])))) {
      const series = await influxQuery(url, `SELECT * FROM "${db}"."${rp}"."${m}" GROUP BY *`);
      if (series.length) out[`${rp}.${m}`] = series;
    }
  }
  out.fieldKeys = await influxQuery(url, `SHOW FIELD KEYS ON "${db}"`);
  out.tagKeys = await influxQuery(url, `SHOW TAG KEYS ON "${db}"`);
  return out;
}

/** Every row of every table, in primary-key order. */
function dumpSqlite(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    return Object.fromEntries(tables.map((n) => [n, db.prepare(`SELECT * FROM "${n}" ORDER BY 1, 2`).all()]));
  } finally {
    db.close();
  }
}

function modes(dir: string): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    if ((statSync(d).mode & 0o777) !== 0o700) bad.push(`${d} ${(statSync(d).mode & 0o777).toString(8)}`);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if ((statSync(p).mode & 0o777) !== 0o600) bad.push(`${p} ${(statSync(p).mode & 0o777).toString(8)}`);
    }
  };
  walk(dir);
  return bad;
}

async function setup(t: Test) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'orlink-backup-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const [A, B] = await Promise.all([startTestInfluxd(t), startTestInfluxd(t)]);
  const cfgA = writeConfig(path.join(tmp, 'a.yaml'), path.join(tmp, 'a', 'ingest.sqlite'), A, 'orlink');
  const services = createServices(loadIngestConfig({ file: cfgA, env: ENV }));
  t.teardown(() => services.db.close());
  const written = await populate(services);
  return { tmp, A, B, cfgA, services, written, confA: path.join(A.dir, 'influxdb.conf'), confB: path.join(B.dir, 'influxdb.conf') };
}

t.test('backup of a live ingest, restore into a fresh InfluxDB and SQLite path: identical; refusals', async (t) => {
  const { tmp, A, B, cfgA, services, written, confA, confB } = await setup(t);
  t.ok(written > 5000, `${written} points written`);
  const out = path.join(tmp, 'backup-1');

  const io = capture();
  const started = Date.now();
  t.equal(await backup(['--config', cfgA, '--out', out, '--influxd-config', confA], ENV, io), 0, io.text());
  t.comment(`backup of ${written} points + SQLite: ${Date.now() - started} ms`);
  t.comment(io.text().trim());
  t.same(modes(out), [], 'directories 0700, files 0600');
  const manifestText = readFileSync(path.join(out, 'manifest.json'), 'utf8');
  t.notMatch(manifestText, SECRET, 'no secret in the manifest');
  const m = JSON.parse(manifestText);
  t.equal(m.format, 'orlink-backup/1');
  t.equal(m.influx.rpc, parseBindAddress(readFileSync(confA, 'utf8')), "the RPC address comes from influxd's bind-address");
  t.same(m.influx.counts.before, m.influx.counts.after, 'no writes during the backup: exact counts');
  t.equal(m.influx.counts.after.raw.numeric.flags, 3 * 600 * 2);
  t.equal(m.influx.counts.after.raw.numeric.value, 3 * 600 * 2 - 3 * 7, 'a null value is stored without the field');
  t.equal(m.influx.counts.after.raw.wave.data, 3 * 600);
  const live = dumpSqlite(path.resolve(tmp, 'a', 'ingest.sqlite'));
  for (const [table, rows] of Object.entries(live)) if (table !== 'sqlite_sequence') t.equal(m.sqlite.tables[table], rows.length, `manifest rows of ${table}`);
  t.ok(m.sqlite.tables.audit_log >= 6 && m.sqlite.tables.dedupe === 150 && m.sqlite.tables.dead_letters === 3);
  const audit = readFileSync(path.join(out, 'audit-log.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.equal(audit.length, m.sqlite.tables.audit_log, 'the audit export holds every audit row');
  t.match(audit[0], { actor: 'nurse@10.0.0.7', action: 'case.open', entity: 'case', detail: { bed: 'b1' } });
  const sums = readFileSync(path.join(out, 'SHA256SUMS'), 'utf8');
  for (const f of m.files) t.match(sums, `${f.sha256}  ${f.path}`);
  t.ok(
    m.files.some((f: { path: string }) => f.path.startsWith('influx/') && f.path.endsWith('.tar.gz')),
    'shard archives listed',
  );

  // restore into B under another database name (-newdb) and a fresh SQLite path
  const dbB = path.join(tmp, 'b', 'nested', 'ingest.sqlite');
  const cfgB = writeConfig(path.join(tmp, 'b.yaml'), dbB, B, 'orlink_restored');
  const rio = capture();
  const rstart = Date.now();
  t.equal(await restore(['--config', cfgB, '--from', out, '--influxd-config', confB], ENV, rio), 0, rio.text());
  t.comment(`restore: ${Date.now() - rstart} ms`);
  t.match(rio.text(), /verified \d+ counts against the manifest/);
  t.notMatch(rio.text(), /BAD/);
  t.equal(statSync(dbB).mode & 0o777, 0o600, 'restored SQLite file 0600');
  t.equal(statSync(path.dirname(dbB)).mode & 0o777, 0o700, 'its new directory 0700');

  t.same(dumpSqlite(dbB), live, 'every SQLite table identical, row for row');
  const [pa, pb] = await Promise.all([dumpInflux(A.url, 'orlink'), dumpInflux(B.url, 'orlink_restored')]);
  t.same(Object.keys(pb).sort(), Object.keys(pa).sort(), 'same measurements');
  for (const k of Object.keys(pa)) t.same(pb[k], pa[k], `${k}: every point (and field type) identical`);
  const cfgRestored = loadIngestConfig({ file: cfgB, env: ENV });
  const restored = createServices(cfgRestored);
  t.teardown(() => restored.db.close());
  for (const bed of BEDS) {
    const q = { bed, from: T0, to: T0 + 600_000 };
    t.same(await restored.series.query(q), await services.series.query(q), `the ingest reader returns the same observations for ${bed}`);
  }
  t.same(restored.registry.listGateways(), services.registry.listGateways());
  t.ok(await restored.registry.verifyGateway('gw-b2', 'pw-b2'), 'gateway credentials survive the restore');
  restored.db.close();

  // again over the now non-empty target: refused, naming both; nothing touched
  const before = dumpSqlite(dbB);
  const again = capture();
  t.equal(await restore(['--config', cfgB, '--from', out, '--influxd-config', confB], ENV, again), 1);
  t.match(
    again.text(),
    /CLI_ERR_RESTORE_NOT_EMPTY: refusing to overwrite: .*ingest\.sqlite holds \d+ rows.*InfluxDB database "orlink_restored" at .* exists with \d+ measurements.*--force/,
  );
  t.same(dumpSqlite(dbB), before);

  // the target SQLite open in another process: refused even with --force
  const holderJs = `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(dbB)}); d.pragma('journal_mode = WAL');
    d.prepare('SELECT 1').get(); console.log('open'); setInterval(() => {}, 1000);`;
  const holder = spawn(process.execPath, ['-e', holderJs], { cwd: path.resolve(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once('data', () => resolve());
    holder.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  const busy = capture();
  t.equal(await restore(['--config', cfgB, '--from', out, '--influxd-config', confB, '--force'], ENV, busy), 1);
  t.match(busy.text(), /CLI_ERR_RESTORE_IN_USE: .*ingest\.sqlite is open in another process .*stop it first/);
  holder.kill('SIGTERM');
  await new Promise((r) => holder.once('exit', r));

  // with --force: replaced and verified
  services.audit.record({ id: 'admin' }, 'late.change', 'site', 'site1');
  const forced = capture();
  t.equal(await restore(['--config', cfgB, '--from', out, '--influxd-config', confB, '--force'], ENV, forced), 0, forced.text());
  t.same(dumpSqlite(dbB), live, 'the forced restore holds the backup, not the later change');
  t.same(await dumpInflux(B.url, 'orlink_restored'), pa);
});

t.test('a corrupted or altered backup is refused before anything is touched', async (t) => {
  const { tmp, B, cfgA, confA, confB } = await setup(t);
  const good = path.join(tmp, 'good');
  const io = capture();
  t.equal(await backup(['--config', cfgA, '--out', good, '--influxd-config', confA], ENV, io), 0, io.text());
  const attempt = async (name: string, damage: (dir: string) => string, code: RegExp) => {
    const dir = path.join(tmp, name);
    const dbC = path.join(tmp, `${name}-target`, 'ingest.sqlite');
    const cfgC = writeConfig(path.join(tmp, `${name}.yaml`), dbC, B, `orlink_${name.replace(/-/g, '_')}`);
    cpSync(good, dir, { recursive: true });
    const file = damage(dir);
    const o = capture();
    t.equal(await restore(['--config', cfgC, '--from', dir, '--influxd-config', confB], ENV, o), 1, name);
    t.match(o.text(), code, `${name}: ${o.text().trim()}`);
    if (file) t.match(o.text(), file, 'names the file');
    t.notOk(existsSync(dbC), 'no SQLite file written');
    t.same(
      await influxQuery(B.url, 'SHOW DATABASES')
        .then((s) => s.flatMap((x) => (x.values ?? []).flat()))
        .then((dbs) => dbs.includes(`orlink_${name.replace(/-/g, '_')}`)),
      false,
      'no database created',
    );
  };
  const tarOf = (dir: string) => `influx/${readdirSync(path.join(dir, 'influx')).find((f) => f.endsWith('.tar.gz'))}`;
  await attempt(
    'flipped-byte',
    (dir) => {
      const f = tarOf(dir);
      const buf = readFileSync(path.join(dir, f));
      buf[buf.length >> 1] ^= 0x01;
      writeFileSync(path.join(dir, f), buf);
      return f;
    },
    /CLI_ERR_BACKUP_CHECKSUM: influx\/.*\.tar\.gz: sha256 differs from the manifest/,
  );
  await attempt(
    'truncated-sqlite',
    (dir) => {
      const f = path.join(dir, 'ingest.sqlite');
      writeFileSync(f, readFileSync(f).subarray(0, 4096));
      return 'ingest.sqlite';
    },
    /CLI_ERR_BACKUP_CHECKSUM: ingest\.sqlite: 4096 bytes, the manifest says \d+/,
  );
  await attempt(
    'missing-file',
    (dir) => {
      const f = tarOf(dir);
      rmSync(path.join(dir, f));
      return f;
    },
    /CLI_ERR_BACKUP_CHECKSUM: .* missing from the backup/,
  );
  await attempt(
    'extra-file',
    (dir) => {
      writeFileSync(path.join(dir, 'influx', 'extra.tar.gz'), 'x');
      return 'influx/extra.tar.gz';
    },
    /CLI_ERR_BACKUP_CHECKSUM: .* not listed in the manifest/,
  );
  await attempt(
    'edited-manifest',
    (dir) => {
      const f = path.join(dir, 'manifest.json');
      writeFileSync(f, readFileSync(f, 'utf8').replace('"dedupe": 150', '"dedupe": 151'));
      return 'manifest.json';
    },
    /CLI_ERR_BACKUP_CHECKSUM: manifest\.json: sha256 differs from SHA256SUMS/,
  );
  await attempt(
    'no-manifest',
    (dir) => {
      rmSync(path.join(dir, 'manifest.json'));
      return '';
    },
    /CLI_ERR_BACKUP_MANIFEST: .* has no manifest\.json: .*incomplete/,
  );
});

t.test('backup while ingest writes: counts become a range, the restore lies inside it', async (t) => {
  const { tmp, B, cfgA, services, confA, confB } = await setup(t);
  let writing = true;
  let during = 0;
  let inFlight = false;
  const writer = (async () => {
    let seq = 10_000;
    while (writing) {
      services.dedupe.markAll([{ gatewayId: 'gw-b1', bootId: 'boot-2', seq: seq++ }]);
      await services.series.write([
        {
          measurement: 'numeric',
          tags: { site: 'site1', room: 'or1', bed: 'b1', device: 'mon-b1', mdc: 'X', vendor: 'x' },
          fields: { value: seq, flags: 0 },
          time: T0 + seq,
        },
      ]);
      if (inFlight) during++;
    }
  })();
  const out = path.join(tmp, 'live');
  const io = capture();
  inFlight = true;
  const code = await backup(['--config', cfgA, '--out', out, '--influxd-config', confA], ENV, io);
  inFlight = false;
  writing = false;
  await writer;
  t.equal(code, 0, io.text());
  t.ok(during > 0, `${during} writes (SQLite + InfluxDB) completed while the backup ran`);
  const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  t.ok(m.influx.counts.after.raw.numeric.value >= m.influx.counts.before.raw.numeric.value);
  const cfgC = writeConfig(path.join(tmp, 'c.yaml'), path.join(tmp, 'c', 'ingest.sqlite'), B, 'orlink_live');
  const r = capture();
  t.equal(await restore(['--config', cfgC, '--from', out, '--influxd-config', confB], ENV, r), 0, r.text());
  t.equal(dumpSqlite(path.join(tmp, 'c', 'ingest.sqlite')).dedupe.length, m.sqlite.tables.dedupe, 'SQLite: exactly the copy the manifest counted');
});

t.test('InfluxDB not reachable, bad arguments: coded errors that say what to do, no directory left', async (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'orlink-backup-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  const A = await startTestInfluxd(t);
  const cfg = writeConfig(path.join(tmp, 'a.yaml'), path.join(tmp, 'a.sqlite'), A, 'orlink');
  const s = createServices(loadIngestConfig({ file: cfg, env: ENV }));
  await s.series.open();
  s.db.close();
  const closed = await freePort();
  const out = path.join(tmp, 'out');

  let io = capture();
  const t0 = Date.now();
  t.equal(await backup(['--config', cfg, '--out', out, '--influx-rpc', `127.0.0.1:${closed}`], ENV, io), 1);
  t.match(
    io.text(),
    new RegExp(
      `CLI_ERR_BACKUP_INFLUX_UNREACHABLE: InfluxDB's RPC service .* not reachable at 127\\.0\\.0\\.1:${closed} \\(--influx-rpc\\).*Start influxd, or pass --influx-rpc`,
    ),
  );
  t.ok(Date.now() - t0 < 5000, 'fails fast (influxd backup alone retries for ever)');
  t.notOk(existsSync(out), 'no backup directory left behind');

  const cfgDown = writeConfig(path.join(tmp, 'down.yaml'), path.join(tmp, 'a.sqlite'), { url: `http://127.0.0.1:${closed}` }, 'orlink');
  io = capture();
  t.equal(await backup(['--config', cfgDown, '--out', out], ENV, io), 1);
  t.match(
    io.text(),
    new RegExp(`CLI_ERR_BACKUP_INFLUX_UNREACHABLE: InfluxDB's HTTP API is not reachable at http://127\\.0\\.0\\.1:${closed} \\(series\\.url\\)`),
  );

  const cfgNoDb = writeConfig(path.join(tmp, 'nodb.yaml'), path.join(tmp, 'a.sqlite'), A, 'nosuch');
  io = capture();
  t.equal(await backup(['--config', cfgNoDb, '--out', out, '--influxd-config', path.join(A.dir, 'influxdb.conf')], ENV, io), 1);
  t.match(io.text(), /CLI_ERR_BACKUP_INFLUX_DB_MISSING: .* no database "nosuch"/);

  io = capture();
  t.equal(await backup(['--config', cfg, '--out', tmp, '--influxd-config', path.join(A.dir, 'influxdb.conf')], ENV, io), 1);
  t.match(io.text(), /CLI_ERR_BACKUP_OUT_NOT_EMPTY/);
  t.ok(existsSync(path.join(tmp, 'a.yaml')), 'a non-empty --out is left alone');

  io = capture();
  t.equal(await backup(['--config', cfg, '--out', out, '--since', '2024-01-01T00:00:00Z'], ENV, io), 2);
  t.match(io.text(), /CLI_ERR_BACKUP_INCREMENTAL: --since .*not offered/);
  io = capture();
  t.equal(await restore(['--from', out], ENV, io), 2);
  t.match(io.text(), /CLI_ERR_BACKUP_USAGE: --config and --from are required/);
});

t.test('RPC address: flag, influxd config bind-address, default; count ranges; URL credentials', async (t) => {
  t.equal(withoutUserinfo('http://orlink:s3cret@127.0.0.1:8086/'), 'http://127.0.0.1:8086/', 'no credentials of a URL in a manifest');
  t.equal(parseBindAddress('reporting-enabled = false\nbind-address = "127.0.0.1:9999"\n[http]\n  bind-address = "127.0.0.1:8086"\n'), '127.0.0.1:9999');
  t.equal(parseBindAddress('[http]\n  bind-address = "127.0.0.1:8086"\n'), null, 'the [http] bind-address is not the RPC one');
  t.same(resolveRpc({ flag: ':7000', seriesUrl: 'http://10.1.2.3:8086' }), { addr: '10.1.2.3:7000', from: '--influx-rpc' });
  t.same(resolveRpc({ seriesUrl: 'http://127.0.0.1:8086' }).addr, '127.0.0.1:8088');
  const c = (n: number) => ({ raw: { numeric: { value: n } } });
  t.ok(checkInflux(c(10), c(10), c(10))[0].ok);
  t.ok(checkInflux(c(10), c(14), c(12))[0].ok, 'inside the range taken while ingest wrote');
  t.notOk(checkInflux(c(10), c(14), c(9))[0].ok, 'below it');
  t.notOk(
    checkInflux(c(10), c(10), { raw: { numeric: { value: 10 }, extra: { value: 1 } } }).every((x) => x.ok),
    'an extra measurement',
  );
});

/** The demo/test InfluxDB directory made by the launcher is owner-only, whatever the umask. */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startInfluxd } from './influxd-launcher.js';

const mode = (f: string) => fs.statSync(f).mode & 0o777;

t.test(
  'influxd data dir 0700 (meta, data, wal too), config and log 0600 (umask 0)',
  { skip: !fs.existsSync('/usr/bin/influxd') && 'no /usr/bin/influxd' },
  async (t) => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'influxd-files-'));
    t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
    const old = process.umask(0);
    t.teardown(() => {
      process.umask(old);
    });
    const dir = path.join(base, 'influx');
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o755 }); // left by an earlier run with wide modes
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'influxd.log'), '', { mode: 0o644 });
    fs.chmodSync(path.join(dir, 'influxd.log'), 0o644);
    const h = await startInfluxd({ dir });
    t.teardown(() => h.stop());
    // store something so influxd creates its own files under data/ and wal/
    const q = await fetch(`${h.url}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE files' }) });
    t.equal(q.status, 200);
    const w = await fetch(`${h.url}/write?db=files`, { method: 'POST', body: 'hr,bed=b1 v=72 1700000000000000000' });
    t.equal(w.status, 204);
    await h.stop();
    for (const d of ['', 'meta', 'data', 'wal']) t.equal(mode(path.join(dir, d)), 0o700, `${d || 'influx dir'} 0700`);
    for (const f of ['influxdb.conf', 'influxd.log']) t.equal(mode(path.join(dir, f)), 0o600, `${f} 0600`);
    t.ok(fs.readdirSync(path.join(dir, 'data')).includes('files'), 'influxd wrote its data inside the private directory');
  },
);

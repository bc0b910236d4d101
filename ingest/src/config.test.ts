import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { IngestConfigError, loadIngestConfig } from '../../schemas/src/ingest-config.js';

const sample = fileURLToPath(new URL('../ingest.sample.yaml', import.meta.url));

t.test('the sample config is valid', async (t) => {
  const c = loadIngestConfig({ file: sample, env: {} });
  t.equal(c.series.kind, 'influx-v1');
  t.equal(c.mqtt.prefix, 'orlink/v1');
  t.ok(Object.isFrozen(c.series), 'frozen');
});

t.test('defaults < file < env; secrets from env and *_FILE', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-cfg-'));
  t.teardown(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
  const file = path.join(dir, 'c.yaml');
  writeFileSync(file, 'http:\n  port: 9000\nseries:\n  database: x\n');
  writeFileSync(path.join(dir, 'pw'), 'from-file\n');
  const c = loadIngestConfig({
    file,
    env: { ORLINK_INGEST_HTTP_PORT: '9100', ORLINK_INGEST_INFLUX_PASSWORD_FILE: path.join(dir, 'pw'), ORLINK_INGEST_BROKER_PASSWORD: 'b' },
  });
  t.equal(c.http.port, 9100, 'env beats file');
  t.equal(c.series.database, 'x', 'file beats default');
  t.equal(c.series.retentionDuration, '30d', 'default');
  t.equal(c.secrets.influxPassword, 'from-file');
  t.equal(c.secrets.brokerPassword, 'b');
});

t.test('all errors at once; secrets in the file are refused', async (t) => {
  const err = (() => {
    try {
      loadIngestConfig({
        input: { http: { port: 'x' }, bogus: 1, series: { password: 'p', kind: 'nope' }, broker: { kind: 'external' } },
        env: { ORLINK_INGEST_BROKER_PORT: 'zz' },
      });
    } catch (e) {
      return e;
    }
    return null;
  })();
  t.ok(err instanceof IngestConfigError);
  const problems = (err as IngestConfigError).problems.join('\n');
  for (const re of [/series\/password/, /ORLINK_INGEST_BROKER_PORT/, /bogus/, /http\/port/, /series\/kind/, /broker\/url/]) t.match(problems, re);
});

t.test('influx-v2 requires a token', async (t) => {
  t.throws(() => loadIngestConfig({ input: { series: { kind: 'influx-v2' } }, env: {} }), /ORLINK_INGEST_INFLUX_TOKEN/);
  t.equal(loadIngestConfig({ input: { series: { kind: 'influx-v2' } }, env: { ORLINK_INGEST_INFLUX_TOKEN: 't' } }).secrets.influxToken, 't');
});

t.test('auth: defaults, limits, unknown keys refused, no "token" keys', async (t) => {
  const c = loadIngestConfig({ input: {}, env: {} });
  t.same(c.auth, { defaultExpiryDays: 90, maxExpiryDays: 365, rateLimit: { windowMs: 60_000, perCaller: 600, failedAuthPerIp: 60 } });
  t.equal(
    loadIngestConfig({ input: { auth: { rateLimit: { perCaller: 50 } } }, env: {} }).auth.rateLimit.failedAuthPerIp,
    60,
    'partial section: defaults for the rest',
  );
  const problems = (input: unknown) => {
    try {
      loadIngestConfig({ input, env: {} });
      return '';
    } catch (e) {
      return (e as IngestConfigError).problems.join('\n');
    }
  };
  t.match(problems({ auth: { bogus: 1 } }), '/auth/bogus: Unexpected property', 'unknown key in auth');
  t.match(problems({ auth: { rateLimit: { perMinute: 1 } } }), '/auth/rateLimit/perMinute: Unexpected property', 'unknown key in auth.rateLimit');
  t.match(problems({ auth: { defaultExpiryDays: 400 } }), /defaultExpiryDays: longer than auth.maxExpiryDays/);
  t.match(problems({ auth: { rateLimit: { perCaller: 0 } } }), /perCaller/);
  t.match(problems({ auth: { adminToken: 'x' } }), /auth\/adminToken: secrets are read from env/, 'a token never goes in the file');
});

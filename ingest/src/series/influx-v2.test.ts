/** InfluxDB 2.x endpoints against a local fake HTTP server (no 2.x server exists on these machines). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { startTestInfluxd } from '../../../test/helpers/influxdb.js';
import { InfluxV2Store } from './influx-v2.js';
import { seriesSuite } from './series.suite.js';

interface Seen {
  method: string;
  url: string;
  auth?: string;
  body: string;
}

async function fake(t: Test, handler: (req: Seen, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, body };
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen };
}

const opts = (url: string) => ({
  url,
  org: 'hosp',
  bucket: 'orlink/raw',
  token: 'tok-1',
  database: 'orlink',
  retentionPolicy: 'raw',
  maxLinesPerRequest: 2,
  concurrency: 2,
  requestTimeoutMs: 2000,
  retryMinMs: 5,
  retryMaxMs: 20,
  retryAttempts: 4,
});

t.test('write: /api/v2/write with org, bucket, ms precision and Token auth; chunks; retries 503', async (t) => {
  let fails = 1;
  const f = await fake(t, (req, res) => {
    if (req.url.startsWith('/api/v2/write') && fails-- > 0) {
      res.writeHead(503);
      res.end('busy');
      return;
    }
    res.writeHead(204);
    res.end();
  });
  const store = new InfluxV2Store(opts(f.url));
  const pts = [1, 2, 3].map((i) => ({ measurement: 'numeric', tags: { bed: 'b' }, fields: { value: i, flags: 0 }, time: 1000 + i }));
  const r = await store.write(pts);
  t.equal(r.points, 3);
  const writes = f.seen.filter((s) => s.url.startsWith('/api/v2/write'));
  t.equal(writes.length, 3, '2 chunks + 1 retry');
  t.equal(writes[0].url, '/api/v2/write?org=hosp&bucket=orlink%2Fraw&precision=ms');
  t.equal(writes[0].auth, 'Token tok-1');
  t.same(
    writes.map((w) => w.body).sort(),
    [
      'numeric,bed=b value=1,flags=0i 1001\nnumeric,bed=b value=2,flags=0i 1002',
      'numeric,bed=b value=1,flags=0i 1001\nnumeric,bed=b value=2,flags=0i 1002',
      'numeric,bed=b value=3,flags=0i 1003',
    ].sort(),
  );
});

t.test('write: 400 is a data error, 401 fatal, both not retried', async (t) => {
  let status = 400;
  const f = await fake(t, (_req, res) => {
    res.writeHead(status);
    res.end('{"code":"invalid"}');
  });
  const store = new InfluxV2Store(opts(f.url));
  const p = [{ measurement: 'm', tags: {}, fields: { v: 1 }, time: 1 }];
  const e1 = await store.write(p).catch((e) => e);
  t.equal(e1.kind, 'data');
  status = 401;
  const e2 = await store.write(p).catch((e) => e);
  t.equal(e2.kind, 'fatal');
  t.equal(f.seen.length, 2);
});

t.test('query through the v1-compat /query endpoint; open() checks the bucket', async (t) => {
  const f = await fake(t, (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url.startsWith('/api/v2/buckets')) {
      res.end(JSON.stringify({ buckets: [{ name: 'orlink/raw' }] }));
      return;
    }
    if (req.url.startsWith('/health')) {
      res.end('{"status":"pass"}');
      return;
    }
    res.end(
      JSON.stringify({
        results: [
          {
            statement_id: 0,
            series: [
              {
                name: 'numeric',
                columns: ['time', 'bed', 'device', 'mdc', 'value', 'flags', 'unit', 'vendor', 'site', 'room'],
                values: [[1000, 'b', 'd', 'MDC_X', 5, 0, '%', 'x', 's', 'r']],
              },
            ],
          },
        ],
      }),
    );
  });
  const store = new InfluxV2Store(opts(f.url));
  await store.open();
  t.equal(await store.ping(), true);
  const r = await store.query({ bed: 'b', from: 0, to: 2000, kinds: ['numeric'] });
  t.same(r.numerics, [
    { kind: 'numeric', mdc: 'MDC_X', code: null, value: 5, unit: '%', t: 1000, vendorCode: 'x', site: 's', room: 'r', bed: 'b', device: 'd' },
  ]);
  const q = f.seen.find((s) => s.url.startsWith('/query'));
  t.equal(q?.url, '/query?db=orlink&rp=raw&epoch=ms&chunked=true&chunk_size=5000', 'answers chunked');
  t.equal(q?.auth, 'Token tok-1');
  t.match(decodeURIComponent(q?.body.replace(/\+/g, ' ') ?? ''), /SELECT \* FROM "numeric" WHERE "bed" = 'b' AND time >= 0ms AND time <= 2000ms/);
});

t.test('open() fails fatally when the bucket is missing', async (t) => {
  const f = await fake(t, (_req, res) => {
    res.end(JSON.stringify({ buckets: [] }));
  });
  const err = await new InfluxV2Store(opts(f.url)).open().catch((e) => e);
  t.equal(err.kind, 'fatal');
});

t.test('abstract series suite through a fake 2.x front of a real influxd 1.6', async (t) => {
  // the front does what a 2.x server with a DBRP mapping does: Token auth, /api/v2/write to the
  // bucket "<db>/raw", InfluxQL on the v1-compatible /query (passed through, answer streamed back)
  const influx = await startTestInfluxd(t);
  const front = await fake(t, (req, res) => {
    void (async () => {
      if (req.url === '/health') {
        res.end('{"status":"pass"}');
        return;
      } // no auth on 2.x
      if (req.auth !== 'Token tok-1') {
        res.writeHead(401);
        res.end('{"code":"unauthorized"}');
        return;
      }
      const url = new URL(req.url, 'http://front');
      let target: string;
      if (url.pathname === '/api/v2/buckets') {
        res.end(JSON.stringify({ buckets: [{ name: url.searchParams.get('name') }] }));
        return;
      }
      if (url.pathname === '/api/v2/write') {
        const [db, rp] = (url.searchParams.get('bucket') ?? '').split('/');
        target = `/write?${new URLSearchParams({ db, rp, precision: url.searchParams.get('precision') ?? 'ns' })}`;
      } else if (url.pathname === '/query') target = req.url;
      else {
        res.writeHead(404);
        res.end();
        return;
      }
      const up = await fetch(`${influx.url}${target}`, {
        method: req.method,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: req.body,
      });
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      for await (const chunk of up.body ?? []) res.write(chunk);
      res.end();
    })().catch((err) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  seriesSuite(t, async (o) => {
    const db = await influx.createDatabase('v2suite');
    await fetch(`${influx.url}/query`, {
      method: 'POST',
      body: new URLSearchParams({ q: `CREATE RETENTION POLICY "raw" ON "${db}" DURATION 30d REPLICATION 1 DEFAULT` }),
    });
    const store = new InfluxV2Store({
      ...opts(front.url),
      bucket: `${db}/raw`,
      database: db,
      maxLinesPerRequest: o?.bulk ? 5000 : 3,
      requestTimeoutMs: 10_000,
    });
    await store.open();
    return { store, cleanup: () => store.close() };
  });
});

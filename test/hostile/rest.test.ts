/**
 * Hostile REST input against the real stack (ingest + embedded broker + InfluxDB, real HTTP):
 * missing / malformed / unknown / expired / revoked tokens, wrong role, wrong site, rate limits,
 * identifiers for a viewer, bad JSON, schema violations, huge windows, path tricks, oversized
 * bodies. Each: the coded answer, the counter on GET /metrics, and a good reading stored before and after.
 */
import http from 'node:http';
import t from 'tap';
import { DAY, delta, GOOD, startStack, type Reply } from './stack.js';

const REST = ['rest_auth_failures_total', 'rest_forbidden_total', 'rest_rate_limited_total'] as const;
const PER_CALLER = 150;
const FAILED_PER_IP = 40;
const s = await startStack(t, 'rest', { rateLimit: { windowMs: 60_000, perCaller: PER_CALLER, failedAuthPerIp: FAILED_PER_IP } });

/** a request whose path is sent byte for byte (fetch would normalise `..` and percent-escapes) */
function rawRequest(method: string, path: string, headers: Record<string, string>): Promise<Reply> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, body, text, headers: new Headers(res.headers as Record<string, string>) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

t.test('no, malformed, unknown, expired and revoked tokens: 401 ING_ERR_UNAUTHENTICATED on every kind of route, counted', async (t) => {
  const expired = s.token('admin', { expiresDays: 1, now: () => Date.now() - 2 * DAY });
  const revoked = s.token('admin');
  await s.api('POST', `/tokens/${revoked.split('_')[1]}/revoke`);
  const unknown = `orl_${'ab'.repeat(8)}_${'A'.repeat(43)}`;
  const presented: [string, Record<string, string>][] = [
    ['none', {}],
    ['malformed', { authorization: 'Bearer not-a-token' }],
    ['basic scheme', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
    ['unknown', { authorization: `Bearer ${unknown}` }],
    ['expired', { authorization: `Bearer ${expired}` }],
    ['revoked', { authorization: `Bearer ${revoked}` }],
  ];
  // the probe's targets: registering a gateway for an existing bed, MRNs, dead letters, closing a case
  const routes: [string, string, unknown?][] = [
    ['POST', '/gateways', { id: 'gw-evil', bedId: GOOD.bed, password: 'evil-password' }],
    ['GET', `/cases/${s.caseId}`],
    ['GET', '/dead-letters'],
    ['POST', `/cases/${s.caseId}/close`, {}],
  ];
  await s.guarded(t, async () => {
    const before = await s.metrics(REST);
    let n = 0;
    for (const [name, headers] of presented) {
      for (const [method, path, body] of routes) {
        const r = await s.http(method, path, { headers, body });
        n++;
        t.equal(r.status, 401, `${name}: ${method} ${path} → 401`);
        t.equal(r.body.error, 'ING_ERR_UNAUTHENTICATED', `${name}: coded`);
        t.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="orlink"/);
        t.notMatch(r.text, /MRN-HOSTILE/, 'no identifier in the answer');
      }
    }
    const r = await s.http('GET', '/cases/' + s.caseId, { headers: { authorization: `Bearer ${expired}` } });
    t.match(r.body.message, /expired/, 'the holder of the secret learns that it expired');
    t.same(
      delta(before, await s.metrics(REST)),
      { rest_auth_failures_total: n + 1, rest_forbidden_total: 0, rest_rate_limited_total: 0 },
      `${n + 1} failures counted`,
    );
  });
  t.equal(
    (await s.api('GET', `/gateways`)).some((g: { id: string }) => g.id === 'gw-evil'),
    false,
    'no gateway was registered',
  );
  t.equal((await s.api('GET', `/cases/${s.caseId}`)).status, 'open', 'the case is still open');
});

t.test('wrong role: 403 ING_ERR_FORBIDDEN, counted, nothing changed', async (t) => {
  const tokens = { viewer: s.token('viewer'), metrics: s.token('metrics'), recorder: s.token('recorder'), biomed: s.token('biomed') };
  const probes: [keyof typeof tokens, string, string, unknown?][] = [
    ['viewer', 'POST', '/gateways', { id: 'gw-evil2', bedId: GOOD.bed, password: 'evil-password' }],
    ['viewer', 'POST', `/cases/${s.caseId}/close`, {}],
    ['metrics', 'GET', `/cases/${s.caseId}`],
    ['recorder', 'GET', '/dead-letters'],
    ['biomed', 'GET', `/cases/${s.caseId}/timeline`],
    ['recorder', 'POST', '/tokens', { name: 'x', role: 'admin' }],
    ['biomed', 'GET', '/audit'],
  ];
  await s.guarded(t, async () => {
    const before = await s.metrics(REST);
    for (const [role, method, path, body] of probes) {
      const r = await s.http(method, path, { headers: { authorization: `Bearer ${tokens[role]}` }, body });
      t.equal(r.status, 403, `${role}: ${method} ${path} → 403`);
      t.equal(r.body.error, 'ING_ERR_FORBIDDEN');
      t.notMatch(r.text, /MRN-HOSTILE/);
    }
    t.same(delta(before, await s.metrics(REST)), { rest_auth_failures_total: 0, rest_forbidden_total: probes.length, rest_rate_limited_total: 0 });
  });
  t.equal((await s.api('GET', `/cases/${s.caseId}`)).status, 'open');
});

t.test("a token limited to another site: 403 for this site's case and bed, counted", async (t) => {
  await s.api('POST', '/sites', { id: 'other', name: 'Other hospital' });
  const viewer = { authorization: `Bearer ${s.token('viewer', { site: 'other' })}` };
  const recorder = { authorization: `Bearer ${s.token('recorder', { site: 'other' })}` };
  await s.guarded(t, async () => {
    const before = await s.metrics(REST);
    const probes: [Record<string, string>, string, string, unknown?][] = [
      [viewer, 'GET', `/cases/${s.caseId}`],
      [viewer, 'GET', `/cases/${s.caseId}/timeline`],
      [viewer, 'GET', `/beds/${GOOD.bed}/latest`],
      [recorder, 'POST', `/cases/${s.caseId}/close`, {}],
      [recorder, 'POST', '/cases', { bed: GOOD.bed }],
    ];
    for (const [headers, method, path, body] of probes) {
      const r = await s.http(method, path, { headers, body });
      t.equal(r.status, 403, `${method} ${path} → 403`);
      t.equal(r.body.error, 'ING_ERR_FORBIDDEN');
      t.match(r.body.message, /limited to site other/);
    }
    t.same(delta(before, await s.metrics(REST)), { rest_auth_failures_total: 0, rest_forbidden_total: probes.length, rest_rate_limited_total: 0 });
  });
  t.equal((await s.api('GET', `/cases/${s.caseId}`)).status, 'open');
});

t.test('a viewer never receives externalIds (MRN); an admin read is audited', async (t) => {
  const viewer = { authorization: `Bearer ${s.token('viewer')}` };
  await s.guarded(t, async () => {
    const before = await s.metrics(REST);
    const r = await s.http('GET', `/cases/${s.caseId}`, { headers: viewer });
    t.equal(r.status, 200);
    t.notOk('externalIds' in r.body, 'no externalIds field');
    t.notMatch(r.text, /MRN-HOSTILE/, 'the MRN is nowhere in the answer');
    const tl = await s.http('GET', `/cases/${s.caseId}/timeline?from=${Date.now() - 60_000}`, { headers: viewer });
    t.equal(tl.status, 200);
    t.notMatch(tl.text, /MRN-HOSTILE/, 'nor in the timeline');
    t.same(
      delta(before, await s.metrics(REST)),
      { rest_auth_failures_total: 0, rest_forbidden_total: 0, rest_rate_limited_total: 0 },
      'an allowed read: no refusal counted',
    );
  });
  const admin = await s.api('GET', `/cases/${s.caseId}`);
  t.same(admin.externalIds, { mrn: 'MRN-HOSTILE-1' }, 'an admin gets them');
  const audit = await s.api<{ action: string; role: string }[]>('GET', `/audit?action=case.read-identifiers&entityId=${s.caseId}`);
  t.ok(
    audit.some((a) => a.role === 'admin'),
    'the admin read is audited as case.read-identifiers',
  );
  t.notOk(
    audit.some((a) => a.role === 'viewer'),
    'the viewer read is not an identifier read',
  );
});

t.test('bad JSON, schema violations, oversized bodies: 400 / 413 coded, never 500, nothing created', async (t) => {
  const probes: [string, string, { body?: unknown; raw?: string; headers?: Record<string, string> }, number][] = [
    ['truncated JSON', '/sites', { raw: '{"id": "x1", "name": ' }, 400],
    ['not JSON at all', '/sites', { raw: 'id=x2&name=y' }, 400],
    ['JSON array', '/sites', { body: [{ id: 'x3', name: 'y' }] }, 400],
    ['missing field', '/sites', { body: { id: 'x4' } }, 400],
    ['wrong type (object for string)', '/sites', { body: { id: { $gt: '' }, name: 'y' } }, 400],
    ['null for a required string', '/rooms', { body: { id: 'x5', siteId: null, name: 'y' } }, 400],
    ['password too short', '/gateways', { body: { id: 'gw-x6', bedId: GOOD.bed, password: 'short' } }, 400],
    ['id with a slash', '/beds', { body: { id: 'bad/../id', roomId: GOOD.room, name: 'x' } }, 400],
    ['start not a number', '/cases', { body: { bed: GOOD.bed, start: 'yesterday' } }, 400],
    ['__proto__ pollution', '/sites', { raw: '{"id":"x7","name":"y","__proto__":{"admin":true}}' }, 400],
    ['2 MiB body', '/sites', { raw: JSON.stringify({ id: 'x8', name: 'y'.repeat(2 * 1024 * 1024) }) }, 413],
  ];
  await s.guarded(t, async () => {
    for (const [name, path, o, status] of probes) {
      const r = await s.http('POST', path, o);
      t.equal(r.status, status, `${name}: POST ${path} → ${status}`);
      t.equal(r.body.error, 'ING_ERR_BAD_REQUEST', `${name}: coded`);
    }
  });
  const sites = (await s.api<{ id: string }[]>('GET', '/sites')).map((x) => x.id);
  t.same(
    sites.filter((id) => /^x\d$/.test(id)),
    [],
    'no site created by a bad body',
  );
  t.equal(
    (await s.api<{ id: string }[]>('GET', '/gateways')).some((g) => g.id === 'gw-x6'),
    false,
  );
});

t.test('an extra field in a body is removed before the handler (documented: docs/api.md), never stored or echoed', async (t) => {
  const r = await s.http('POST', '/sites', { body: { id: 'x9', name: 'y', isAdmin: true } });
  t.equal(r.status, 201);
  t.match(r.body, { id: 'x9', name: 'y' });
  t.notOk('isAdmin' in r.body, 'the unknown property is gone');
  const site = (await s.api<Record<string, unknown>[]>('GET', '/sites')).find((x) => x.id === 'x9');
  t.notOk(site && 'isAdmin' in site, 'not stored');
});

t.test('a number where a string is required is taken as its decimal text (documented: docs/api.md); a non-id string is refused', async (t) => {
  const r = await s.http('POST', '/sites', { body: { id: 12345, name: 'y' } });
  t.equal(r.status, 201);
  t.equal(r.body.id, '12345');
  const bad = await s.http('POST', '/sites', { body: { id: { $gt: '' }, name: 'y' } });
  t.equal(bad.status, 400);
  t.equal(bad.body.error, 'ING_ERR_BAD_REQUEST');
});

t.test('huge windows: 7 days + 1 ms → 400; 26 h → 200 in pages', async (t) => {
  await s.guarded(t, async () => {
    const now = Date.now() - 5_000;
    const over = await s.http('GET', `/cases/${s.caseId}/timeline?from=${now - 7 * DAY - 1}&to=${now}`);
    t.equal(over.status, 400, '7 days + 1 ms');
    t.equal(over.body.error, 'ING_ERR_BAD_REQUEST');
    t.match(over.body.message, /window longer than/);
    const latest = await s.http('GET', `/beds/${GOOD.bed}/latest`);
    t.equal(latest.status, 200, 'latest answers');
    for (const q of ['limit=1000000', 'limit=-1', 'limit=1e9']) {
      const dl = await s.http('GET', `/dead-letters?${q}`);
      t.equal(dl.status, 400, `dead letters ${q} → 400 (at most 1,000 per response)`);
      t.equal(dl.body.error, 'ING_ERR_BAD_REQUEST');
    }
    const big = await s.http('GET', `/cases/${s.caseId}/timeline?limit=200001`);
    t.equal(big.status, 400, 'a timeline page over 200,000 items per kind → 400');
    await s.publishGood();
    const to = Date.now() + 1;
    const from = to - 26 * 3600_000;
    const pages: any[] = [];
    let next: string | undefined = `/cases/${s.caseId}/timeline?from=${from}&to=${to}&params=MDC_ECG_HEART_RATE&limit=2`;
    for (let i = 0; next && i < 200; i++) {
      const r = await s.http('GET', next);
      t.equal(r.status, 200, `26 h page ${i}`);
      if (r.status !== 200) break;
      pages.push(r.body);
      next = r.body.next;
    }
    t.ok(pages.length >= 2, `paged (${pages.length} pages)`);
    t.notOk(next, 'the last page has no next');
    const points = pages.flatMap((p) => p.numerics.flatMap((n: { points: [number, number][] }) => n.points));
    t.ok(points.length >= 3, `${points.length} good points over the pages`);
    t.same(
      points.map((p: [number, number]) => p[0]),
      [...points.map((p: [number, number]) => p[0])].sort((a, b) => a - b),
      'in time order, none repeated across pages',
    );
    t.equal(new Set(points.map((p: [number, number]) => p[0])).size, points.length);
  });
});

t.test('path tricks: .., %2e%2e, %00, very long ids, unicode → 400/404/414, never 500, nothing reached', async (t) => {
  const long = 'a'.repeat(5000);
  const paths = [
    `/cases/../audit`,
    `/cases/%2e%2e/%2e%2e/audit`,
    `/cases/%2e%2e%2faudit/timeline`,
    `/cases/..%2f..%2fetc%2fpasswd`,
    `/beds/${GOOD.bed}%00/latest`,
    `/beds/%00/latest`,
    `/gateways/${long}`,
    `/cases/${long}/timeline`,
    `/devices/%F0%9F%92%A9`,
    `/beds/%C0%AE%C0%AE/latest`,
    `/beds/%ZZ/latest`,
    `/sites/%E2%80%AE${GOOD.site}`,
    `/cases/${s.caseId}/timeline?from=%00&to=1`,
    `/cases/${s.caseId}/timeline?cursor=..%2f..`,
  ];
  const viewer = { authorization: `Bearer ${s.token('viewer')}` };
  await s.guarded(t, async () => {
    const before = await s.metrics(REST);
    for (const p of paths) {
      const r = await rawRequest('GET', p, viewer);
      t.ok([400, 404, 414].includes(r.status), `${p.slice(0, 60)} → ${r.status} (400/404/414, never 5xx)`);
      t.match(r.body, { error: String }, 'a JSON error body');
      t.notMatch(r.text, /MRN-HOSTILE|"actor"/, 'no audit or identifier reached through the trick');
    }
    const r = await rawRequest('GET', '/cases/../audit', {});
    t.equal(r.status, 401, 'without a token even a trick path is 401 first');
    t.same(delta(before, await s.metrics(REST)), { rest_auth_failures_total: 1, rest_forbidden_total: 0, rest_rate_limited_total: 0 });
  });
});

t.test('path tricks are answered with an ING_ERR code, and a long URL is not echoed', async (t) => {
  const viewer = { authorization: `Bearer ${s.token('viewer')}` };
  for (const p of ['/cases/../audit', '/beds/%ZZ/latest', `/gateways/${'a'.repeat(5000)}`]) {
    const r = await rawRequest('GET', p, viewer);
    t.match(r.body?.error ?? '', /^ING_ERR_(BAD_REQUEST|NOT_FOUND)$/, p.slice(0, 40));
    t.ok(r.text.length < 400, 'the answer does not echo the whole URL');
  }
});

t.test('400 / 404 / 413 / 414 answers are counted', async (t) => {
  const counters = ['rest_bad_request_total', 'rest_not_found_total', 'rest_payload_too_large_total'];
  const viewer = { authorization: `Bearer ${s.token('viewer')}` };
  const before = await s.metrics(counters);
  await rawRequest('GET', '/beds/%ZZ/latest', viewer); // 400 malformed URL
  await rawRequest('GET', `/gateways/${'a'.repeat(5000)}`, viewer); // 414
  await rawRequest('GET', '/no/such/route', viewer); // 404
  await s.http('POST', '/sites', { body: { id: 'bad id with spaces', name: 'y' } }); // 400 schema
  await s.http('POST', '/sites', { raw: JSON.stringify({ id: 'x7', name: 'y'.repeat(2 * 1024 * 1024) }) }); // 413
  t.same(delta(before, await s.metrics(counters)), { rest_bad_request_total: 3, rest_not_found_total: 1, rest_payload_too_large_total: 1 });
});

t.test(
  'rate limits: one token over perCaller → 429 (other tokens unaffected); failed authentications per address → 429, a valid token still works',
  async (t) => {
    const flood = { authorization: `Bearer ${s.token('viewer')}` };
    await s.guarded(t, async () => {
      let before = await s.metrics(REST);
      let first429 = -1;
      for (let i = 0; i < PER_CALLER + 5 && first429 < 0; i++) {
        const r = await s.http('GET', '/sites', { headers: flood });
        if (r.status === 429) {
          first429 = i;
          t.equal(r.body.error, 'ING_ERR_RATE_LIMITED');
          t.ok(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
        } else if (r.status !== 200) t.fail(`unexpected ${r.status}`);
      }
      t.equal(first429, PER_CALLER, `429 from request ${PER_CALLER + 1} on`);
      t.same(delta(before, await s.metrics(REST)), { rest_auth_failures_total: 0, rest_forbidden_total: 0, rest_rate_limited_total: 1 });
      t.equal((await s.http('GET', '/sites')).status, 200, 'another token is not limited');

      before = await s.metrics(REST);
      let failed401 = 0;
      let got429 = false;
      for (let i = 0; i < FAILED_PER_IP + 5 && !got429; i++) {
        const r = await s.http('GET', '/sites', { headers: { authorization: `Bearer orl_${'cd'.repeat(8)}_guess${i}` } });
        if (r.status === 401) failed401++;
        else if (r.status === 429) {
          got429 = true;
          t.equal(r.body.error, 'ING_ERR_RATE_LIMITED');
        }
      }
      t.ok(got429, `429 after ${failed401} failed authentications from this address`);
      t.ok(failed401 <= FAILED_PER_IP, 'at most failedAuthPerIp failures answered 401 in the window');
      const d = delta(before, await s.metrics(REST));
      t.equal(d.rest_auth_failures_total, failed401 + 1, 'every failure counted (the refused one too)');
      t.equal(d.rest_rate_limited_total, 1, 'the 429 counted');
      t.equal((await s.http('GET', `/cases/${s.caseId}`)).status, 200, 'a valid token from the same address still works');
    });
  },
);

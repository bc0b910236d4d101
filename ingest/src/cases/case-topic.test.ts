/**
 * The retained case topic with a running ingest (embedded aedes on loopback, in-memory series):
 * every case binding change made over REST is published on `{prefix}/{site}/{room}/{bed}/case`,
 * a subscriber that connects later gets each bed's state (retained), and after a restart (aedes
 * keeps retained messages in memory only) the state is published again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { bearer, mintToken } from '../auth/test-tokens.js';
import { startIngest, type RunningIngest } from '../main.js';
import { silent, until } from '../mqtt/test-fixtures.js';
import { MemorySeriesStore } from '../series/memory.js';
import type { CaseTopicMessage } from './case-topic.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'orlink-case-topic-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const config = loadIngestConfig({
  input: {
    http: { port: 0 },
    db: { path: path.join(dir, 'ingest.sqlite') },
    broker: { port: 0 },
    mqtt: { clientId: 'ingest-case-topic' },
    series: { kind: 'memory' },
    log: { level: 'silent' },
  },
  env: { ORLINK_INGEST_BROKER_PASSWORD: 'svc-password' },
});

const admin = bearer(mintToken(path.join(dir, 'ingest.sqlite'), 'admin'));
const api = async (ing: RunningIngest, method: string, url: string, body?: unknown) => {
  const res = await fetch(`${ing.url}${url}`, {
    method,
    headers: { ...admin, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as { id: string } & Record<string, unknown> };
};

/** a record-system client that collects case messages (retained ones included) */
async function listen(t: Test, ing: RunningIngest, clientId: string) {
  const c = await mqtt.connectAsync(ing.mqttUrl, { protocolVersion: 4, username: 'orlink-ingest', password: 'svc-password', clientId, reconnectPeriod: 0 });
  t.teardown(() => c.endAsync(true));
  const got: (CaseTopicMessage & { topic: string; retain: boolean })[] = [];
  c.on('message', (topic, payload, packet) => got.push({ ...(JSON.parse(payload.toString()) as CaseTopicMessage), topic, retain: packet.retain }));
  await c.subscribeAsync('orlink/v1/+/+/+/case', { qos: 1 });
  return got;
}

t.test('case binding changes are published on the retained per-bed case topic', async (t) => {
  let ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  t.teardown(() => ing.close());
  await api(ing, 'POST', '/sites', { id: 'st', name: 'S' });
  await api(ing, 'POST', '/rooms', { id: 'or1', siteId: 'st', name: 'OR 1' });
  await api(ing, 'POST', '/beds', { id: 'b1', roomId: 'or1', name: 'B1' });
  await api(ing, 'POST', '/beds', { id: 'b2', roomId: 'or1', name: 'B2' });
  const live = await listen(t, ing, 'record-live');
  const next = async (n: number, what: string) => {
    await until(() => live.length >= n, 5000, what);
    return live[n - 1];
  };
  const T = Date.now() - 60_000;

  const a = (await api(ing, 'POST', '/cases', { bed: 'b1', start: T })).body;
  t.match(await next(1, 'open'), { topic: 'orlink/v1/st/or1/b1/case', bed: 'b1', caseId: a.id, since: T, change: 'open', retain: false });
  t.equal((await api(ing, 'POST', '/cases', { bed: 'b1' })).status, 409);
  const b = (await api(ing, 'POST', '/cases', { bed: 'b1', start: T + 10_000, replaces: { caseId: a.id, action: 'close' } })).body;
  t.match(await next(2, 'transfer'), { bed: 'b1', caseId: b.id, since: T + 10_000, change: 'transfer' });
  t.equal(live.length, 2, 'the refused open published nothing');

  await api(ing, 'POST', `/cases/${b.id}/move`, { bed: 'b2', at: T + 20_000 });
  await next(4, 'move (two beds)');
  const moved = live.slice(2, 4).sort((x, y) => x.bed.localeCompare(y.bed));
  t.match(moved[0], { topic: 'orlink/v1/st/or1/b1/case', bed: 'b1', caseId: null, since: T + 20_000, change: 'move' }, 'the old bed: no case from the move on');
  t.match(moved[1], { topic: 'orlink/v1/st/or1/b2/case', bed: 'b2', caseId: b.id, since: T + 20_000, change: 'move' });
  await api(ing, 'PATCH', `/cases/${a.id}`, { start: T - 5000 });
  t.match(await next(5, 'correct'), { bed: 'b1', caseId: null, change: 'correct' });
  await api(ing, 'POST', `/cases/${b.id}/close`, { end: T + 30_000 });
  const closed = await next(6, 'close');
  t.match(closed, { bed: 'b2', caseId: null, since: T + 30_000, change: 'close' });
  t.ok(closed.at >= T + 60_000, 'at: when the change was made');

  const late = await listen(t, ing, 'record-late');
  await until(() => late.length >= 2, 5000, 'retained state for a late subscriber');
  t.same(late.map((m) => [m.bed, m.caseId, m.change, m.retain]).sort(), [
    ['b1', null, 'correct', true],
    ['b2', null, 'close', true],
  ]);

  // restart: the embedded broker lost its retained messages; ingest publishes each bed's state again
  const c = (await api(ing, 'POST', '/cases', { bed: 'b2', start: T + 40_000 })).body;
  await ing.close();
  ing = await startIngest(config, { logger: silent, series: new MemorySeriesStore() });
  const after = await listen(t, ing, 'record-after-restart');
  await until(() => after.length >= 2, 5000, 'state after restart');
  t.same(after.map((m) => [m.bed, m.caseId, m.since, m.change, m.retain]).sort(), [
    ['b1', null, T + 20_000, 'sync', true],
    ['b2', c.id, T + 40_000, 'sync', true],
  ]);
});

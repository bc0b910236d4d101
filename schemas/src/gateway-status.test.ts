/**
 * The gateway status contract on its own: the JSON Schema export is up to date, older documents stay
 * valid, and (property tests, seeded) every sample of the schema passes `checkGatewayStatus` while
 * every single-fault copy is refused with the JSON pointer of the fault.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { breakOne, rng, sample } from '../../test/helpers/schema-sample.js';
import { checkGatewayStatus, gatewayStatusJsonSchema, GatewayStatusSchema, outboxDepthOf, type GatewayStatusDoc } from './gateway-status.js';
import { GATEWAY_STATUS_JSON } from './write-gateway-status-json.js';

const RUNS = 300;

t.test('schemas/json/gateway-status.schema.json is the export of the TypeBox schema', async (t) => {
  t.equal(readFileSync(GATEWAY_STATUS_JSON, 'utf8'), gatewayStatusJsonSchema(), 'stale: run `node --import tsx schemas/src/write-gateway-status-json.ts`');
  const json = JSON.parse(readFileSync(GATEWAY_STATUS_JSON, 'utf8')) as { anyOf: { properties: Record<string, { properties?: Record<string, unknown> }> }[] };
  t.ok(json.anyOf[0].properties.outbox.properties?.records && json.anyOf[0].properties.outbox.properties?.bytes, 'the outbox depth is part of it');
});

t.test('random documents of the schema are accepted, as they are', async (t) => {
  const r = rng(20261208);
  let online = 0;
  const wrong: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const doc = sample(GatewayStatusSchema, r) as GatewayStatusDoc;
    const c = checkGatewayStatus(doc);
    if (!c.ok || c.doc !== doc) {
      wrong.push(`sample ${i}: ${JSON.stringify(c.ok ? 'another object back' : c.problems)}`);
      continue;
    }
    const depth = outboxDepthOf(doc);
    if (doc.online) online++;
    if (JSON.stringify(depth) !== JSON.stringify(doc.online ? { records: doc.outbox.records, bytes: doc.outbox.bytes } : undefined))
      wrong.push(`sample ${i}: depth ${JSON.stringify(depth)}`);
  }
  t.same(wrong.slice(0, 3), [], `${RUNS} samples accepted as they are, their outbox depth read`);
  t.ok(online > RUNS / 4 && online < (RUNS * 3) / 4, 'both shapes drawn');
});

t.test('single-fault documents are refused with the path of the fault', async (t) => {
  const r = rng(7);
  const paths = new Set<string>();
  for (let i = 0; i < RUNS; i++) {
    const { value, path, fault } = breakOne(GatewayStatusSchema, sample(GatewayStatusSchema, r), r);
    const c = checkGatewayStatus(value);
    if (c.ok) {
      t.fail(`fault ${path} ${fault} accepted`);
      break;
    }
    if (c.problems[0].path !== path) {
      t.fail(`fault at ${path} (${fault}) reported at ${c.problems[0].path}: ${c.problems[0].message}`);
      break;
    }
    paths.add(path.replace(/\/\d+(?=\/|$)/g, '/*').replace(/errorsByKind\/.*/, 'errorsByKind/*'));
  }
  t.ok(paths.size > 40, `faults spread over ${paths.size} distinct fields`);
  t.ok(paths.has('/outbox/records') && paths.has('/outbox/bytes'), 'the outbox depth among them');
});

t.test("compatibility: an older gateway's document stays valid; unknown versions and shapes do not", async (t) => {
  const r = rng(99);
  let doc: GatewayStatusDoc;
  do doc = sample(GatewayStatusSchema, r) as GatewayStatusDoc;
  while (!doc.online);
  const { schemaVersion, ...legacy } = doc;
  const old = checkGatewayStatus({ ...legacy, schema: schemaVersion }); // before the contract, the field was `schema`
  t.ok(old.ok && old.doc.schemaVersion === 1 && !('schema' in old.doc), 'the `schema` field read as schemaVersion');
  const minimal = structuredClone(doc);
  delete minimal.mqtt.droppedTooLarge; // optional fields a gateway of an earlier release did not send
  for (const d of minimal.devices) {
    delete d.identityMismatch;
    delete d.clockOffsetMs;
  }
  t.ok(checkGatewayStatus(minimal).ok, 'without optional fields');
  t.ok(checkGatewayStatus({ ...doc, addedLater: { x: 1 } }).ok, 'a field this release does not know: accepted (additive change)');
  t.same(checkGatewayStatus({ ...doc, schemaVersion: 2 }), { ok: false, problems: [{ path: '/schemaVersion', message: 'Expected 1' }] });
  t.same(checkGatewayStatus({ ...doc, online: 'yes' }).ok, false);
  t.same(checkGatewayStatus([doc]), { ok: false, problems: [{ path: '/', message: 'Expected object' }] });
  t.same(checkGatewayStatus({ online: true }).ok, false, 'the bare `{ online: true }` of older tests is no status document');
});

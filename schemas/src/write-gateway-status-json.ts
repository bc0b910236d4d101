/**
 * Writes schemas/json/gateway-status.schema.json from the TypeBox contract (schemas/src/gateway-status.ts):
 * `node --import tsx schemas/src/write-gateway-status-json.ts`. gateway-status.test.ts fails while the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gatewayStatusJsonSchema } from './gateway-status.js';

export const GATEWAY_STATUS_JSON = fileURLToPath(new URL('../json/gateway-status.schema.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(GATEWAY_STATUS_JSON, gatewayStatusJsonSchema());
  process.stdout.write(`wrote ${GATEWAY_STATUS_JSON}\n`);
}

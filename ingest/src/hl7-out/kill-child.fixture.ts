/**
 * Test only (hl7-out-kill.integration.test.ts): an ingest process with outbound HL7 that the test
 * SIGKILLs. argv[2]: JSON {db, emrPort}. Registers the bed and opens a case on the first start,
 * writes a heart rate every 20 ms into its (memory) series store, prints "ready".
 */
import pino from 'pino';
import { loadIngestConfig } from '../../../schemas/src/ingest-config.js';
import { startIngest } from '../main.js';
import { numericPoint } from '../series/layout.js';
import { MemorySeriesStore } from '../series/memory.js';

const { db, emrPort } = JSON.parse(process.argv[2]) as { db: string; emrPort: number };
const series = new MemorySeriesStore();
const ingest = await startIngest(
  loadIngestConfig({
    input: {
      http: { host: '127.0.0.1', port: 0 },
      db: { path: db },
      series: { kind: 'memory' },
      broker: { kind: 'embedded', host: '127.0.0.1', port: 0 },
      log: { level: 'silent' },
      hl7Out: {
        endpoints: [
          { name: 'emr', host: '127.0.0.1', port: emrPort, intervalS: 0.1, ackTimeoutMs: 500, retryMinMs: 20, retryMaxMs: 200, connectTimeoutMs: 300 },
        ],
        settleMs: 50,
        pollMs: 30,
      },
    },
    env: {},
  }),
  { logger: pino({ level: 'silent' }), series },
);
const reg = ingest.services.registry;
if (!reg.getBed('b1')) {
  reg.createSite({ id: 's1', name: 'Site' });
  reg.createRoom({ id: 'r1', siteId: 's1', name: 'OR 1' });
  reg.createBed({ id: 'b1', roomId: 'r1', name: 'Table' });
  ingest.services.cases.create({ bedId: 'b1', externalIds: { mrn: 'M1' } });
}
let n = 0;
const timer = setInterval(() => {
  void series.write([
    numericPoint(
      { kind: 'numeric', mdc: 'MDC_ECG_HEART_RATE', code: 147842, value: 60 + (n++ % 50), unit: '/min', t: Date.now(), vendorCode: 'HR' },
      { site: 's1', room: 'r1', bed: 'b1', device: 'd1' },
    ),
  ]);
}, 20);
process.on('SIGTERM', () => {
  clearInterval(timer);
  void ingest.close().then(() => process.exit(0));
});
process.stdout.write('ready\n');

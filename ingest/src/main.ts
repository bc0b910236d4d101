/**
 * `orlink ingest --config FILE` and the programmatic `startIngest(config, { logger? })`.
 * The composition root of the ingest process: the only place that creates the root logger.
 */
import pino, { type Logger } from 'pino';
import { loadIngestConfig, type IngestConfig } from '../../schemas/src/ingest-config.js';
import type { RegistryStore } from './registry/registry-store.js';
import type { SeriesStore } from './series/types.js';
import { startServer, type RunningIngest } from './server.js';

export type { RunningIngest } from './server.js';

export async function startIngest(
  config: IngestConfig,
  opts: { logger?: Logger; series?: SeriesStore; registry?: RegistryStore } = {},
): Promise<RunningIngest> {
  const logger = opts.logger ?? pino({ level: config.log.level });
  return startServer(config, { logger, series: opts.series, registry: opts.registry });
}

const USAGE = 'usage: orlink ingest --config FILE\n  env overrides and secrets: see docs/ingest.md\n';

export async function run(argv: string[]): Promise<number> {
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (a === '--config' || a === '-c') file = argv[++i];
    else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else {
      process.stderr.write(`orlink ingest: unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (!file) {
    process.stderr.write(
      'orlink ingest: --config FILE is required (no start on built-in defaults: they would create ./data/ingest.sqlite here);' +
        ' start from ingest/ingest.sample.yaml, see docs/ingest.md\n' +
        USAGE,
    );
    return 2;
  }
  let config: IngestConfig;
  try {
    config = loadIngestConfig({ file });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const logger = pino({ level: config.log.level, redact: ['*.password', '*.token', 'patient', '*.patient', 'req.headers.authorization', '*.authorization'] });
  let running: RunningIngest;
  try {
    running = await startIngest(config, { logger });
  } catch (err) {
    const hint = startHint(err, config);
    if (hint) process.stderr.write(`orlink ingest: ${hint}\n`);
    logger.fatal({ err, ...(hint ? { hint } : {}) }, 'ingest failed to start');
    return 1;
  }
  logger.info({ url: running.url, mqttUrl: running.mqttUrl, ...(running.mqttsUrl ? { mqttsUrl: running.mqttsUrl } : {}) }, 'ingest ready');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  return 0;
}

/** the cause and the fix of a failed start, when it is one an operator meets (a taken port, a privileged port, a database path) */
export function startHint(err: unknown, config: IngestConfig): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = e.port !== undefined ? `${e.address ?? ''}:${e.port}` : '';
  if (e?.code === 'EADDRINUSE')
    return `address ${where} is already in use (another orlink ingest or a Mosquitto running?): stop it or change the port in the config (http.port, broker.port, broker.tls.port, his.port)`;
  if (e?.code === 'EACCES' && e.syscall === 'listen')
    return `no permission to listen on ${where}: ports below 1024 need root or CAP_NET_BIND_SERVICE; use a port above 1023`;
  if (e?.code === 'SQLITE_CANTOPEN' || e?.code === 'SQLITE_READONLY' || ((e?.code === 'EACCES' || e?.code === 'EPERM') && e.syscall !== 'listen')) {
    return `cannot open or create the database ${config.db.path} (${e.code}): run ingest as the user that owns its directory, or fix db.path`;
  }
  return undefined;
}

/**
 * `orlink <verb>`: one binary for every process (README.md §The orlink command). Each verb lives in its own
 * module, imported only when used so that `orlink decode` does not load fastify or aedes.
 */
const VERBS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  gateway: { summary: 'run one bedside gateway (--config FILE [--record FILE])', load: () => import('../gateway/src/main.js') },
  ingest: { summary: 'run ingest with the embedded broker or an external one (--config FILE)', load: () => import('../ingest/src/main.js') },
  sim: { summary: 'run a device simulator (sim ge-dri --serial PATH | --pty | --tcp HOST:PORT)', load: () => import('../simulators/src/main.js') },
  decode: { summary: 'decode a capture to canonical NDJSON (--protocol NAME [--input FILE|-])', load: () => import('./decode.js') },
  demo: { summary: 'InfluxDB + ingest + two simulated ORs on this machine', load: () => import('./demo.js') },
  'mqtt-auth': { summary: 'Mosquitto password + ACL files from the registry (--db FILE | --config FILE) --out DIR', load: () => import('./mqtt-auth.js') },
  admin: { summary: 'REST API tokens on the server: create-token | list-tokens | revoke-token (--config FILE | --db FILE)', load: () => import('./admin.js') },
  backup: { summary: 'SQLite + InfluxDB backup with a checksummed manifest, ingest may run (--config FILE --out DIR)', load: () => import('./backup.js') },
  restore: {
    summary: 'verify a backup and restore it into an empty target, ingest stopped (--config FILE --from DIR [--force])',
    load: () => import('./restore.js'),
  },
  certs: {
    summary: 'a test CA, server and client certificates for TLS tests and the demo (--out DIR [--host H]... [--client CN]... [--revoke CN])',
    load: () => import('./certs.js'),
  },
  bench: { summary: 'run the benchmark harness (see bench/README.md)', load: () => import('../bench/run.js') },
  ports: { summary: 'list serial ports with USB vendor:product and serial number ([--json])', load: () => import('./ports.js') },
};

function usage(): string {
  const lines = Object.entries(VERBS).map(([v, d]) => `  ${v.padEnd(8)} ${d.summary}`);
  return `usage: orlink <verb> [options] | orlink --version\n\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (verb === '--version' || verb === '-V' || verb === 'version') {
    process.stdout.write((await import('./version.js')).versionLine());
    return;
  }
  const entry = VERBS[verb];
  if (!entry) {
    process.stderr.write(`orlink: unknown verb '${verb}'\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  const mod = await entry.load();
  const code = await mod.run(rest);
  if (code !== 0) process.exitCode = code;
}

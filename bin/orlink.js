#!/usr/bin/env node
// Entry point of the `orlink` binary: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';
register();
// `orlink decode ... | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));

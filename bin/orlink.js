#!/usr/bin/env node
// Entry point of the `orlink` binary: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));

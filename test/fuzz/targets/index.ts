/**
 * The project's fuzz targets. A target module (this one, or a test's fake targets) exports
 * `targets(): FuzzTarget[]`; workers load it by URL and pick a target by name.
 */
import type { FuzzTarget } from '../types.js';
import { parserTarget } from './hl7-parser.js';
import { ingestTargets } from './ingest.js';
import { protocolTargets } from './protocols.js';

export function targets(): FuzzTarget[] {
  return [...protocolTargets(), parserTarget, ...ingestTargets()];
}

export const DEFAULT_MODULE = import.meta.url;

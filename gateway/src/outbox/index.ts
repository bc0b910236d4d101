/** Outbox factory: the implementation is chosen by `outbox.kind` in the gateway config. */
import type { OutboxConfig } from '../../../schemas/src/gateway-config.js';
import { FileOutbox } from './file-outbox.js';
import { MemoryOutbox } from './memory-outbox.js';
import type { Outbox } from './outbox.js';

export type { Outbox, OutboxRecord, OutboxStats, OutboxDepth, PayloadSource } from './outbox.js';
export { FileOutbox, MemoryOutbox };

export function createOutbox(cfg: OutboxConfig): Outbox {
  if (cfg.kind === 'memory') return new MemoryOutbox({ maxBytes: cfg.maxBytes, segmentBytes: cfg.segmentBytes });
  return new FileOutbox({ dir: cfg.dir, maxBytes: cfg.maxBytes, segmentBytes: cfg.segmentBytes, fsync: cfg.fsync });
}

/**
 * The device sessions a gateway runs, and how a new device list is applied without a restart
 * (docs/gateway.md "Devices from the registry"): a device whose entry is unchanged keeps its
 * session running; a removed one is stopped; a changed one (any field: protocol, transport,
 * profile, options...) is stopped and started again with its new entry; a new one is started.
 * Stops come first (a changed listener frees its port before the new session binds it).
 */
import { canonicalJson } from '../../../schemas/src/gateway-config-doc.js';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';

export interface DeviceDiff {
  /** new device ids */
  added: string[];
  /** ids no longer in the list */
  removed: string[];
  /** ids whose entry changed */
  changed: string[];
  /** ids whose entry is the same */
  unchanged: string[];
}

/** What changes from `current` to `next` (compared by content; order does not matter). */
export function diffDevices(current: readonly DeviceConfig[], next: readonly DeviceConfig[]): DeviceDiff {
  const before = new Map(current.map((d) => [d.id, canonicalJson(d)]));
  const out: DeviceDiff = { added: [], removed: [], changed: [], unchanged: [] };
  const seen = new Set<string>();
  for (const d of next) {
    seen.add(d.id);
    const was = before.get(d.id);
    if (was === undefined) out.added.push(d.id);
    else if (was === canonicalJson(d)) out.unchanged.push(d.id);
    else out.changed.push(d.id);
  }
  for (const d of current) if (!seen.has(d.id)) out.removed.push(d.id);
  return out;
}

export interface ManagedSession {
  readonly id: string;
  start(): void;
  stop(): Promise<void>;
}

export class DeviceSet<S extends ManagedSession> {
  private entries: { config: DeviceConfig; session: S }[] = [];
  private started = false;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  /** `create` builds a session for an entry (not started). */
  constructor(private readonly create: (d: DeviceConfig) => S) {}

  configs(): DeviceConfig[] {
    return this.entries.map((e) => e.config);
  }
  sessions(): S[] {
    return this.entries.map((e) => e.session);
  }
  config(id: string): DeviceConfig | undefined {
    return this.entries.find((e) => e.config.id === id)?.config;
  }

  /** Start the sessions (once); later applies start their new sessions themselves. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (const e of this.entries) e.session.start();
  }

  /** Make `next` the running list; applies are serialised. Resolves with what changed. */
  apply(next: readonly DeviceConfig[]): Promise<DeviceDiff> {
    const run = this.chain.then(() => this.applyNow(next));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyNow(next: readonly DeviceConfig[]): Promise<DeviceDiff> {
    const diff = diffDevices(this.configs(), next);
    if (this.closed) return diff;
    const going = new Set([...diff.removed, ...diff.changed]);
    await Promise.all(this.entries.filter((e) => going.has(e.config.id)).map((e) => e.session.stop()));
    const kept = new Map(this.entries.filter((e) => !going.has(e.config.id)).map((e) => [e.config.id, e]));
    this.entries = next.map((config) => kept.get(config.id) ?? { config, session: this.create(config) });
    if (this.started) for (const e of this.entries) if (!kept.has(e.config.id)) e.session.start();
    return diff;
  }

  /** Stop every session; no apply runs afterwards. */
  async stop(): Promise<void> {
    const last = this.chain;
    this.closed = true;
    await last;
    await Promise.all(this.entries.map((e) => e.session.stop()));
  }
}

/**
 * The registry bindings the ingest hot path needs (a gateway's location, a device's bed, gateway
 * and retirement), cached in memory so a reading never costs a sqlite query. `refresh()` (once per
 * batch) compares the registry's revision — bumped by every change made through the store, and by
 * sqlite's data_version for changes made by another connection — and drops everything when it moved.
 * Unregistered ids are cached too (as null); the cache is bounded and simply starts over when full.
 */
import type { DeviceBinding, GatewayBinding, RegistryStore } from './registry-store.js';

export class BindingCache {
  private rev: string | null = null;
  private readonly gateways = new Map<string, GatewayBinding | null>();
  private readonly devices = new Map<string, DeviceBinding | null>();
  /** incremented whenever the cache was dropped (dependent memos compare it) */
  generation = 0;
  /** sqlite look-ups made (tests: the hot path does not query per reading) */
  lookups = 0;

  constructor(
    private readonly registry: RegistryStore,
    private readonly maxEntries = 20_000,
  ) {}

  /** drops every entry when the registry changed since the last call */
  refresh(): void {
    const rev = this.registry.revision();
    if (rev === this.rev) return;
    this.rev = rev;
    this.clear();
  }

  private clear(): void {
    this.gateways.clear();
    this.devices.clear();
    this.generation++;
  }

  private get<T>(map: Map<string, T | null>, id: string, load: (id: string) => T | null): T | null {
    const hit = map.get(id);
    if (hit !== undefined) return hit;
    if (this.gateways.size + this.devices.size >= this.maxEntries) this.clear();
    this.lookups++;
    const v = load(id);
    map.set(id, v);
    return v;
  }

  gateway(id: string): GatewayBinding | null {
    return this.get(this.gateways, id, (x) => this.registry.gatewayBinding(x));
  }

  device(id: string): DeviceBinding | null {
    return this.get(this.devices, id, (x) => this.registry.deviceBinding(x));
  }
}

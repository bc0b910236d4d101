/**
 * The identity check at ingest: each device entry of a gateway status document carries what the
 * device says it is (serial, model, firmware); for a registered device that arrives from its own
 * gateway, the registry stores that report and flags the fields that differ from the registered
 * ones (`GET /devices/:id` → identityMismatch, gauge `device_identity_mismatch`). A report is
 * written only when it changed (statuses repeat every few seconds); a new mismatch is logged once
 * as a warning, with device ids and identity fields only.
 */
import type { Logger } from 'pino';
import { reportedIdentity } from '../../../schemas/src/device-identity.js';
import type { BindingCache } from '../registry/binding-cache.js';
import type { RegistryStore } from '../registry/registry-store.js';
import { refusalOf } from './device-routing.js';

export class IdentityCheck {
  /** deviceId → the last report written (gateway + identity), so repeats cost nothing */
  private readonly last = new Map<string, string>();
  private generation = -1;

  constructor(
    private readonly registry: RegistryStore,
    private readonly bindings: BindingCache,
    private readonly logger: Logger,
  ) {}

  observe(gatewayId: string, status: Record<string, unknown>, at: number): void {
    if (this.generation !== this.bindings.generation) {
      this.last.clear();
      this.generation = this.bindings.generation;
    }
    const entries = Array.isArray(status.devices) ? status.devices : [];
    for (const e of entries as unknown[]) {
      if (!e || typeof e !== 'object' || Array.isArray(e)) continue;
      const id = (e as { id?: unknown }).id;
      if (typeof id !== 'string') continue;
      const b = this.bindings.device(id);
      // unregistered, retired, or another gateway's device: nothing to compare with (the readings are refused anyway)
      if (!b || refusalOf(b, gatewayId)) continue;
      const reported = reportedIdentity(e as Record<string, unknown>);
      if (!reported.serial && !reported.model && !reported.firmware) continue;
      const key = `${gatewayId}\u0000${JSON.stringify(reported)}`;
      if (this.last.get(id) === key) continue;
      const r = this.registry.reportDeviceIdentity(id, { ...reported, gatewayId, at });
      if (this.last.size >= 20_000) this.last.clear();
      this.last.set(id, key);
      for (const m of r?.added ?? []) {
        this.logger.warn(
          { deviceId: id, gatewayId, field: m.field, registered: m.registered, reported: m.reported },
          'device identity differs from the registry',
        );
      }
    }
  }
}

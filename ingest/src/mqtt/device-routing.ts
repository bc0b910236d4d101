/**
 * Where the readings of each device of an envelope go (the registry binding is authoritative,
 * docs/decisions.md): a registered device's readings are stored under its registered bed when it
 * has one, else under the gateway's bed; a registered device bound to another gateway, or retired,
 * is refused. Unregistered devices go to the gateway's bed. Refusals are per device: the other
 * devices of the same envelope are stored.
 */
import type { DeviceBatch, Envelope } from '../../../schemas/src/envelope.js';
import type { BedLocation, DeviceBinding } from '../registry/registry-store.js';

export type RefusalCode = 'ING_ERR_DEVICE_WRONG_GATEWAY' | 'ING_ERR_DEVICE_RETIRED';

/** the devices of an envelope stored under one bed */
export interface RoutedPart {
  where: BedLocation;
  devices: DeviceBatch[];
}
/** the devices of an envelope refused for one reason */
export interface RefusedPart {
  code: RefusalCode;
  reasons: string[];
  devices: DeviceBatch[];
}

export interface Routing {
  parts: RoutedPart[];
  refused: RefusedPart[];
}

const sameBed = (a: BedLocation, b: BedLocation) => a.site === b.site && a.room === b.room && a.bed === b.bed;

export function refusalOf(b: DeviceBinding | null, gatewayId: string): { code: RefusalCode; reason: string } | null {
  if (!b) return null;
  if (b.retiredAt !== null) {
    return {
      code: 'ING_ERR_DEVICE_RETIRED',
      reason: `device ${b.id} was retired at ${new Date(b.retiredAt).toISOString()}${b.retiredReason ? ` (${b.retiredReason})` : ''}`,
    };
  }
  if (b.gatewayId !== null && b.gatewayId !== gatewayId) {
    return { code: 'ING_ERR_DEVICE_WRONG_GATEWAY', reason: `device ${b.id} is registered to gateway ${b.gatewayId}, not ${gatewayId}` };
  }
  return null;
}

export function routeDevices(env: Envelope, gatewayBed: BedLocation, binding: (deviceId: string) => DeviceBinding | null): Routing {
  const parts: RoutedPart[] = [];
  const refused: RefusedPart[] = [];
  for (const d of env.devices) {
    const b = binding(d.deviceId);
    const no = refusalOf(b, env.gatewayId);
    if (no) {
      const r = refused.find((x) => x.code === no.code);
      if (r) {
        r.devices.push(d);
        r.reasons.push(no.reason);
      } else refused.push({ code: no.code, reasons: [no.reason], devices: [d] });
      continue;
    }
    const where = b?.bed ?? gatewayBed;
    const part = parts.find((p) => sameBed(p.where, where));
    if (part) part.devices.push(d);
    else parts.push({ where: { site: where.site, room: where.room, bed: where.bed }, devices: [d] });
  }
  return { parts, refused };
}

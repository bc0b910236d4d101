/**
 * Per-gateway and per-device series for Prometheus, computed at scrape time from the registry (gateways, devices,
 * their locations) and each gateway's last status document (`status_json`, gateway/src/status/gateway-status.ts).
 *
 * Cardinality is bounded by the registry: only registered, non-retired gateways, and only registered, non-retired
 * devices bound to one of them; the error kinds of a device are capped (MAX_KINDS, well-formed names only), so a
 * gateway cannot create series by what it writes in its status document. Labels carry registry ids only (site,
 * room, bed, gateway, device): never a patient identifier.
 *
 * Ages are measured with ingest's clock against ingest's `last_seen`, except the last reading of a device, which
 * is the gateway's `lastFrameAt` (the gateway's clock; gateways keep NTP time).
 */
import type { Metrics } from '../metrics.js';
import type { Gateway, GatewayLocation, RegistryStore } from '../registry/registry-store.js';

/** error kinds per device at most (sorted by name; the rest are left out) */
export const MAX_KINDS = 32;
const KIND = /^[A-Za-z0-9_.:-]{1,64}$/;

type GwLabel = 'gateway' | 'site' | 'room' | 'bed';
type DevLabel = GwLabel | 'device';

interface DeviceDoc {
  link?: unknown;
  lastFrameAt?: unknown;
  errorsByKind?: unknown;
}
interface Snapshot {
  gateways: { labels: Record<GwLabel, string>; gw: Gateway }[];
  devices: { labels: Record<DevLabel, string>; online: boolean; doc: DeviceDoc | null }[];
  now: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function statusDevices(status: Record<string, unknown> | null): Map<string, DeviceDoc> {
  const out = new Map<string, DeviceDoc>();
  const list = status?.devices;
  if (!Array.isArray(list)) return out;
  for (const d of list) if (isObject(d) && typeof d.id === 'string') out.set(d.id, d);
  return out;
}

/** Registers the `orlink_gateway_*` and `orlink_device_*` series on `metrics`; `now` for tests. */
export function registerFleetMetrics(metrics: Metrics, registry: RegistryStore, now: () => number = Date.now): void {
  // one registry read per scrape, shared by the collectors of that scrape
  let cached: Snapshot | undefined;
  metrics.beforeScrape(() => {
    cached = undefined;
  });
  const snapshot = (): Snapshot => {
    if (cached) return cached;
    const t = now();
    const gateways: Snapshot['gateways'] = [];
    const byId = new Map<string, { loc: GatewayLocation; gw: Gateway }>();
    for (const gw of registry.listGateways()) {
      if (gw.retiredAt !== null) continue;
      const loc = registry.locateGateway(gw.id);
      if (!loc) continue;
      byId.set(gw.id, { loc, gw });
      gateways.push({ labels: { gateway: gw.id, site: loc.site, room: loc.room, bed: loc.bed }, gw });
    }
    const devices: Snapshot['devices'] = [];
    const docs = new Map<string, Map<string, DeviceDoc>>();
    for (const d of registry.listDevices()) {
      if (d.retiredAt !== null || d.gatewayId === null) continue;
      const g = byId.get(d.gatewayId);
      if (!g) continue;
      let perGw = docs.get(d.gatewayId);
      if (!perGw) {
        perGw = statusDevices(g.gw.status);
        docs.set(d.gatewayId, perGw);
      }
      devices.push({
        labels: { gateway: d.gatewayId, device: d.id, site: g.loc.site, room: g.loc.room, bed: g.loc.bed },
        online: g.gw.online === true,
        doc: perGw.get(d.id) ?? null,
      });
    }
    cached = { gateways, devices, now: t };
    return cached;
  };

  const GW: readonly GwLabel[] = ['gateway', 'site', 'room', 'bed'];
  const DEV: readonly DevLabel[] = ['gateway', 'device', 'site', 'room', 'bed'];

  metrics.labelled('gauge', 'orlink_gateway_up', 'Registered gateway online (1) or offline or never seen (0), from its status topic and last will', GW, () =>
    snapshot().gateways.map(({ labels, gw }) => ({ labels, value: gw.online === true ? 1 : 0 })),
  );
  metrics.labelled(
    'gauge',
    'orlink_gateway_last_seen_seconds',
    'Seconds since ingest last received anything (status or data) from the gateway (absent: never)',
    GW,
    () => {
      const s = snapshot();
      return s.gateways.filter(({ gw }) => gw.lastSeen !== null).map(({ labels, gw }) => ({ labels, value: Math.max(0, (s.now - gw.lastSeen!) / 1000) }));
    },
  );
  const outbox = (field: 'records' | 'bytes') => () =>
    snapshot().gateways.flatMap(({ labels, gw }) => {
      const o = gw.status?.outbox;
      const v = isObject(o) ? num(o[field]) : null;
      return v === null ? [] : [{ labels, value: v }];
    });
  metrics.labelled(
    'gauge',
    'orlink_gateway_outbox_records',
    "Records in the gateway's outbox not yet acknowledged by ingest, per its last status (absent after a last will)",
    GW,
    outbox('records'),
  );
  metrics.labelled(
    'gauge',
    'orlink_gateway_outbox_bytes',
    "Bytes in the gateway's outbox not yet acknowledged by ingest, per its last status (absent after a last will)",
    GW,
    outbox('bytes'),
  );

  metrics.labelled(
    'gauge',
    'orlink_device_link_up',
    "Registered device streaming (1) per its gateway's last status; 0: another link state, not in the status, or gateway offline",
    DEV,
    () => snapshot().devices.map(({ labels, online, doc }) => ({ labels, value: online && doc?.link === 'streaming' ? 1 : 0 })),
  );
  metrics.labelled(
    'gauge',
    'orlink_device_last_reading_age_seconds',
    'Seconds since the gateway last received a frame from the device (gateway clock; absent: none reported)',
    DEV,
    () => {
      const s = snapshot();
      return s.devices.flatMap(({ labels, doc }) => {
        const at = num(doc?.lastFrameAt);
        return at === null ? [] : [{ labels, value: Math.max(0, (s.now - at) / 1000) }];
      });
    },
  );
  metrics.labelled(
    'counter',
    'orlink_device_decode_errors_total',
    'Device errors by kind since the gateway started (resets when the gateway restarts; use rate/increase)',
    [...DEV, 'kind'] as const,
    () =>
      snapshot().devices.flatMap(({ labels, doc }) => {
        const by = doc?.errorsByKind;
        if (!isObject(by)) return [];
        return Object.keys(by)
          .filter((k) => KIND.test(k))
          .sort()
          .slice(0, MAX_KINDS)
          .flatMap((kind) => {
            const v = num(by[kind]);
            return v === null || v < 0 ? [] : [{ labels: { ...labels, kind }, value: v }];
          });
      }),
  );
}

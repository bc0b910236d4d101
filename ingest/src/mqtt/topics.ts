/** Topic grammar (docs/mqtt.md §Topics): `{prefix}/{site}/{room}/{bed}/{gatewayId}/{data|status}`, `{prefix}/{site}/{room}/{bed}/vitals`. */
export interface ParsedTopic {
  site: string;
  room: string;
  bed: string;
  gatewayId: string;
  kind: 'data' | 'status';
}

export const dataFilter = (prefix: string) => `${prefix}/+/+/+/+/data`;
export const statusFilter = (prefix: string) => `${prefix}/+/+/+/+/status`;
export const vitalsTopic = (prefix: string, site: string, room: string, bed: string) => `${prefix}/${site}/${room}/${bed}/vitals`;

export function parseTopic(prefix: string, topic: string): ParsedTopic | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const parts = topic.slice(prefix.length + 1).split('/');
  if (parts.length !== 5 || parts.some((p) => p === '')) return null;
  const [site, room, bed, gatewayId, kind] = parts;
  if (kind !== 'data' && kind !== 'status') return null;
  return { site, room, bed, gatewayId, kind };
}

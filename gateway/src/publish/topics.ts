/** MQTT topics of one gateway (docs/mqtt.md §Topics). Prefix configurable, default orlink/v1. */
export interface GatewayTopics {
  data: string; // Envelope, QoS 1
  status: string; // retained JSON, LWT marks offline
  config: string; // retained, pushed by ingest (not used by the gateway yet)
}

export function gatewayTopics(c: { topicPrefix: string; site: string; room: string; bed: string; gatewayId: string }): GatewayTopics {
  const base = `${c.topicPrefix.replace(/\/+$/, '')}/${c.site}/${c.room}/${c.bed}/${c.gatewayId}`;
  return { data: `${base}/data`, status: `${base}/status`, config: `${base}/config` };
}

/**
 * The retained MQTT topic `{prefix}/{site}/{room}/{bed}/case`: what a bed is bound to, republished
 * after every change of a case binding on it (open, close, move, transfer, correct) and once at
 * start (`sync`: the embedded broker keeps retained messages in memory only). A live subscriber
 * thus sees a switch of case explicitly instead of a silently different caseId in `vitals`.
 * Payload `{bed, caseId, since, change, at}`: caseId = the bed's open case (null: none), since =
 * its binding start (or, with no open case, when the bed's last case ended; null if never).
 */
import type { Logger } from 'pino';
import type { RegistryStore } from '../registry/registry-store.js';
import type { CaseChange, CaseStore } from './case-store.js';

export const caseTopic = (prefix: string, site: string, room: string, bed: string) => `${prefix}/${site}/${room}/${bed}/case`;

export interface CaseTopicMessage {
  bed: string;
  caseId: string | null;
  since: number | null;
  change: CaseChange | 'sync';
  at: number;
}

export interface CasePublisherOptions {
  prefix: string;
  cases: CaseStore;
  registry: RegistryStore;
  /** retained, QoS 1 */
  publish: (topic: string, payload: string) => void;
  logger: Logger;
}

/** message for one bed (null when the bed is not in the registry) */
export function caseMessage(
  o: Pick<CasePublisherOptions, 'prefix' | 'cases' | 'registry'>,
  bed: string,
  change: CaseTopicMessage['change'],
  at: number,
): { topic: string; payload: string } | null {
  const b = o.registry.getBed(bed);
  if (!b) return null;
  const msg: CaseTopicMessage = { bed, ...o.cases.bedState(bed), change, at };
  return { topic: caseTopic(o.prefix, b.siteId, b.roomId, bed), payload: JSON.stringify(msg) };
}

/** Publishes the state of every bed that ever had a case, then each change; returns the unsubscribe. */
export function startCasePublisher(o: CasePublisherOptions): () => void {
  const send = (bed: string, change: CaseTopicMessage['change'], at: number) => {
    try {
      const m = caseMessage(o, bed, change, at);
      if (m) o.publish(m.topic, m.payload);
      else o.logger.warn({ bed }, 'case binding change on a bed missing from the registry');
    } catch (err) {
      o.logger.error({ err, bed }, 'case topic publish failed');
    }
  };
  const off = o.cases.onBindingChange((e) => {
    for (const bed of new Set(e.beds)) send(bed, e.change, e.at);
  });
  const at = Date.now();
  for (const bed of o.cases.boundBeds()) send(bed, 'sync', at);
  return off;
}

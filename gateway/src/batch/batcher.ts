/**
 * Batcher: collects observations from every device session and, every publishIntervalMs, turns
 * them into ONE Envelope (a DeviceBatch per device + its DeviceStatus) appended to the outbox.
 * The outbox assigns the seq, which is encoded into the Envelope with this process's bootId.
 * An envelope is also written when a device status changes, and at least every heartbeatMs.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { encodeEnvelope, type DeviceBatch, type DeviceStatusMsg } from '../../../schemas/src/envelope.js';
import type { Observation } from '../../../schemas/src/observation.js';
import { GatewayError, GW_ERR, isGatewayError } from '../errors.js';
import type { Outbox } from '../outbox/outbox.js';
import type { DeviceSessionStatus } from '../session/device-session.js';
import { shapeWaves } from './waves.js';

export interface BatcherOptions {
  gatewayId: string;
  bootId: string;
  intervalMs: number;
  outbox: Outbox;
  /** Current status of every configured device (each gets a DeviceBatch). */
  devices: () => DeviceSessionStatus[];
  /** Configured profile per device, used until the driver reports one. */
  configuredProfile?: (deviceId: string) => string | undefined;
  logger: Logger;
  now?: () => number;
  heartbeatMs?: number;
  /** Observations buffered between flushes beyond this are dropped and counted. */
  maxPending?: number;
  /** Monotonic clock (ms) to detect wall-clock jumps; tests inject it. */
  mono?: () => number;
  /** Wall vs monotonic disagreement that counts as a clock jump (default 1000 ms). */
  clockJumpMs?: number;
  /** Largest envelope written (mqtt.maxEnvelopeBytes, below the broker's packet limit); larger ones are split. */
  maxEnvelopeBytes?: number;
}

export interface BatcherStats {
  envelopes: number;
  observations: number;
  droppedObservations: number;
  appendErrors: number;
  splits: number;
  clockJumps: number;
}

type Item = { deviceId: string; obs: Observation };

export class Batcher {
  private pending: Item[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastStatusKey = '';
  private lastWrite = 0;
  private readonly now: () => number;
  private readonly log: Logger;
  readonly stats: BatcherStats = { envelopes: 0, observations: 0, droppedObservations: 0, appendErrors: 0, splits: 0, clockJumps: 0 };
  private lastWall: number | undefined;
  private lastMono = 0;

  constructor(private readonly o: BatcherOptions) {
    this.now = o.now ?? Date.now;
    this.log = o.logger.child({ component: 'batcher' });
  }

  /** Sink for device sessions. Never throws. */
  add(deviceId: string, obs: readonly Observation[]): void {
    const room = (this.o.maxPending ?? 200_000) - this.pending.length;
    const take = Math.max(0, Math.min(room, obs.length));
    for (let i = 0; i < take; i++) this.pending.push({ deviceId, obs: obs[i] });
    this.stats.droppedObservations += obs.length - take;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((err) => this.log.error({ err }, 'batch flush failed'));
    }, this.o.intervalMs);
  }

  /** Writes what is pending (serialised with earlier flushes); resolves with the seqs appended. */
  flush(force = false): Promise<number[]> {
    const run = this.chain.then(() => this.flushNow(force));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and writes the last batch. */
  async stop(): Promise<void> {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    await this.flush(true);
  }

  private async flushNow(force: boolean): Promise<number[]> {
    const items = this.pending;
    this.pending = [];
    if (this.clockJumped()) for (const it of items) flagClockJump(it.obs);
    const statuses = this.o.devices();
    const statusKey = JSON.stringify(statuses.map((s) => [s.id, s.link, s.profile, s.identity?.model, s.identity?.firmware]));
    const heartbeatDue = this.now() - this.lastWrite >= (this.o.heartbeatMs ?? 10_000);
    if (!items.length && !force && statusKey === this.lastStatusKey && !heartbeatDue) return [];
    this.lastStatusKey = statusKey;
    return this.appendItems(items, statuses, 0);
  }

  /** Appends one envelope; if it is too large (outbox segment or mqtt.maxEnvelopeBytes), splits it in halves. */
  private async appendItems(items: Item[], statuses: DeviceSessionStatus[], depth: number): Promise<number[]> {
    const devices = this.buildBatches(items, statuses);
    const readings = devices.reduce((n, d) => n + d.numerics.length + d.waves.length + d.alarms.length + d.settings.length, 0);
    const sentAt = this.now();
    try {
      const max = this.o.maxEnvelopeBytes ?? Infinity;
      const seq = await this.o.outbox.append(
        (s) => {
          const bytes = encodeEnvelope({ gatewayId: this.o.gatewayId, bootId: this.o.bootId, seq: s, sentAt, devices });
          // the broker closes the connection on a larger packet: such an envelope could never be delivered
          if (bytes.length > max)
            throw new GatewayError(GW_ERR.ENVELOPE_TOO_LARGE, 'data', `envelope of ${bytes.length} bytes exceeds mqtt.maxEnvelopeBytes ${max}`);
          return bytes;
        },
        { readings },
      );
      this.stats.envelopes++;
      this.stats.observations += readings;
      this.lastWrite = sentAt;
      return [seq];
    } catch (err) {
      const tooLarge = isGatewayError(err, 'GW_ERR_OUTBOX_TOO_LARGE') || isGatewayError(err, 'GW_ERR_ENVELOPE_TOO_LARGE');
      if (tooLarge && items.length > 1 && depth < 20) {
        this.stats.splits++;
        const mid = Math.ceil(items.length / 2);
        const a = await this.appendItems(items.slice(0, mid), statuses, depth + 1);
        const b = await this.appendItems(items.slice(mid), [], depth + 1);
        return [...a, ...b];
      }
      this.stats.appendErrors++;
      this.stats.droppedObservations += items.length;
      this.log.error({ err, observations: items.length }, 'envelope could not be appended to the outbox');
      return [];
    }
  }

  private buildBatches(items: Item[], statuses: DeviceSessionStatus[]): DeviceBatch[] {
    const byDevice = new Map<string, DeviceBatch>();
    const batch = (id: string, st?: DeviceSessionStatus): DeviceBatch => {
      let b = byDevice.get(id);
      if (!b) {
        b = { deviceId: id, profileId: st?.profile ?? this.profileOf(id), numerics: [], waves: [], alarms: [], settings: [] };
        if (st) b.status = toStatusMsg(st);
        byDevice.set(id, b);
      }
      return b;
    };
    for (const st of statuses) batch(st.id, st);
    for (const { deviceId, obs } of items) {
      const b = batch(deviceId);
      if (obs.kind === 'numeric') b.numerics.push(obs);
      else if (obs.kind === 'wave') b.waves.push(obs);
      else if (obs.kind === 'alarm') b.alarms.push(obs);
      else if (obs.kind === 'setting') b.settings.push(obs);
    }
    for (const b of byDevice.values()) b.waves = shapeWaves(b.waves);
    return [...byDevice.values()];
  }

  /**
   * The gateway stamps UTC from its (NTP-disciplined) clock; a step of that clock would silently
   * reorder data. Compare wall-clock and monotonic progress since the last flush: a jump flags
   * the readings of this interval `clock-jump` and is counted.
   */
  private clockJumped(): boolean {
    const wall = this.now();
    const mono = this.o.mono ? this.o.mono() : performance.now();
    const prev = this.lastWall;
    const jump = prev !== undefined ? wall - prev - (mono - this.lastMono) : 0;
    this.lastWall = wall;
    this.lastMono = mono;
    if (Math.abs(jump) <= (this.o.clockJumpMs ?? 1000)) return false;
    this.stats.clockJumps++;
    this.log.warn({ jumpMs: Math.round(jump) }, 'gateway clock jumped: readings flagged clock-jump');
    return true;
  }

  private profileOf(id: string): string {
    const p = this.o.configuredProfile?.(id);
    return p && p !== 'auto' ? p : '';
  }
}

function flagClockJump(o: Observation): void {
  if (o.kind !== 'numeric' && o.kind !== 'wave') return;
  if (!o.flags?.includes('clock-jump')) o.flags = [...(o.flags ?? []), 'clock-jump'];
}

export function toStatusMsg(st: DeviceSessionStatus): DeviceStatusMsg {
  const m: DeviceStatusMsg = { link: st.link, frames: st.frames, errors: st.errors };
  if (st.identity?.model) m.model = st.identity.model;
  if (st.identity?.firmware) m.firmware = st.identity.firmware;
  if (st.clockOffsetMs !== undefined) m.clockOffsetMs = Math.round(st.clockOffsetMs);
  return m;
}

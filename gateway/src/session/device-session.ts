/**
 * Device session runner: one per configured device. State machine
 *   connecting → (open ok) identifying → (first valid frame) streaming
 *   any → (link closed/error) down → backoff → connecting
 *   streaming/identifying → (no valid frame for watchdogMs while the port stays open) stalled → close → backoff → connecting
 * A fresh protocol driver per connection; driver.tick() about once a second; every byte can be
 * teed to a recorder. The runner never knows vendor terms (gateway/src/protocols/protocol.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { DeviceConfig } from '../../../schemas/src/gateway-config.js';
import type { LinkState } from '../../../schemas/src/envelope.js';
import type { Observation } from '../../../schemas/src/observation.js';
import type { DeviceIdentity, DeviceProtocol, SessionDriver, SessionOptions } from '../protocols/protocol.js';
import type { Link, LinkCloseInfo, LinkFactory } from '../transports/link.js';
import { RepeatGate } from '../publish/link-hints.js';
import { Backoff, type BackoffOptions } from './backoff.js';

export interface ByteTap {
  rx(chunk: Uint8Array): void;
  tx(chunk: Uint8Array): void;
  note(text: string): void;
}

export interface DeviceSessionStatus {
  id: string;
  protocol: string;
  link: LinkState;
  linkDescription?: string;
  profile?: string;
  identity?: DeviceIdentity;
  clockOffsetMs?: number;
  frames: number;
  errors: number;
  errorsByKind: Record<string, number>;
  observations: number;
  reconnects: number;
  watchdogTrips: number;
  bytesRx: number;
  bytesTx: number;
  lastFrameAt?: number;
  lastError?: string;
}

export interface DeviceSessionOptions {
  config: DeviceConfig;
  protocol: DeviceProtocol;
  linkFactory: LinkFactory;
  sink: (deviceId: string, obs: Observation[]) => void;
  logger: Logger;
  recorder?: ByteTap;
  now?: () => number;
  /** Monotonic ms for the watchdog (default performance.now): a step of the wall clock must not look like silence. */
  mono?: () => number;
  tickMs?: number;
  backoff?: BackoffOptions;
  /** Called when link state, identity or profile changes (status republish on change). */
  onChange?: (status: DeviceSessionStatus) => void;
}

/** The driver options a device config implies (also used to validate options at start). */
export function sessionOptions(cfg: DeviceConfig, now: () => number = Date.now): SessionOptions {
  return {
    profileId: cfg.profile === 'auto' ? undefined : cfg.profile,
    now,
    timeBase: cfg.timeBase,
    clockToleranceMs: cfg.clockToleranceMs,
    options: { ...cfg.options },
  };
}

export class DeviceSession {
  /** link open failures: one log line per cause and minute */
  private readonly openFailures = new RepeatGate(60_000);
  private state: LinkState = 'down';
  private link: Link | undefined;
  private driver: SessionDriver | undefined;
  /** Watchdog bookkeeping on the monotonic clock: when the link opened, and when lastFrameAt() last moved. */
  private openedMono = 0;
  private lastFrameSeen: number | undefined;
  private lastFrameMono = 0;
  private readonly mono: () => number;
  private tickTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Counters of drivers from earlier connections. */
  private base = { frames: 0, errors: {} as Record<string, number> };
  private c = { observations: 0, reconnects: 0, watchdogTrips: 0, bytesRx: 0, bytesTx: 0 };
  private identity: DeviceIdentity | undefined;
  private profile: string | undefined;
  private lastError: string | undefined;
  private connecting: Promise<void> | undefined;

  constructor(private readonly o: DeviceSessionOptions) {
    this.backoff = new Backoff(o.backoff);
    this.now = o.now ?? Date.now;
    this.mono = o.mono ?? (() => performance.now());
    this.log = o.logger.child({ component: 'session', deviceId: o.config.id, protocol: o.protocol.name });
  }

  get id(): string {
    return this.o.config.id;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connecting = this.safeConnect();
  }

  /** Sends the driver's stop requests, closes the link, cancels retries. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    await this.connecting;
    await this.teardown(true);
    this.setState('down');
  }

  status(): DeviceSessionStatus {
    const st = this.driver?.decoder().stats();
    const errorsByKind = { ...this.base.errors };
    for (const [k, v] of Object.entries(st?.errors ?? {})) errorsByKind[k] = (errorsByKind[k] ?? 0) + v;
    for (const [k, v] of Object.entries(this.link?.counts?.() ?? {})) errorsByKind[k] = (errorsByKind[k] ?? 0) + v;
    const s: DeviceSessionStatus = {
      id: this.id,
      protocol: this.o.protocol.name,
      link: this.state,
      frames: this.base.frames + (st?.frames ?? 0),
      errors: Object.values(errorsByKind).reduce((a, b) => a + b, 0),
      errorsByKind,
      ...this.c,
    };
    if (this.link) s.linkDescription = this.link.description;
    if (this.profile) s.profile = this.profile;
    if (this.identity) s.identity = this.identity;
    const off = this.driver?.decoder().clockOffsetMs();
    if (off !== undefined) s.clockOffsetMs = off;
    const lf = this.driver?.lastFrameAt();
    if (lf !== undefined) s.lastFrameAt = lf;
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  // ---- connection lifecycle -----------------------------------------------------------------

  /** connect() handles its own failures; this is the last net so a bug never becomes an unhandled rejection. */
  private safeConnect(): Promise<void> {
    return this.connect().catch((err) => {
      this.log.error({ err }, 'session connect failed unexpectedly');
      this.setState('down');
      this.scheduleReconnect();
    });
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    this.setState('connecting');
    let link: Link;
    try {
      link = this.o.linkFactory(this.o.config.transport, this.o.protocol, { logger: this.log, profileId: this.o.config.profile });
      this.link = link;
      link.on('error', (err) => this.onLinkError(link, err));
      link.on('close', (info) => this.onLinkClose(link, info));
      await link.open();
    } catch (err) {
      this.lastError = (err as { code?: string }).code ?? (err as Error).message;
      // the message names the cause and the fix (transports/serial.ts); the same cause is logged once a minute
      // with the number of repeats, not a stack per retry
      const repeated = this.openFailures.pass(this.lastError);
      if (repeated !== undefined) this.log.warn({ error: (err as Error).message, link: this.link?.description, repeated }, 'link open failed');
      this.link = undefined;
      this.setState('down');
      this.scheduleReconnect();
      return;
    }
    this.openFailures.clear();
    if (this.stopping) {
      await link.close();
      return;
    }
    let driver: SessionDriver;
    try {
      driver = this.o.protocol.createSession(sessionOptions(this.o.config, this.now));
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.error({ err }, 'protocol driver refused the device options');
      await link.close().catch(() => undefined);
      this.link = undefined;
      this.setState('down');
      this.scheduleReconnect();
      return;
    }
    this.driver = driver;
    this.openedMono = this.mono();
    this.lastFrameSeen = undefined;
    link.on('data', (chunk) => this.onData(link, driver, chunk));
    this.log.info({ link: link.description }, 'link open');
    this.o.recorder?.note(`link open ${link.description}`);
    this.setState('identifying');
    this.guard('start', () => driver.start({ write: (bytes) => this.write(link, bytes) }));
    this.tickTimer = setInterval(() => this.tick(link, driver), this.o.tickMs ?? 1000);
  }

  private write(link: Link, bytes: Uint8Array): void {
    if (link !== this.link) return;
    this.c.bytesTx += bytes.length;
    this.o.recorder?.tx(bytes);
    link.write(bytes);
  }

  private onData(link: Link, driver: SessionDriver, chunk: Buffer): void {
    if (link !== this.link || driver !== this.driver) return;
    const t = this.now();
    this.c.bytesRx += chunk.length;
    this.o.recorder?.rx(chunk);
    this.publish(this.guard('onBytes', () => driver.onBytes(chunk, t)));
    this.refreshIdentity(driver);
    this.noteFrame(driver);
    if (this.state === 'identifying' && driver.lastFrameAt() !== undefined) {
      this.backoff.reset();
      this.setState('streaming');
    }
  }

  private tick(link: Link, driver: SessionDriver): void {
    if (link !== this.link || driver !== this.driver) return;
    const now = this.now();
    this.guard('tick', () => driver.tick(now));
    this.refreshIdentity(driver);
    this.noteFrame(driver);
    const silentMs = this.mono() - Math.max(this.lastFrameMono, this.openedMono);
    if (silentMs > this.o.config.watchdogMs) {
      this.c.watchdogTrips++;
      this.lastError = 'watchdog';
      this.log.warn({ silentMs, watchdogMs: this.o.config.watchdogMs }, 'no valid frame: reopening link');
      this.o.recorder?.note('watchdog: no valid frame, reopening link');
      this.setState('stalled');
      void this.teardown(false).then(() => this.scheduleReconnect());
    }
  }

  /** Observations of the driver to the sink (counted); a failing sink never ends the session. */
  private publish(obs: Observation[] | undefined): void {
    if (!obs || obs.length === 0) return;
    this.c.observations += obs.length;
    try {
      this.o.sink(this.id, obs);
    } catch (err) {
      this.log.error({ err }, 'observation sink failed');
    }
  }

  /** The driver's lastFrameAt() moved: a valid frame (or a driver-declared sign of life) just now. */
  private noteFrame(driver: SessionDriver): void {
    const lf = driver.lastFrameAt();
    if (lf !== undefined && lf !== this.lastFrameSeen) {
      this.lastFrameSeen = lf;
      this.lastFrameMono = this.mono();
    }
  }

  private onLinkError(link: Link, err: Error): void {
    if (link !== this.link) return;
    this.lastError = (err as { code?: string }).code ?? err.message;
    this.log.warn({ err }, 'link error');
  }

  private onLinkClose(link: Link, info: LinkCloseInfo): void {
    if (link !== this.link || info.byUs) return;
    this.log.warn({ err: info.error }, 'link closed by peer');
    this.o.recorder?.note('link closed by peer');
    void this.teardown(false).then(() => {
      this.setState('down');
      this.scheduleReconnect();
    });
  }

  /** Folds the driver's counters into the base, stops it (optionally) and closes the link. */
  private async teardown(stopDriver: boolean): Promise<void> {
    if (this.tickTimer) {
      clearInterval(this.tickTimer);
      this.tickTimer = undefined;
    }
    const driver = this.driver;
    const link = this.link;
    if (driver) {
      // readings the driver still holds arrived before the link went away: they are published
      this.publish(this.guard('flush', () => driver.flush?.()));
      if (stopDriver) this.guard('stop', () => driver.stop());
      const st = driver.decoder().stats();
      this.base.frames += st.frames;
      for (const [k, v] of Object.entries(st.errors)) this.base.errors[k] = (this.base.errors[k] ?? 0) + v;
      this.driver = undefined;
    }
    if (link) {
      try {
        await link.close();
      } catch (err) {
        this.log.warn({ err }, 'link close failed');
      }
      if (this.link === link) {
        // the link's own counts (refused senders) outlive it, like the driver's
        for (const [k, v] of Object.entries(link.counts?.() ?? {})) this.base.errors[k] = (this.base.errors[k] ?? 0) + v;
        this.link = undefined;
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.retryTimer) return;
    const delay = this.backoff.next();
    this.log.debug({ delayMs: delay, attempt: this.backoff.attempts }, 'reconnect scheduled');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.c.reconnects++;
      this.connecting = this.safeConnect();
    }, delay);
  }

  private refreshIdentity(driver: SessionDriver): void {
    const dec = driver.decoder();
    const id = dec.identity();
    const profile = dec.profileId();
    if (profile !== this.profile || JSON.stringify(id) !== JSON.stringify(this.identity)) {
      this.identity = id;
      this.profile = profile;
      if (id) this.log.info({ vendor: id.vendor, model: id.model, fw: id.firmware, profile }, 'device identified');
      this.o.onChange?.(this.status());
    }
  }

  private setState(s: LinkState): void {
    if (s === this.state) return;
    this.state = s;
    this.o.onChange?.(this.status());
  }

  /** A driver that throws never ends the session: counted as an error of kind `driver`. */
  private guard<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.base.errors.driver = (this.base.errors.driver ?? 0) + 1;
      this.log.warn({ err, call: what }, 'protocol driver threw');
      return undefined;
    }
  }
}

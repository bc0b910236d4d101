/**
 * Per-gateway publish limits for the embedded broker (all sessions of one gateway share them):
 *  - a message rate and a byte rate (token buckets). A publish over the rate is not refused but held:
 *    the broker calls aedes back (PUBACK, and aedes reads that socket again) only after `waitMs`, so
 *    a flooding gateway is slowed by TCP backpressure and loses nothing;
 *  - an in-flight cap: publishes of one gateway inside the broker (held, or waiting for the intake
 *    to store them) at once. A gateway's publisher keeps at most `mqtt.maxInflight` (default 32)
 *    unacknowledged; one beyond the cap closes that connection (MQTT 3.1.1 cannot say "receive
 *    maximum", so that is the only answer; the gateway resends from its outbox).
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** takes `n` tokens (may go into debt); returns how long the caller must wait before it may proceed (ms) */
  take(n: number, now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerS);
    this.at = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerS) * 1000);
  }
}

export interface PublishLimitOptions {
  publishesPerSecond: number;
  publishBurst: number;
  bytesPerSecond: number;
  /** byte burst: max(bytesPerSecond, maxPacketBytes) */
  maxPacketBytes: number;
  maxInflight: number;
  now?: () => number;
}

export type Admission = { ok: false; inflight: number } | { ok: true; waitMs: number; release: () => void };

interface GatewayState {
  msgs: TokenBucket;
  bytes: TokenBucket;
  inflight: number;
}

export class PublishLimits {
  private readonly gateways = new Map<string, GatewayState>();
  private readonly now: () => number;

  constructor(private readonly o: PublishLimitOptions) {
    this.now = o.now ?? Date.now;
  }

  /** admits one publish of `bytes` payload bytes from a gateway; call `release()` once it is answered */
  admit(gatewayId: string, bytes: number): Admission {
    const t = this.now();
    let g = this.gateways.get(gatewayId);
    if (!g) {
      g = {
        msgs: new TokenBucket(this.o.publishesPerSecond, this.o.publishBurst, t),
        bytes: new TokenBucket(this.o.bytesPerSecond, Math.max(this.o.bytesPerSecond, this.o.maxPacketBytes), t),
        inflight: 0,
      };
      this.gateways.set(gatewayId, g);
    }
    if (g.inflight >= this.o.maxInflight) return { ok: false, inflight: g.inflight };
    const state = g;
    state.inflight++;
    const waitMs = Math.max(state.msgs.take(1, t), state.bytes.take(bytes, t));
    let released = false;
    return {
      ok: true,
      waitMs,
      release: () => {
        if (!released) {
          released = true;
          state.inflight--;
        }
      },
    };
  }

  inflight(gatewayId: string): number {
    return this.gateways.get(gatewayId)?.inflight ?? 0;
  }
}

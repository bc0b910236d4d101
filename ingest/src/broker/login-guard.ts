/**
 * Failed-login backoff for the embedded broker (docs/security.md "Broker limits").
 *
 * Failures are counted under three keys: the user name, the source address, and the pair. Once a
 * key has `maxFailures` (the address: `maxFailuresPerAddress`) it is locked for `lockoutMs`; every
 * further failure after a lockout doubles it, up to `lockoutMaxMs`. While locked, a login is refused
 * WITHOUT checking its password (no guess is tested, no scrypt time spent) and that refusal is not a
 * failure, so a lockout always expires; a key is forgotten `forgetMs` after its last failure.
 *
 * So that an attacker cannot lock a gateway out of its own account, the user-name and address locks
 * do not apply to a pair that logged in successfully within `knownForMs` (default 24 h): the
 * gateway keeps connecting from its own address while its user name is locked for everyone else.
 * Such a pair is still locked by its own failures. Verifications in progress count against the
 * user name and the pair, so parallel connections cannot test more than `maxFailures` guesses at once.
 * Memory is bounded: at most `maxEntries` keys (the oldest are dropped first).
 */
export interface LoginGuardOptions {
  maxFailures: number;
  maxFailuresPerAddress: number;
  lockoutMs: number;
  lockoutMaxMs: number;
  forgetMs: number;
  /** how long a successful (user, address) pair is exempt from the user/address locks (default 24 h) */
  knownForMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  last: number;
  pending: number;
}

export type LoginVerdict = { allowed: true; release: () => void } | { allowed: false; retryInMs: number; lockedBy: 'user' | 'address' | 'pair' };

export class LoginGuard {
  private readonly entries = new Map<string, Entry>();
  private readonly known = new Map<string, number>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly o: LoginGuardOptions) {
    this.now = o.now ?? Date.now;
    this.maxEntries = o.maxEntries ?? 50_000;
  }

  /** may this login be checked now? When allowed, call exactly one of `failed`, `succeeded` or `release`. */
  check(username: string, address: string): LoginVerdict {
    const t = this.now();
    const pairKey = pair(username, address);
    const knownPair = (this.known.get(pairKey) ?? -Infinity) > t - (this.o.knownForMs ?? 86_400_000);
    const keys: ['user' | 'address' | 'pair', string, number][] = [['pair', pairKey, this.o.maxFailures]];
    if (!knownPair) keys.push(['user', `u\0${username}`, this.o.maxFailures], ['address', `a\0${address}`, this.o.maxFailuresPerAddress]);
    for (const [kind, key, max] of keys) {
      const e = this.live(key, t);
      if (!e) continue;
      if (e.lockedUntil > t) return { allowed: false, retryInMs: e.lockedUntil - t, lockedBy: kind };
      // verifications in flight count as failures-to-be (user and pair): no parallel burst of guesses;
      // after a lockout one verification at a time
      if (kind !== 'address' && e.pending >= Math.max(1, max - e.failures)) return { allowed: false, retryInMs: 0, lockedBy: kind };
    }
    const reserved = [this.entry(`u\0${username}`, t), this.entry(pairKey, t)];
    for (const e of reserved) e.pending++;
    let done = false;
    return {
      allowed: true,
      release: () => {
        if (!done) {
          done = true;
          for (const e of reserved) e.pending = Math.max(0, e.pending - 1);
        }
      },
    };
  }

  /** a wrong password (or unknown user): returns the lockout now in force for the user name (0 = none) */
  failed(username: string, address: string, verdict: LoginVerdict): { failures: number; lockedForMs: number } {
    if (verdict.allowed) verdict.release();
    const t = this.now();
    let lockedForMs = 0;
    let failures = 0;
    for (const [key, max] of [
      [`u\0${username}`, this.o.maxFailures],
      [`a\0${address}`, this.o.maxFailuresPerAddress],
      [pair(username, address), this.o.maxFailures],
    ] as const) {
      const e = this.entry(key, t);
      e.failures++;
      e.last = t;
      if (e.failures >= max) {
        const ms = Math.min(this.o.lockoutMs * 2 ** (e.failures - max), this.o.lockoutMaxMs);
        e.lockedUntil = t + ms;
        if (key[0] !== 'a') lockedForMs = Math.max(lockedForMs, ms);
      }
      if (key[0] === 'u') failures = e.failures;
    }
    this.evict();
    return { failures, lockedForMs };
  }

  /** a correct login: the user name's and the pair's failures are cleared (not the address's) */
  succeeded(username: string, address: string, verdict: LoginVerdict): void {
    if (verdict.allowed) verdict.release();
    const pairKey = pair(username, address);
    this.entries.delete(`u\0${username}`);
    this.entries.delete(pairKey);
    this.known.delete(pairKey);
    this.known.set(pairKey, this.now());
    while (this.known.size > this.maxEntries) this.known.delete(this.known.keys().next().value as string);
  }

  /** keys currently tracked (tests, metrics) */
  get size(): number {
    return this.entries.size;
  }

  private live(key: string, t: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.pending === 0 && e.lockedUntil <= t && t - e.last > this.o.forgetMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private entry(key: string, t: number): Entry {
    let e = this.live(key, t);
    if (!e) {
      e = { failures: 0, lockedUntil: 0, last: t, pending: 0 };
      this.entries.set(key, e);
    }
    return e;
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) return;
      if (e.pending === 0) this.entries.delete(key);
    }
  }
}

const pair = (username: string, address: string) => `p\0${username}\0${address}`;

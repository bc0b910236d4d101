/**
 * What the clocked stream decoders (GE DRI, Philips IntelliVue, Masimo) track about their device
 * — profile and mapper once chosen, identity, the time of the last good frame, the device clock —
 * and the ProtocolDecoder accessors over it, written once. The defaults of pushTx() and flush()
 * are for protocols that learn nothing from host bytes and hold nothing across frames.
 */
import type { Observation } from '../../../../schemas/src/observation.js';
import type { Profile } from '../../../../schemas/src/profile.js';
import type { ProfileMapper } from '../../profiles/map.js';
import type { DeviceIdentity } from '../protocol.js';
import type { DeviceClock } from './device-clock.js';

export abstract class ProfiledDecoder {
  protected profile?: Profile;
  protected mapper?: ProfileMapper;
  protected ident?: DeviceIdentity;
  /** gateway ms of the last valid frame (the session watchdog) */
  protected lastFrame?: number;

  constructor(protected readonly clock: DeviceClock) {}

  identity(): DeviceIdentity | undefined {
    return this.ident;
  }

  profileId(): string | undefined {
    return this.profile?.id;
  }

  activeProfile(): Profile | undefined {
    return this.profile;
  }

  /** Observations the profile could not map, by vendor code. */
  unmapped(): Record<string, number> {
    return this.mapper?.unmapped() ?? {};
  }

  /** Device clock minus gateway clock (ms), when known. */
  clockOffsetMs(): number | undefined {
    const e = this.clock.estimate();
    return e === undefined ? undefined : -e;
  }

  lastFrameAt(): number | undefined {
    return this.lastFrame;
  }

  /** Host → device bytes tell this protocol nothing. */
  pushTx(_chunk: Uint8Array): Observation[] {
    return [];
  }

  /** Nothing is held for a later frame. */
  flush(): Observation[] {
    return [];
  }
}

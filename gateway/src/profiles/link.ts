/**
 * The serial settings a firmware profile gives (`link`: baud rate, data bits, parity, stop bits,
 * RTS/CTS), for the serial link of a device whose config names that profile. `extends` is already
 * resolved by load.ts, so an inherited `link` counts.
 */
import type { Profile } from '../../../schemas/src/profile.js';
import { profilesFor } from './load.js';

export type ProfileLink = NonNullable<Profile['link']>;

/**
 * The `link` block of profile `profileId` of `protocol` (folder `dir`, default firmware-profiles/).
 * undefined when the id is absent or `auto` (the profile is only known after identification, which
 * needs an open link), when no such profile exists (the decoder reports that one) or when it has
 * no `link`.
 */
export function profileLink(protocol: string, profileId: string | undefined, dir?: string): ProfileLink | undefined {
  if (!profileId || profileId === 'auto') return undefined;
  return profilesFor(protocol, dir).profiles.get(profileId)?.link;
}

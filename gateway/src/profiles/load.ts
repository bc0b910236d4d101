/**
 * Reads every profile under a folder (recursively, *.json, skipping testcases/), validates each
 * against schemas/src/profile.ts, resolves `extends`, and reports ALL problems at once.
 * Synchronous on purpose: profiles are read once at start (and by `orlink decode`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { ProfileSchema, type Profile } from '../../../schemas/src/profile.js';
import { GW_ERR_PROFILE, ProfileError } from './errors.js';

/** firmware-profiles/ at the repository root. */
export const DEFAULT_PROFILE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../firmware-profiles');

export interface ProfileSet {
  readonly dir: string;
  readonly profiles: ReadonlyMap<string, Profile>;
}

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'testcases' && !name.startsWith('.')) out.push(...listJson(p));
    } else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** Validates one parsed profile; returns problems as strings (empty = valid). */
export function validateProfile(data: unknown, where = 'profile'): string[] {
  return [...Value.Errors(ProfileSchema, data)].map((e) => `${where}: ${e.path || '/'} ${e.message}`);
}

function merge(parent: Profile, child: Profile): Profile {
  return {
    ...parent,
    ...child,
    link: child.link ?? parent.link,
    requests: { ...parent.requests, ...child.requests },
    params: { ...parent.params, ...child.params },
    numerics: { ...parent.numerics, ...child.numerics },
    waves: { ...parent.waves, ...child.waves },
  };
}

export function loadProfiles(dir: string = DEFAULT_PROFILE_DIR, filter?: { protocol?: string }): ProfileSet {
  const problems: string[] = [];
  const raw = new Map<string, Profile>();
  for (const file of listJson(dir)) {
    const where = relative(dir, file);
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push(`${where}: not valid JSON (${(err as Error).message})`);
      continue;
    }
    const errs = validateProfile(data, where);
    if (errs.length) {
      problems.push(...errs);
      continue;
    }
    const p = data as Profile;
    const expected = where.replace(/\\/g, '/').replace(/\.json$/, '');
    if (p.id !== expected) problems.push(`${where}: id '${p.id}' must equal its path '${expected}'`);
    if (raw.has(p.id)) problems.push(`${where}: duplicate id '${p.id}'`);
    raw.set(p.id, p);
  }
  const resolved = new Map<string, Profile>();
  const resolveOne = (id: string, seen: string[]): Profile | undefined => {
    const done = resolved.get(id);
    if (done) return done;
    const p = raw.get(id);
    if (!p) return undefined;
    if (seen.includes(id)) {
      problems.push(`${id}: extends cycle ${[...seen, id].join(' → ')}`);
      return undefined;
    }
    let out = p;
    if (p.extends) {
      const parent = resolveOne(p.extends, [...seen, id]);
      if (!parent) {
        if (!raw.has(p.extends)) problems.push(`${id}: extends unknown profile '${p.extends}'`);
        return undefined;
      }
      out = merge(parent, p);
    }
    resolved.set(id, out);
    return out;
  };
  for (const id of raw.keys()) resolveOne(id, []);
  if (problems.length) {
    throw new ProfileError(GW_ERR_PROFILE.INVALID, `${problems.length} problem(s) in firmware profiles under ${dir}`, { details: problems });
  }
  const profiles = new Map([...resolved].filter(([, p]) => !filter?.protocol || p.protocol === filter.protocol));
  return { dir, profiles };
}

/** One cache for every protocol: profile folder (resolved) + protocol → its profiles, read once. */
const cache = new Map<string, ProfileSet>();

/**
 * The profiles of one protocol from a folder (default firmware-profiles/ of the package), read and
 * validated at the first call for that folder and protocol and cached for the process. Every
 * protocol's decoder and session get their profiles here, from the `profilesDir` option the
 * gateway config / `orlink decode --profiles DIR` hand down (DecoderOptions, protocol.ts).
 */
export function profilesFor(protocol: string, dir: string = DEFAULT_PROFILE_DIR): ProfileSet {
  const key = `${resolve(dir)}\0${protocol}`;
  let set = cache.get(key);
  if (!set) {
    set = loadProfiles(resolve(dir), { protocol });
    cache.set(key, set);
  }
  return set;
}

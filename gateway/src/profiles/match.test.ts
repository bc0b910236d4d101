import t from 'tap';
import type { Profile } from '../../../schemas/src/profile.js';
import { loadProfiles, type ProfileSet } from './load.js';
import { matchProfile } from './match.js';

const p = (id: string, match: Profile['match'], protocol = 'ge-dri'): Profile => ({ id, vendor: 'GE', models: ['m'], protocol, match, numerics: {} });
const set = (...ps: Profile[]): ProfileSet => ({ dir: '-', profiles: new Map(ps.map((x) => [x.id, x])) });

t.test('repository GE profiles: DRI level picks the family', async (t) => {
  const s = loadProfiles();
  t.equal(matchProfile(s, { protocol: 'ge-dri', vendor: 'GE', level: 8 }).id, 'ge/s5/dri-2003');
  t.equal(matchProfile(s, { protocol: 'ge-dri', vendor: 'GE', level: 10 }).id, 'ge/carescape-b650/dri-2009');
  t.equal(matchProfile(s, { protocol: 'ge-dri', level: 10 }, 'ge/s5/dri-2003').id, 'ge/s5/dri-2003', 'explicit override');
  t.throws(() => matchProfile(s, { protocol: 'ge-dri', level: 12 }), { code: 'GW_ERR_PROFILE_NOT_FOUND' });
  t.throws(() => matchProfile(s, { protocol: 'ge-dri' }, 'ge/nope'), { code: 'GW_ERR_PROFILE_NOT_FOUND' });
});

t.test('priority, then the narrower range, then the id', async (t) => {
  const wide = p('x/wide', { priority: 5, protocolLevel: { min: 0, max: 20 } });
  const narrow = p('x/narrow', { priority: 5, protocolLevel: { min: 9, max: 10 } });
  const high = p('x/high', { priority: 9, models: ['B650'] });
  const other = p('x/other', { priority: 99 }, 'medibus');
  const s = set(wide, narrow, high, other);
  t.equal(matchProfile(s, { protocol: 'ge-dri', level: 10 }).id, 'x/high', 'no model stated: model filter does not exclude');
  t.equal(matchProfile(s, { protocol: 'ge-dri', level: 10, model: 'B450' }).id, 'x/narrow');
  t.equal(matchProfile(s, { protocol: 'ge-dri', level: 3, model: 'B450' }).id, 'x/wide');
  t.equal(matchProfile(s, { protocol: 'ge-dri', model: 'b650' }).id, 'x/high', 'model match is case-insensitive');
  const fw = p('x/fw', { priority: 50, firmware: '^2\\.' });
  t.equal(matchProfile(set(wide, fw), { protocol: 'ge-dri', firmware: '3.1' }).id, 'x/wide');
  t.equal(matchProfile(set(wide, fw), { protocol: 'ge-dri', firmware: '2.4' }).id, 'x/fw');
});

import t from 'tap';
import { parseScenario } from './scenario.js';

t.test('scenario: YAML and JSON, all errors at once', async (t) => {
  t.same(parseScenario('agent: DES\nnibpIntervalMin: 3\nbaseline: { hr: 88, etco2: 40 }\n'), {
    agent: 'DES',
    nibpIntervalMin: 3,
    baseline: { hr: 88, etco2: 40 },
  });
  t.same(parseScenario('{"realNumerics": false, "trendStartMinute": 1460}'), { realNumerics: false, trendStartMinute: 1460 });
  t.throws(() => parseScenario('agent: XEN\nbaseline: { hr: 900, nope: 1 }\nfoo: 1\n'), {
    code: 'SIM_ERR_PHYSIO_CONFIG',
    message: /unknown key 'foo'.*agent must be.*baseline.hr must be.*unknown vital 'nope'/,
  });
  t.throws(() => parseScenario('- 1\n'), { code: 'SIM_ERR_PHYSIO_CONFIG' });
  t.throws(() => parseScenario('a: [\n'), { code: 'SIM_ERR_PHYSIO_CONFIG' });
});

/** describeError: one line, the cause chain with codes, no stack. */
import t from 'tap';
import { CLI_ERR, CliError, describeError, errorCode } from './errors.js';
import { IngestError } from '../ingest/src/errors.js';

t.test('the cause chain on one line, codes where the errors have them', async (t) => {
  const inner = new IngestError('ING_ERR_INFLUXD_START', 'fatal', 'influxd exited before ready (code=1)\nlog tail line 1\nline 2');
  const err = new CliError(CLI_ERR.START, 'the demo could not start', { cause: inner });
  t.equal(
    describeError(err),
    'CLI_ERR_START: the demo could not start: ING_ERR_INFLUXD_START: influxd exited before ready (code=1) | log tail line 1 | line 2',
  );
  t.equal(errorCode(err), 'CLI_ERR_START');
});

t.test('errors without an AREA_ERR_ code: message only (a Node errno code is not one)', async (t) => {
  const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  t.equal(errorCode(e), undefined);
  t.equal(describeError(new CliError(CLI_ERR.RUN, 'failed', { cause: e })), 'CLI_ERR_RUN: failed: connect ECONNREFUSED 127.0.0.1:1');
  t.equal(describeError('a string'), 'a string');
});

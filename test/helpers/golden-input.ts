/**
 * Prints the decoder input of one golden testcase (the shared capture after the slice/conversion
 * its case.json states) and, on stderr, the `orlink decode` arguments to use — for regenerating an
 * expected.ndjson after a hand-checked change (firmware-profiles/README.md):
 *   npx tsx test/helpers/golden-input.ts firmware-profiles/ge/testcases/lnhealth-s5-dri2003 \
 *     | npx orlink decode --protocol ge-dri --format hexlog > firmware-profiles/ge/testcases/lnhealth-s5-dri2003/expected.ndjson
 */
import { resolve } from 'node:path';
import { caseInput, readCase } from './golden-case.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: npx tsx test/helpers/golden-input.ts <testcase folder>\n');
  process.exit(2);
}
const abs = resolve(dir);
const cj = readCase(abs);
const input = caseInput(abs);
process.stderr.write(`orlink decode --protocol ${cj.protocol} --format ${input.format}${cj.profile ? ` --profile ${cj.profile}` : ''}\n`);
process.stdout.write(input.data);

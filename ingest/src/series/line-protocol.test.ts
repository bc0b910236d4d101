import t from 'tap';
import { INT_FIELDS } from './layout.js';
import { escapeKey, escapeMeasurement, escapeStringField, toLine } from './line-protocol.js';

t.test('escaping rules', async (t) => {
  t.equal(escapeMeasurement('a b,c=d'), 'a\\ b\\,c=d', 'measurement: comma and space, not =');
  t.equal(escapeKey('a b,c=d'), 'a\\ b\\,c\\=d');
  t.equal(escapeKey('line\nbreak'), 'line\\ break', 'newline in a tag becomes an escaped space');
  t.equal(escapeStringField('say "hi" \\ ok'), '"say \\"hi\\" \\\\ ok"');
});

t.test('toLine: sorted tags, empty tags dropped, int fields, non-finite dropped', async (t) => {
  const line = toLine(
    {
      measurement: 'numeric',
      tags: { mdc: 'MDC X', bed: 'b=1', device: '' },
      fields: { value: 1.5, flags: 3, vendor: 'v"1', bad: NaN, ok: true },
      time: 1700000000123.7,
    },
    INT_FIELDS,
  );
  t.equal(line, 'numeric,bed=b\\=1,mdc=MDC\\ X value=1.5,flags=3i,vendor="v\\"1",ok=true 1700000000123');
});

t.test('toLine: no valid field → null (caller counts it)', async (t) => {
  t.equal(toLine({ measurement: 'm', tags: {}, fields: { v: Infinity }, time: 1 }, INT_FIELDS), null);
  t.equal(toLine({ measurement: 'm', tags: {}, fields: { v: 1 }, time: NaN }, INT_FIELDS), null);
});

t.test('floats keep full precision, large ints are truncated not rounded', async (t) => {
  t.equal(toLine({ measurement: 'm', tags: {}, fields: { value: 0.1 + 0.2, n: 7.9 }, time: 5 }, INT_FIELDS), 'm value=0.30000000000000004,n=7i 5');
});

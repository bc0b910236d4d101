import t from 'tap';
import {
  encodeAlarms,
  encodeDateTime,
  encodeItems,
  encodeTexts,
  formatValue,
  parseAlarms,
  parseDateTime,
  parseDeviceId,
  parseItems,
  parseTexts,
  parseValue,
} from './messages.js';

t.test('values: right-aligned, decimals, sign; blank or garbage = not available', async (t) => {
  t.equal(parseValue('  25'), 25);
  t.equal(parseValue('12.5'), 12.5);
  t.equal(parseValue(' -.5'), -0.5);
  t.equal(parseValue('    '), null);
  t.equal(parseValue('----'), null);
  t.equal(parseValue(' 1 2'), null);
  t.equal(formatValue(0.35, 4, 2), '0.35');
  t.equal(formatValue(-0.5, 4, 1), '-0.5');
  t.equal(formatValue(5.8123, 4, 2), '5.81');
  t.equal(formatValue(123.4, 4, 1), ' 123');
  t.equal(formatValue(null, 4, 0), '    ');
});

t.test('data items: good items kept around a bad one', async (t) => {
  const r = parseItems(Buffer.from('DC  72ZZ  12EB    B9 5.8'), 4);
  t.same(r.items, [
    { code: 'DC', raw: '  72', value: 72 },
    { code: 'EB', raw: '    ', value: null },
    { code: 'B9', raw: ' 5.8', value: 5.8 },
  ]);
  t.equal(r.bad, 1);
  t.equal(parseItems(Buffer.from('DC  72E'), 4).bad, 1, 'trailing partial item counted');
  t.same(parseItems(Buffer.from(encodeItems([{ code: 0x05, raw: '12' }], 4)), 4).items, [{ code: '05', raw: '  12', value: 12 }]);
});

t.test('alarms and text messages', async (t) => {
  const a = encodeAlarms([
    { priority: 3, code: 0x21, text: 'MV LOW' },
    { priority: 1, code: 0x0a, text: 'O2 SENSOR CAL' },
  ]);
  t.same(parseAlarms(Buffer.from(a)).items, [
    { priority: 3, code: '21', text: 'MV LOW' },
    { priority: 1, code: '0A', text: 'O2 SENSOR CA' },
  ]);
  const tx = encodeTexts([
    { code: 0x05, text: 'VC-CMV' },
    { code: 0x10, text: 'Standby' },
  ]);
  t.same(parseTexts(Buffer.from(tx)).items, [
    { code: '05', text: 'VC-CMV' },
    { code: '10', text: 'Standby' },
  ]);
  const bad = parseTexts(Buffer.from(`05Zxx\x03${encodeTexts([{ code: 0x06, text: 'ok' }])}`));
  t.same(bad.items, [{ code: '06', text: 'ok' }]);
  t.equal(bad.bad, 1);
});

t.test('date/time: real Atlan without space, with space, German month, malformed', async (t) => {
  t.equal(parseDateTime(Buffer.from('15:27:1221-AUG-26')), Date.UTC(2026, 7, 21, 15, 27, 12));
  t.equal(parseDateTime(Buffer.from('15:27:12 21-AUG-26')), Date.UTC(2026, 7, 21, 15, 27, 12));
  t.equal(parseDateTime(Buffer.from('08:00:0001-MAI-26')), Date.UTC(2026, 4, 1, 8, 0, 0));
  t.equal(parseDateTime(Buffer.from('23:59:5931-DEZ-25')), Date.UTC(2025, 11, 31, 23, 59, 59));
  t.equal(parseDateTime(Buffer.from('25:00:0001-JAN-26')), undefined);
  t.equal(parseDateTime(Buffer.from('15:27:1221-XYZ-26')), undefined);
  const ms = Date.UTC(2026, 9, 2, 17, 41, 44);
  t.equal(parseDateTime(Buffer.from(encodeDateTime(ms))), ms);
});

t.test('device identification', async (t) => {
  t.same(parseDeviceId(Buffer.from("5555'A3XX'02.11:06.00")), { id: '5555', name: 'A3XX', revision: '02.11:06.00' });
  t.equal(parseDeviceId(Buffer.from('garbage')), undefined);
});

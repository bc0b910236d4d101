import t from 'tap';
import { DEFAULT_TIME_WINDOW as W, timeVerdict } from './time-window.js';

const R = 1_800_000_000_000;
const H = 3_600_000;

t.test('live, backlog and old measurement times are plausible', async (t) => {
  t.equal(timeVerdict(R - 500, false, R - 100, R, W), null, 'live');
  t.equal(timeVerdict(R + 60_000, false, R, R, W), null, 'a device clock a minute ahead');
  t.equal(timeVerdict(R - 6 * 86_400_000, false, R - 6 * 86_400_000 + 900, R, W), null, 'a six-day outbox backlog');
  t.equal(timeVerdict(R - 5 * H, false, R, R, W), null, 'an NIBP measured five hours before the envelope');
});

t.test('a gateway clock step of ±1 h: the flagged readings stay, before and after the step', async (t) => {
  // +1 h: readings after the step and sent_at an hour ahead of ingest; the interval of the step: t one step behind sent_at
  t.equal(timeVerdict(R + H + 900, true, R + H + 1000, R, W), null);
  t.equal(timeVerdict(R - 100, true, R + H, R, W), null);
  // −1 h: an hour behind, and the interval of the step: t one step ahead of sent_at
  t.equal(timeVerdict(R - H, true, R - H + 100, R, W), null);
  t.equal(timeVerdict(R - 100, true, R - H, R, W), null);
  t.equal(timeVerdict(R + H + 900, false, R + H + 1000, R, W), 'future', 'unflagged, an hour ahead: quarantined');
});

t.test('implausible times', async (t) => {
  t.equal(timeVerdict(R + 365 * 24 * H, true, R, R, W), 'future', 'a year ahead, even flagged');
  t.equal(timeVerdict(R + W.futureMs + 1, false, R, R, W), 'future');
  t.equal(timeVerdict(R + W.futureMs, false, R, R, W), null, 'the bound itself is inside');
  t.equal(timeVerdict(R - 24 * H, false, R, R, W), 'behind-envelope', 'a day behind a fresh envelope');
  t.equal(timeVerdict(R - 8 * 86_400_000, false, R - 8 * 86_400_000, R, W), 'envelope-too-old');
  t.equal(timeVerdict(0, false, 0, R, W), 'envelope-too-old', 'a gateway clock reset to 1970');
  t.equal(timeVerdict(Number.NaN, false, R, R, W), 'behind-envelope');
});

// Preload (node --import) for gateway children: shifts Date.now() by the number of ms written in
// $ORLINK_TEST_CLOCK_FILE whenever the process receives SIGUSR2 — a wall-clock step (bad NTP, an
// operator setting the time) while the monotonic clock runs on. Tests only.
import { readFileSync } from 'node:fs';

const realNow = Date.now.bind(Date);
let shift = 0;
Date.now = () => realNow() + shift;
process.on('SIGUSR2', () => {
  try { shift = Number(readFileSync(process.env.ORLINK_TEST_CLOCK_FILE ?? '', 'utf8')) || 0; } catch { /* keep */ }
});

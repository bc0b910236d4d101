/**
 * The gateway clock scenario (clock-jump.test.ts, owned with the GE driver's clock work) on
 * Mosquitto: the same file, imported with the rig's default broker switched to Mosquitto, so both
 * variants stay one scenario. Skipped when
 * ORLINK_FAULTS_BROKERS leaves Mosquitto out.
 */
import t from 'tap';
import { BROKERS } from './harness/index.js';

if (BROKERS.includes('mosquitto')) {
  process.env.ORLINK_FAULTS_BROKER = 'mosquitto';
  t.comment('broker: mosquitto');
  await import('./clock-jump.test.js');
} else {
  t.pass('Mosquitto variant not selected (ORLINK_FAULTS_BROKERS)');
}

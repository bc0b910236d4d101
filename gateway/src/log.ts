/**
 * The gateway's pino root logger. Created once in the composition root and passed down; every
 * component takes a child with `{ component }`. The redaction list removes patient fields and
 * secrets wherever they might slip into a log record (the gateway should never see PHI at all).
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password', '*.password', 'mqtt.password', 'config.mqtt.password',
  'patient', '*.patient', 'patientId', '*.patientId', 'patientName', '*.patientName',
  'mrn', '*.mrn', 'dob', '*.dob', 'birthDate', '*.birthDate', 'firstName', '*.firstName',
  'lastName', '*.lastName', 'ssn', '*.ssn',
];

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const opts = {
    level,
    base: { service: 'orlink-gateway' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that writes nothing (tests, library use without a logger). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * The gateway's pino root logger. Created once in the composition root and passed down; every
 * component takes a child with `{ component }`. The redaction list removes patient fields and
 * secrets wherever they might slip into a log record (the gateway should never see PHI at all).
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  'mqtt.password',
  'config.mqtt.password',
  'patient',
  '*.patient',
  'patientId',
  '*.patientId',
  'patientName',
  '*.patientName',
  'mrn',
  '*.mrn',
  'dob',
  '*.dob',
  'birthDate',
  '*.birthDate',
  'firstName',
  '*.firstName',
  'lastName',
  '*.lastName',
  'ssn',
  '*.ssn',
];

export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const opts = {
    level,
    base: { service: 'orlink-gateway' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** Where a gateway is: on every log line of the gateway (registry ids only, never a patient identifier). */
export interface LogLocation {
  gatewayId: string;
  site: string;
  room: string;
  bed: string;
}

/** `logger` with the gateway's id, site, room and bed bound (idempotent: a logger already bound is returned as is). */
export function withLocation(logger: Logger, c: LogLocation): Logger {
  const b = logger.bindings();
  if (b.gatewayId === c.gatewayId && b.site === c.site && b.room === c.room && b.bed === c.bed) return logger;
  return logger.child({ gatewayId: c.gatewayId, site: c.site, room: c.room, bed: c.bed });
}

/** A logger that writes nothing (tests, library use without a logger). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Firmware profile schema (TypeBox): DATA that tells the gateway how one device family at one
 * firmware / protocol level speaks, and how its vendor codes map to MDC + UCUM. Profiles live
 * under firmware-profiles/<vendor>/<model>/<fw-range>.json; gateway/src/profiles/load.ts reads and
 * validates them (all errors at once). Leaf module: imports nothing from the repo.
 */
import { Type, type Static } from '@sinclair/typebox';

const Mdc = Type.Union([Type.String({ pattern: '^MDC_[A-Z0-9_]+$' }), Type.Null()], {
  description: 'MDC reference id; project-local ids (code null) are documented in firmware-profiles/README.md',
});
const Code = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'MDC numeric code, null when not verified' });
const Ucum = Type.String({ minLength: 1, description: 'UCUM unit' });
const Source = Type.Union([Type.Literal('mdc.md'), Type.Literal('derived'), Type.Literal('local')], {
  description: 'mdc.md = code in the project table; derived = Philips nomenclature + 0x20000 rule; local = project-local id',
});

export const LabelVariantSchema = Type.Object(
  {
    mdc: Mdc,
    code: Code,
    unit: Type.Optional(Ucum),
    src: Type.Optional(Source),
  },
  { additionalProperties: false },
);

export const NumericMapSchema = Type.Object(
  {
    mdc: Mdc,
    code: Code,
    unit: Ucum,
    /** physical = vendorValue * scale + offset (vendorValue already carries the layout divisor). */
    scale: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    offset: Type.Optional(Type.Number()),
    /** Named conversion needing record context, e.g. CO2 % → mmHg with the ambient pressure. */
    convert: Type.Optional(Type.Literal('pct-to-mmHg-ambient')),
    /** Outside this range the value is published as null with flag 'invalid' (device quirks). */
    valid: Type.Optional(Type.Object({ min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }, { additionalProperties: false })),
    /** Label-dependent variants (pressure site, temperature site, agent, ECG lead). */
    byLabel: Type.Optional(Type.Record(Type.String(), LabelVariantSchema)),
    src: Type.Optional(Source),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const WaveMapSchema = Type.Object(
  {
    mdc: Mdc,
    code: Code,
    unit: Ucum,
    /** physical = raw * scale + offset. */
    scale: Type.Number({ exclusiveMinimum: 0 }),
    offset: Type.Optional(Type.Number()),
    rateHz: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    uncalibrated: Type.Optional(Type.Boolean()),
    byLabel: Type.Optional(Type.Record(Type.String(), LabelVariantSchema)),
    src: Type.Optional(Source),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const LinkSchema = Type.Object(
  {
    baudRate: Type.Integer({ minimum: 50, maximum: 4_000_000 }),
    dataBits: Type.Union([Type.Literal(7), Type.Literal(8)]),
    parity: Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')]),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(2)]),
    rtscts: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const RequestsSchema = Type.Object(
  {
    /** GE DRI: PHDB record type 1 DISPL, 2 10 s trend, 3 60 s trend. */
    recordType: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)])),
    intervalS: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    classMask: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffff })),
    /** Protocol levels the requests are sent at, in order (GE: DRI levels, e.g. [9, 8, 7]). */
    protocolLevels: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 })),
    /** Re-send the requests this often (s): the monitor forgets them. */
    refreshS: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    /** Default waves by vendor name (GE: ECG1, PLETH, ...). */
    waves: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    maxWaves: Type.Optional(Type.Integer({ minimum: 0 })),
    maxSamplesPerS: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const MatchSchema = Type.Object(
  {
    /** Higher wins when several profiles match. */
    priority: Type.Integer({ minimum: 0, maximum: 1000 }),
    vendor: Type.Optional(Type.String()),
    /** Model names as the device states them (exact, case-insensitive). */
    models: Type.Optional(Type.Array(Type.String())),
    /** Inclusive range of the protocol level (GE: DRI level number). */
    protocolLevel: Type.Optional(Type.Object({ min: Type.Integer(), max: Type.Integer() }, { additionalProperties: false })),
    /** Regular expression on the firmware string. */
    firmware: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** HL7 v2 / MLLP senders (protocol 'hl7-mllp'): session role, ACK policy, code systems, sentinels. */
export const Hl7ProfileSchema = Type.Object(
  {
    /** Gateway role: 'server' = the monitor connects to the gateway (GE, PCD-01); 'client' = gateway connects out (Mindray PDS). */
    role: Type.Optional(Type.Union([Type.Literal('server'), Type.Literal('client')])),
    /** ACK policy: original mode (MSA AA/AE/AR), enhanced (CA/CE/CR), none, or auto (from MSH-15/16). */
    ack: Type.Optional(Type.Union([Type.Literal('original'), Type.Literal('enhanced'), Type.Literal('none'), Type.Literal('auto')])),
    /** HL7 version the sender uses (ACKs echo the message's own MSH-12). */
    version: Type.Optional(Type.String()),
    /** Time zone of stamps without an offset: 'UTC', '+0100' or an IANA name. */
    timeZone: Type.Optional(Type.String()),
    /** OBX-5 values that mean "absent" (exact numeric match) and textual prefixes (Mindray '-100'). */
    sentinels: Type.Optional(Type.Array(Type.Number())),
    sentinelPrefixes: Type.Optional(Type.Array(Type.String())),
    /** Coding system assumed when OBX-3.3 is empty (Mindray PDS: '99MNDRY'). */
    defaultSystem: Type.Optional(Type.String()),
    /** Coding-system aliases → the key prefix used in `numerics` (e.g. {"MDC":"MDC","99MNDRY":"MNDRY"}). */
    systems: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** Unit code / reference id / text in OBX-6 → UCUM. */
    units: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** Auto-identification: regular expressions on MSH-3, MSH-4 and OBX-18 (any match counts). */
    identify: Type.Optional(
      Type.Object(
        {
          sendingApp: Type.Optional(Type.String()),
          facility: Type.Optional(Type.String()),
          equipment: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    /** Client role: heartbeat period (s) and the heartbeat message's MSH-10. */
    heartbeatS: Type.Optional(Type.Number({ minimum: 0 })),
    heartbeatControlId: Type.Optional(Type.String()),
    /** Default TCP port of the sender (documentation and simulator default). */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);

/** Dräger MEDIBUS settings / alarms maps (optional; other protocols ignore them). */
export const SettingMapSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    unit: Type.Optional(Ucum),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const AlarmMapSchema = Type.Object(
  {
    source: Type.Union([Type.Literal('physiological'), Type.Literal('technical')]),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const ProfileSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    id: Type.String({ pattern: '^[a-z0-9-]+(/[a-z0-9._-]+)+$' }),
    vendor: Type.String({ minLength: 1 }),
    models: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    protocol: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    /** Id of a profile whose link/requests/params/numerics/waves this one inherits (own entries win). */
    extends: Type.Optional(Type.String()),
    match: MatchSchema,
    link: Type.Optional(LinkSchema),
    requests: Type.Optional(RequestsSchema),
    /** Protocol-specific tunables (e.g. waveReanchorMs). */
    params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()]))),
    numerics: Type.Record(Type.String(), NumericMapSchema),
    waves: Type.Optional(Type.Record(Type.String(), WaveMapSchema)),
    /** Device settings by vendor code (Dräger MEDIBUS 'set.XX') → canonical name + UCUM unit. */
    settings: Type.Optional(Type.Record(Type.String(), SettingMapSchema)),
    /** Alarms by vendor code (Dräger 'alarm.cp1.XX'): technical vs physiological, decided by code. */
    alarms: Type.Optional(Type.Record(Type.String(), AlarmMapSchema)),
    hl7: Type.Optional(Hl7ProfileSchema),
  },
  { additionalProperties: false },
);

export type LabelVariant = Static<typeof LabelVariantSchema>;
export type NumericMap = Static<typeof NumericMapSchema>;
export type WaveMap = Static<typeof WaveMapSchema>;
export type ProfileLink = Static<typeof LinkSchema>;
export type ProfileRequests = Static<typeof RequestsSchema>;
export type Profile = Static<typeof ProfileSchema>;
export type SettingMap = Static<typeof SettingMapSchema>;
export type AlarmMap = Static<typeof AlarmMapSchema>;
export type Hl7ProfileParams = Static<typeof Hl7ProfileSchema>;

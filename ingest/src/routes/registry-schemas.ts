/**
 * TypeBox schemas of the registry API: request bodies and the response bodies (fastify serialises
 * responses through them, so a property not listed here — a credential hash — can never leave).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { EpochMs, ErrorBody, Id } from './common.js';

const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);
/**
 * For request bodies: null tried first, because fastify's ajv coerces types and would turn a null
 * into '' for a string branch tried before it (an empty string then also clears: coerced to null).
 */
const NullOr = <T extends TSchema>(s: T) => Type.Union([Type.Null(), s]);
export const Name = Type.String({ minLength: 1, maxLength: 200 });
const Text = (max = 200) => Type.String({ maxLength: max });
const Opt = (max = 200) => Type.Optional(Text(max));
/** PATCH: absent = unchanged, null (or '') = cleared */
const Patch = (max = 200) => Type.Optional(NullOr(Text(max)));
const NOTES_MAX = 2000;

export const SiteBody = Type.Object({ id: Type.String(), name: Type.String() }, { additionalProperties: false });
export const RoomBody = Type.Object({ id: Type.String(), siteId: Type.String(), name: Type.String() }, { additionalProperties: false });
export const BedBody = Type.Object({ id: Type.String(), roomId: Type.String(), siteId: Type.String(), name: Type.String() }, { additionalProperties: false });

export const GatewayBody = Type.Object(
  {
    id: Type.String(),
    bedId: Type.String(),
    notes: Nullable(Type.String()),
    lastSeen: Nullable(EpochMs),
    online: Nullable(Type.Boolean()),
    status: Nullable(Type.Record(Type.String(), Type.Unknown(), { description: 'the last status JSON the gateway published' })),
    retiredAt: Nullable(EpochMs),
    retiredReason: Nullable(Type.String()),
    passwordRevokedAt: Nullable(EpochMs),
  },
  { additionalProperties: false, description: 'a gateway; its password and hashes are never returned' },
);

const IdentityFieldBody = Type.Union([Type.Literal('serial'), Type.Literal('model'), Type.Literal('firmware')]);
export const IdentityMismatchBody = Type.Object(
  {
    field: IdentityFieldBody,
    registered: Type.String(),
    reported: Type.String(),
    since: EpochMs,
  },
  { additionalProperties: false },
);
export const ReportedIdentityBody = Type.Object(
  {
    vendor: Type.Optional(Type.String()),
    model: Type.Optional(Type.String()),
    serial: Type.Optional(Type.String()),
    firmware: Type.Optional(Type.String()),
    gatewayId: Type.String(),
    at: EpochMs,
  },
  { additionalProperties: false },
);

export const DeviceBody = Type.Object(
  {
    id: Type.String(),
    gatewayId: Nullable(Type.String()),
    bedId: Nullable(Type.String()),
    vendor: Nullable(Type.String()),
    model: Nullable(Type.String()),
    serial: Nullable(Type.String()),
    firmware: Nullable(Type.String()),
    profile: Nullable(Type.String()),
    transport: Nullable(Type.String()),
    assetTag: Nullable(Type.String()),
    notes: Nullable(Type.String()),
    retiredAt: Nullable(EpochMs),
    retiredReason: Nullable(Type.String()),
    reportedIdentity: Nullable(ReportedIdentityBody),
    identityMismatch: Type.Array(IdentityMismatchBody, { description: 'fields the device reports differently from the registry; empty when none' }),
    connection: Nullable(
      Type.Record(Type.String(), Type.Unknown(), { description: 'what its gateway runs for it (PUT /devices/:id/connection); null: not configured' }),
    ),
  },
  { additionalProperties: false },
);

// ---- requests ------------------------------------------------------------------------------------

export const IdParams = Type.Object({ id: Id });
export const NamePatch = Type.Object({ name: Name }, { additionalProperties: false });

export const CreateSite = Type.Object({ id: Id, name: Name }, { additionalProperties: false });
export const CreateRoom = Type.Object({ id: Id, siteId: Id, name: Name }, { additionalProperties: false });
export const CreateBed = Type.Object({ id: Id, roomId: Id, name: Name }, { additionalProperties: false });
export const Password = Type.String({ minLength: 8, maxLength: 200 });
export const CreateGateway = Type.Object({ id: Id, bedId: Id, password: Password, notes: Opt(NOTES_MAX) }, { additionalProperties: false });
export const CreateDevice = Type.Object(
  {
    id: Id,
    gatewayId: Type.Optional(Id),
    bedId: Type.Optional(Id),
    vendor: Opt(),
    model: Opt(),
    serial: Opt(),
    firmware: Opt(),
    profile: Opt(),
    transport: Opt(),
    assetTag: Opt(),
    notes: Opt(NOTES_MAX),
  },
  { additionalProperties: false },
);

export const DEVICE_PATCH_FIELDS = ['vendor', 'model', 'serial', 'firmware', 'profile', 'transport', 'assetTag', 'notes'] as const;
export const DevicePatchBody = Type.Object(
  {
    vendor: Patch(),
    model: Patch(),
    serial: Patch(),
    firmware: Patch(),
    profile: Patch(),
    transport: Patch(),
    assetTag: Patch(),
    notes: Patch(NOTES_MAX),
  },
  { additionalProperties: false, description: 'absent: unchanged, null: cleared; bed and gateway change through /move' },
);
export const GatewayPatchBody = Type.Object(
  { notes: Patch(NOTES_MAX) },
  {
    additionalProperties: false,
    description: 'bed: POST /gateways/:id/move; password: POST /gateways/:id/password',
  },
);

export const DeviceMoveBody = Type.Object(
  {
    bedId: Type.Optional(NullOr(Id)),
    gatewayId: Type.Optional(NullOr(Id)),
  },
  { additionalProperties: false, description: 'absent: unchanged, null: unbound' },
);
export const GatewayMoveBody = Type.Object({ bedId: Id }, { additionalProperties: false });
export const DeviceRetireBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
export const GatewayRetireBody = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false });
export const PasswordBody = Type.Object({ password: Password }, { additionalProperties: false });

/**
 * PUT /devices/:id/connection: only the outline here; the body is checked in the handler against the
 * gateway's own `devices[]` schema (schemas/src/gateway-config-doc.ts connectionProblems), which
 * lists every problem with its path (fastify's ajv would coerce types and stop at the first one).
 */
export const DeviceConnectionBody = Type.Object(
  {
    protocol: Type.String({ minLength: 1, description: 'gateway protocol driver, e.g. ge-dri, draeger-medibus, philips-intellivue, hl7-mllp, masimo, nonin' }),
    transport: Type.Object({ kind: Type.String({ description: 'serial | tcp | tcp-server | intellivue-lan' }) }, { additionalProperties: true }),
  },
  {
    additionalProperties: true,
    description: 'a gateway config devices[] entry without id and profile: protocol, transport, options, watchdogMs, timeBase, clockToleranceMs, expect',
  },
);

export const DeviceQuery = Type.Object({
  bedId: Type.Optional(Id),
  gatewayId: Type.Optional(Id),
  mismatch: Type.Optional(Type.Boolean({ description: 'true: only devices whose reported identity differs from the registry; false: only the others' })),
});

/** the error responses a registry route can give */
export const Errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody } as const;

/**
 * TypeBox schemas of the case and live routes: request bodies and the responses, so that
 * /docs/json describes what the routes return. Nullable fields use OpenAPI 3.0's `nullable`
 * (fast-json-stringify understands it; `anyOf` with null would make it validate every value).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EventBody } from '../events/event-schemas.js';
import { EpochMs, Id } from './common.js';

export const Nullable = <T extends TSchema>(s: T) => Type.Unsafe<Static<T> | null>({ ...s, nullable: true });

const CaseId = Type.String({ maxLength: 64, description: 'case id' });
export const CaseParams = Type.Object({ id: CaseId });

export const Replaces = Type.Object(
  {
    caseId: CaseId,
    action: Type.Literal('close', { description: 'close that case where the new binding starts' }),
  },
  { additionalProperties: false, description: 'what happens to the case open on the target bed' },
);

export const CaseBinding = Type.Object(
  {
    bed: Type.String(),
    from: EpochMs,
    to: Nullable(EpochMs),
  },
  { description: 'the case is bound to `bed` over [from, to); to is null while the case is open' },
);

export const CaseBody = Type.Object({
  id: Type.String(),
  bedId: Type.String({ description: 'the bed the case is bound to now (its last binding)' }),
  start: EpochMs,
  end: Nullable(EpochMs),
  status: Type.Union([Type.Literal('open'), Type.Literal('closed')]),
  externalIds: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'HIS/visit identifiers of the patient: absent for viewer tokens; every response that carries any is audited (case.read-identifiers)',
    }),
  ),
  createdAt: EpochMs,
  bindings: Type.Array(CaseBinding),
});

export const CreateCaseRequest = Type.Object(
  {
    bed: Id,
    start: Type.Optional(EpochMs),
    end: Type.Optional(EpochMs),
    externalIds: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 200 }))),
    replaces: Type.Optional(Replaces),
  },
  { additionalProperties: false },
);

export const CloseCaseRequest = Type.Optional(Type.Object({ end: Type.Optional(EpochMs) }));

export const MoveCaseRequest = Type.Object(
  {
    bed: Id,
    at: Type.Optional(EpochMs),
    replaces: Type.Optional(Replaces),
  },
  { additionalProperties: false },
);

export const CorrectCaseRequest = Type.Object(
  {
    start: Type.Optional(EpochMs),
    end: Type.Optional(EpochMs),
  },
  { additionalProperties: false, minProperties: 1 },
);

const Located = { device: Type.String(), site: Type.String(), room: Type.String(), bed: Type.String() };

export const TimelineBody = Type.Object({
  case: CaseBody,
  from: EpochMs,
  to: EpochMs,
  numerics: Type.Array(
    Type.Object({
      mdc: Nullable(Type.String()),
      code: Nullable(Type.Integer()),
      vendorCode: Type.String(),
      unit: Type.String(),
      device: Type.String(),
      label: Type.Optional(Type.String()),
      points: Type.Array(Type.Tuple([EpochMs, Nullable(Type.Number())]), { description: '[t, value]; value null = absent' }),
    }),
  ),
  waves: Type.Array(
    Type.Object({
      mdc: Nullable(Type.String()),
      vendorCode: Type.String(),
      unit: Type.String(),
      device: Type.String(),
      rateHz: Type.Number(),
      blocks: Type.Array(Type.Object({ t0: EpochMs, samples: Type.Array(Nullable(Type.Number())) })),
    }),
  ),
  alarms: Type.Array(
    Type.Object({
      kind: Type.Literal('alarm'),
      mdc: Nullable(Type.String()),
      code: Nullable(Type.Integer()),
      text: Type.String(),
      priority: Type.String(),
      source: Type.String(),
      phase: Type.String(),
      t: EpochMs,
      vendorCode: Type.Optional(Type.String()),
      ...Located,
    }),
  ),
  settings: Type.Array(
    Type.Object({
      kind: Type.Literal('setting'),
      name: Type.String(),
      value: Type.Union([Type.Number(), Type.String(), Type.Null()]),
      unit: Type.Optional(Type.String()),
      t: EpochMs,
      vendorCode: Type.Optional(Type.String()),
      ...Located,
    }),
  ),
  events: Type.Array(EventBody, { description: 'the case events (not deleted) with t in this page, ordered by t' }),
  wavesOmitted: Type.Optional(Type.String()),
  nextCursor: Type.Optional(Type.String({ description: 'present when the window holds more than this page: the page held cursor ≤ t < nextCursor' })),
  next: Type.Optional(Type.String({ description: 'path and query of the next page (same from, to, params, limit; cursor = nextCursor)' })),
});

export const LatestBody = Type.Object({
  bed: Type.String(),
  caseId: Nullable(Type.String({ description: 'the case bound to the bed now' })),
  caseSince: Nullable(Type.Integer({ minimum: 0, description: 'since when that case is bound to the bed (changes with every switch)' })),
  t: EpochMs,
  numerics: Type.Array(
    Type.Object({
      mdc: Nullable(Type.String()),
      code: Nullable(Type.Integer()),
      vendorCode: Type.String(),
      device: Type.String(),
      t: EpochMs,
      value: Nullable(Type.Number()),
      unit: Type.String(),
      flags: Type.Optional(Type.Array(Type.String())),
      caseId: Nullable(Type.String({ description: "the case bound to the bed at the reading's own time" })),
    }),
  ),
});

/** TypeBox schemas of case events (routes/events.ts, the timeline's `events`). */
import { Type } from '@sinclair/typebox';
import { EpochMs, Id } from '../routes/common.js';
import { EVENT_DATA_MAX_KEYS, EVENT_KINDS, EVENT_TEXT_MAX } from './event-kinds.js';

export const EventKindSchema = Type.Union(
  EVENT_KINDS.map((k) => Type.Literal(k)),
  { description: 'what happened' },
);

const Text = Type.String({ minLength: 1, maxLength: EVENT_TEXT_MAX, description: `free text (at most ${EVENT_TEXT_MAX} characters); never logged` });
// values Unknown, not a union: with fastify's type coercion a union would turn 2 into "2"; event-kinds.ts checks them
const Data = Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Unknown({ description: 'string (≤ 200 characters), number, boolean or null' }), {
  maxProperties: EVENT_DATA_MAX_KEYS,
  description: 'flat fields, e.g. a PACU score {"scheme": "steward", "consciousness": 2, "airway": 2, "movement": 1, "total": 5}',
});

export const EventParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'case id' }), eventId: Type.String({ maxLength: 64 }) });

export const EventBody = Type.Object({
  id: Type.String(),
  caseId: Type.String(),
  kind: EventKindSchema,
  t: EpochMs,
  text: Type.Optional(Type.String()),
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  bed: Type.Optional(Type.String({ description: 'pacu-in / in-room: the bed the case was moved to at t (unless already there)' })),
  createdAt: EpochMs,
  createdBy: Type.String(),
  updatedAt: Type.Optional(EpochMs),
  updatedBy: Type.Optional(Type.String()),
  deletedAt: Type.Optional(EpochMs),
  deletedBy: Type.Optional(Type.String()),
});

export const CreateEventRequest = Type.Object(
  {
    kind: EventKindSchema,
    t: EpochMs,
    text: Type.Optional(Text),
    data: Type.Optional(Data),
    bed: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const CorrectEventRequest = Type.Object(
  {
    t: Type.Optional(EpochMs),
    // null first: with fastify's type coercion a string branch first would turn null into ""
    text: Type.Optional(Type.Union([Type.Null(), Text], { description: 'null removes the text' })),
    data: Type.Optional(Type.Union([Type.Null(), Data], { description: 'null removes the data' })),
    kind: Type.Optional(Type.String({ maxLength: 32, description: 'not correctable (400): delete the event and add another' })),
    bed: Type.Optional(Type.String({ maxLength: 64, description: 'not correctable (400)' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

/**
 * Measurement artifacts injected into the physiology model's numerics, seeded and recorded with
 * their time spans, so a consumer (the anesthesia-record chart, ingest/src/chart/) can be tested
 * against a ground truth: the clean snapshot is what the patient did, the corrupted one is what the
 * monitor reported. Only when asked: the model and the simulators never inject anything by default.
 *
 *   art-flush        invasive line flushed: ART sys/dia/mean a non-pulsatile ~300 mmHg plateau, ART pulse
 *                    rate 0; then ARTIFACT_RECOVERY_S s of recovery (pulsatile, overshooting, decaying)
 *   art-zero         transducer opened to air for zeroing: ART a 0 mmHg plateau, pulse rate 0; same recovery
 *   spo2-dropout     probe off / no signal: SpO2 and oximeter pulse rate absent (null)
 *   spo2-motion      motion: SpO2 reads 3–12 % low and the oximeter pulse rate 30–60 /min above the heart rate
 *   ecg-cautery      electrocautery: ECG heart rate counts noise, 140–260 /min
 *   impossible-value a value no patient has: hr 320–400 /min, spo2 127 % (a common "invalid" sentinel)
 * Values are a pure function of (seed, time): the same spans and values whoever asks, in any order.
 */
import type { VitalKey } from './canonical.js';
import { hashUnit } from './random.js';
import type { VitalsSnapshot } from './vitals-model.js';

export const ARTIFACT_KINDS = ['art-flush', 'art-zero', 'spo2-dropout', 'spo2-motion', 'ecg-cautery', 'impossible-value'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** Seconds of transducer recovery after a flush or zeroing plateau (part of the artifact's span). */
export const ARTIFACT_RECOVERY_S = 5;

export interface ArtifactSpec {
  kind: ArtifactKind;
  /** start, device ms */
  at: number;
  /** length of the artifact proper, s (≥ 1); flush and zeroing add ARTIFACT_RECOVERY_S */
  durationS: number;
  /** impossible-value only: which vital (default hr) */
  vital?: 'hr' | 'spo2';
}

export interface ArtifactSpan {
  kind: ArtifactKind;
  /** [from, to) device ms, recovery included */
  from: number;
  to: number;
  /** the vitals whose reported values differ from the clean ones in the span */
  vitals: VitalKey[];
}

const ART: VitalKey[] = ['artSys', 'artDia', 'artMean', 'artPulseRate'];

function vitalsOf(s: ArtifactSpec): VitalKey[] {
  switch (s.kind) {
    case 'art-flush':
    case 'art-zero':
      return ART;
    case 'spo2-dropout':
    case 'spo2-motion':
      return ['spo2', 'pulseRate'];
    case 'ecg-cautery':
      return ['hr'];
    case 'impossible-value':
      return [s.vital ?? 'hr'];
  }
}

export class ArtifactInjector {
  private readonly list: { spec: ArtifactSpec; span: ArtifactSpan; stream: number }[];

  constructor(
    specs: readonly ArtifactSpec[],
    private readonly seed = 1,
  ) {
    this.list = specs.map((spec, i) => {
      if (!(spec.durationS >= 1) || !Number.isFinite(spec.at)) throw new RangeError(`artifact ${i}: durationS ≥ 1 and a finite start`);
      const rec = spec.kind === 'art-flush' || spec.kind === 'art-zero' ? ARTIFACT_RECOVERY_S : 0;
      return { spec, stream: 1000 + i, span: { kind: spec.kind, from: spec.at, to: spec.at + (spec.durationS + rec) * 1000, vitals: vitalsOf(spec) } };
    });
  }

  spans(): ArtifactSpan[] {
    return this.list.map((x) => ({ ...x.span, vitals: [...x.span.vitals] }));
  }

  /** The snapshot as the monitor reports it at its time (a copy; the clean one is untouched). */
  apply(clean: VitalsSnapshot): VitalsSnapshot {
    const t = clean.t;
    const values = { ...clean.values };
    for (const { spec, span, stream } of this.list) {
      if (t < span.from || t >= span.to) continue;
      const u = (k: number) => hashUnit(this.seed, stream * 16 + k, t);
      const plateauEnd = spec.at + spec.durationS * 1000;
      switch (spec.kind) {
        case 'art-flush':
        case 'art-zero': {
          if (t < plateauEnd) {
            const level = spec.kind === 'art-flush' ? 300 : 0;
            values.artSys = level + (u(0) - 0.5);
            values.artDia = level + (u(1) - 0.5);
            values.artMean = level + (u(2) - 0.5);
            values.artPulseRate = 0;
          } else {
            // recovery: pulsatile again, overshooting by a decaying ringing
            const k = (t - plateauEnd) / 1000;
            const over = (spec.kind === 'art-flush' ? 30 : -20) * Math.exp(-k / 2) + 2;
            for (const key of ['artSys', 'artDia', 'artMean'] as const) values[key] = (clean.values[key] ?? 0) + over;
            values.artPulseRate = (clean.values.artPulseRate ?? 0) + 2 + 3 * u(3);
          }
          break;
        }
        case 'spo2-dropout':
          values.spo2 = null;
          values.pulseRate = null;
          break;
        case 'spo2-motion':
          values.spo2 = (clean.values.spo2 ?? 98) - (3 + 9 * u(0));
          values.pulseRate = (clean.values.pulseRate ?? 72) + 30 + 30 * u(1);
          break;
        case 'ecg-cautery':
          values.hr = 140 + 120 * u(0);
          break;
        case 'impossible-value':
          if ((spec.vital ?? 'hr') === 'hr') values.hr = 320 + 80 * u(0);
          else values.spo2 = 127;
          break;
      }
    }
    return { ...clean, values };
  }
}

/**
 * A seeded schedule: `perKind` artifacts of each kind in `kinds` over [startMs, startMs + durationS),
 * in random order, non-overlapping, each 5–30 s (impossible values 1–3 s), with at least `gapS` s of
 * clean signal between two.
 */
export function artifactSchedule(
  seed: number,
  startMs: number,
  durationS: number,
  kinds: readonly ArtifactKind[] = ARTIFACT_KINDS,
  perKind = 2,
  gapS = 20,
): ArtifactSpec[] {
  const order: ArtifactKind[] = [];
  for (const k of kinds) for (let i = 0; i < perKind; i++) order.push(k);
  for (let i = order.length - 1; i > 0; i--) {
    // seeded shuffle
    const j = Math.floor(hashUnit(seed, 7, i) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const slot = Math.floor(durationS / Math.max(1, order.length));
  const specs: ArtifactSpec[] = [];
  order.forEach((kind, i) => {
    const len = kind === 'impossible-value' ? 1 + Math.floor(3 * hashUnit(seed, 8, i)) : 5 + Math.floor(26 * hashUnit(seed, 8, i));
    const room = slot - gapS - len - ARTIFACT_RECOVERY_S;
    if (room < 0) throw new RangeError(`artifactSchedule: ${durationS} s too short for ${order.length} artifacts`);
    const offset = Math.floor(hashUnit(seed, 9, i) * (room + 1));
    const spec: ArtifactSpec = { kind, at: startMs + (i * slot + gapS + offset) * 1000, durationS: len };
    if (kind === 'impossible-value') spec.vital = hashUnit(seed, 10, i) < 0.5 ? 'hr' : 'spo2';
    specs.push(spec);
  });
  return specs;
}

/** Deterministic result order shared by every reader: time, then device, then parameter. */
import type { SeriesResult } from './types.js';

const cmp = (a: string | null | undefined, b: string | null | undefined) => {
  const x = String(a ?? '');
  const y = String(b ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
};

export function assembleSorted(r: SeriesResult): SeriesResult {
  r.numerics.sort((a, b) => a.t - b.t || cmp(a.device, b.device) || cmp(a.mdc ?? a.vendorCode, b.mdc ?? b.vendorCode));
  r.waves.sort((a, b) => a.t0 - b.t0 || cmp(a.device, b.device) || cmp(a.mdc ?? a.vendorCode, b.mdc ?? b.vendorCode));
  r.alarms.sort((a, b) => a.t - b.t || cmp(a.device, b.device) || cmp(a.mdc, b.mdc));
  r.settings.sort((a, b) => a.t - b.t || cmp(a.device, b.device) || cmp(a.name, b.name));
  return r;
}

/**
 * HL7 DTM/TS → UTC epoch ms. `YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]`. A stated offset wins;
 * otherwise the profile's time zone applies: 'UTC', a fixed offset '+0100', or an IANA name
 * ('Europe/Berlin', DST-aware through Intl). Returns undefined for an unparseable stamp.
 */
const DTM = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/;
const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

function offsetMinutes(s: string): number | undefined {
  const m = OFFSET.exec(s);
  if (!m) return undefined;
  const v = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -v : v;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();

/** Offset (minutes east of UTC) of an IANA zone at a UTC instant. */
function zoneOffsetAt(zone: string, utcMs: number): number {
  let f = fmtCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    fmtCache.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(utcMs))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/** Throws RangeError for a zone that is neither UTC, an offset nor a known IANA name. */
export function checkTimeZone(zone: string): void {
  if (zone === 'UTC' || offsetMinutes(zone) !== undefined) return;
  new Intl.DateTimeFormat('en-US', { timeZone: zone });
}

export function parseHl7Time(s: string, zone = 'UTC'): number | undefined {
  const m = DTM.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', sec = '00', frac, off] = m;
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), frac ? Math.round(Number(`0.${frac}`) * 1000) : 0);
  if (Number.isNaN(local)) return undefined;
  if (off) return local - offsetMinutes(off)! * 60_000;
  if (zone === 'UTC') return local;
  const fixed = offsetMinutes(zone);
  if (fixed !== undefined) return local - fixed * 60_000;
  // IANA: guess with the offset at the local time, then correct once (DST edges).
  const guess = local - zoneOffsetAt(zone, local) * 60_000;
  return local - zoneOffsetAt(zone, guess) * 60_000;
}

/** UTC ms → HL7 DTM with an explicit offset, e.g. 20261122013855.250+0000 (or zone's offset). */
export function formatHl7Time(ms: number, zone = 'UTC', withMs = false): string {
  let off = 0;
  if (zone !== 'UTC') off = offsetMinutes(zone) ?? zoneOffsetAt(zone, ms);
  const d = new Date(ms + off * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  const frac = withMs ? `.${p(d.getUTCMilliseconds(), 3)}` : '';
  const a = Math.abs(off);
  return `${base}${frac}${off < 0 ? '-' : '+'}${p(Math.floor(a / 60))}${p(a % 60)}`;
}

/** Same as formatHl7Time without the offset (senders that state local time only). */
export function formatHl7LocalTime(ms: number, zone = 'UTC', withMs = false): string {
  return formatHl7Time(ms, zone, withMs).replace(/[+-]\d{4}$/, '');
}

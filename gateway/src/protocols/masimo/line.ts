/**
 * Masimo "ASCII 1" line codec, symmetric (the simulator encodes with the same table):
 *   MM/DD/YY HH:MM:SS KEY=VALUE KEY=VALUE ...
 * Tokens are read by KEY, never by column (the key set differs per model and firmware). Dashes
 * (`---`, `--.-`, `+--`) mean "not available"; a trailing `%` is stripped. ALARM/EXC/EXC1 are hex
 * bit fields of 2–8 digits. The device clock has no zone: it is read as UTC (see README).
 */
export type TokenValue = { kind: 'number'; value: number } | { kind: 'absent' } | { kind: 'text'; text: string };

export interface ParsedLine {
  tDevice: number;
  tokens: Map<string, string>;
  /** Malformed tokens (no KEY=VALUE shape): skipped, counted by the caller. */
  badTokens: number;
}

const HEAD = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?: +(.*))?$/;
const TOKEN = /^([A-Z][A-Z0-9_]*)=(\S+)$/;
const DASHES = /^[+-]?-+(?:\.-+)?%?$/;
const NUMBER = /^[+-]?\d+(?:\.\d+)?$/;
export const HEX_FIELDS = new Set(['ALARM', 'EXC', 'EXC1']);

export function parseLine(text: string): ParsedLine | { error: 'line-format' } {
  const m = HEAD.exec(text.trim());
  if (!m) return { error: 'line-format' };
  const [mo, d, y, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return { error: 'line-format' };
  const tDevice = Date.UTC(2000 + y, mo - 1, d, h, mi, s);
  if (new Date(tDevice).getUTCDate() !== d) return { error: 'line-format' };
  const tokens = new Map<string, string>();
  let badTokens = 0;
  for (const tok of (m[7] ?? '').split(/\s+/)) {
    if (!tok) continue;
    const t = TOKEN.exec(tok);
    if (!t || tokens.has(t[1])) badTokens++;
    else tokens.set(t[1], t[2]);
  }
  if (!tokens.size) return { error: 'line-format' };
  return { tDevice, tokens, badTokens };
}

/** A measurement token's value: number (`%` stripped), absent (dashes) or unreadable text. */
export function parseValue(raw: string): TokenValue {
  if (DASHES.test(raw)) return { kind: 'absent' };
  const v = raw.endsWith('%') ? raw.slice(0, -1) : raw;
  if (NUMBER.test(v)) return { kind: 'number', value: Number(v) };
  return { kind: 'text', text: raw };
}

/** A hex bit field; undefined when dashed or unreadable. */
export function parseHex(raw: string): number | undefined {
  return /^[0-9A-Fa-f]{1,8}$/.test(raw) ? parseInt(raw, 16) : undefined;
}

// ---- encoding (simulator, round trip) ----

const pad2 = (n: number): string => String(n).padStart(2, '0');

export function formatDeviceTime(tDevice: number): string {
  const d = new Date(tDevice);
  return `${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCFullYear() % 100)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** How a model prints one token: digits before/after the point, `%` suffix, explicit sign. */
export interface TokenFormat {
  int: number;
  dec?: number;
  pct?: boolean;
  sign?: boolean;
  hex?: boolean;
}

/** The text of one value as the device prints it; null → dashes of the same shape. */
export function formatValue(v: number | null, f: TokenFormat): string {
  if (f.hex) return (v ?? 0).toString(16).toUpperCase().padStart(f.int, '0');
  const txt = v === null ? '' : Math.abs(v).toFixed(f.dec ?? 0);
  const sign = f.sign ? (v !== null && v < 0 && Number(txt) !== 0 ? '-' : '+') : '';
  let body: string;
  if (v === null) body = '-'.repeat(f.int) + (f.dec ? `.${'-'.repeat(f.dec)}` : '');
  else {
    const [i, d] = txt.split('.');
    body = i.padStart(f.int, '0') + (d !== undefined ? `.${d}` : '');
  }
  return sign + body + (f.pct ? '%' : '');
}

export function encodeLine(tDevice: number, tokens: [string, string][]): string {
  return `${formatDeviceTime(tDevice)} ${tokens.map(([k, v]) => `${k}=${v}`).join(' ')}\r\n`;
}

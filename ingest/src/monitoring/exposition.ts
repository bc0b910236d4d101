/**
 * A reader of the Prometheus text exposition (format 0.0.4), for tests and tools: `# TYPE` lines and samples with
 * their labels. Strict enough to catch what Prometheus would refuse: a sample without a value, a malformed label set,
 * a metric whose TYPE appears twice.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseValue(v: string): number {
  // as Prometheus (Go's ParseFloat): NaN and Inf in any case (prom-client writes `Nan`)
  const l = v.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === '+inf' || l === 'inf') return Infinity;
  if (l === '-inf') return -Infinity;
  const n = Number(v);
  if (Number.isNaN(n)) throw new Error(`not a sample value: ${v}`);
  return n;
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < s.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(s);
    if (!m) throw new Error(`malformed labels at ${at}: ${s}`);
    out[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    if (m[3] === '') break;
  }
  return out;
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (types.has(name)) throw new Error(`TYPE of ${name} twice`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    samples.push({ name: m[1], labels: m[3] ? parseLabels(m[3]) : {}, value: parseValue(m[4]) });
  }
  return { types, samples };
}

/** the samples of `name` whose labels include `match` */
export function samplesOf(e: Exposition, name: string, match: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** the one sample of `name` matching `match` (undefined: none; throws when several match) */
export function valueOf(e: Exposition, name: string, match: Record<string, string> = {}): number | undefined {
  const found = samplesOf(e, name, match);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0]?.value;
}

/**
 * Debian's python3-hl7 (`/usr/bin/python3 -c 'import hl7'`, installed by .ci/run) as the independent
 * HL7 v2 parser the tests check our messages with: every segment as python-hl7 parses it, each field
 * as python-hl7 prints it (`str(segment[i])`, components still joined by `^`).
 */
import { spawnSync } from 'node:child_process';

export interface PySegment {
  id: string;
  f: Record<string, string>;
}

const SCRIPT = [
  'import sys, json, hl7',
  'm = hl7.parse(sys.stdin.read())',
  'out = []',
  'for s in m:',
  '    f = {}',
  '    for i in range(1, len(s)):',
  '        f[str(i)] = str(s[i])',
  '    out.append({"id": str(s[0]), "f": f})',
  'print(json.dumps(out))',
].join('\n');

/** Throws when python-hl7 cannot parse the message. */
export function pyParse(text: string): PySegment[] {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT], { input: text, encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`python3 hl7 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PySegment[];
}

/** Field `n` of the first segment `id` ('' when absent). */
export function pyField(segs: PySegment[], id: string, n: number): string {
  return segs.find((s) => s.id === id)?.f[String(n)] ?? '';
}

/** An ACK as python-hl7 reads it: [MSH-9, MSA-1, MSA-2, MSA-3, ERR-3.1]. */
export function pyAck(text: string): { type: string; code: string; controlId: string; text: string; errCode: string } {
  const s = pyParse(text);
  return {
    type: pyField(s, 'MSH', 9),
    code: pyField(s, 'MSA', 1),
    controlId: pyField(s, 'MSA', 2),
    text: pyField(s, 'MSA', 3),
    errCode: pyField(s, 'ERR', 3).split('^')[0],
  };
}

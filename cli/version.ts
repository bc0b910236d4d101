/**
 * `orlink --version`: the version of package.json, the Node.js runtime and, in a git checkout, the
 * commit (what a bug report needs). Reads files only: no network, no child process.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function packageVersion(root = ROOT): string {
  return String((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown }).version ?? '0.0.0');
}

/** the checked-out commit (short), from .git without running git; undefined outside a checkout */
export function gitCommit(root = ROOT): string | undefined {
  try {
    const gitDir = path.join(root, '.git');
    if (!existsSync(gitDir)) return undefined;
    const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head.slice(0, 12);
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    const loose = path.join(gitDir, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim().slice(0, 12);
    const packed = readFileSync(path.join(gitDir, 'packed-refs'), 'utf8')
      .split('\n')
      .find((l) => l.endsWith(` ${ref}`));
    return packed?.slice(0, 12);
  } catch {
    return undefined;
  }
}

/** one line: `orlink 0.1.0 (node v20.x, commit abc123def456)` */
export function versionLine(): string {
  const commit = gitCommit();
  return `orlink ${packageVersion()} (node ${process.version}${commit ? `, commit ${commit}` : ''})\n`;
}

/**
 * Files that hold readings (outbox segments, captures) are the owner's only: directories 0700,
 * files 0600, set explicitly with chmod/fchmod after creation because the process umask is not
 * ours to trust (a umask of 0 would leave 0666/0777). Used by the outbox and the recorder.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * mkdir -p with 0700 on every directory THIS call creates; an existing directory (a parent such
 * as /var/log, or the target itself) is left as it is. Returns whether the target was created.
 */
export function mkdirPrivate(dir: string): boolean {
  const target = path.resolve(dir);
  const first = fs.mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return false;
  const top = path.resolve(first);
  for (let d = target; ; d = path.dirname(d)) {
    fs.chmodSync(d, PRIVATE_DIR_MODE);
    if (d === top || path.dirname(d) === d) break;
  }
  return true;
}

/** fs.openSync that leaves the file at exactly 0600 (also a file that existed with wider bits). */
export function openPrivate(file: string, flags: string): number {
  const fd = fs.openSync(file, flags, PRIVATE_FILE_MODE);
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

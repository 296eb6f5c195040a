/**
 * Writing files so that nothing planted in their directory can redirect the write: every file is
 * first created under a fresh random name with O_CREAT|O_EXCL (which never follows a symlink, not
 * even a dangling one), written, then renamed over the target (rename replaces a planted symlink
 * itself, never what it points to).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { asInputError } from './input-file.js';

/** Creates a fresh, exclusively opened temporary file beside `target`; returns its path and fd. */
export function createTempBeside(target: string, what: string): { tmp: string; fd: number } {
  const dir = dirname(target);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw asInputError(err, `${what} folder`, dir);
  }
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      return { tmp, fd };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw asInputError(err, what, tmp);
    }
  }
}

/** Moves a finished temporary file over `target`; removes it if that fails. */
export function commitTemp(tmp: string, target: string, what: string): void {
  try {
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone: nothing to clean
    }
    throw asInputError(err, what, target);
  }
}

/** Writes `data` to `target` atomically and safely (see above). */
export function writeFileSafely(target: string, data: Uint8Array | string, what: string): void {
  const { tmp, fd } = createTempBeside(target, what);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw asInputError(err, what, target);
  }
  closeSync(fd);
  commitTemp(tmp, target, what);
}

/**
 * Opening files named from outside (logs, indexes, scripts) without trusting what is there:
 * never blocking on a FIFO, refusing devices and directories, and turning every filesystem error
 * into one line that names the file and the cause.
 */
import { type Stats, constants, fstatSync, openSync, closeSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** A file that cannot be used as asked: printed as `pagetrack: <message>`, exit status 2. */
export class InputError extends Error {
  constructor(
    readonly path: string,
    message: string,
    /** The errno code behind it, when a filesystem call failed. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

const ERRNO_TEXT = new Map<string, string>(Object.entries({
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links (a symlink loop?)',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  ENAMETOOLONG: 'the path is too long',
  ENXIO: 'no such device or address',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  EBUSY: 'device or resource busy',
  EIO: 'input/output error',
  EXDEV: 'on another file system',
  EFBIG: 'file too large',
  EINVAL: 'invalid argument',
}));

/** Whether `err` is a Node filesystem error (it has an errno code). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** `<what> <path>: <cause>`, e.g. `log run.log: is a directory`. */
export function fsErrorMessage(err: NodeJS.ErrnoException, what: string, path = err.path ?? ''): string {
  const code = err.code ?? '';
  return `${what} ${path}: ${ERRNO_TEXT.get(code) ?? err.message.replace(/^[A-Z]+: /, '')}${code ? ` (${code})` : ''}`;
}

/** Wraps a filesystem error as an InputError; anything else is passed on. */
export function asInputError(err: unknown, what: string, path: string): unknown {
  return isFsError(err) ? new InputError(path, fsErrorMessage(err, what, path), err.code) : err;
}

export type FileKind = 'regular' | 'fifo';

function kindProblem(st: Stats, allow: readonly FileKind[]): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO() && allow.includes('fifo')) return undefined;
  const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a regular file';
  return `is ${kind}, not a regular file${allow.includes('fifo') ? ' or a FIFO' : ''}`;
}

/**
 * Opens `path` for reading: without blocking (a FIFO with no writer would hang `open`), then
 * checks what it is. Symlinks are followed (the user named the path); what they lead to must
 * be a regular file (or, where allowed, a FIFO).
 */
export async function openInput(path: string, what: string, allow: readonly FileKind[] = ['regular']): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw asInputError(err, what, path);
  }
  try {
    const st = await fh.stat();
    const problem = kindProblem(st, allow);
    if (problem) throw new InputError(path, `${what} ${path}: ${problem}`);
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw asInputError(err, what, path);
  }
}

/** openInput's synchronous twin, for read-write opens (appending to a log). */
export function openInputSync(path: string, what: string, flags: number = constants.O_RDONLY): { fd: number; st: Stats } {
  let fd: number;
  try {
    fd = openSync(path, flags | constants.O_NONBLOCK);
  } catch (err) {
    throw asInputError(err, what, path);
  }
  try {
    const st = fstatSync(fd);
    const problem = kindProblem(st, ['regular']);
    if (problem) throw new InputError(path, `${what} ${path}: ${problem}`);
    return { fd, st };
  } catch (err) {
    closeSync(fd);
    throw asInputError(err, what, path);
  }
}

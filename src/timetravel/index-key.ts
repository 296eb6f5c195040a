/**
 * The secret that signs this user's indexes. An index is a cache of what a validated read of the
 * log proved; anyone who can write beside a log can write an index too, so an index is trusted
 * only when it carries an HMAC made with a key that only this user can read. The key lives in
 * the user's cache folder (`$PAGETRACK_CACHE_DIR`, else `$XDG_CACHE_HOME/pagetrack`, else
 * `~/.cache/pagetrack`), created once with mode 0600.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const KEY_BYTES = 32;

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PAGETRACK_CACHE_DIR) return env.PAGETRACK_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'pagetrack');
  return join(homedir(), '.cache', 'pagetrack');
}

export interface IndexKey {
  readonly key: Buffer;
  /** Why no lasting key could be kept (indexes signed with this one verify only in this process). */
  readonly ephemeral?: string;
}

let cached: IndexKey | undefined;

/** This user's index key: read, or created on first use; a process-local one if neither works. */
export function indexKey(): IndexKey {
  if (cached) return cached;
  const path = join(cacheDir(), 'index.key');
  try {
    cached = { key: readKey(path) ?? createKey(path) ?? readKey(path)! };
  } catch (err) {
    cached = { key: randomBytes(KEY_BYTES), ephemeral: `${path}: ${(err as Error).message}` };
  }
  return cached;
}

/** The key at `path`, or undefined when there is none; refuses a key others could read or write. */
function readKey(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== KEY_BYTES) throw new Error(`not a ${KEY_BYTES}-byte key file`);
    if ((st.mode & 0o077) !== 0) throw new Error('the key file is readable or writable by others (want mode 0600)');
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error('the key file belongs to another user');
    const key = Buffer.alloc(KEY_BYTES);
    if (readSync(fd, key, 0, KEY_BYTES, 0) !== KEY_BYTES) throw new Error('short key file');
    return key;
  } finally {
    closeSync(fd);
  }
}

/** Creates the key exclusively (a concurrent creator wins: undefined, read theirs). */
function createKey(path: string): Buffer | undefined {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  const key = randomBytes(KEY_BYTES);
  try {
    writeSync(fd, key);
  } finally {
    closeSync(fd);
  }
  return key;
}

export function sign(key: Buffer, payload: Uint8Array): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function signatureHolds(key: Buffer, payload: Uint8Array, mac: Uint8Array): boolean {
  const want = sign(key, payload);
  return mac.length === want.length && timingSafeEqual(want, mac);
}

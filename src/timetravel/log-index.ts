/**
 * The index beside a log (`LOG.idx`): checkpoints of every projection every `interval` events,
 * built in one validated pass over the log. It is a cache of what that pass proved, and is
 * trusted only as far as it can be checked (README, "The log file"):
 * - it is signed (HMAC-SHA256, this user's key: index-key.ts) and the signature is checked
 *   before a byte of it is deserialised, so a forged or corrupted index is never parsed;
 * - it names the log by size, head hash, device, inode and change time (a file's ctime moves on
 *   every write and cannot be set back), so an edited log never uses an index built before;
 * - each checkpoint carries the chain hash of the event it stands for, and every window read from
 *   it checks that the log's lines still chain from it;
 * - its shape is checked against bounds before use.
 * Anything that does not hold is said (onNote) and the index is rebuilt.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, rmSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { getProfile } from '../domain/profile.js';
import { MEM_MAX_NR_PAGES, MEM_SLOTS_NUM } from '../domain/constants.js';
import { InputError, asInputError, openInput } from '../io/input-file.js';
import { MAX_LINE_BYTES } from '../io/limits.js';
import { writeFileSafely } from '../io/safe-write.js';
import { LogError, PREV_END, PREV_PREFIX, hashLine } from '../log/format.js';
import { LogReader, type ReadProgress } from '../log/reader.js';
import { CHUNK_SHIFT } from '../projections/memslots.js';
import { PageTrackState } from '../projections/state.js';
import { type ArrayInfo, type Checkpoint, CheckpointWriter } from './checkpoint.js';
import { TOUCH_BITS, TouchCollector, type WindowTouches } from './touch-filter.js';
import { segmentProblem } from './gfn-postings.js';
import { cacheDir, indexKey, sign, signatureHolds } from './index-key.js';

export const INDEX_FORMAT = 'pagetrack-index';
export const INDEX_VERSION = 10;
/** Events between checkpoints; chosen by measurement (README, Performance). */
export const DEFAULT_INTERVAL = 25_000;
/** The file starts with this magic (its layout: saveIndex); earlier layouts start `PTIDX` too. */
const MAGIC = Buffer.from('PTIDX10\n', 'latin1');
const MAC_BYTES = 32;

export interface LogIdentity {
  readonly size: number;
  /** Hash of the last whole line. */
  readonly head: string;
  /** The file's device, inode and change time (nanoseconds), as decimal strings. */
  readonly dev: string;
  readonly ino: string;
  readonly ctimeNs: string;
}

export interface LogIndex {
  readonly format: typeof INDEX_FORMAT;
  readonly version: number;
  readonly log: LogIdentity & {
    readonly events: number;
    readonly commands: number;
    readonly profile: string;
    readonly created: string;
    /** A cut-off last line the build dropped (0 bytes: none). */
    readonly truncatedBytes: number;
    readonly truncatedLine: number;
  };
  readonly interval: number;
  readonly checkpoints: readonly Checkpoint[];
  /** Per window (checkpoint i to i + 1, the last to the end): which gfns it may touch (touch-filter.ts). */
  readonly touches: readonly WindowTouches[];
  readonly arrays: readonly ArrayInfo[];
}

/**
 * Where a log's index lives: `--index PATH` when given; else in $PAGETRACK_INDEX_DIR when set
 * (named after the log and a digest of its real path); else beside the log (`LOG.idx`).
 */
export function indexPathOf(log: string, explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const dir = process.env.PAGETRACK_INDEX_DIR;
  if (dir) return join(dir, `${basename(log)}.${digestOfPath(log)}.idx`);
  return `${log}.idx`;
}

/** The cache location used when the log's folder cannot be written (read-only media, another user's folder). */
export function fallbackIndexPath(log: string): string {
  return join(cacheDir(), 'indexes', `${basename(log)}.${digestOfPath(log)}.idx`);
}

function digestOfPath(log: string): string {
  let real: string;
  try {
    real = realpathSync(log);
  } catch {
    real = resolve(log);
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 16);
}

export interface IndexOptions {
  readonly interval?: number;
  readonly rebuild?: boolean;
  readonly onProgress?: (p: ReadProgress) => void;
  /** Told why an existing index was not used, or could not be saved. */
  readonly onNote?: (note: string) => void;
  /** Read size while building; checkpoints fall at the ends of reads (tests make it small). */
  readonly chunkBytes?: number;
  /** Where the index lives (`--index`); see indexPathOf. */
  readonly indexPath?: string;
}

/** One validated pass over the log: replay, checkpoint every `interval` events (at read ends). */
export async function buildIndex(log: string, options: IndexOptions = {}): Promise<LogIndex> {
  const interval = options.interval ?? DEFAULT_INTERVAL;
  const before = await identityStat(log);
  const reader = new LogReader(log, { lineOffsets: true, ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}) });
  const writer = new CheckpointWriter();
  const checkpoints: Checkpoint[] = [];
  const touched = new TouchCollector();
  const touches: WindowTouches[] = [];
  let state: PageTrackState | undefined;
  let since = 0;
  let last = { seq: 0, cmd: 0 };
  const first = (headerLine: { offset: number; hash: string }) => {
    state = new PageTrackState(getProfile(reader.header!.profile));
    checkpoints.push(writer.capture(state, { seq: 0, cmd: 0, offset: headerLine.offset, line: 2, prevHash: headerLine.hash }));
  };
  let ts: number | undefined;
  for await (const batch of reader.batches()) {
    if (!state) first(reader.headerLine!);
    state!.applyAll(batch);
    const offsets = reader.offsets;
    for (let i = 0; i < batch.length; i++) touched.see(batch[i]!, offsets[i]!);
    for (let i = batch.length - 1; i >= 0; i--) {
      const e = batch[i]!;
      if (e.type === 'command' && e.ts !== undefined) {
        ts = Number(e.ts);
        break;
      }
    }
    const e = batch[batch.length - 1]!;
    last = { seq: e.seq, cmd: e.cmd };
    since += batch.length;
    if (since >= interval) {
      touches.push(touched.take(checkpoints.at(-1)!.offset));
      checkpoints.push(writer.capture(state!, { ...last, offset: reader.at.bytes, line: reader.at.line, prevHash: reader.at.hash, ...(ts !== undefined ? { ts } : {}) }));
      since = 0;
    }
  }
  const summary = reader.summary!;
  if (!state) first(reader.headerLine!);
  touches.push(touched.take(checkpoints.at(-1)!.offset)); // the last window: to the end
  const after = await identityStat(log);
  if (after.size !== before.size || after.ctimeNs !== before.ctimeNs) throw new LogError(log, 0, 'the log changed while its index was being built; try again once it is finished');
  return {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    log: {
      ...after,
      head: summary.headHash,
      events: summary.events,
      commands: last.cmd,
      profile: summary.header.profile,
      created: summary.header.created,
      truncatedBytes: summary.truncated?.bytes ?? 0,
      truncatedLine: summary.truncated?.line ?? 0,
    },
    interval,
    checkpoints,
    touches,
    arrays: writer.arrays,
  };
}

/**
 * Where a segment lies in the file, after the head: a checkpoint's SPTEs, a window's Bloom bits
 * or its postings. They are nearly all of an index's bytes, and a command restores one or a few
 * checkpoints and asks about one gfn, so each is read and checked (its own HMAC, named by the
 * signed head) only when used. (The bits were 11 of a 14.5 MB head that every command read and
 * checked: ~70 ms of its start on this machine.)
 */
interface StoredBytes {
  readonly at: number;
  readonly bytes: number;
  readonly mac: Uint8Array;
}

const HEAD_AT = MAGIC.length + MAC_BYTES + 8;

/**
 * Writes the signed index beside the log (never through a planted link: src/io/safe-write.ts).
 * The file: MAGIC, the HMAC of (head length, head), the head length (u64 LE), the head (the
 * v8-serialised index, each segment replaced by where it lies), then the segments.
 */
export function saveIndex(log: string, index: LogIndex, path = indexPathOf(log)): void {
  const { key } = indexKey();
  const segments: Buffer[] = [];
  let at = 0;
  const stored = (b: ArrayBufferView): StoredBytes => {
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    const s = { at, bytes: bytes.length, mac: sign(key, bytes) };
    segments.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    at += bytes.length;
    return s;
  };
  const checkpoints = index.checkpoints.map((cp) => ({ ...cp, small: { ...cp.small, sptes: stored(cp.small.sptes) } }));
  const touches = index.touches.map((t) => ({ ...t, bits: stored(t.bits), ...(t.postings ? { postings: stored(t.postings) } : {}) }));
  const head = serialize({ ...index, checkpoints, touches });
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(head.length));
  const signed = Buffer.concat([length, head]);
  writeFileSafely(path, Buffer.concat([MAGIC, sign(key, signed), signed, ...segments]), 'index');
}

/** The open index file behind a loaded index's SPTE segments (closeIndex closes it). */
const OPEN = new WeakMap<LogIndex, number>();

/** Closes the file a loaded index reads its SPTEs from (TimeMachine.close). */
export function closeIndex(index: LogIndex): void {
  const fd = OPEN.get(index);
  if (fd === undefined) return;
  OPEN.delete(index);
  closeSync(fd);
}

/**
 * Makes each checkpoint's `small.sptes` and each window's `bits` and `postings` read their
 * segment (checked against its HMAC) on first use, through `fd`, the file the head was read from:
 * a rebuild that replaces the index meanwhile (another command) does not pull them from under it.
 */
function attachSegments(index: LogIndex, fd: number, path: string, base: number, key: Buffer): void {
  OPEN.set(index, fd);
  /** `owner[prop]`, a StoredBytes, becomes a getter of `decode` of the segment's bytes. */
  const lazy = <T>(owner: object, prop: string, what: string, decode: (bytes: Buffer) => T): void => {
    const stored = (owner as Record<string, unknown>)[prop] as StoredBytes | undefined;
    if (!stored) return;
    let loaded: T | undefined;
    Object.defineProperty(owner, prop, {
      enumerable: true,
      get(): T {
        if (loaded !== undefined) return loaded;
        const bytes = Buffer.alloc(stored.bytes); // never pooled: offset 0, aligned for a Float64Array
        if (readSync(fd, bytes, 0, bytes.length, base + stored.at) !== bytes.length || !signatureHolds(key, bytes, stored.mac)) {
          // A cache that does not hold is dropped (if it is still the file opened), so the next command rebuilds it.
          const opened = fstatSync(fd);
          const now = statSync(path, { throwIfNoEntry: false });
          if (now && now.ino === opened.ino && now.dev === opened.dev) rmSync(path, { force: true });
          throw new InputError(path, `the index ${path} was changed after it was opened (${what} do not hold its signature); it was removed: run the command again to rebuild it`);
        }
        return (loaded = decode(bytes));
      },
    });
  };
  for (const cp of index.checkpoints) lazy(cp.small, 'sptes', `the SPTEs of its checkpoint at e${cp.seq}`, (b) => new Float64Array(b.buffer, b.byteOffset, b.length / 8));
  for (const [w, t] of index.touches.entries()) {
    const window = `its window after e${index.checkpoints[w]!.seq}`;
    lazy(t, 'bits', `the filter bits of ${window}`, (b) => b);
    lazy(t, 'postings', `the postings of ${window}`, (b) => {
      const bad = segmentProblem(b);
      if (bad) throw new InputError(path, `the index ${path} is damaged: the postings of ${window} are malformed (${bad}); run the command with --rebuild-index`);
      return b;
    });
  }
}

const isStoredBytes = (x: unknown, room: number): boolean => {
  const s = x as StoredBytes;
  return typeof s === 'object' && s !== null && isNat(s.at) && isNat(s.bytes) && s.at + s.bytes <= room && s.mac instanceof Uint8Array && s.mac.length === MAC_BYTES;
};

export type LoadedIndex = { readonly index: LogIndex } | { readonly missing: true } | { readonly problem: string };

/** The index beside `log` if it is there, signed by this user, well formed and still names this log. */
export async function loadIndex(log: string, path = indexPathOf(log)): Promise<LoadedIndex> {
  const id = await identityStat(log);
  let bytes: Buffer;
  let room = 0;
  let headIno = 0;
  let headDev = 0;
  try {
    const { fh, size } = await openInput(path, 'index');
    try {
      const st = await fh.stat();
      headIno = st.ino;
      headDev = st.dev;
      // An index is far smaller than 16 bytes per byte of its log; bound the read before making it.
      const limit = 64 * 2 ** 20 + 16 * id.size;
      if (size > limit) return { problem: `it is ${size} bytes, more than an index of this ${id.size}-byte log can be` };
      // Only the head is read now; the SPTE segments after it when a checkpoint is restored.
      const lead = Buffer.alloc(Math.min(size, HEAD_AT));
      await fh.read(lead, 0, lead.length, 0);
      if (lead.length >= MAGIC.length && lead.subarray(0, 5).toString('latin1') === 'PTIDX' && !lead.subarray(0, MAGIC.length).equals(MAGIC)) {
        const layout = (b: Buffer) => b.subarray(0, MAGIC.length).toString('latin1').replace(/[\n\0]+$/, '');
        return { problem: `it was built by another version of pagetrack (index layout ${layout(lead)}; this one reads ${layout(MAGIC)})` };
      }
      const headBytes = lead.length === HEAD_AT ? lead.readBigUInt64LE(HEAD_AT - 8) : 0n;
      if (headBytes > BigInt(size - HEAD_AT)) return { problem: 'it is cut short (its head is longer than the file)' };
      bytes = Buffer.alloc(HEAD_AT + Number(headBytes));
      lead.copy(bytes);
      const { bytesRead } = await fh.read(bytes, HEAD_AT, bytes.length - HEAD_AT, HEAD_AT);
      if (bytesRead !== bytes.length - HEAD_AT) return { problem: 'it changed while being read' };
      room = size - bytes.length;
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof InputError && err.code === 'ENOENT') return { missing: true };
    if (err instanceof InputError) return { problem: err.message };
    throw err;
  }
  if (bytes.length < HEAD_AT || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return { problem: 'it is not a pagetrack index of this version' };
  const mac = bytes.subarray(MAGIC.length, MAGIC.length + MAC_BYTES);
  const signed = bytes.subarray(MAGIC.length + MAC_BYTES);
  const payload = bytes.subarray(HEAD_AT);
  const key = indexKey();
  if (!signatureHolds(key.key, signed, mac)) return { problem: `its signature does not hold: it was not written by this user's pagetrack${key.ephemeral ? ` (no lasting key: ${key.ephemeral})` : ''}, or it was changed since` };
  let index: LogIndex;
  try {
    index = deserialize(payload) as LogIndex;
  } catch (err) {
    return { problem: `it cannot be read (${(err as Error).message})` };
  }
  if (typeof index === 'object' && index !== null && index.format === INDEX_FORMAT && index.version !== INDEX_VERSION) {
    return { problem: `it was built by another version of pagetrack (index version ${String(index.version)}; this one reads version ${INDEX_VERSION})` };
  }
  const bad = shapeProblem(index, room);
  if (bad) return { problem: `it is damaged: ${bad}` };
  // The SPTE segments are read later through a descriptor of this very file (not its path).
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { problem: `it cannot be opened again (${(err as Error).message})` };
  }
  const st = fstatSync(fd);
  if (!st.isFile() || st.ino !== headIno || st.dev !== headDev) {
    closeSync(fd);
    return { problem: 'it changed while being read' };
  }
  attachSegments(index, fd, path, bytes.length, key.key);
  const now = await identify(log);
  for (const k of ['size', 'ino', 'dev', 'ctimeNs', 'head'] as const) {
    if (now[k] !== index.log[k]) return { problem: `the log changed since it was built (${k === 'ctimeNs' ? 'change time' : k === 'ino' ? 'inode' : k === 'dev' ? 'device' : k === 'head' ? 'last line' : 'size'} differs)` };
  }
  const unbound = await unboundCheckpoint(log, index);
  if (unbound !== undefined) return { problem: `checkpoint ${unbound} does not stand at a line of this log that chains from its hash` };
  return { index };
}

/** Loads the index, or builds and saves it when it is missing or does not hold (saying why). */
export async function openIndex(log: string, options: IndexOptions = {}): Promise<{ index: LogIndex; built: boolean }> {
  const path = indexPathOf(log, options.indexPath);
  // An index the folder could not take earlier sits in the cache: look there too (not when one was named).
  const places = options.indexPath === undefined ? [path, fallbackIndexPath(log)] : [path];
  if (!options.rebuild) {
    for (const [i, place] of places.entries()) {
      const loaded = await loadIndex(log, place);
      if ('index' in loaded && (options.interval === undefined || options.interval === loaded.index.interval)) return { index: loaded.index, built: false };
      if ('index' in loaded) closeIndex(loaded.index); // another interval: rebuilt below
      if ('problem' in loaded) options.onNote?.(`rebuilding the index ${place}: ${loaded.problem}`);
      if (!('missing' in loaded) || i > 0) break;
    }
  }
  const index = await buildIndex(log, options);
  try {
    saveIndex(log, index, path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (options.indexPath === undefined && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')) {
      try {
        saveIndex(log, index, places[1]);
        options.onNote?.(`the index could not be written beside the log (${code}); it is kept in ${places[1]}`);
        return { index, built: true };
      } catch {
        // said below
      }
    }
    options.onNote?.(`the index could not be saved (${(err as Error).message}); it is used from memory this time`);
  }
  return { index, built: true };
}

async function identityStat(log: string): Promise<Omit<LogIdentity, 'head'>> {
  let st;
  try {
    st = await stat(log, { bigint: true });
  } catch (err) {
    throw asInputError(err, 'log', log);
  }
  return { size: Number(st.size), dev: String(st.dev), ino: String(st.ino), ctimeNs: String(st.ctimeNs) };
}

/** A log's identity: its file's and the hash of its last whole line, read from its end only. */
export async function identify(log: string): Promise<LogIdentity> {
  const id = await identityStat(log);
  const { fh, size } = await openInput(log, 'log');
  try {
    // A log line is at most MAX_LINE_BYTES: a longer tail is no log's (the reader says so).
    for (let block = 1 << 16; ; block *= 4) {
      const start = Math.max(0, size - block);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      const lastNl = buf.lastIndexOf(10);
      const prevNl = lastNl > 0 ? buf.lastIndexOf(10, lastNl - 1) : -1;
      if (lastNl >= 0 && (prevNl >= 0 || start === 0)) return { ...id, head: hashLine(buf.subarray(prevNl + 1, lastNl)) };
      if (start === 0 || block > 4 * MAX_LINE_BYTES) return { ...id, head: '' };
    }
  } finally {
    await fh.close();
  }
}

/**
 * The first checkpoint whose offset is not the start of a line naming the checkpoint's hash as
 * its prev (`\n["<prevHash>",`), or undefined: a few bytes read per checkpoint bind each one to
 * its place in the log.
 */
async function unboundCheckpoint(log: string, index: LogIndex): Promise<number | undefined> {
  const { fh, size } = await openInput(log, 'log');
  const wholeEnd = size - index.log.truncatedBytes;
  try {
    const buf = Buffer.alloc(PREV_END + 3);
    for (const [i, cp] of index.checkpoints.entries()) {
      // At the end of the whole lines there is no next line: the hash must be the log's head.
      if (cp.offset === wholeEnd) {
        if (cp.prevHash !== index.log.head) return i;
        continue;
      }
      // Synchronous: hundreds of checkpoints each awaiting a read on libuv's pool cost ~50 ms of
      // waiting at every command's start; these reads of a few bytes take ~2 ms together.
      const bytesRead = readSync(fh.fd, buf, 0, buf.length, cp.offset - 1);
      if (bytesRead !== buf.length || buf[0] !== 10 || buf.toString('latin1', 1) !== `${PREV_PREFIX}${cp.prevHash}",`) return i;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

const isNat = (x: unknown, max = Number.MAX_SAFE_INTEGER): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 && x <= max;

/**
 * What is wrong with a deserialised index's shape, or undefined. Bounds every size and index a
 * restore would allocate or loop over, so even a signed index cannot make it run away.
 */
/** What is wrong with an index's shape, or undefined; `room`: the bytes after a stored index's head (its SPTE segments), for one read from a file. */
export function shapeProblem(index: LogIndex, room?: number): string | undefined {
  if (typeof index !== 'object' || index === null) return 'not an object';
  if (index.format !== INDEX_FORMAT || index.version !== INDEX_VERSION) return `format ${String(index.format)} version ${String(index.version)}`;
  const log = index.log;
  if (typeof log !== 'object' || log === null || !isNat(log.size) || !isNat(log.events) || !isNat(log.commands) || typeof log.profile !== 'string') return 'its log identity is malformed';
  if (!isNat(index.interval) || index.interval === 0) return 'its interval is not a positive integer';
  if (!Array.isArray(index.arrays)) return 'its array list is malformed';
  for (const a of index.arrays) {
    if (typeof a !== 'object' || a === null || typeof a.key !== 'string' || (a.bytesPerEntry !== 2 && a.bytesPerEntry !== 4) || !isNat(a.length, MEM_MAX_NR_PAGES)) return 'an array entry is malformed';
  }
  const cps = index.checkpoints;
  if (!Array.isArray(cps) || cps.length === 0) return 'it has no checkpoints';
  let prev: Checkpoint | undefined;
  for (const [i, cp] of cps.entries()) {
    if (typeof cp !== 'object' || cp === null || !isNat(cp.seq, log.events) || !isNat(cp.cmd) || !isNat(cp.offset, log.size) || !isNat(cp.line) || typeof cp.prevHash !== 'string') return `checkpoint ${i} is malformed`;
    if (i === 0 ? cp.seq !== 0 : cp.seq <= prev!.seq || cp.offset <= prev!.offset || cp.line <= prev!.line || cp.cmd < prev!.cmd) return `checkpoint ${i} is out of order`;
    if (!(cp.dir instanceof Int32Array) || cp.dir.length % 3 !== 0 || !(cp.data instanceof Uint8Array)) return `checkpoint ${i}'s chunks are malformed`;
    for (let d = 0; d < cp.dir.length; d += 3) {
      const a = index.arrays[cp.dir[d]!];
      const c = cp.dir[d + 1]!;
      const off = cp.dir[d + 2]!;
      if (!a || c < 0 || c << CHUNK_SHIFT >= a.length || off < 0) return `checkpoint ${i} names a chunk that does not exist`;
      const bytes = (Math.min(a.length, (c + 1) << CHUNK_SHIFT) - (c << CHUNK_SHIFT)) * a.bytesPerEntry;
      if (off + bytes > cp.data.length) return `checkpoint ${i}'s chunk data is short`;
    }
    const small = cp.small;
    if (typeof small !== 'object' || small === null || !Array.isArray(small.slots) || small.slots.length > 2 * MEM_SLOTS_NUM) return `checkpoint ${i}'s state is malformed`;
    for (const m of small.slots) {
      if (!Array.isArray(m) || m.length !== 9 || !m.every((x) => isNat(x)) || m[3]! > MEM_MAX_NR_PAGES || m[7]! > m[3]! + 1 || m[8]! > m[3]! + 1) return `checkpoint ${i} holds a malformed slot`;
    }
    if (!(room === undefined ? small.sptes instanceof Float64Array : isStoredBytes(small.sptes, room) && (small.sptes as unknown as StoredBytes).bytes % 8 === 0) || !(small.sps instanceof Float64Array) || small.sps.length % 6 !== 0) return `checkpoint ${i}'s SPTEs or shadow pages are malformed`;
    if (!Array.isArray(small.notifiers) || typeof small.tallies !== 'object' || small.tallies === null) return `checkpoint ${i}'s notifiers or tallies are malformed`;
    if (typeof small.vm !== 'object' || small.vm === null || !Array.isArray(small.vm.warnSites)) return `checkpoint ${i}'s VM state is malformed`;
    if (!Array.isArray(small.holders) || !(small.holders as unknown[]).every((h: unknown) => Array.isArray(h) && h.length === 5 && Number.isSafeInteger(h[0]) && Number.isSafeInteger(h[1]) && Number.isSafeInteger(h[2]) && typeof h[3] === 'string' && Number.isSafeInteger(h[4])))
      return `checkpoint ${i}'s holders are malformed`;
    prev = cp;
  }
  if (!Array.isArray(index.touches) || index.touches.length !== index.checkpoints.length) return 'its window filters do not match its checkpoints';
  for (const t of index.touches as unknown[]) {
    if (typeof t !== 'object' || t === null || typeof (t as WindowTouches).always !== 'boolean') return 'a window filter is malformed';
    const { bits, postings } = t as { bits: unknown; postings?: unknown };
    if (room === undefined ? !(bits instanceof Uint8Array) || bits.length !== TOUCH_BITS / 8 : !isStoredBytes(bits, room) || (bits as StoredBytes).bytes !== TOUCH_BITS / 8) return 'a window filter is malformed';
    if (postings !== undefined && (room === undefined ? !Buffer.isBuffer(postings) : !isStoredBytes(postings, room))) return "a window's postings are malformed";
  }
  return undefined;
}

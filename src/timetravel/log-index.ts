/**
 * The index beside a log (`LOG.idx`): checkpoints of every projection every `interval` events,
 * built in one validated pass over the log. It names the log by size and head hash and is
 * rebuilt when either changes. Stored with v8 serialisation (typed arrays are copied as bytes);
 * it is a cache: any index that cannot be read is rebuilt.
 */
import { open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import { getProfile } from '../domain/profile.js';
import { hashLine } from '../log/format.js';
import { LogReader, type ReadProgress } from '../log/reader.js';
import { PageTrackState } from '../projections/state.js';
import { type ArrayInfo, type Checkpoint, CheckpointWriter } from './checkpoint.js';

export const INDEX_FORMAT = 'pagetrack-index';
export const INDEX_VERSION = 4;
/** Events between checkpoints; chosen by measurement (README, Performance). */
export const DEFAULT_INTERVAL = 50_000;

export interface LogIdentity {
  readonly size: number;
  /** Hash of the last whole line. */
  readonly head: string;
}

export interface LogIndex {
  readonly format: typeof INDEX_FORMAT;
  readonly version: number;
  readonly log: LogIdentity & { readonly events: number; readonly commands: number; readonly profile: string; readonly truncatedBytes: number };
  readonly interval: number;
  readonly checkpoints: readonly Checkpoint[];
  readonly arrays: readonly ArrayInfo[];
}

export const indexPathOf = (log: string): string => `${log}.idx`;

/** One pass over the log: validate, replay, checkpoint every `interval` events (at chunk ends). */
export interface IndexOptions {
  readonly interval?: number;
  readonly rebuild?: boolean;
  readonly onProgress?: (p: ReadProgress) => void;
  /** Read size while building; checkpoints fall at the ends of reads (tests make it small). */
  readonly chunkBytes?: number;
}

export async function buildIndex(log: string, options: IndexOptions = {}): Promise<LogIndex> {
  const interval = options.interval ?? DEFAULT_INTERVAL;
  const reader = new LogReader(log, { ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}) });
  const writer = new CheckpointWriter();
  const checkpoints: Checkpoint[] = [];
  let state: PageTrackState | undefined;
  let since = 0;
  let last = { seq: 0, cmd: 0 };
  for await (const batch of reader.batches()) {
    if (!state) {
      state = new PageTrackState(getProfile(reader.header!.profile));
      const headerBytes = (await readHead(log)).headerBytes;
      checkpoints.push(writer.capture(state, { seq: 0, cmd: 0, offset: headerBytes, line: 2 }));
    }
    state.applyAll(batch);
    const e = batch[batch.length - 1]!;
    last = { seq: e.seq, cmd: e.cmd };
    since += batch.length;
    if (since >= interval) {
      checkpoints.push(writer.capture(state, { ...last, offset: reader.at.bytes, line: reader.at.line }));
      since = 0;
    }
  }
  const summary = reader.summary!;
  if (!state) {
    state = new PageTrackState(getProfile(summary.header.profile));
    checkpoints.push(writer.capture(state, { seq: 0, cmd: 0, offset: summary.bytes, line: 2 }));
  }
  const size = (await stat(log)).size;
  return {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    log: { size, head: summary.headHash, events: summary.events, commands: last.cmd, profile: summary.header.profile, truncatedBytes: summary.truncated?.bytes ?? 0 },
    interval,
    checkpoints,
    arrays: writer.arrays,
  };
}

export async function saveIndex(log: string, index: LogIndex): Promise<void> {
  const path = indexPathOf(log);
  await writeFile(`${path}.tmp`, serialize(index));
  await rename(`${path}.tmp`, path);
}

/** The index beside `log` if it is there, readable and still names this log; else undefined. */
export async function loadIndex(log: string): Promise<LogIndex | undefined> {
  let index: LogIndex;
  try {
    index = deserialize(await readFile(indexPathOf(log))) as LogIndex;
  } catch {
    return undefined;
  }
  if (index?.format !== INDEX_FORMAT || index.version !== INDEX_VERSION) return undefined;
  const id = await identify(log);
  return id.size === index.log.size && id.head === index.log.head ? index : undefined;
}

/** Loads the index, or builds and saves it when it is missing or stale. */
export async function openIndex(log: string, options: IndexOptions = {}): Promise<{ index: LogIndex; built: boolean }> {
  if (!options.rebuild) {
    const index = await loadIndex(log);
    if (index && (options.interval === undefined || options.interval === index.interval)) return { index, built: false };
  }
  const index = await buildIndex(log, options);
  await saveIndex(log, index);
  return { index, built: true };
}

/** A log's size and the hash of its last whole line, read from its end only. */
export async function identify(log: string): Promise<LogIdentity> {
  const { size } = await stat(log);
  const fh = await open(log, 'r');
  try {
    for (let block = 1 << 16; ; block *= 4) {
      const start = Math.max(0, size - block);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      const lastNl = buf.lastIndexOf(10);
      const prevNl = lastNl > 0 ? buf.lastIndexOf(10, lastNl - 1) : -1;
      if (lastNl >= 0 && (prevNl >= 0 || start === 0)) return { size, head: hashLine(buf.subarray(prevNl + 1, lastNl)) };
      if (start === 0) return { size, head: '' };
    }
  } finally {
    await fh.close();
  }
}

async function readHead(log: string): Promise<{ headerBytes: number }> {
  const fh = await open(log, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { headerBytes: buf.subarray(0, bytesRead).indexOf(10) + 1 };
  } finally {
    await fh.close();
  }
}

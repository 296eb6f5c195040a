/**
 * The reading half of ingest: the trace's bytes (a file or standard input; plain, gzip or zstd)
 * split into lines, its format detected, other events counted by name, and each page-tracking
 * line's header located, so that what is left for the model's thread is a batch of lines with
 * their fields' offsets. It runs in a worker thread of its own (feed-worker.ts) or, where there
 * is none, in the caller's (the batches are the same).
 */
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { openInput } from '../io/input-file.js';
import { type LineChunk, lineChunks } from '../io/lines.js';
import { FORMATS, type FormatName, PAGE_TRACKING_EVENTS, detectFormat } from './formats/registry.js';
import { newHeaderScan, scanTracefsHeader } from './formats/tracefs.js';
import { isError, newWalkScan, scanEmulate, scanPagingElement, scanWalk } from './payloads.js';
import { storeWidth } from './insn.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** Page-tracking event names by their code in a batch (the model's thread gets one string per name). */
export const EVENT_CODES: readonly string[] = [...PAGE_TRACKING_EVENTS];

/**
 * What an entry of a batch is: a page-tracking line whose header was located (its fields are
 * offsets); a line the model's thread parses itself (another format, an unusual shape, a header
 * line); a line over the cap (its length in `nums`); the line carried over from the chunk before
 * (the batch's `head`, parsed by the model's thread); a scanned kernel-format walk or paging
 * element whose payload was decoded here too (its numbers in the last three ints); a scanned
 * kernel-format kvm_emulate_insn decoded here (failed, and the store's width, in the last ints).
 */
export const EntryKind = { Scanned: 0, Text: 1, TooLong: 2, Head: 3, Walk: 4, Element: 5, Emulate: 6 } as const;
type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

/**
 * Ints per entry in `ints`: kind, start, end, taskStart, taskEnd, tsStart, tsEnd, payloadStart,
 * pid, cpu, event code, and for Walk/Element the payload's high and low halves (as int32) and
 * its small number (WalkScan).
 */
export const STRIDE = 14;
const WALK = EVENT_CODES.indexOf('kvm_mmu_pagetable_walk');
const ELEMENT = EVENT_CODES.indexOf('kvm_mmu_paging_element');
const EMULATE = EVENT_CODES.indexOf('kvm_emulate_insn');

export interface FeedBatch {
  readonly format: FormatName;
  readonly compression: Compression;
  /** Bytes read so far, and the file's size (0 when unknown: a pipe). */
  readonly read: number;
  readonly totalBytes: number;
  /** Lines this batch covers (every line, counted or not). */
  readonly lines: number;
  /**
   * The chunk's text as bytes (latin1: ASCII, where a byte offset is a string offset; else
   * UTF-8), read through BatchText. Bytes, not a string: a thread hands bytes over for nothing,
   * where a string costs the receiver ~6 ms a MiB, and decoding a whole chunk costs ~3 ms a MiB
   * (a string over ~128 KiB is a large object) where the model's thread needs a fifth of it.
   */
  readonly bytes: Uint8Array;
  readonly latin1: boolean;
  readonly head?: string;
  readonly entries: number;
  readonly ints: Int32Array;
  /** Per entry: its line number, and (TooLong) its length. */
  readonly nums: Float64Array;
  /** Other events seen in this batch's lines, by name: counted, not sent. */
  readonly others: ReadonlyArray<readonly [string, number]>;
}

const DETECT_LINES = 200;
/** Bytes read at once: a batch each (every message between threads costs ~0.3 ms on a 2-core host, so they are few). */
const READ_BYTES = 1 << 22;
const EVENT_NAME = /^[A-Za-z_]\w*$/;
/** Other events' names kept in the table (a trace has tens; a hostile one may have any number). */
const MAX_NAMES = 4096;

/**
 * Event names found in place: the page-tracking ones first (their index is their code), then
 * every other name as it is first seen. A line's name is compared where it stands, with the
 * names of its length, so the common line costs no string.
 */
class EventNames {
  readonly names: string[] = [...EVENT_CODES];
  private readonly byLength: number[][] = [];
  constructor() {
    this.names.forEach((n, i) => this.index(n, i));
  }
  private index(name: string, id: number): void {
    (this.byLength[name.length] ??= []).push(id);
  }
  /** The id of the ASCII name b[start, end), adding it when there is room; -1 when it is not there. */
  find(b: Uint8Array, start: number, end: number): number {
    const same = this.byLength[end - start];
    if (same !== undefined) {
      for (const id of same) {
        const name = this.names[id]!;
        let i = 0;
        while (i < name.length && b[start + i] === name.charCodeAt(i)) i++;
        if (i === name.length) return id;
      }
    }
    if (this.names.length >= MAX_NAMES + EVENT_CODES.length) return -1;
    const id = this.names.length;
    const name = String.fromCharCode(...b.subarray(start, end)); // at most a line's worth of word characters
    this.names.push(name);
    this.index(name, id);
    return id;
  }
}

/** A batch's text, read where it stands: pieces are cut from the bytes, never the whole decoded. */
export class BatchText {
  private readonly buf: Buffer;
  private readonly text: string | undefined;
  constructor(b: Pick<FeedBatch, 'bytes' | 'latin1'>) {
    this.buf = Buffer.from(b.bytes.buffer, b.bytes.byteOffset, b.bytes.byteLength);
    this.text = b.latin1 ? undefined : this.buf.toString('utf8');
  }
  slice(a: number, z: number): string {
    return this.text === undefined ? this.buf.toString('latin1', a, z) : this.text.slice(a, z);
  }
  /** Whether [a, z) holds s (the task of the line before, mostly). */
  holds(a: number, z: number, s: string): boolean {
    if (z - a !== s.length) return false;
    if (this.text !== undefined) return this.text.startsWith(s, a);
    const buf = this.buf;
    for (let i = 0; i < s.length; i++) if (buf[a + i] !== s.charCodeAt(i)) return false;
    return true;
  }
}

/** Chunks read before the format was known, as one (a few hundred lines: copying them is nothing). */
function joinChunks(chunks: readonly LineChunk[]): LineChunk {
  if (chunks.length === 1) return chunks[0]!;
  const bounds: number[] = [];
  const texts: string[] = [];
  let base = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.bounds.length; i += 2) {
      const a = c.bounds[i]!;
      const z = c.bounds[i + 1]!;
      if (a === -1) bounds.push(-1, z);
      else {
        const t = a === -2 ? c.head! : c.text.slice(a, z);
        texts.push(t);
        bounds.push(base, base + t.length);
        base += t.length + 1;
      }
    }
  }
  return { text: texts.join('\n'), firstLine: chunks[0]?.firstLine ?? 1, count: bounds.length / 2, bounds: Int32Array.from(bounds) };
}

/** The batches of a trace, one per chunk read. */
export async function* traceFeed(input: string, forced?: FormatName, scanning = true): AsyncGenerator<FeedBatch> {
  let compression: Compression = 'none';
  let read = 0;
  let totalBytes = 0;
  let formatName: FormatName | undefined = forced;
  const known = new Set<string>(); // other events' names already checked
  const names = new EventNames();
  const counts: number[] = []; // per name id, in the batch being built
  const scan = newHeaderScan();
  const walk = newWalkScan();

  const batchOf = (c: LineChunk): FeedBatch => {
    const format = FORMATS[formatName!];
    const ascii = scanning && formatName === 'tracefs' && c.raw?.latin1 ? c.raw.bytes : undefined;
    const ints = new Int32Array(c.count * STRIDE);
    const nums = new Float64Array(c.count * 2);
    const others = new Map<string, number>();
    let n = 0;
    for (let i = 0; i < c.count; i++) {
      const a = c.bounds[2 * i]!;
      const z = c.bounds[2 * i + 1]!;
      const at = n * STRIDE;
      nums[n * 2] = c.firstLine + i;
      if (a === -1) {
        ints[at] = EntryKind.TooLong;
        nums[n * 2 + 1] = z;
        n++;
        continue;
      }
      // tracefs lines of the common shape, in an ASCII chunk: located in its bytes, so the
      // model's thread only cuts out the fields it needs.
      if (ascii !== undefined && a >= 0 && scanTracefsHeader(ascii, scan, a, z)) {
        const id = names.find(ascii, scan.eventStart, scan.eventEnd);
        if (id >= EVENT_CODES.length) {
          counts[id] = (counts[id] ?? 0) + 1;
          continue;
        }
        if (id >= 0) {
          ints[at] = EntryKind.Scanned;
          // The hottest payloads are decoded here too (a line that does not decode stays Scanned: the full decoder words its error).
          if ((id === WALK && scanWalk(ascii, scan.payloadStart, z, walk)) || (id === ELEMENT && scanPagingElement(ascii, scan.payloadStart, z, walk))) {
            ints[at] = id === WALK ? EntryKind.Walk : EntryKind.Element;
            ints[at + 11] = walk.high;
            ints[at + 12] = walk.low;
            ints[at + 13] = walk.small;
          } else if (id === EMULATE) {
            const insn = scanEmulate(ascii, scan.payloadStart, z);
            if (!isError(insn)) {
              ints[at] = EntryKind.Emulate;
              ints[at + 11] = insn.failed ? 1 : 0;
              ints[at + 12] = storeWidth(insn);
            }
          }
          ints[at + 1] = a;
          ints[at + 2] = z;
          ints[at + 3] = scan.taskStart;
          ints[at + 4] = scan.taskEnd;
          ints[at + 5] = scan.tsStart;
          ints[at + 6] = scan.tsEnd;
          ints[at + 7] = scan.payloadStart;
          ints[at + 8] = scan.pid;
          ints[at + 9] = scan.cpu;
          ints[at + 10] = id;
          n++;
          continue;
        }
      }
      const text = a === -2 ? c.head! : c.text.slice(a, z);
      const quick = format.eventOf(text);
      if (quick !== undefined && !PAGE_TRACKING_EVENTS.has(quick) && (known.has(quick) || (EVENT_NAME.test(quick) && known.add(quick)))) {
        others.set(quick, (others.get(quick) ?? 0) + 1);
        continue;
      }
      ints[at] = a === -2 ? EntryKind.Head : EntryKind.Text;
      ints[at + 1] = a;
      ints[at + 2] = z;
      n++;
    }
    for (let id = EVENT_CODES.length; id < counts.length; id++) {
      if (counts[id]) others.set(names.names[id]!, (others.get(names.names[id]!) ?? 0) + counts[id]!);
      counts[id] = 0;
    }
    const entries = ints.slice(0, n * STRIDE);
    // Buffers of their own, transferable (Buffer.from may share a pool, a read stream its chunk).
    const bytes = c.raw ? new Uint8Array(c.raw.bytes) : new TextEncoder().encode(c.text);
    return { format: formatName!, compression, read, totalBytes, lines: c.count, bytes, latin1: c.raw?.latin1 ?? false, ...(c.head !== undefined ? { head: c.head } : {}), entries: n, ints: entries, nums: nums.slice(0, n * 2), others: [...others] };
  };

  /** The format from the first DETECT_LINES lines that are not over the cap (as the full grammar would see them). */
  const detect = (c: LineChunk): FormatName => {
    const texts: string[] = [];
    for (let i = 0; i < c.count && texts.length < DETECT_LINES; i++) if (c.bounds[2 * i]! !== -1) texts.push(c.bounds[2 * i] === -2 ? c.head! : c.text.slice(c.bounds[2 * i], c.bounds[2 * i + 1]));
    return detectFormat(texts);
  };

  const early: LineChunk[] = [];
  let earlyLines = 0;
  const bytes = inputBytes(input, (c) => (compression = c), (n) => (read += n), (size) => (totalBytes = size));
  for await (const c of lineChunks(bytes)) {
    if (formatName !== undefined) {
      yield batchOf(c);
      continue;
    }
    early.push(c);
    for (let i = 0; i < c.count; i++) if (c.bounds[2 * i]! !== -1) earlyLines++;
    if (earlyLines < DETECT_LINES) continue;
    const all = joinChunks(early.splice(0));
    formatName = detect(all);
    yield batchOf(all);
  }
  if (formatName === undefined || early.length > 0) {
    const all = joinChunks(early.splice(0));
    formatName ??= detect(all);
    yield batchOf(all);
  }
}

/** Bytes of the input, decompressed when it starts with gzip's or zstd's magic. */
async function* inputBytes(path: string, onCompression: (c: Compression) => void, onRead: (n: number) => void, onSize: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let stream: AsyncIterable<Buffer>;
  let close = async () => {};
  if (path === '-') stream = process.stdin;
  else {
    // Opened once: a FIFO must not be opened and closed for its size first.
    const { fh, size } = await openInput(path, 'trace', ['regular', 'fifo']);
    onSize(size);
    stream = fh.createReadStream({ autoClose: false, highWaterMark: READ_BYTES });
    close = () => fh.close();
  }
  try {
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const head: Buffer = first.value;
    const rest = async function* () {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
    };
    if (head[0] === 0x1f && head[1] === 0x8b) {
      onCompression('gzip');
      const gunzip = createGunzip();
      const feed = (async () => {
        for await (const b of rest()) {
          onRead(b.length);
          if (!gunzip.write(b)) await new Promise((res) => gunzip.once('drain', res));
        }
        gunzip.end();
      })();
      feed.catch((err: unknown) => gunzip.destroy(err as Error));
      for await (const b of gunzip) yield b as Buffer;
      await feed;
    } else if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
      onCompression('zstd');
      const out: Uint8Array[] = [];
      const z = new ZstdDecompress((chunk) => out.push(chunk));
      for await (const b of rest()) {
        onRead(b.length);
        z.push(b);
        while (out.length) yield out.shift()!;
      }
      z.push(new Uint8Array(0), true);
      while (out.length) yield out.shift()!;
    } else {
      onCompression('none');
      for await (const b of rest()) {
        onRead(b.length);
        yield b;
      }
    }
  } finally {
    await close();
  }
}


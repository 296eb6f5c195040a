/**
 * Streams a log with bounded memory: chunks of the file are split into lines, parsed, upcast,
 * validated and chain-checked, and handed out as batches of events. Line hashes are computed in
 * a worker thread on large files, in parallel with parsing on the main thread.
 */
import { Worker } from 'node:worker_threads';
import type { PageTrackEvent } from '../events/types.js';
import { LogError, type LogHeader, hashLine, parseHeader } from './format.js';
import { EventLineDecoder, isInvalid } from './event-line.js';
import { UPCASTERS, type UpcasterRegistry } from './upcast.js';
import { EventValidator } from './validate.js';
import { openInput } from '../io/input-file.js';
import { MAX_LINE_BYTES } from '../io/limits.js';
import { tooLongReason } from '../io/lines.js';

export interface ReadProgress {
  readonly bytes: number;
  readonly totalBytes: number;
  readonly events: number;
}

export interface ReadOptions {
  /** Check each event's schema and history (default true); the chain and sequence are always checked. */
  readonly validate?: boolean;
  readonly upcasters?: UpcasterRegistry;
  readonly onProgress?: (p: ReadProgress) => void;
  /** Check the chain (hash lines) in a worker thread: default for files over 8 MiB. */
  readonly hashWorker?: boolean;
  readonly chunkBytes?: number;
  /**
   * Start mid-log, at the line holding event `seq + 1` (a checkpoint an index vouches for): the
   * chain continues from `prevHash` (the hash of the line before), the sequence from seq and
   * cmd. History checks need the whole log, so only the schema and the chain are checked.
   */
  readonly start?: ReadStart;
  /** The validator to use, kept by the caller (`audit --checkpoint` saves it); with `start`, one that saw every event before it, so history checks go on. */
  readonly validator?: EventValidator;
  /** With `start`: the log's header (read earlier), which the mid-log read does not see. */
  readonly header?: LogHeader;
  /**
   * Read these bytes instead of the file at `path` (which then only names the source in
   * errors): the lines of a log arriving another way (a JetStream subject, src/fleet), read
   * with the same parsing, validation and chain checks as a file.
   */
  readonly source?: ByteSource;
  /** Fill `offsets` with each yielded event's line start (the index's postings need them). */
  readonly lineOffsets?: boolean;
}

/** A log's bytes from somewhere else than a file: `read` gives 0 at the end (a FileHandle is one). */
export interface ByteSource {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

export interface ReadStart {
  readonly offset: number;
  readonly line: number;
  readonly prevHash: string;
  readonly seq: number;
  readonly cmd: number;
}

/** What a finished read saw. */
export interface ReadSummary {
  readonly header: LogHeader;
  readonly events: number;
  /** Hash of the last whole line: what the next event's `prev` must be. */
  readonly headHash: string;
  readonly bytes: number;
  /** A cut-off last line (the writer died mid-append): its line number and byte count; not read. */
  readonly truncated?: { readonly line: number; readonly bytes: number };
}

/** The chain over a run of whole lines, as checked by `checkChain`. */
interface ChainResult {
  /** Hash of the last line: the next line's prev. */
  readonly last: string;
  /** The first line (0-based in the run) whose prev is not the hash of the line before it. */
  readonly broken?: { readonly index: number; readonly expected: string; readonly found: string };
}

/**
 * Checks that each "\n"-ended line's prev (characters 2..44) is the hash of the line before it;
 * `prev` is the hash of the line before the run. Self-contained: its source also runs in the
 * worker thread.
 */
function checkChain(bytes: Uint8Array, prev: string, hashOf: (b: Uint8Array) => string, skipFirst: boolean): ChainResult {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  let index = 0;
  let broken: ChainResult['broken'];
  for (;;) {
    const q = b.indexOf(10, p);
    if (q < 0) break;
    if (!broken && !(skipFirst && index === 0)) {
      const found = b.toString('latin1', p + 2, Math.min(p + 45, q));
      if (found !== prev) broken = { index, expected: prev, found };
    }
    prev = hashOf(bytes.subarray(p, q));
    p = q + 1;
    index++;
  }
  return broken ? { last: prev, broken } : { last: prev };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const hashOf = (b) => hash('sha256', b, 'base64url');
${checkChain.toString()}
let prev = workerData.prev;
parentPort.on('message', ({ id, buf, len, skipFirst }) => {
  const result = checkChain(new Uint8Array(buf, 0, len), prev, hashOf, skipFirst);
  prev = result.last;
  parentPort.postMessage({ id, result, buf }, [buf]); // handed back for the next run
});`;

/** Checks the chain run by run, in order, carrying the last hash from one run to the next. */
interface ChainChecker {
  check(bytes: Uint8Array, skipFirst: boolean): Promise<ChainResult>;
  close(): Promise<unknown>;
}

class InlineChain implements ChainChecker {
  constructor(private prev = '') {}
  check(bytes: Uint8Array, skipFirst: boolean): Promise<ChainResult> {
    const r = checkChain(bytes, this.prev, hashLine, skipFirst);
    this.prev = r.last;
    return Promise.resolve(r);
  }
  close(): Promise<unknown> {
    return Promise.resolve();
  }
}

/** The chain checked in a worker thread, one request per chunk, in parallel with parsing. */
class ChainWorker implements ChainChecker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, (r: ChainResult) => void>();
  private next = 0;
  /**
   * Buffers the worker handed back: each run is copied into one and transferred, so a 1 GB
   * read does not allocate (and fault in, and make the GC count) a fresh 1 GB.
   */
  private readonly spare: ArrayBuffer[] = [];
  /** `prev`: the hash of the line before the first one checked (a read that starts mid-log). */
  constructor(prev = '') {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { prev } });
    this.worker.on('message', ({ id, result, buf }: { id: number; result: ChainResult; buf: ArrayBuffer }) => {
      if (this.spare.length < 4) this.spare.push(buf);
      this.waiting.get(id)!(result);
      this.waiting.delete(id);
    });
  }
  check(bytes: Uint8Array, skipFirst: boolean): Promise<ChainResult> {
    const id = this.next++;
    let buf = this.spare.pop();
    if (!buf || buf.byteLength < bytes.length) buf = new ArrayBuffer(Math.max(bytes.length, buf?.byteLength ?? 0));
    new Uint8Array(buf, 0, bytes.length).set(bytes);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, buf, len: bytes.length, skipFirst }, [buf]);
    });
  }
  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Reads one log. Iterate `batches()` once; `summary` is set when it ends. The first problem
 * (malformed line, broken chain, gap, invalid field) throws a LogError naming file and line.
 */
export class LogReader {
  summary: ReadSummary | undefined;
  header: LogHeader | undefined;
  /** Where the events handed out so far end: the byte offset and line number of the next line, and the hash of the line before it. */
  readonly at = { bytes: 0, line: 1, hash: '' };
  /** Where the header line ends and its hash (the first event's prev). */
  headerLine: { readonly offset: number; readonly hash: string } | undefined;
  /** With `lineOffsets`: the byte offset of each event's line in the batch last yielded. */
  offsets: number[] = [];

  constructor(
    readonly path: string,
    private readonly options: ReadOptions = {},
  ) {}

  async *batches(): AsyncGenerator<PageTrackEvent[]> {
    const { path } = this;
    const validate = this.options.validate !== false;
    const upcasters = this.options.upcasters ?? UPCASTERS;
    const chunkBytes = this.options.chunkBytes ?? 1 << 20;
    const start = this.options.start;
    // A source's size is unknown (0: no share in the progress, no hash worker unless asked).
    const { fh, size: totalBytes }: { fh: ByteSource; size: number } = this.options.source ? { fh: this.options.source, size: 0 } : await openInput(path, 'log');
    const chain: ChainChecker = (this.options.hashWorker ?? (!start && totalBytes > 8 << 20)) ? new ChainWorker(start?.prevHash) : new InlineChain(start?.prevHash);
    const validator = this.options.validator ?? new EventValidator({ schema: validate, ...(start ? { history: false, after: start } : {}) });
    const decoder = new EventLineDecoder(upcasters);
    let carry: Buffer = Buffer.alloc(0);
    let position = start?.offset ?? 0;
    let eof = false;
    let lineNo = start ? start.line - 1 : 0;
    let posted = start !== undefined; // the first run starts with the header, which has no prev
    let events = 0;
    let consumed = position;
    let prevHash = start?.prevHash ?? '';
    if (start) this.header = this.options.header;
    /** Set when a line grows past the cap: it is reported when the reading gets there. */
    let tooLong = 0;
    const ring: Buffer[] = [];
    let reads = 0;
    /** The next run of whole lines, with its chain check already posted (so it runs ahead). */
    const nextRun = async (): Promise<{ whole: Buffer; chain: Promise<ChainResult> } | undefined> => {
      while (!eof) {
        if (carry.length > MAX_LINE_BYTES) {
          tooLong = carry.length; // a line no writer makes: stop before reading (and copying) more of it
          return undefined;
        }
        // Read straight after the carried partial line: no copy of the whole chunk. Two buffers
        // take turns (one parsed while the next is read): nothing parsed keeps a view of them.
        const need = carry.length + chunkBytes;
        const turn = reads++ % 2;
        if ((ring[turn]?.length ?? 0) < need) ring[turn] = Buffer.allocUnsafeSlow(need);
        const buffer = ring[turn]!;
        carry.copy(buffer, 0);
        const { bytesRead } = await fh.read(buffer, carry.length, chunkBytes, position);
        position += bytesRead;
        if (bytesRead === 0) {
          eof = true;
          break;
        }
        const data = buffer.subarray(0, carry.length + bytesRead);
        const lastNl = data.lastIndexOf(10);
        if (lastNl < 0) {
          carry = Buffer.from(data);
          continue;
        }
        const whole = data.subarray(0, lastNl + 1);
        carry = Buffer.from(data.subarray(lastNl + 1));
        const first = !posted;
        posted = true;
        return { whole, chain: chain.check(whole, first) };
      }
      return undefined;
    };
    /** The read in flight, waited for before the file is closed, however the reading ends. */
    let ahead: Promise<Awaited<ReturnType<typeof nextRun>>> | undefined;
    try {
      let run = await nextRun();
      while (run) {
        ahead = nextRun(); // read and chain-check the next run while this one is parsed
        const { whole } = run;
        const first = lineNo + 1;
        const batch: PageTrackEvent[] = [];
        const offsets: number[] | undefined = this.options.lineOffsets ? [] : undefined;
        let failure: LogError | undefined;
        let lines = 0;
        for (let p = 0; p < whole.length; lines++) {
          const n = first + lines;
          const lineStart = p;
          if (n === 1) {
            // The header: the one line that is not an event.
            const q = whole.indexOf(10, p);
            if (q - p > MAX_LINE_BYTES) {
              failure = new LogError(path, n, tooLongReason(q - p));
              break;
            }
            const line = whole.toString('utf8', p, q);
            p = q + 1;
            this.header = parseHeader(line, path);
            this.headerLine = { offset: p, hash: hashLine(line) };
            continue;
          }
          const e = decoder.decode(whole, p);
          p = decoder.end + 1;
          if (isInvalid(e)) {
            failure = new LogError(path, n, e.reason, e.field);
            break;
          }
          const bad = validator.check(e);
          if (bad) {
            failure = new LogError(path, n, bad.reason, bad.field);
            break;
          }
          batch.push(e);
          offsets?.push(consumed + lineStart);
        }
        // The first problem in line order wins: a broken link before a bad line is reported first.
        const c = await run.chain;
        if (c.broken && (!failure || first + c.broken.index < failure.line)) {
          const n = first + c.broken.index;
          throw new LogError(path, n, `chain broken: expected the hash of line ${n - 1} (${c.broken.expected}), found ${c.broken.found}`, 'prev');
        }
        if (failure) throw failure;
        prevHash = c.last;
        lineNo += lines;
        consumed += whole.length;
        this.at.bytes = consumed;
        this.at.line = lineNo + 1;
        this.at.hash = prevHash;
        events += batch.length;
        this.options.onProgress?.({ bytes: consumed, totalBytes, events });
        if (offsets) this.offsets = offsets;
        if (batch.length) yield batch;
        run = await ahead;
      }
      if (tooLong) throw new LogError(path, lineNo + 1, `the line is longer than the limit of ${MAX_LINE_BYTES} bytes (${tooLong} bytes read without an end of line); no pagetrack log line is that long`);
      if (!this.header) throw new LogError(path, 1, totalBytes === 0 ? 'the log is empty' : 'the log has no whole header line');
      this.summary = {
        header: this.header,
        events,
        headHash: prevHash,
        bytes: consumed,
        ...(carry.length ? { truncated: { line: lineNo + 1, bytes: carry.length } } : {}),
      };
    } finally {
      await ahead?.catch(() => undefined);
      await fh.close();
      await chain.close();
    }
  }
}

/** Reads a whole log into memory (small logs, tests). */
export async function readAllEvents(path: string, options?: ReadOptions): Promise<{ events: PageTrackEvent[]; summary: ReadSummary }> {
  const reader = new LogReader(path, options);
  const events: PageTrackEvent[] = [];
  for await (const b of reader.batches()) for (const e of b) events.push(e);
  return { events, summary: reader.summary! };
}



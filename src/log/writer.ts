import { closeSync, constants, fsyncSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { openInputSync } from '../io/input-file.js';
import { MAX_LINE_BYTES } from '../io/limits.js';
import { commitTemp, createTempBeside } from '../io/safe-write.js';
import { Worker } from 'node:worker_threads';
import type { EventSink } from '../events/event-log.js';
import type { PageTrackEvent } from '../events/types.js';
import { EventEncoder } from './codec.js';
import { LogError, type LogHeader, creationTime, hashLine, headerLine, parseHeader } from './format.js';

/** Where an existing log ends: what a writer reopened for append continues from. */
export interface LogTail {
  readonly header: LogHeader;
  /** Hash of the last whole line: the next event's `prev`. */
  readonly headHash: string;
  /** The last event's seq and cmd (0 and -1 when the log has only its header). */
  readonly lastSeq: number;
  readonly lastCmd: number;
  /** Bytes of a cut-off last line that reopening removed (0 when the log ended cleanly). */
  readonly repairedBytes: number;
}

/** Pieces of this many bytes of encoded events are chained and written at once. */
const PIECE_BYTES = 1 << 20;
/** Past this many events a writer moves chaining and file writes to a worker thread. */
const WORKER_AFTER_EVENTS = 50_000;

/**
 * Turns a piece of "\n"-ended event bodies `[seq,...]` into chained lines `["prev",seq,...]`,
 * each prev the hash of the line before. Self-contained: its source also runs in the worker.
 */
function chainPiece(bodies: Uint8Array, lines: number, prev: string, hashOf: (b: Uint8Array) => string): { bytes: Uint8Array; prev: string } {
  const out = new Uint8Array(bodies.length + lines * (prev.length + 3));
  let o = 0;
  let p = 0;
  while (p < bodies.length) {
    const start = o;
    out[o++] = 91; // [
    out[o++] = 34; // "
    for (let i = 0; i < prev.length; i++) out[o++] = prev.charCodeAt(i);
    out[o++] = 34;
    out[o++] = 44; // ,
    p++; // the body's own [
    let b = bodies[p++]!;
    while (b !== 10) {
      out[o++] = b;
      b = bodies[p++]!;
    }
    prev = hashOf(out.subarray(start, o));
    out[o++] = 10;
  }
  return { bytes: out.subarray(0, o), prev };
}

/** Writes all of `bytes` at `offset` (writeSync may write less than asked); returns the new end. Self-contained, like chainPiece. */
function writeAllAt(write: typeof writeSync, fd: number, bytes: Uint8Array, offset: number): number {
  for (let off = 0; off < bytes.length; ) {
    const n = write(fd, bytes, off, bytes.length - off, offset);
    off += n;
    offset += n;
  }
  return offset;
}

/**
 * The worker half of a large write: it chains and writes the pieces the main thread encoded
 * (transferred, not copied), so encoding and hashing run on two cores.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const { writeSync, fsyncSync } = require('node:fs');
const hashOf = (b) => hash('sha256', b, 'base64url');
${chainPiece.toString()}
${writeAllAt.toString()}
let { fd, offset, prev } = workerData;
parentPort.on('message', (m) => {
  try {
    if (m.buf !== undefined) {
      const r = chainPiece(new Uint8Array(m.buf, 0, m.length), m.lines, prev, hashOf);
      prev = r.prev;
      offset = writeAllAt(writeSync, fd, r.bytes, offset);
    } else if (m.close) {
      fsyncSync(fd);
      parentPort.postMessage({ done: true, prev, offset });
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});`;

/** Where a writer hands work over (tests move both to exercise every path on small logs). */
export interface WriterTuning {
  /** Encoded bytes chained and written (or posted to the worker) at once. */
  readonly pieceBytes?: number;
  readonly workerAfterEvents?: number;
}

/**
 * Appends events to a log file, chaining each line to the one before. Lines are buffered and
 * written whole, so a crash leaves at most one cut-off line, which `openForAppend` repairs.
 * Small logs are chained and written on the calling thread; past WORKER_AFTER_EVENTS events the
 * chaining and writing move to a worker thread.
 */
export class LogWriter implements EventSink {
  private readonly encoder = new EventEncoder(PIECE_BYTES + (1 << 16));
  private closed = false;
  /** Where the next write goes: the end of the file. */
  private offset = 0;
  private events = 0;
  private worker: Worker | undefined;
  private workerError: string | undefined;
  private done: Promise<{ prev: string }> | undefined;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private prev: string,
    private readonly tuning: WriterTuning = {},
  ) {}

  /** Creates (or replaces) a log with a fresh header. */
  static create(path: string, profile: string, created = creationTime(), tuning?: WriterTuning): LogWriter {
    // A fresh file, renamed into place once it has its header: a planted link at `path` is
    // replaced, never followed (src/io/safe-write.ts); the writer goes on through the descriptor.
    const { tmp, fd } = createTempBeside(path, 'log');
    const header = headerLine(profile, created);
    const w = new LogWriter(path, fd, hashLine(header), tuning);
    try {
      w.write(Buffer.from(header + '\n', 'utf8'));
      commitTemp(tmp, path, 'log');
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return w;
  }

  /**
   * Opens an existing log to append to it. A cut-off last line (the writer died mid-append) is
   * cut away first; no whole event is lost.
   */
  static openForAppend(path: string): { writer: LogWriter; tail: LogTail } {
    const { fd, st } = openInputSync(path, 'log', constants.O_RDWR);
    try {
      const size = st.size;
      const { end, lastLine, firstLine } = lastWholeLine(fd, size, path);
      if (end < size) ftruncateSync(fd, end);
      const header = parseHeader(firstLine, path);
      let lastSeq = 0;
      let lastCmd = -1;
      if (end > firstLine.length + 1) {
        let last: unknown;
        try {
          last = JSON.parse(lastLine);
        } catch {
          last = undefined;
        }
        const [, seq, cmd] = Array.isArray(last) ? (last as unknown[]) : [];
        if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(cmd)) throw new LogError(path, 0, 'the last whole line is not an event (verify the log)');
        lastSeq = seq as number;
        lastCmd = cmd as number;
      }
      const headHash = hashLine(lastLine);
      const writer = new LogWriter(path, fd, headHash);
      writer.offset = end;
      return { writer, tail: { header, headHash, lastSeq, lastCmd, repairedBytes: size - end } };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  append(batch: readonly PageTrackEvent[]): void {
    if (this.closed) throw new Error(`${this.path}: append after close`);
    if (this.workerError) throw new Error(`${this.path}: the log writer failed: ${this.workerError}`);
    this.events += batch.length;
    for (let i = 0; i < batch.length; i++) this.encoder.event(batch[i]!);
    if (this.encoder.pos >= (this.tuning.pieceBytes ?? PIECE_BYTES)) this.ship();
    if (!this.worker && this.events >= (this.tuning.workerAfterEvents ?? WORKER_AFTER_EVENTS)) this.startWorker();
  }

  /** Writes everything appended so far and closes the file; resolves to the head hash. */
  async close(): Promise<string> {
    if (this.closed) return this.prev;
    this.closed = true;
    try {
      this.ship();
      if (this.worker) {
        this.worker.postMessage({ close: true });
        const r = await this.done!;
        this.prev = r.prev;
        await this.worker.terminate();
      } else fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
    if (this.workerError) throw new Error(`${this.path}: the log writer failed: ${this.workerError}`);
    return this.prev;
  }

  /** Chains and writes the encoded piece: here, or (handed over without a copy) on the worker. */
  private ship(): void {
    if (this.encoder.lines === 0) return;
    const { bytes, lines } = this.encoder.take();
    if (this.worker) {
      this.worker.postMessage({ buf: bytes.buffer, length: bytes.length, lines }, [bytes.buffer as ArrayBuffer]);
      return;
    }
    const r = chainPiece(bytes, lines, this.prev, hashLine);
    this.prev = r.prev;
    this.write(r.bytes);
  }

  private startWorker(): void {
    this.ship();
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { fd: this.fd, offset: this.offset, prev: this.prev } });
    this.done = new Promise((resolve, reject) => {
      worker.on('message', (m: { done?: boolean; prev: string; error?: string }) => {
        if (m.error) {
          this.workerError = m.error;
          reject(new Error(m.error));
        } else if (m.done) resolve(m);
      });
      worker.on('error', reject);
    });
    this.done.catch(() => {}); // surfaced by append/close
    this.worker = worker;
  }

  private write(bytes: Uint8Array): void {
    this.offset = writeAllAt(writeSync, this.fd, bytes, this.offset);
  }

}


/** Finds the end of the last whole line (just past its "\n"), that line, and the first line. */
function lastWholeLine(fd: number, size: number, path: string): { end: number; lastLine: string; firstLine: string } {
  const head = Buffer.alloc(Math.min(size, 1 << 16));
  readSync(fd, head, 0, head.length, 0);
  const nl1 = head.indexOf(10);
  if (nl1 < 0) throw new LogError(path, 1, 'the log has no whole header line');
  const firstLine = head.toString('utf8', 0, nl1);
  for (let block = 1 << 16; ; block *= 4) {
    const start = Math.max(0, size - block);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const last = buf.lastIndexOf(10);
    const prevNl = last > 0 ? buf.lastIndexOf(10, last - 1) : -1;
    if (last >= 0 && (prevNl >= 0 || start === 0)) {
      return { end: start + last + 1, lastLine: buf.toString('utf8', prevNl + 1, last), firstLine };
    }
    // No log line is this long (src/io/limits.ts): whatever this tail is, it is no pagetrack log's.
    if (block > 4 * MAX_LINE_BYTES) throw new LogError(path, 0, `the last ${block} bytes hold no whole line: not a log that can be appended to (verify it)`);
  }
}

import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventSink } from '../events/event-log.js';
import type { PageTrackEvent } from '../events/types.js';
import { LOG_FORMAT, LogError, type LogHeader, chainLine, creationTime, hashLine, headerLine } from './format.js';

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

const FLUSH_BYTES = 1 << 20;

/**
 * Appends events to a log file, chaining each line to the one before. Lines are buffered and
 * written whole, so a crash leaves at most one cut-off line, which `openForAppend` repairs.
 */
export class LogWriter implements EventSink {
  private buf: string[] = [];
  private size = 0;
  private closed = false;
  /** Where the next write goes: the end of the file. */
  private offset = 0;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private prev: string,
  ) {}

  /** Creates (or replaces) a log with a fresh header. */
  static create(path: string, profile: string, created = creationTime()): LogWriter {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    const header = headerLine(profile, created);
    const w = new LogWriter(path, fd, hashLine(header));
    w.buf.push(header);
    return w;
  }

  /**
   * Opens an existing log to append to it. A cut-off last line (the writer died mid-append) is
   * cut away first; no whole event is lost.
   */
  static openForAppend(path: string): { writer: LogWriter; tail: LogTail } {
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      const { end, lastLine, firstLine } = lastWholeLine(fd, size, path);
      if (end < size) ftruncateSync(fd, end);
      const header = parseHeaderLine(firstLine, path);
      let lastSeq = 0;
      let lastCmd = -1;
      if (end > firstLine.length + 1) {
        const last = JSON.parse(lastLine) as { seq: number; cmd: number };
        lastSeq = last.seq;
        lastCmd = last.cmd;
      }
      const headHash = hashLine(lastLine);
      // Appends go to the end: position the fd there (writes below pass an explicit position).
      const writer = new LogWriter(path, fd, headHash);
      writer.offset = end;
      return { writer, tail: { header, headHash, lastSeq, lastCmd, repairedBytes: size - end } };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The hash of the last line written (or buffered). */
  get headHash(): string {
    return this.prev;
  }

  append(batch: readonly PageTrackEvent[]): void {
    let prev = this.prev;
    for (let i = 0; i < batch.length; i++) {
      const line = chainLine(prev, JSON.stringify(batch[i]));
      prev = hashLine(line);
      this.buf.push(line);
      this.size += line.length;
    }
    this.prev = prev;
    if (this.size >= FLUSH_BYTES) this.flush();
  }

  /** Writes buffered lines to the file. */
  flush(): void {
    if (this.buf.length === 0) return;
    const bytes = Buffer.from(this.buf.join('\n') + '\n', 'utf8');
    this.buf = [];
    this.size = 0;
    let off = 0;
    while (off < bytes.length) {
      const n = writeSync(this.fd, bytes, off, bytes.length - off, this.offset);
      off += n;
      this.offset += n;
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }
}

function parseHeaderLine(line: string, path: string): LogHeader {
  let h: Partial<LogHeader>;
  try {
    h = JSON.parse(line) as Partial<LogHeader>;
  } catch {
    throw new LogError(path, 1, 'the header is not JSON');
  }
  if (h.format !== LOG_FORMAT) throw new LogError(path, 1, `not a pagetrack log: expected "${LOG_FORMAT}", got ${JSON.stringify(h.format)}`, 'format');
  return h as LogHeader;
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
  }
}

/**
 * The event log on disk, as NDJSON: a header line, then one event per line in sequence order.
 * (The durable, hash-chained format is future work; this one is what `run` writes today.)
 */
import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { EventSink } from '../events/event-log.js';
import type { PageTrackEvent } from '../events/types.js';

export const LOG_FORMAT = 'pagetrack-log';
export const LOG_VERSION = 1;

export interface LogHeader {
  readonly format: typeof LOG_FORMAT;
  readonly version: number;
  readonly profile: string;
}

/** A sink that appends each committed batch to a file, buffered; `close()` flushes. */
export class NdjsonLogWriter implements EventSink {
  private readonly fd: number;
  private buf: string[] = [];
  private size = 0;

  constructor(
    readonly path: string,
    profile: string,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'w');
    const header: LogHeader = { format: LOG_FORMAT, version: LOG_VERSION, profile };
    this.push(JSON.stringify(header));
  }

  append(batch: readonly PageTrackEvent[]): void {
    for (const e of batch) this.push(JSON.stringify(e));
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private push(line: string): void {
    this.buf.push(line);
    this.size += line.length;
    if (this.size > 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
}

/** A problem in a log file, located by file and line. */
export class LogReadError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'LogReadError';
  }
}

/** Streams a log: the header first, then events, never holding the whole file. */
export async function* readLog(path: string): AsyncGenerator<LogHeader | PageTrackEvent> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new LogReadError(path, n, `malformed JSON (${(err as Error).message})`);
    }
    if (n === 1) {
      const h = value as Partial<LogHeader>;
      if (h.format !== LOG_FORMAT) throw new LogReadError(path, 1, `not a pagetrack log: the header's "format" is ${JSON.stringify(h.format)}, expected "${LOG_FORMAT}"`);
      if (h.version !== LOG_VERSION) throw new LogReadError(path, 1, `unsupported log version ${JSON.stringify(h.version)} (this build reads ${LOG_VERSION})`);
      if (typeof h.profile !== 'string') throw new LogReadError(path, 1, 'the header has no "profile"');
      yield h as LogHeader;
      continue;
    }
    const e = value as Partial<PageTrackEvent>;
    if (typeof e !== 'object' || e === null || typeof e.type !== 'string' || typeof e.seq !== 'number') {
      throw new LogReadError(path, n, 'not an event: "type" (string) and "seq" (number) are required');
    }
    yield e as PageTrackEvent;
  }
  if (n === 0) throw new LogReadError(path, 1, 'the log is empty (no header line)');
}

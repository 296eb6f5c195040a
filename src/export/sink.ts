/**
 * Where an export's text goes: a file written safely (a fresh O_EXCL temporary beside it, renamed
 * over the target only when the export finished: src/io/safe-write.ts), or standard output.
 * Text is gathered into large writes; standard output waits for 'drain' so a slow reader
 * (`| head`, a pipe to gzip) holds the export back instead of filling memory.
 */
import { closeSync, fsyncSync, unlinkSync, writeSync } from 'node:fs';
import { commitTemp, createTempBeside } from '../io/safe-write.js';
import { asInputError } from '../io/input-file.js';

/** Bytes gathered before one write. */
const FLUSH_AT = 1 << 20;

export interface Sink {
  /** Appends text or bytes (the sink keeps the buffer); call `drain()` now and then (once per batch) to flush it. */
  write(text: string | Uint8Array): void;
  /** Writes what was gathered once it is large (and waits for standard output to take it). */
  drain(): Promise<void>;
  /** Flushes everything and, for a file, puts it in place. */
  finish(): Promise<void>;
  /** Drops a file export that failed (its temporary goes; the target is untouched). */
  abort(): void;
}

abstract class Gathering implements Sink {
  private parts: Uint8Array[] = [];
  private size = 0;
  write(text: string | Uint8Array): void {
    const b = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    this.parts.push(b);
    this.size += b.length;
  }
  async drain(): Promise<void> {
    if (this.size >= FLUSH_AT) await this.flush();
  }
  protected async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const bytes = this.parts.length === 1 ? Buffer.from(this.parts[0]!.buffer, this.parts[0]!.byteOffset, this.parts[0]!.byteLength) : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    await this.put(bytes);
  }
  protected abstract put(bytes: Buffer): Promise<void>;
  abstract finish(): Promise<void>;
  abstract abort(): void;
}

/** A file made the safe way: temporary beside the target, renamed over it at the end. */
export class FileSink extends Gathering {
  private readonly tmp: string;
  private fd: number;
  constructor(
    readonly target: string,
    private readonly what: string,
  ) {
    super();
    ({ tmp: this.tmp, fd: this.fd } = createTempBeside(target, what));
  }
  protected put(bytes: Buffer): Promise<void> {
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (err) {
      throw asInputError(err, this.what, this.target);
    }
    return Promise.resolve();
  }
  async finish(): Promise<void> {
    await this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    commitTemp(this.tmp, this.target, this.what);
  }
  abort(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }
}

/** The reader of standard output went away (`| head`): the export stops, and that is no error. */
export class OutputClosed extends Error {
  constructor() {
    super('standard output was closed by its reader');
  }
}

/** Standard output (`--out -`). */
export class StdoutSink extends Gathering {
  private failed: Error | undefined;
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {
    super();
    out.on('error', (err: NodeJS.ErrnoException) => {
      this.failed = err.code === 'EPIPE' ? new OutputClosed() : err;
    });
  }
  protected put(bytes: Buffer): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.out.write(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('error', done);
        if (this.failed) reject(this.failed);
        else resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
    });
  }
  async finish(): Promise<void> {
    await this.flush();
    if (this.failed) throw this.failed;
  }
  abort(): void {}
}

/** The sink for `--out`: '-' is standard output. */
export function sinkFor(out: string, what: string): Sink {
  return out === '-' ? new StdoutSink() : new FileSink(out, what);
}

/**
 * Streams a log with bounded memory: chunks of the file are split into lines, parsed, upcast,
 * validated and chain-checked, and handed out as batches of events. Line hashes are computed in
 * a worker thread on large files, in parallel with parsing on the main thread.
 */
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { Worker } from 'node:worker_threads';
import type { PageTrackEvent } from '../events/types.js';
import { HASH_LENGTH, LOG_FORMAT, LOG_VERSION, LogError, type LogHeader, PREV_END, PREV_PREFIX, hashLine } from './format.js';
import { UPCASTERS, type UpcasterRegistry, upcast } from './upcast.js';
import { EventValidator, type Invalid, show } from './validate.js';

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
  /** Hash lines in a worker thread: default for files over 8 MiB. */
  readonly hashWorker?: boolean;
  readonly chunkBytes?: number;
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

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { hash } = require('node:crypto');
parentPort.on('message', ({ id, buf }) => {
  const bytes = new Uint8Array(buf);
  const out = [];
  let p = 0;
  for (;;) {
    const q = bytes.indexOf(10, p);
    if (q < 0) break;
    out.push(hash('sha256', bytes.subarray(p, q), 'base64url'));
    p = q + 1;
  }
  parentPort.postMessage({ id, hashes: out.join('') });
});`;

/** Line hashes from a worker thread, one request per chunk. */
class HashPool {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true });
  private readonly waiting = new Map<number, (h: string) => void>();
  private next = 0;
  constructor() {
    this.worker.on('message', ({ id, hashes }: { id: number; hashes: string }) => {
      this.waiting.get(id)!(hashes);
      this.waiting.delete(id);
    });
    this.worker.unref();
  }
  /** Concatenated 43-character hashes of the "\n"-terminated lines in `bytes`. */
  hashes(bytes: Uint8Array): Promise<string> {
    const id = this.next++;
    const copy = new Uint8Array(bytes); // an ArrayBuffer of its own, to transfer
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id, buf: copy.buffer }, [copy.buffer]);
    });
  }
  close(): Promise<number> {
    return this.worker.terminate();
  }
}

function hashAll(bytes: Uint8Array): string {
  const out: string[] = [];
  let p = 0;
  for (;;) {
    const q = bytes.indexOf(10, p);
    if (q < 0) break;
    out.push(hashLine(bytes.subarray(p, q)));
    p = q + 1;
  }
  return out.join('');
}

/**
 * Reads one log. Iterate `batches()` once; `summary` is set when it ends. The first problem
 * (malformed line, broken chain, gap, invalid field) throws a LogError naming file and line.
 */
export class LogReader {
  summary: ReadSummary | undefined;
  header: LogHeader | undefined;

  constructor(
    readonly path: string,
    private readonly options: ReadOptions = {},
  ) {}

  async *batches(): AsyncGenerator<PageTrackEvent[]> {
    const { path } = this;
    const validate = this.options.validate !== false;
    const upcasters = this.options.upcasters ?? UPCASTERS;
    const chunkBytes = this.options.chunkBytes ?? 4 << 20;
    const fh = await open(path, 'r');
    const totalBytes = (await fh.stat()).size;
    const pool = (this.options.hashWorker ?? totalBytes > 8 << 20) ? new HashPool() : undefined;
    const validator = new EventValidator({ schema: validate });
    const decoder = new StringDecoder('utf8');
    let carry: Buffer = Buffer.alloc(0);
    let position = 0;
    let lineNo = 0;
    let prevHash = '';
    let events = 0;
    let consumed = 0;
    try {
      let pending = fh.read(Buffer.allocUnsafe(chunkBytes), 0, chunkBytes, 0);
      for (;;) {
        const { bytesRead, buffer } = await pending;
        position += bytesRead;
        const eof = bytesRead === 0;
        if (!eof) pending = fh.read(Buffer.allocUnsafe(chunkBytes), 0, chunkBytes, position);
        const data = carry.length ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
        const lastNl = data.lastIndexOf(10);
        if (lastNl < 0) {
          if (eof) break;
          carry = Buffer.from(data);
          continue;
        }
        const whole = data.subarray(0, lastNl + 1);
        carry = Buffer.from(data.subarray(lastNl + 1));
        const hashes = pool ? pool.hashes(whole) : Promise.resolve(hashAll(whole));
        const text = decoder.write(whole);
        const lines = text.split('\n');
        lines.pop(); // the text ends with "\n"
        const batch: PageTrackEvent[] = [];
        const prevs: string[] = [];
        let failure: LogError | undefined;
        const first = lineNo + 1;
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!;
          const n = first + i;
          if (n === 1) {
            this.header = parseHeader(line, path);
            prevs.push('');
            continue;
          }
          if (line.length < PREV_END + 2 || !line.startsWith(PREV_PREFIX) || line.charCodeAt(PREV_END) !== 34 || line.charCodeAt(PREV_END + 1) !== 44) {
            failure = line.length === 0 ? new LogError(path, n, 'empty line') : new LogError(path, n, `an event line must start with {"prev":"<${HASH_LENGTH}-character hash>",`, 'prev');
            break;
          }
          prevs.push(line.slice(PREV_PREFIX.length, PREV_END));
          let raw: Record<string, unknown>;
          try {
            raw = JSON.parse(line) as Record<string, unknown>;
          } catch (err) {
            failure = new LogError(path, n, `malformed JSON (${(err as Error).message})`);
            break;
          }
          const { prev: _prev, ...rest } = raw;
          let e = rest;
          const up = upcast(e, upcasters);
          if (isInvalid(up)) {
            failure = new LogError(path, n, up.reason, up.field);
            break;
          }
          e = up;
          const bad = validator.check(e as unknown as PageTrackEvent);
          if (bad) {
            failure = new LogError(path, n, bad.reason, bad.field);
            break;
          }
          batch.push(e as unknown as PageTrackEvent);
        }
        // The chain, in line order, up to the first failure: a broken link before it wins.
        const h = await hashes;
        const upto = failure ? failure.line - first : lines.length;
        for (let i = 0; i < upto; i++) {
          const n = first + i;
          if (n === 1) continue;
          const want = i === 0 ? prevHash : h.slice((i - 1) * HASH_LENGTH, i * HASH_LENGTH);
          if (prevs[i] !== want) {
            throw new LogError(path, n, `chain broken: expected the hash of line ${n - 1} (${want}), found ${prevs[i]}`, 'prev');
          }
        }
        if (failure) throw failure;
        prevHash = h.slice((lines.length - 1) * HASH_LENGTH, lines.length * HASH_LENGTH);
        lineNo += lines.length;
        consumed += whole.length;
        events += batch.length;
        this.options.onProgress?.({ bytes: consumed, totalBytes, events });
        if (batch.length) yield batch;
        if (eof) break;
      }
      if (!this.header) throw new LogError(path, 1, totalBytes === 0 ? 'the log is empty' : 'the log has no whole header line');
      this.summary = {
        header: this.header,
        events,
        headHash: prevHash,
        bytes: consumed,
        ...(carry.length ? { truncated: { line: lineNo + 1, bytes: carry.length } } : {}),
      };
    } finally {
      await fh.close();
      await pool?.close();
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

function isInvalid(x: Record<string, unknown> | Invalid): x is Invalid {
  return typeof (x as Invalid).reason === 'string' && !('type' in x);
}

function parseHeader(line: string, path: string): LogHeader {
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new LogError(path, 1, `the header is not JSON (${(err as Error).message})`);
  }
  if (h.format !== LOG_FORMAT) throw new LogError(path, 1, `not a pagetrack log: expected "${LOG_FORMAT}", got ${show(h.format)}`, 'format');
  if (h.version !== LOG_VERSION) throw new LogError(path, 1, `log format version ${show(h.version)} is not one this build reads (${LOG_VERSION})`, 'version');
  if (typeof h.profile !== 'string') throw new LogError(path, 1, `must be a profile name, got ${show(h.profile)}`, 'profile');
  if (typeof h.created !== 'string' || Number.isNaN(Date.parse(h.created))) throw new LogError(path, 1, `must be an ISO-8601 time, got ${show(h.created)}`, 'created');
  const extra = Object.keys(h).find((k) => !['format', 'version', 'profile', 'created'].includes(k));
  if (extra) throw new LogError(path, 1, 'is not a header field', extra);
  return h as unknown as LogHeader;
}

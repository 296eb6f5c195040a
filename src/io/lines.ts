/**
 * Splits a byte stream into text lines the way every pagetrack line format defines them: only LF
 * ends a line (a CR before it is dropped; a lone CR is part of the line), a UTF-8 byte-order mark
 * at the very start is dropped, and a line longer than the cap is reported by number and skipped
 * without being held in memory. Lines come in batches, one per chunk read (a trace has millions).
 */
import { isAscii } from 'node:buffer';
import { MAX_LINE_BYTES } from './limits.js';

export type Line =
  | { readonly line: number; readonly text: string }
  | { readonly line: number; readonly tooLong: number };

const BOM = [0xef, 0xbb, 0xbf];

/**
 * The lines of one chunk read, without a string per line: the chunk's text and, per line, where
 * it is in that text (start, end; a start of -1 marks a line over the cap, and end is then its
 * length in bytes; a start of -2 is the line carried over from the chunk before, in `head`,
 * kept apart because joining it to the text would copy the whole chunk). Lines are numbered
 * from `firstLine` on.
 */
export interface LineChunk {
  readonly text: string;
  /** The bytes `text` was decoded from, and how (latin1 for ASCII, else UTF-8): cheaper to hand to another thread than the string. */
  readonly raw?: { readonly bytes: Uint8Array; readonly latin1: boolean } | undefined;
  readonly head?: string | undefined;
  readonly firstLine: number;
  readonly count: number;
  readonly bounds: Int32Array;
}

/** The bytes without a UTF-8 byte-order mark at the very start, however the reads cut it. */
async function* withoutBom(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of chunks) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 3 && head.every((x, i) => x === BOM[i])) continue; // may yet be a BOM
    yield head.length >= 3 && head[0] === BOM[0] && head[1] === BOM[1] && head[2] === BOM[2] ? head.subarray(3) : head;
    head = undefined;
  }
  if (head !== undefined && head.length > 0) yield head;
}

export async function* lineChunks(chunks: AsyncIterable<Uint8Array>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<LineChunk> {
  let parts: Buffer[] = [];
  let pending = 0; // bytes of the current line seen so far (counted even once dropped)
  let line = 1;
  for await (const chunk of withoutBom(chunks)) {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const first = line;
    // Pairs of ints, grown by doubling: a plain array of a chunk's lines would be a large object,
    // copied into fresh pages at every growth (measured: ~250 ns a line).
    let bounds = new Int32Array(2 * (Math.ceil(b.length / 64) + 2));
    let nb = 0;
    const push = (x: number, y: number) => {
      if (nb + 2 > bounds.length) {
        const more = new Int32Array(bounds.length * 2);
        more.set(bounds);
        bounds = more;
      }
      bounds[nb++] = x;
      bounds[nb++] = y;
    };
    let head = '';
    let p = 0;
    // The line carried over from the last chunk ends here (or goes on).
    if (pending > 0 || parts.length > 0) {
      const q = b.indexOf(10, p);
      const end = q < 0 ? b.length : q;
      if (pending + (end - p) <= maxBytes) parts.push(Buffer.from(b.subarray(p, end)));
      else parts = [];
      pending += end - p;
      if (q < 0) continue;
      if (pending > maxBytes) push(-1, pending);
      else {
        head = text(Buffer.concat(parts));
        push(-2, head.length);
      }
      line++;
      parts = [];
      pending = 0;
      p = q + 1;
    }
    // Whole lines of this chunk, found without a string per line. ASCII (traces almost always
    // are) is split on its bytes and decoded only if someone reads the text (latin1 decodes it
    // exactly); anything else is decoded as UTF-8 and split on the string.
    let body: Buffer | undefined;
    let latin1 = true;
    let decoded: string | undefined;
    const last = b.lastIndexOf(10);
    if (last >= p) {
      body = b.subarray(p, last);
      latin1 = isAscii(body);
      if (latin1) {
        const n = body.length;
        let i = 0;
        for (;;) {
          let j = body.indexOf(10, i);
          if (j < 0) j = n;
          if (j - i > maxBytes) push(-1, j - i);
          else push(i, j > i && body[j - 1] === 13 ? j - 1 : j); // CRLF
          line++;
          if (j >= n) break;
          i = j + 1;
        }
      } else {
        const s = body.toString('utf8');
        decoded = s;
        let i = 0;
        for (;;) {
          const j = s.indexOf('\n', i);
          const e = j < 0 ? s.length : j;
          if ((e - i) * 3 > maxBytes && Buffer.byteLength(s.slice(i, e)) > maxBytes) push(-1, Buffer.byteLength(s.slice(i, e)));
          else push(i, e > i && s.charCodeAt(e - 1) === 13 ? e - 1 : e); // CRLF
          line++;
          if (j < 0) break;
          i = j + 1;
        }
      }
      p = last + 1;
    }
    if (p < b.length) {
      const rest = b.length - p;
      if (rest <= maxBytes) parts.push(Buffer.from(b.subarray(p)));
      pending += rest;
    }
    if (nb > 0) yield new Chunk(body, latin1, decoded, bounds[0] === -2 ? head : undefined, first, bounds.subarray(0, nb));
  }
  if (pending > 0) {
    if (pending > maxBytes) yield { text: '', firstLine: line, count: 1, bounds: Int32Array.of(-1, pending) };
    else {
      const t = text(Buffer.concat(parts));
      yield { text: t, firstLine: line, count: 1, bounds: Int32Array.of(0, t.length) };
    }
  }
}

/** A chunk of lines whose text is decoded when first read (a reader of its bytes never pays for it). */
class Chunk implements LineChunk {
  readonly count: number;
  readonly raw: LineChunk['raw'];
  constructor(
    private readonly body: Buffer | undefined,
    latin1: boolean,
    private decoded: string | undefined,
    readonly head: string | undefined,
    readonly firstLine: number,
    readonly bounds: Int32Array,
  ) {
    this.count = bounds.length / 2;
    this.raw = body ? { bytes: body, latin1 } : undefined;
  }
  get text(): string {
    return (this.decoded ??= this.body ? this.body.toString('latin1') : '');
  }
}

/** The lines in batches, one per chunk read (a trace has millions). */
export async function* splitLineBatches(chunks: AsyncIterable<Uint8Array>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line[]> {
  for await (const c of lineChunks(chunks, maxBytes)) {
    const out: Line[] = new Array(c.count);
    for (let i = 0; i < c.count; i++) {
      const a = c.bounds[2 * i]!;
      const z = c.bounds[2 * i + 1]!;
      out[i] = a === -1 ? { line: c.firstLine + i, tooLong: z } : { line: c.firstLine + i, text: a === -2 ? c.head! : c.text.slice(a, z) };
    }
    yield out;
  }
}

/** The same lines one at a time (scripts). */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  for await (const batch of splitLineBatches(chunks, maxBytes)) yield* batch;
}

function text(b: Buffer): string {
  const n = b.length > 0 && b[b.length - 1] === 13 ? b.length - 1 : b.length; // CRLF
  return b.toString('utf8', 0, n);
}

/** The message for a line over the cap. */
export function tooLongReason(bytes: number, maxBytes = MAX_LINE_BYTES): string {
  return `the line is ${bytes} bytes long, over the limit of ${maxBytes} bytes`;
}

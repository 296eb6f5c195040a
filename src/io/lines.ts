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

export async function* splitLineBatches(chunks: AsyncIterable<Uint8Array>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line[]> {
  let parts: Buffer[] = [];
  let pending = 0; // bytes of the current line seen so far (counted even once dropped)
  let line = 1;
  let start = true;
  for await (const chunk of chunks) {
    let b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (start && b.length > 0) {
      start = false;
      if (b.length >= 3 && b[0] === BOM[0] && b[1] === BOM[1] && b[2] === BOM[2]) b = b.subarray(3);
    }
    const out: Line[] = [];
    let p = 0;
    let q = b.indexOf(10, p);
    // The line carried over from the last chunk ends here (or goes on).
    if (pending > 0 || parts.length > 0) {
      const end = q < 0 ? b.length : q;
      if (pending + (end - p) <= maxBytes) parts.push(Buffer.from(b.subarray(p, end)));
      else parts = [];
      pending += end - p;
      if (q < 0) continue;
      out.push(pending > maxBytes ? { line, tooLong: pending } : { line, text: text(Buffer.concat(parts)) });
      line++;
      parts = [];
      pending = 0;
      p = q + 1;
      q = b.indexOf(10, p);
    }
    // Whole lines of this chunk: decoded at once, split as a string (no copy per line).
    const last = b.lastIndexOf(10);
    if (last >= p) {
      // Traces are ASCII almost always: latin1 decodes that exactly and faster; anything else is UTF-8.
      const body = b.subarray(p, last);
      const s = isAscii(body) ? body.toString('latin1') : body.toString('utf8');
      let i = 0;
      for (;;) {
        const j = s.indexOf('\n', i);
        const t = j < 0 ? s.slice(i) : s.slice(i, j);
        if (t.length * 3 > maxBytes && Buffer.byteLength(t) > maxBytes) out.push({ line, tooLong: Buffer.byteLength(t) });
        else out.push({ line, text: t.endsWith('\r') ? t.slice(0, -1) : t });
        line++;
        if (j < 0) break;
        i = j + 1;
      }
      p = last + 1;
    }
    if (p < b.length) {
      const rest = b.length - p;
      if (rest <= maxBytes) parts.push(Buffer.from(b.subarray(p)));
      pending += rest;
    }
    if (out.length) yield out;
  }
  if (pending > 0) yield [pending > maxBytes ? { line, tooLong: pending } : { line, text: text(Buffer.concat(parts)) }];
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

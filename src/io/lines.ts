/**
 * Splits a byte stream into text lines the way every pagetrack line format defines them: only LF
 * ends a line (a CR before it is dropped; a lone CR is part of the line), a UTF-8 byte-order mark
 * at the very start is dropped, and a line longer than the cap is reported by number and skipped
 * without being held in memory.
 */
import { MAX_LINE_BYTES } from './limits.js';

export type Line =
  | { readonly line: number; readonly text: string }
  | { readonly line: number; readonly tooLong: number };

const BOM = [0xef, 0xbb, 0xbf];

export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let pending = 0; // bytes of the current line seen so far (counted even once dropped)
  let line = 1;
  let start = true;
  const finish = (): Line => {
    const out: Line = pending > maxBytes ? { line, tooLong: pending } : { line, text: text(Buffer.concat(parts)) };
    parts = [];
    pending = 0;
    line++;
    return out;
  };
  for await (const chunk of chunks) {
    let b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (start && b.length > 0) {
      start = false;
      if (b.length >= 3 && b[0] === BOM[0] && b[1] === BOM[1] && b[2] === BOM[2]) b = b.subarray(3);
    }
    let p = 0;
    for (;;) {
      const q = b.indexOf(10, p);
      const end = q < 0 ? b.length : q;
      if (pending + (end - p) <= maxBytes) parts.push(Buffer.from(b.subarray(p, end)));
      else parts = [];
      pending += end - p;
      if (q < 0) break;
      yield finish();
      p = q + 1;
    }
  }
  if (pending > 0) yield finish();
}

function text(b: Buffer): string {
  const n = b.length > 0 && b[b.length - 1] === 13 ? b.length - 1 : b.length; // CRLF
  return b.toString('utf8', 0, n);
}

/** The message for a line over the cap. */
export function tooLongReason(bytes: number, maxBytes = MAX_LINE_BYTES): string {
  return `the line is ${bytes} bytes long, over the limit of ${maxBytes} bytes`;
}

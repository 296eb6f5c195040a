/**
 * Text as bytes for the byte scanners (the ingest hot path reads a chunk's bytes in place; the
 * same scanners serve a lone string by copying it here first). Only ASCII: there a byte offset
 * is a string offset.
 */
let scratch = new Uint8Array(1024);

/** `s` as bytes in a buffer reused from call to call (valid until the next call), or undefined when it is not ASCII. */
export function asciiBytes(s: string): Uint8Array | undefined {
  if (s.length > scratch.length) scratch = new Uint8Array(Math.max(s.length, scratch.length * 2));
  const b = scratch;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return undefined;
    b[i] = c;
  }
  return b.subarray(0, s.length);
}

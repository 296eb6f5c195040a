/**
 * A growing byte buffer written in place, shared by the hot paths that write text as bytes (the
 * log's EventEncoder, the CSV export): no intermediate string per value, so millions of lines
 * cost no garbage collection.
 */
export class ByteBuffer {
  buf: Buffer;
  /** Bytes written so far. */
  pos = 0;

  constructor(protected readonly capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** Hands over what was written (a buffer of its own, transferable) and starts afresh. */
  protected takeBytes(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafeSlow(this.capacity);
    this.pos = 0;
    return out;
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer in decimal; 32-bit arithmetic (no floating-point modulo) below 2^32. */
  protected digits(n: number): void {
    if (n > 0xffffffff) {
      this.text(String(n)); // gpa-sized numbers: rare, and String writes integers as JSON does
      return;
    }
    const len = n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
    if (this.pos + len > this.buf.length) this.grow(len);
    const buf = this.buf;
    let p = this.pos + len;
    this.pos = p;
    let m = n >>> 0;
    do {
      const q = (m / 10) >>> 0;
      buf[--p] = 48 + m - q * 10;
      m = q;
    } while (m > 0);
  }

  /** Any string as UTF-8. */
  protected text(s: string): void {
    const max = s.length * 3;
    if (this.pos + max > this.buf.length) this.grow(max);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  protected grow(need: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + need));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/**
 * The read hot path: parses an event line `["prev",seq,cmd,"type",v,...fields]` straight from
 * the file's bytes. It accepts only what the writer writes (integers of up to 15 digits, ASCII
 * strings without escapes, true/false/null, flat objects of those) and then gives exactly what
 * JSON.parse gives; anything else (and every malformed line) goes to JSON.parse, which also
 * words the errors. Strings are interned: a log repeats a few hundred of them millions of times.
 */
import { HASH_LENGTH, PREV_END } from './format.js';

/** base64url's alphabet: what a well-formed prev consists of. */
const B64URL = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') B64URL[c.charCodeAt(0)] = 1;

const FAIL = Symbol('fail');
const STRING_CACHE_SIZE = 4096;

export class LineParser {
  /** Where parsing stands: the next byte to read. */
  private p = 0;
  private readonly strings = new Map<number, string>();
  /** The "\n" that ends the line `parse` last accepted. */
  end = 0;

  /**
   * The line starting at `start` as JSON.parse would give it, with prev (element 0) left
   * undefined (the chain checker reads it), its "\n" at `end`; or undefined
   * when this line needs JSON.parse. `b` must hold a "\n" after `start`.
   */
  parse(b: Buffer, start: number): unknown[] | undefined {
    if (b[start] !== 91 || b[start + 1] !== 34 || b[start + PREV_END] !== 34 || b[start + PREV_END + 1] !== 44) return undefined;
    for (let i = start + 2; i < start + 2 + HASH_LENGTH; i++) if (B64URL[b[i]!] !== 1) return undefined;
    const out: unknown[] = [undefined];
    this.p = start + PREV_END + 2;
    for (;;) {
      const v = this.value(b);
      if (v === FAIL) return undefined;
      out.push(v);
      const c = b[this.p++];
      if (c === 44) continue;
      if (c === 93 && b[this.p] === 10) {
        this.end = this.p;
        return out;
      }
      return undefined;
    }
  }

  private value(b: Buffer): unknown {
    const c = b[this.p]!;
    if (c === 34) return this.string(b);
    if ((c >= 48 && c <= 57) || c === 45) return this.number(b);
    if (c === 123) return this.object(b);
    if (c === 116 && b[this.p + 1] === 114 && b[this.p + 2] === 117 && b[this.p + 3] === 101) {
      this.p += 4;
      return true;
    }
    if (c === 102 && b[this.p + 1] === 97 && b[this.p + 2] === 108 && b[this.p + 3] === 115 && b[this.p + 4] === 101) {
      this.p += 5;
      return false;
    }
    if (c === 110 && b[this.p + 1] === 117 && b[this.p + 2] === 108 && b[this.p + 3] === 108) {
      this.p += 4;
      return null;
    }
    return FAIL;
  }

  private number(b: Buffer): number | typeof FAIL {
    let p = this.p;
    const negative = b[p] === 45;
    if (negative) p++;
    const first = p;
    let n = 0;
    let c = b[p]!;
    while (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      c = b[++p]!;
    }
    const digits = p - first;
    // Leave fractions, exponents, leading zeros and anything past 2^53 to JSON.parse.
    if (digits === 0 || digits > 15 || (b[first] === 48 && digits > 1) || c === 46 || c === 101 || c === 69) return FAIL;
    this.p = p;
    return negative ? -n : n;
  }

  private string(b: Buffer): string | typeof FAIL {
    const start = this.p + 1;
    let p = start;
    let h = 0;
    let c = b[p]!;
    while (c !== 34) {
      if (c < 32 || c === 92 || c > 126) return FAIL; // control bytes, escapes, non-ASCII
      h = (Math.imul(h, 31) + c) | 0;
      c = b[++p]!;
    }
    this.p = p + 1;
    const len = p - start;
    h = (Math.imul(h, 31) + len) | 0;
    const cached = this.strings.get(h);
    if (cached !== undefined && cached.length === len && sameBytes(cached, b, start)) return cached;
    const s = b.toString('latin1', start, p);
    if (cached === undefined && this.strings.size < STRING_CACHE_SIZE) this.strings.set(h, s);
    return s;
  }

  /** A flat object (a command record): string keys, scalar values. */
  private object(b: Buffer): Record<string, unknown> | typeof FAIL {
    const o: Record<string, unknown> = {};
    this.p++;
    if (b[this.p] === 125) {
      this.p++;
      return o;
    }
    for (;;) {
      if (b[this.p] !== 34) return FAIL;
      const k = this.string(b);
      if (k === FAIL || k === '__proto__' || b[this.p++] !== 58) return FAIL; // JSON.parse makes __proto__ an own key
      const c = b[this.p];
      if (c === 123 || c === 91) return FAIL;
      const v = this.value(b);
      if (v === FAIL) return FAIL;
      o[k] = v;
      const d = b[this.p++];
      if (d === 125) return o;
      if (d !== 44) return FAIL;
    }
  }
}

function sameBytes(s: string, b: Buffer, at: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== b[at + i]) return false;
  return true;
}

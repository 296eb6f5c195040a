/**
 * Per-window postings: for each gfn (or huge frame) a window of the log touches, the byte
 * offsets of the lines that touch it, each preceded by its command's line. `history` and `why`
 * of a gfn whose events span the whole log then read those lines only, not every window
 * (issue 15: "history (indexed by gfn)"). The touch-filter's Bloom bits still decide first
 * whether a window's postings are worth reading.
 *
 * A segment (one window), little-endian:
 *   u32 keys, u32 postings, f64 open command's offset (-1: none),
 *   f64 key[keys] (ascending), u32 start[keys + 1], u32 offset[postings]
 * Offsets are relative to the window's checkpoint; OPEN stands for the line of the command in
 * progress at the checkpoint, which lies before it.
 */

/** Key of the events every gfn's reader needs: memslot changes, zap-all, lpage guards, VM end. */
export const ALL_KEY = -1;
/** A posting of the command open at the window's start. */
const OPEN = 0xffffffff;
const HEAD_BYTES = 16;

/** Collects one window's postings while the index is built (touch-filter.ts feeds it). */
export class PostingsCollector {
  private readonly slots = new Map<number, number>();
  private keyOf: number[] = [];
  private first: number[] = [];
  private last: number[] = [];
  /** Per slot: the command line last posted (absolute offset), so a command is posted once per key. */
  private lastCmd: number[] = [];
  private next = new Int32Array(1 << 16);
  private offs = new Float64Array(1 << 16);
  private n = 0;
  /** The current command's line (absolute offset; -1: none yet). */
  private cmdLine = -1;
  /** The command line open when this window began. */
  private openCmd = -1;

  /** A `command` event's line starts at `offset`: the events after it are its effects. */
  command(offset: number): void {
    this.cmdLine = offset;
  }

  /** The line at `offset` touches `key`. */
  post(key: number, offset: number): void {
    let s = this.slots.get(key);
    if (s === undefined) {
      s = this.keyOf.length;
      this.slots.set(key, s);
      this.keyOf.push(key);
      this.first.push(-1);
      this.last.push(-1);
      this.lastCmd.push(-1);
    }
    if (this.cmdLine >= 0 && this.lastCmd[s] !== this.cmdLine) {
      this.lastCmd[s] = this.cmdLine;
      this.push(s, this.cmdLine);
    }
    this.push(s, offset);
  }

  private push(s: number, offset: number): void {
    if (this.n === this.next.length) {
      const next = new Int32Array(this.n * 2);
      next.set(this.next);
      this.next = next;
      const offs = new Float64Array(this.n * 2);
      offs.set(this.offs);
      this.offs = offs;
    }
    const i = this.n++;
    this.offs[i] = offset;
    this.next[i] = -1;
    if (this.first[s] === -1) this.first[s] = i;
    else this.next[this.last[s]!] = i;
    this.last[s] = i;
  }

  /**
   * The window so far as a segment (offsets relative to `base`, its checkpoint's offset), and a
   * fresh window begun; undefined when an offset does not fit 32 bits (that window is read whole).
   */
  take(base: number): Buffer | undefined {
    const out = this.segment(base);
    this.slots.clear();
    this.keyOf = [];
    this.first = [];
    this.last = [];
    this.lastCmd = [];
    this.n = 0;
    this.openCmd = this.cmdLine;
    return out;
  }

  private segment(base: number): Buffer | undefined {
    const keys = Float64Array.from(this.keyOf).sort();
    const out = Buffer.alloc(HEAD_BYTES + keys.length * 12 + 4 + this.n * 4);
    out.writeUInt32LE(keys.length, 0);
    out.writeUInt32LE(this.n, 4);
    out.writeDoubleLE(this.openCmd, 8);
    const startsAt = HEAD_BYTES + keys.length * 8;
    const offsAt = startsAt + (keys.length + 1) * 4;
    let p = 0;
    for (let k = 0; k < keys.length; k++) {
      out.writeDoubleLE(keys[k]!, HEAD_BYTES + k * 8);
      out.writeUInt32LE(p, startsAt + k * 4);
      for (let i = this.first[this.slots.get(keys[k]!)!]!; i !== -1; i = this.next[i]!, p++) {
        // Only the open command lies before the window's checkpoint.
        const rel = this.offs[i]! < base ? OPEN : this.offs[i]! - base;
        if (rel > OPEN || (rel === OPEN && this.offs[i]! >= base)) return undefined;
        out.writeUInt32LE(rel, offsAt + p * 4);
      }
    }
    out.writeUInt32LE(p, startsAt + keys.length * 4);
    return out;
  }
}

/** What is wrong with a segment's shape, or undefined: checked once per read, before any lookup. */
export function segmentProblem(seg: Buffer): string | undefined {
  if (seg.length < HEAD_BYTES + 4) return 'shorter than its head';
  const keys = seg.readUInt32LE(0);
  const n = seg.readUInt32LE(4);
  if (seg.length !== HEAD_BYTES + keys * 12 + 4 + n * 4) return 'its length does not match its counts';
  const open = seg.readDoubleLE(8);
  if (!(open === -1 || (Number.isSafeInteger(open) && open >= 0))) return 'its open command is not an offset';
  const startsAt = HEAD_BYTES + keys * 8;
  let prevKey = -Infinity;
  let prevStart = 0;
  for (let k = 0; k <= keys; k++) {
    const s = seg.readUInt32LE(startsAt + k * 4);
    if (s < prevStart || s > n || (k === 0 && s !== 0) || (k === keys && s !== n)) return 'its postings are out of order';
    prevStart = s;
    if (k < keys) {
      const key = seg.readDoubleLE(HEAD_BYTES + k * 8);
      if (!Number.isSafeInteger(key) || key <= prevKey) return 'its keys are out of order';
      prevKey = key;
    }
  }
  return undefined;
}

/**
 * The absolute offsets a segment posts under any of `keys`, ascending and without repeats
 * (`base`: its checkpoint's offset).
 */
export function postedOffsets(seg: Buffer, base: number, keys: readonly number[]): number[] {
  const nKeys = seg.readUInt32LE(0);
  const open = seg.readDoubleLE(8);
  const startsAt = HEAD_BYTES + nKeys * 8;
  const offsAt = startsAt + (nKeys + 1) * 4;
  const out: number[] = [];
  for (const key of keys) {
    let lo = 0;
    let hi = nKeys - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = seg.readDoubleLE(HEAD_BYTES + mid * 8);
      if (k === key) {
        for (let p = seg.readUInt32LE(startsAt + mid * 4), end = seg.readUInt32LE(startsAt + mid * 4 + 4); p < end; p++) {
          const rel = seg.readUInt32LE(offsAt + p * 4);
          if (rel !== OPEN) out.push(base + rel);
          else if (open >= 0) out.push(open);
        }
        break;
      }
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  out.sort((a, b) => a - b);
  let w = 0;
  for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[w - 1]) out[w++] = out[i]!;
  out.length = w;
  return out;
}

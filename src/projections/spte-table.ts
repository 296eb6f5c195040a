/**
 * The SPTE view's key → writable table: open addressing over typed arrays (linear probing,
 * deletion by backward shift, so no tombstones). A time-travel seek replaces the whole view from
 * a checkpoint (85,000 SPTEs at 10 M events): a Map took ~29 ms for that (a Map cannot be sized
 * ahead and grows by rehashing), this ~2 ms, which is what brings a seek in `serve` under 100 ms
 * (README, Performance). Iteration is in slot order: callers that show SPTEs sort them.
 */

const EMPTY = 0;
const READ_ONLY = 1;
const WRITABLE = 2;

export class SpteTable {
  private ks: Float64Array;
  private vs: Uint8Array;
  private mask: number;
  private shift: number;
  size = 0;

  constructor(capacity = 1024) {
    const cap = 2 ** Math.max(4, Math.ceil(Math.log2(capacity)));
    this.ks = new Float64Array(cap);
    this.vs = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  /** Fibonacci hashing of both 32-bit halves (keys reach 2^43). */
  private home(k: number): number {
    return Math.imul((k >>> 0) ^ Math.imul((k / 4294967296) >>> 0, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  /** The slot holding `k`, or ~(the empty slot where it would go). */
  private find(k: number): number {
    const { ks, vs, mask } = this;
    let h = this.home(k);
    while (vs[h] !== EMPTY) {
      if (ks[h] === k) return h;
      h = (h + 1) & mask;
    }
    return ~h;
  }

  get(k: number): boolean | undefined {
    const s = this.find(k);
    return s < 0 ? undefined : this.vs[s] === WRITABLE;
  }

  has(k: number): boolean {
    return this.find(k) >= 0;
  }

  set(k: number, writable: boolean): this {
    let s = this.find(k);
    if (s < 0) {
      if ((this.size + 1) * 2 > this.vs.length) {
        this.resize(this.vs.length * 2);
        s = this.find(k);
      }
      s = ~s;
      this.ks[s] = k;
      this.size++;
    }
    this.vs[s] = writable ? WRITABLE : READ_ONLY;
    return this;
  }

  delete(k: number): boolean {
    let i = this.find(k);
    if (i < 0) return false;
    const { ks, vs, mask } = this;
    // Backward shift: move later entries of the probe run into the hole when their home allows.
    for (;;) {
      vs[i] = EMPTY;
      let j = i;
      for (;;) {
        j = (j + 1) & mask;
        if (vs[j] === EMPTY) {
          this.size--;
          return true;
        }
        const h = this.home(ks[j]!);
        const stays = i <= j ? i < h && h <= j : i < h || h <= j;
        if (!stays) break;
      }
      ks[i] = ks[j]!;
      vs[i] = vs[j]!;
      i = j;
    }
  }

  clear(): void {
    this.vs.fill(EMPTY);
    this.size = 0;
  }

  /** Replaces the contents with packed SPTEs (key * 2 + writable), sized for them at once. */
  load(packed: Float64Array): void {
    const n = packed.length;
    if (n * 2 > this.vs.length) this.resize(2 ** Math.ceil(Math.log2(n * 2 + 1)), false);
    else this.clear();
    for (let i = 0; i < n; i++) {
      const x = packed[i]!;
      this.set(Math.floor(x / 2), x % 2 === 1);
    }
  }

  /** The contents packed (key * 2 + writable; keys are under 2^43): 8 bytes an SPTE in a checkpoint. */
  save(): Float64Array {
    const out = new Float64Array(this.size);
    let i = 0;
    const { ks, vs } = this;
    for (let s = 0; s < vs.length; s++) if (vs[s] !== EMPTY) out[i++] = ks[s]! * 2 + (vs[s] === WRITABLE ? 1 : 0);
    return out;
  }

  forEach(fn: (writable: boolean, key: number) => void): void {
    const { ks, vs } = this;
    for (let s = 0; s < vs.length; s++) if (vs[s] !== EMPTY) fn(vs[s] === WRITABLE, ks[s]!);
  }

  private resize(cap: number, keep = true): void {
    const { ks, vs } = this;
    this.ks = new Float64Array(cap);
    this.vs = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.size = 0;
    if (keep) for (let s = 0; s < vs.length; s++) if (vs[s] !== EMPTY) this.set(ks[s]!, vs[s] === WRITABLE);
  }
}

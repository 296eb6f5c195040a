/**
 * Min/max of every timeline series over a row of cells (pixel columns or fixed buckets of
 * events), fed from a SummaryTracker as it follows the log. Series are named
 * `tracked`, `writeProtected`, `shadowPages`, `tlbFlushes`, `warns`, `zaps`, `slot as<A>/<ID>`
 * (tracked gfns per live memslot) and `user <NAME>` (units each user holds).
 */
import type { SummaryTracker } from '../series/summary-tracker.js';

export interface MinMax {
  readonly min: Float64Array;
  readonly max: Float64Array;
}

const slotNames = new Map<number, string>();
/** slotKey(as, id) = as * 1024 + id (projections/memslots.ts). */
export function slotSeries(key: number): string {
  let s = slotNames.get(key);
  if (s === undefined) slotNames.set(key, (s = `slot as${Math.floor(key / 1024)}/${key % 1024}`));
  return s;
}

/** Calls `f` with every series' name and value now (absent series: not called). */
export function eachValue(t: SummaryTracker, f: (name: string, v: number) => void): void {
  f('tracked', t.tracked);
  f('writeProtected', t.writeProtected);
  f('shadowPages', t.shadowPages);
  f('tlbFlushes', t.tlbFlushes);
  f('warns', t.warns);
  f('zaps', t.zaps);
  for (const [k, v] of t.trackedBySlot) f(slotSeries(k), v);
  for (const [u, v] of t.trackedByUser) f(userSeries(u), v);
}

const userNames = new Map<string, string>();
/** A user's series (users holding 0 units are absent, as in the tracker). */
export function userSeries(u: string): string {
  let s = userNames.get(u);
  if (s === undefined) userNames.set(u, (s = `user ${u}`));
  return s;
}

export class Cells {
  readonly series = new Map<string, MinMax>();
  private cell = 0;
  private readonly putCell = (key: string, v: number) => this.put(key, this.cell, v);

  constructor(readonly n: number) {}

  /** The tracker's numbers now, folded into cell `c`. */
  record(c: number, t: SummaryTracker): void {
    this.cell = c;
    eachValue(t, this.putCell);
  }

  put(key: string, c: number, v: number): void {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { min: new Float64Array(this.n).fill(Number.NaN), max: new Float64Array(this.n).fill(Number.NaN) }));
    // NaN (nothing yet) compares false: the first value sets both.
    if (!(s.min[c]! <= v)) s.min[c] = v;
    if (!(s.max[c]! >= v)) s.max[c] = v;
  }
}

/**
 * Every change of every series over one window (a third of the events change one, in a
 * shadow-mmu log): what views finer than a bucket read, at 14 bytes a change. NaN: the series
 * ends (its slot went).
 */
export class ChangeLog {
  /** Series names by id, shared by every window. */
  static readonly names: string[] = [];
  private static readonly ids = new Map<string, number>();
  static idOf(name: string): number {
    let id = ChangeLog.ids.get(name);
    if (id === undefined) {
      ChangeLog.ids.set(name, (id = ChangeLog.names.length));
      ChangeLog.names.push(name);
    }
    return id;
  }

  private readonly last = new Map<number, number>();
  private readonly seen = new Map<number, number>();
  private gen = 0;
  private count = 0;
  private p = 0;
  private pos: number[] = [];
  private sid: number[] = [];
  private val: number[] = [];
  /** Frozen: positions, series ids and values, in order. */
  frozen: { pos: Int32Array; sid: Uint16Array; val: Float64Array } | undefined;
  private readonly see = (name: string, v: number) => {
    const id = ChangeLog.idOf(name);
    this.seen.set(id, this.gen);
    this.count++;
    if (this.last.get(id) !== v) {
      this.last.set(id, v);
      this.pos.push(this.p);
      this.sid.push(id);
      this.val.push(v);
    }
  };

  /** The numbers at position p (the window's first position, then each change). */
  record(p: number, t: SummaryTracker): void {
    this.p = p;
    this.gen++;
    this.count = 0;
    eachValue(t, this.see);
    // A series not seen now has ended.
    if (this.count !== this.seen.size) {
      for (const [id, g] of this.seen) {
        if (g === this.gen) continue;
        this.seen.delete(id);
        this.last.delete(id);
        this.pos.push(p);
        this.sid.push(id);
        this.val.push(Number.NaN);
      }
    }
  }

  freeze(): void {
    this.frozen = { pos: Int32Array.from(this.pos), sid: Uint16Array.from(this.sid), val: Float64Array.from(this.val) };
    this.pos = [];
    this.sid = [];
    this.val = [];
  }
}

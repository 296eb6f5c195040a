import { MAX_MAPPING_LEVEL } from '../domain/constants.js';
import { frameStart } from '../domain/gfn.js';
import type { SpteInstalled, SpteRef, SpteWriteProtected, SpteZapped } from '../events/types.js';
import { SpteTable } from './spte-table.js';

/** Map key of an SPTE: its first gfn (< 2^40), address space and level fit a safe integer. */
export const spteKey = (as: number, level: number, gfn: number): number => gfn * 8 + as * 4 + level;

export interface Spte extends SpteRef {
  readonly writable: boolean;
}

/** Which SPTEs a listing keeps (all by default) and how many at most. */
export interface SpteCut {
  readonly keep?: (as: number, level: number, gfn: number) => boolean;
  readonly limit?: number;
}

const AS_WEIGHT = 2 ** 44;

/**
 * The SPTE view (spec 10): per address space, leaf mappings by level and first gfn, each with its
 * writable bit. Mappings in one address space never overlap: installing one drops what it covers
 * or what covers it, as __direct_map / mmu_set_spte do.
 */
export class SpteProjection {
  /** key → writable */
  readonly sptes = new SpteTable();
  /** key of a huge frame → keys of the smaller SPTEs inside it, to find them without a scan. */
  private readonly inside = new Map<number, Set<number>>();
  /**
   * After `load` (a checkpoint restored: tens of thousands of SPTEs) `inside` is rebuilt only when
   * `within` needs it: replay never does (only the live model's installSpte), and building it made
   * most of a time-travel seek's cost (measured: ~60 ms of a 150 ms seek on 85 k SPTEs).
   */
  private insideStale = false;
  /** Keys changed since `touched` was last reset (time travel's cheap restores). */
  touched: Set<number> | undefined;

  /** Puts back the SPTEs `touched` names as they are in `saved` (key → writable), leaving the rest. */
  revert(saved: { get(key: number): boolean | undefined }): void {
    for (const key of this.touched ?? []) {
      const w = saved.get(key);
      const had = this.sptes.has(key);
      if (w === undefined) {
        if (had) {
          this.sptes.delete(key);
          this.count(decode(key, false), -1);
        }
      } else {
        if (!had) this.count(decode(key, w), 1);
        this.sptes.set(key, w);
      }
    }
  }

  get size(): number {
    return this.sptes.size;
  }

  /** The one SPTE mapping `gfn` in `as`, if any. */
  covering(as: number, gfn: number): Spte | undefined {
    for (let level = 1; level <= MAX_MAPPING_LEVEL; level++) {
      const start = frameStart(gfn, level);
      const w = this.sptes.get(spteKey(as, level, start));
      if (w !== undefined) return { as, level, gfn: start, writable: w };
    }
    return undefined;
  }

  /** SPTEs of levels below `level` inside the frame at `gfn`, in (gfn, level) order. */
  within(as: number, level: number, gfn: number): Spte[] {
    if (this.insideStale) {
      this.insideStale = false;
      this.sptes.forEach((w, key) => this.count(decode(key, w), 1));
    }
    const keys = this.inside.get(spteKey(as, level, gfn));
    return keys ? sorted([...keys].map((k) => decode(k, this.sptes.get(k)!))) : [];
  }

  /**
   * Every SPTE, in (as, gfn, level) order, or only the first `cut.limit` that `cut.keep` keeps
   * (a page of `state`: building 85 k row objects to show 200 cost ~20 ms of a seek). Sorted as
   * numbers (as, gfn, level, writable packed into one, under 2^45), not by a comparator over
   * objects (3x the time).
   */
  list(cut: SpteCut = {}): Spte[] {
    const order = new Float64Array(this.sptes.size);
    let i = 0;
    this.sptes.forEach((w, key) => {
      // key = gfn*8 + as*4 + level; as first: as*2^44 + gfn*16 + level*2 + writable.
      order[i++] = (Math.floor(key / 4) % 2) * AS_WEIGHT + Math.floor(key / 8) * 16 + (key % 4) * 2 + (w ? 1 : 0);
    });
    order.sort();
    const { keep, limit = Infinity } = cut;
    const out: Spte[] = [];
    for (let j = 0; j < order.length && out.length < limit; j++) {
      const x = order[j]!;
      const as = x >= AS_WEIGHT ? 1 : 0;
      const rest = x - as * AS_WEIGHT;
      const gfn = Math.floor(rest / 16);
      const lw = rest - gfn * 16;
      if (keep && !keep(as, lw >> 1, gfn)) continue;
      out.push({ as, level: lw >> 1, gfn, writable: (lw & 1) === 1 });
    }
    return out;
  }

  /** Replaces the whole view with packed SPTEs (SpteTable.save), e.g. from a checkpoint. */
  load(packed: Float64Array): void {
    this.sptes.load(packed);
    this.inside.clear();
    this.insideStale = true;
  }

  /** The view packed, for a checkpoint (SpteTable.save). */
  save(): Float64Array {
    return this.sptes.save();
  }

  onInstalled(e: SpteInstalled): void {
    const key = spteKey(e.as, e.level, e.gfn);
    this.touched?.add(key);
    if (!this.sptes.has(key)) this.count(e, 1);
    this.sptes.set(key, e.writable);
  }

  onZapped(e: SpteZapped): void {
    const key = spteKey(e.as, e.level, e.gfn);
    this.touched?.add(key);
    if (this.sptes.delete(key)) this.count(e, -1);
  }

  onWriteProtected(e: SpteWriteProtected): void {
    const key = spteKey(e.as, e.level, e.gfn);
    this.touched?.add(key);
    this.sptes.set(key, false);
  }

  private count(e: SpteRef, delta: number): void {
    if (this.insideStale) return; // rebuilt from the map when within() first needs it
    const key = spteKey(e.as, e.level, e.gfn);
    for (let up = e.level + 1; up <= MAX_MAPPING_LEVEL; up++) {
      const k = spteKey(e.as, up, frameStart(e.gfn, up));
      let set = this.inside.get(k);
      if (delta > 0) {
        if (!set) this.inside.set(k, (set = new Set()));
        set.add(key);
      } else if (set) {
        set.delete(key);
        if (set.size === 0) this.inside.delete(k);
      }
    }
  }
}

/** The SPTE a key names (spteKey's inverse), with its writable bit. */
export function decode(key: number, writable: boolean): Spte {
  return { as: Math.floor(key / 4) % 2, level: key % 4, gfn: Math.floor(key / 8), writable };
}

function sorted(xs: Spte[]): Spte[] {
  return xs.sort((a, b) => a.as - b.as || a.gfn - b.gfn || a.level - b.level);
}

import { freeze } from 'immer';
import type { SpCreated, SpWriteFlooding, SpZapped } from '../events/types.js';

export interface ShadowPage {
  readonly sp: number;
  /** role.smm */
  readonly as: number;
  readonly gfn: number;
  readonly level: number;
  readonly direct: boolean;
  /** write_flooding_count: writes kvm_mmu_pte_write counted since the page was last used (spec 5.4). */
  readonly flood: number;
}

/** Live shadow pages and kvm->arch.indirect_shadow_pages (spec 5.1, B9). */
export class ShadowPageProjection {
  readonly pages = new Map<number, ShadowPage>();
  /** Indirect (accounted) shadow pages alive now. */
  indirect = 0;
  /** The highest shadow-page id ever created; ids are never reused. */
  lastId = 0;
  /** Ids created or zapped since `touched` was last reset (time travel's cheap restores). */
  touched: Set<number> | undefined;
  /** gfn → ids of the live pages shadowing it (for_each_gfn_sp: KVM's write handler looks pages up by gfn). */
  private readonly byGfn = new Map<number, Set<number>>();

  /** The live pages that shadow `gfn` (any address space), oldest first. */
  ofGfn(gfn: number): ShadowPage[] {
    const ids = this.byGfn.get(gfn);
    return ids ? [...ids].sort((a, b) => a - b).map((id) => this.pages.get(id)!) : [];
  }

  private index(id: number, gfn: number, add: boolean): void {
    let ids = this.byGfn.get(gfn);
    if (add) {
      if (!ids) this.byGfn.set(gfn, (ids = new Set()));
      ids.add(id);
    } else if (ids) {
      ids.delete(id);
      if (ids.size === 0) this.byGfn.delete(gfn);
    }
  }

  /**
   * The live pages as rows of [sp, as, gfn, level, direct 0/1, flood], by id. A state only moved forward
   * holds them in id order already (ids only grow); a reverted one may not, and is sorted.
   */
  save(): Float64Array {
    const out = new Float64Array(this.pages.size * 6);
    let i = 0;
    let prev = 0;
    let sorted = true;
    for (const id of this.pages.keys()) {
      if (id < prev) sorted = false;
      prev = id;
    }
    const pages = sorted ? this.pages.values() : [...this.pages.values()].sort((a, b) => a.sp - b.sp);
    for (const p of pages) {
      out[i++] = p.sp;
      out[i++] = p.as;
      out[i++] = p.gfn;
      out[i++] = p.level;
      out[i++] = p.direct ? 1 : 0;
      out[i++] = p.flood;
    }
    return out;
  }

  /** Replaces the live pages with `rows` (see save), e.g. from a checkpoint. */
  load(rows: Float64Array, lastId: number): void {
    this.pages.clear();
    this.byGfn.clear();
    this.indirect = 0;
    for (let i = 0; i < rows.length; i += 6) {
      const direct = rows[i + 4] === 1;
      this.pages.set(rows[i]!, freeze({ sp: rows[i]!, as: rows[i + 1]!, gfn: rows[i + 2]!, level: rows[i + 3]!, direct, flood: rows[i + 5]! }));
      this.index(rows[i]!, rows[i + 2]!, true);
      if (!direct) this.indirect++;
    }
    this.lastId = lastId;
  }

  /**
   * Puts back the pages `touched` names as they are in `rows` (sorted by id, see save), leaving
   * the rest: a restore to the checkpoint this state was last restored from.
   */
  revert(rows: Float64Array, lastId: number, indirect: number): void {
    for (const sp of this.touched ?? []) {
      let lo = 0;
      let hi = rows.length / 6 - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const v = rows[mid * 6]!;
        if (v === sp) {
          at = mid * 6;
          break;
        }
        if (v < sp) lo = mid + 1;
        else hi = mid - 1;
      }
      const live = this.pages.get(sp);
      if (live) this.index(sp, live.gfn, false);
      if (at < 0) this.pages.delete(sp);
      else {
        this.pages.set(sp, freeze({ sp, as: rows[at + 1]!, gfn: rows[at + 2]!, level: rows[at + 3]!, direct: rows[at + 4] === 1, flood: rows[at + 5]! }));
        this.index(sp, rows[at + 2]!, true);
      }
    }
    this.lastId = lastId;
    this.indirect = indirect;
  }

  onCreated(e: SpCreated): void {
    this.touched?.add(e.sp);
    this.pages.set(e.sp, freeze({ sp: e.sp, as: e.as, gfn: e.gfn, level: e.level, direct: e.direct, flood: 0 }));
    this.index(e.sp, e.gfn, true);
    if (!e.direct) this.indirect++;
    if (e.sp > this.lastId) this.lastId = e.sp;
  }

  onWriteFlooding(e: SpWriteFlooding): void {
    this.touched?.add(e.sp);
    const p = this.pages.get(e.sp);
    if (!p) throw new Error(`event counts a write to shadow page ${e.sp}, which is not live`);
    this.pages.set(e.sp, freeze({ ...p, flood: e.count }));
  }

  onZapped(e: SpZapped): void {
    this.touched?.add(e.sp);
    const p = this.pages.get(e.sp);
    if (!p) throw new Error(`event zaps shadow page ${e.sp}, which is not live`);
    this.pages.delete(e.sp);
    this.index(e.sp, p.gfn, false);
    if (!p.direct) this.indirect--;
  }
}

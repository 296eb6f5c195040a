import { freeze } from 'immer';
import type { SpCreated, SpZapped } from '../events/types.js';

export interface ShadowPage {
  readonly sp: number;
  /** role.smm */
  readonly as: number;
  readonly gfn: number;
  readonly level: number;
  readonly direct: boolean;
}

/** Live shadow pages and kvm->arch.indirect_shadow_pages (spec 5.1, B9). */
export class ShadowPageProjection {
  readonly pages = new Map<number, ShadowPage>();
  /** Indirect (accounted) shadow pages alive now. */
  indirect = 0;
  /** The highest shadow-page id ever created; ids are never reused. */
  lastId = 0;

  onCreated(e: SpCreated): void {
    this.pages.set(e.sp, freeze({ sp: e.sp, as: e.as, gfn: e.gfn, level: e.level, direct: e.direct }));
    if (!e.direct) this.indirect++;
    if (e.sp > this.lastId) this.lastId = e.sp;
  }

  onZapped(e: SpZapped): void {
    const p = this.pages.get(e.sp);
    if (!p) throw new Error(`event zaps shadow page ${e.sp}, which is not live`);
    this.pages.delete(e.sp);
    if (!p.direct) this.indirect--;
  }
}

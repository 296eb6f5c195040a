/**
 * In-kernel reactions of external notifier nodes. The kernel calls a node's track_write and
 * track_flush_slot synchronously, and a node such as KVMGT changes its tracking right there
 * (spec 5.6); the effects then belong to the same command. RxJS observers of `notifications$`,
 * by contrast, see deliveries only after the command.
 */
import type { KernelContext } from './context.js';
import { TRACK_WRITE, trackAdd, trackRemove } from './page-track.js';

/** What a node may do from its callbacks: track or untrack gfns as itself (gfn_to_memslot: address space 0 unless given). */
export interface NodeKernelApi {
  /** False when no slot holds the gfn (KVMGT gets -EINVAL). */
  trackAdd(gfn: number, as?: number): boolean;
  trackRemove(gfn: number, as?: number): boolean;
}

export interface NodeHandler {
  /** track_write, after the emulated write reached memory. */
  trackWrite?(write: { readonly as: number; readonly gpa: number; readonly bytes: number }, api: NodeKernelApi): void;
  /** track_flush_slot (linux-4.19 to 6.5), before a DELETE or MOVE of the slot. */
  trackFlushSlot?(slot: { readonly as: number; readonly id: number; readonly base: number; readonly npages: number }, api: NodeKernelApi): void;
  /** track_remove_region(gfn, nr_pages) (6.6+), after a DELETE committed: the counters go with the slot. */
  trackRemoveRegion?(slot: { readonly as: number; readonly id: number; readonly base: number; readonly npages: number }, api: NodeKernelApi): void;
}

export function nodeApi(k: KernelContext, node: string): NodeKernelApi {
  const step = (gfn: number, as: number, add: boolean): boolean => {
    const slot = k.state.memslots.find(as, gfn);
    if (!slot) return false;
    if (add) trackAdd(k, node, slot, gfn, TRACK_WRITE);
    else trackRemove(k, node, slot, gfn, TRACK_WRITE);
    return true;
  };
  return { trackAdd: (gfn, as = 0) => step(gfn, as, true), trackRemove: (gfn, as = 0) => step(gfn, as, false) };
}

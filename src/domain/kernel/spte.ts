import { KVM_MEM_LOG_DIRTY_PAGES, MAX_MAPPING_LEVEL } from '../constants.js';
import { frameStart } from '../gfn.js';
import type { FlushReason, SpteWriteProtected } from '../../events/types.js';
import type { KernelContext } from './context.js';
import { lpageDisallowed } from './lpage.js';

/** kvm_flush_remote_tlbs */
export function flushRemoteTlbs(k: KernelContext, reason: FlushReason): void {
  k.emit('tlb-flushed', { reason });
}

/**
 * kvm_mmu_slot_gfn_write_protect (spec 2.2): clears the writable bit of every SPTE, at any level,
 * that maps gfn in the slot's address space; true if one changed. Huge SPTEs are write-protected,
 * not split.
 */
export function slotGfnWriteProtect(k: KernelContext, as: number, gfn: number, reason: SpteWriteProtected['reason']): boolean {
  const s = k.state.sptes.covering(as, gfn);
  if (!s || !s.writable) return false;
  k.emit('spte-write-protected', { as, level: s.level, gfn: s.gfn, reason });
  return true;
}

/**
 * The mapping level of a fault (4.6 mapping_level): the largest level up to the host's whose
 * disallow_lpage is zero at every level from 2 up; 4 KiB while the slot logs dirty pages.
 */
export function mappingLevel(k: KernelContext, as: number, gfn: number, hostLevel: number): number {
  const slot = k.state.memslots.find(as, gfn);
  if (!slot || slot.flags & KVM_MEM_LOG_DIRTY_PAGES) return 1;
  const max = Math.min(hostLevel, MAX_MAPPING_LEVEL);
  let level = 2;
  for (; level <= max; level++) if (lpageDisallowed(slot, gfn, level)) break;
  return level - 1;
}

/**
 * Installs a leaf SPTE as __direct_map / mmu_set_spte do: a huge SPTE above it is dropped
 * (drop_large_spte, with a flush), smaller SPTEs under a new huge one are unlinked (flush).
 */
export function installSpte(k: KernelContext, as: number, level: number, gfn: number, writable: boolean): void {
  const start = frameStart(gfn, level);
  const cover = k.state.sptes.covering(as, gfn);
  if (cover && cover.level > level) {
    k.emit('spte-zapped', { as, level: cover.level, gfn: cover.gfn, reason: 'table-replaces-huge' });
    flushRemoteTlbs(k, 'table-replaces-huge');
  }
  if (level > 1) {
    const under = k.state.sptes.within(as, level, start);
    for (const s of under) k.emit('spte-zapped', { as, level: s.level, gfn: s.gfn, reason: 'huge-replaces-table' });
    if (under.length > 0) flushRemoteTlbs(k, 'huge-replaces-table');
  }
  k.emit('spte-installed', { as, level, gfn: start, writable });
}

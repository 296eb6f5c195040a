import { KVM_MEM_READONLY, KVM_MMU_USER } from '../constants.js';
import type { FaultOutcome } from '../../events/types.js';
import type { ShadowPage } from '../../projections/shadow-pages.js';
import type { KernelContext } from './context.js';
import { allowLpage, disallowLpage } from './lpage.js';
import { TRACK_WRITE, isActive, isWriteTracked, trackAdd, trackRemove } from './page-track.js';
import { flushRemoteTlbs, installSpte, mappingLevel, slotGfnWriteProtect } from './spte.js';

/**
 * A guest page fault in address space `as` (spec 5.2, 4.6 tdp_page_fault):
 * 1. no slot: MMIO;
 * 2. page_fault_handle_page_track: a write to a present mapping of a tracked gfn is emulated;
 * 3. a write to a read-only slot is emulated (and fails to MMIO);
 * 4. otherwise map at mapping_level, writable unless the gfn is tracked (mmu_need_write_protect)
 *    or the slot is read-only; a write fault that got a read-only SPTE is emulated.
 */
export function handleFault(k: KernelContext, as: number, gfn: number, write: boolean, hostLevel: number): FaultOutcome {
  const slot = k.state.memslots.find(as, gfn);
  if (!slot) {
    k.emit('fault', { as, gfn, write, present: false, outcome: 'mmio' });
    return 'mmio';
  }
  const present = k.state.sptes.covering(as, gfn) !== undefined;
  if (present && write && isActive(k, as, gfn, TRACK_WRITE, 'page_fault_handle_page_track')) {
    k.emit('fault', { as, gfn, write, present, outcome: 'emulate' });
    return 'emulate';
  }
  const readonly = (slot.flags & KVM_MEM_READONLY) !== 0;
  if (write && readonly) {
    k.emit('fault', { as, gfn, write, present, outcome: 'emulate' });
    return 'emulate';
  }
  const level = mappingLevel(k, as, gfn, hostLevel);
  const writable = !readonly && !isWriteTracked(slot, gfn);
  const outcome: FaultOutcome = write && !writable ? 'emulate' : 'mapped';
  k.emit('fault', { as, gfn, write, present, outcome });
  installSpte(k, as, level, gfn, writable);
  return outcome;
}

/**
 * account_shadowed + the level-1 write-protect of 4.6 kvm_mmu_get_page (spec 5.1): a non-leaf
 * page is write-tracked by kvm-mmu; a leaf page disallows large pages, then the creating vCPU's
 * address space write-protects the gfn (B12) and flushes if that changed an SPTE.
 */
export function createShadowPage(k: KernelContext, sp: Omit<ShadowPage, 'sp'>, vcpuAs: number): number {
  const id = k.state.shadowPages.lastId + 1;
  k.emit('sp-created', { sp: id, as: sp.as, gfn: sp.gfn, level: sp.level, direct: sp.direct });
  if (sp.direct) return id;
  const slot = k.state.memslots.find(sp.as, sp.gfn)!;
  if (sp.level > 1) {
    trackAdd(k, KVM_MMU_USER, slot, sp.gfn, TRACK_WRITE);
  } else {
    disallowLpage(k, slot, sp.gfn);
    if (slotGfnWriteProtect(k, vcpuAs, sp.gfn, 'sp-create')) flushRemoteTlbs(k, 'sp-create');
  }
  return id;
}

/** kvm_mmu_prepare_zap_page: unaccount_shadowed exactly once for a live indirect page (spec 5.1). */
export function prepareZapShadowPage(k: KernelContext, sp: ShadowPage, reason: 'sp-zap' | 'zap-all'): void {
  k.emit('sp-zapped', { sp: sp.sp, reason });
  if (sp.direct) return;
  const slot = k.state.memslots.find(sp.as, sp.gfn);
  // DELETE/MOVE zap every page before a slot changes, so a live page's slot always exists.
  if (!slot) throw new Error(`internal: shadow page ${sp.sp} has no memslot for gfn ${sp.gfn}`);
  if (sp.level > 1) trackRemove(k, KVM_MMU_USER, slot, sp.gfn, TRACK_WRITE);
  else allowLpage(k, slot, sp.gfn);
}

/**
 * kvm_mmu_invalidate_zap_all_pages, 4.6's kvm_arch_flush_shadow_memslot (spec 5.5): every shadow
 * page is zapped and unaccounted, every mapping dropped, then one remote flush if anything went.
 */
export function zapAll(k: KernelContext, reason: 'memslot-delete' | 'memslot-move'): void {
  k.emit('mmu-zapped-all', { reason });
  const pages = [...k.state.shadowPages.pages.values()];
  for (const sp of pages) prepareZapShadowPage(k, sp, 'zap-all');
  const sptes = k.state.sptes.list();
  for (const s of sptes) k.emit('spte-zapped', { as: s.as, level: s.level, gfn: s.gfn, reason: 'zap-all' });
  if (pages.length + sptes.length > 0) flushRemoteTlbs(k, 'zap-all');
}

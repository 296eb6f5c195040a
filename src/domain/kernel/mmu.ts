import { KVM_MEM_READONLY, KVM_MMU_USER } from '../constants.js';
import type { FaultOutcome, MmuZappedAll, SpZapReason } from '../../events/types.js';
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
 *    or the slot is read-only, or — for a read fault — the host page is not mapped writable
 *    (hva_to_pfn maps a read fault writable only when a FOLL_WRITE fast GUP succeeds; a
 *    never-written anonymous page is the read-only zero page; make_spte then leaves W and
 *    MMU-writable clear). A write fault takes the page writable (GUP with FOLL_WRITE breaks the
 *    CoW), so `hostWritable` only matters to reads. A write fault that got a read-only SPTE is emulated.
 */
export function handleFault(k: KernelContext, as: number, gfn: number, write: boolean, hostLevel: number, hostWritable = true): FaultOutcome {
  const slot = k.state.memslots.find(as, gfn);
  if (!slot) {
    k.emit('fault', { as, gfn, write, present: false, outcome: 'mmio', hostWritable });
    return 'mmio';
  }
  const present = k.state.sptes.covering(as, gfn) !== undefined;
  if (present && write && isActive(k, as, gfn, TRACK_WRITE, 'page_fault_handle_page_track')) {
    k.emit('fault', { as, gfn, write, present, outcome: 'emulate', hostWritable });
    return 'emulate';
  }
  const readonly = (slot.flags & KVM_MEM_READONLY) !== 0;
  if (write && readonly) {
    k.emit('fault', { as, gfn, write, present, outcome: 'emulate', hostWritable });
    return 'emulate';
  }
  const level = mappingLevel(k, as, gfn, hostLevel);
  const writable = !readonly && (write || hostWritable) && !isWriteTracked(k, slot, gfn);
  const outcome: FaultOutcome = write && !writable ? 'emulate' : 'mapped';
  k.emit('fault', { as, gfn, write, present, outcome, hostWritable });
  installSpte(k, as, level, gfn, writable);
  return outcome;
}

/**
 * account_shadowed + the level-1 write-protect (spec 5.1): a non-leaf page is write-tracked by
 * kvm-mmu; a leaf page disallows large pages, then write-protects the gfn — in the creating
 * vCPU's address space up to 5.17 (kvm_mmu_get_page's rmap_write_protect, B12), in the page
 * role's from 6.1 (account_shadowed) — and flushes if that changed an SPTE. From 5.16 an
 * indirect page needs a shadow root, whose first allocation enables write tracking
 * (mmu_first_shadow_root_alloc, spec 1.6).
 */
export function createShadowPage(k: KernelContext, sp: Omit<ShadowPage, 'sp' | 'flood'>, vcpuAs: number): number {
  if (!sp.direct && !k.state.vm.writeTrackingEnabled) enableWriteTracking(k, 'shadow-root');
  const id = k.state.shadowPages.lastId + 1;
  k.emit('sp-created', { sp: id, as: sp.as, gfn: sp.gfn, level: sp.level, direct: sp.direct });
  if (sp.direct) return id;
  const slot = k.state.memslots.find(sp.as, sp.gfn)!;
  if (sp.level > 1) {
    trackAdd(k, KVM_MMU_USER, slot, sp.gfn, TRACK_WRITE);
  } else {
    disallowLpage(k, slot, sp.gfn);
    const wpAs = k.profile.leafWriteProtectAs === 'role' ? sp.as : vcpuAs;
    if (slotGfnWriteProtect(k, wpAs, sp.gfn, 'sp-create')) flushRemoteTlbs(k, 'sp-create');
  }
  return id;
}

/**
 * mmu_first_shadow_root_alloc / kvm_enable_external_write_tracking (spec 1.6): every slot of every
 * address space gets its gfn_track array (2 bytes per page); never undone.
 */
export function enableWriteTracking(k: KernelContext, reason: 'shadow-root' | 'external-user'): void {
  let pages = 0;
  for (const s of k.state.memslots.slots.values()) pages += s.npages;
  k.emit('write-tracking-enabled', { reason, bytes: pages * 2 });
}

/** kvm_mmu_prepare_zap_page: unaccount_shadowed exactly once for a live indirect page (spec 5.1). */
export function prepareZapShadowPage(k: KernelContext, sp: ShadowPage, reason: SpZapReason): void {
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
export function zapAll(k: KernelContext, reason: MmuZappedAll['reason']): void {
  k.emit('mmu-zapped-all', { reason });
  const pages = [...k.state.shadowPages.pages.values()];
  for (const sp of pages) prepareZapShadowPage(k, sp, 'zap-all');
  const sptes = k.state.sptes.list();
  for (const s of sptes) k.emit('spte-zapped', { as: s.as, level: s.level, gfn: s.gfn, reason: 'zap-all' });
  if (pages.length + sptes.length > 0) flushRemoteTlbs(k, 'zap-all');
}

/**
 * detect_write_misaligned (4.6, 8-byte gptes): a write that is not one whole aligned PTE, except
 * a single byte at a PTE's start (clear_bit's andb updating status bits).
 */
export function writeMisaligned(gpa: number, bytes: number): boolean {
  const offset = gpa % 4096;
  if (offset % 8 === 0 && bytes === 1) return false;
  return ((offset ^ (offset + bytes - 1)) & ~7) !== 0 || bytes < 4;
}

/**
 * kvm_mmu_pte_write, KVM's own track_write (spec 5.4): nothing while no indirect shadow page
 * exists; else each live indirect page shadowing the written gfn (newest first, as the hash
 * list) is zapped when the write is misaligned or, for a non-leaf page, when it is the third
 * write since the page was last used (write flooding); one remote flush if any was zapped.
 */
export function kvmMmuPteWrite(k: KernelContext, gpa: number, bytes: number): void {
  const sps = k.state.shadowPages;
  if (sps.indirect === 0) return;
  // mmu_pte_write_fetch_gpte (4.6 to 6.18): a PAE or long-mode vCPU writing 4 bytes writes half of
  // an 8-byte gpte, so the checks below see the whole aligned gpte (gpa &= ~7, bytes = 8).
  if (bytes === 4) {
    gpa -= gpa % 8;
    bytes = 8;
  }
  const gfn = Math.floor(gpa / 4096);
  const hits = sps.ofGfn(gfn).filter((p) => !p.direct).reverse();
  let zapped = false;
  for (const sp of hits) {
    let flooded = false;
    const misaligned = writeMisaligned(gpa, bytes);
    if (!misaligned && sp.level > 1) {
      const count = sp.flood + 1;
      k.emit('sp-write-flooding', { sp: sp.sp, count });
      flooded = count >= 3;
    }
    if (misaligned || flooded) {
      prepareZapShadowPage(k, k.state.shadowPages.pages.get(sp.sp)!, 'pte-write');
      zapped = true;
    }
  }
  if (zapped) flushRemoteTlbs(k, 'pte-write');
}

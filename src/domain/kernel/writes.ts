import { KVM_MEM_READONLY, KVM_MMU_NODE, PAGE_SHIFT } from '../constants.js';
import type { WriteVia } from '../commands.js';
import type { WriteOutcome } from '../../events/types.js';
import type { KernelContext } from './context.js';
import { handleFault, kvmMmuPteWrite } from './mmu.js';
import { nodeApi } from './node-handlers.js';

const gfnOf = (gpa: number): number => Math.floor(gpa / 2 ** PAGE_SHIFT);

/**
 * emulator_write_phys for one page chunk (spec 5.3): the write lands if a writable slot holds
 * it, then kvm_page_track_write calls every registered node, newest first, tracked or not (B23);
 * KVM's own handler runs as the last node (<= 6.5) or is called directly after them (6.6+
 * page_track.h: __kvm_page_track_write, then kvm_mmu_track_write). Outside any slot or on a
 * read-only slot the write fails, nobody is told, and it goes to MMIO.
 */
export function emulatorWritePhys(k: KernelContext, as: number, gpa: number, bytes: number, via: WriteVia): WriteOutcome {
  const slot = k.state.memslots.find(as, gfnOf(gpa));
  if (!slot || slot.flags & KVM_MEM_READONLY) {
    k.emit('write', { as, gpa, bytes, via, outcome: 'mmio' });
    return 'mmio';
  }
  k.emit('write', { as, gpa, bytes, via, outcome: 'emulated' });
  // The registry as it is now decides who is called, in order (a callback may change tracking, not the list).
  for (const node of k.state.notifiers.nodes) {
    k.emit('notification', { node, as, gpa, bytes });
    if (node === KVM_MMU_NODE) kvmMmuPteWrite(k, gpa, bytes);
    else k.handlers.get(node)?.trackWrite?.({ as, gpa, bytes }, nodeApi(k, node));
  }
  if (!k.profile.kvmNode) kvmMmuPteWrite(k, gpa, bytes);
  return 'emulated';
}

/**
 * A guest store to one page chunk: straight to memory through a writable SPTE, else a write
 * fault; a fault that maps writable lets the store retire directly, one that emulates sends it
 * through emulator_write_phys (spec 5.2, 5.3).
 */
export function guestWrite(k: KernelContext, as: number, gpa: number, bytes: number, hostLevel: number): WriteOutcome {
  const gfn = gfnOf(gpa);
  if (k.state.sptes.covering(as, gfn)?.writable) {
    k.emit('write', { as, gpa, bytes, via: 'guest', outcome: 'direct' });
    return 'direct';
  }
  const fault = handleFault(k, as, gfn, true, hostLevel);
  if (fault === 'emulate') return emulatorWritePhys(k, as, gpa, bytes, 'guest');
  const outcome: WriteOutcome = fault === 'mapped' ? 'direct' : 'mmio';
  k.emit('write', { as, gpa, bytes, via: 'guest', outcome });
  return outcome;
}

/**
 * Writes that never reach kvm_page_track_write (spec 5.3 blind spots, B10): emulator write_std
 * paths and KVM's own kvm_write_guest fail outside RAM and on read-only slots; userspace and
 * DMA write through the host mapping and only need RAM.
 */
export function blindWrite(k: KernelContext, as: number, gpa: number, bytes: number, via: WriteVia): WriteOutcome {
  const slot = k.state.memslots.find(as, gfnOf(gpa));
  const viaKvm = via === 'write_std' || via === 'kvm';
  const outcome: WriteOutcome = !slot || (viaKvm && slot.flags & KVM_MEM_READONLY) ? 'mmio' : 'blind';
  k.emit('write', { as, gpa, bytes, via, outcome });
  return outcome;
}

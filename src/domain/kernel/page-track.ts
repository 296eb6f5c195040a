import { USHRT_MAX } from '../constants.js';
import type { SlotState } from '../../projections/memslots.js';
import type { KernelContext } from './context.js';
import { allowLpage, disallowLpage } from './lpage.js';
import { flushRemoteTlbs, slotGfnWriteProtect } from './spte.js';
import { kernelWarn } from './warn.js';

/** KVM_PAGE_TRACK_WRITE (and 6.6's one gfn_write_track array). */
export const TRACK_WRITE = 0;

/** page_track_mode_is_valid: mode < 0 || mode >= KVM_PAGE_TRACK_MAX is invalid (spec 2.2 step 1). */
export function modeIsValid(k: KernelContext, mode: number): boolean {
  return Number.isInteger(mode) && mode >= 0 && mode < k.profile.trackModes.length;
}

/**
 * update_gfn_track / 6.6 update_gfn_write_track (spec 2.1): a step that would leave 0..USHRT_MAX
 * WARNs (WARN_ON_ONCE from 6.6) and changes nothing. Returns whether the count moved.
 */
export function updateGfnTrack(k: KernelContext, user: string, slot: SlotState, gfn: number, mode: number, delta: 1 | -1): boolean {
  const val = slot.track[mode]![gfn - slot.base]!;
  const next = val + delta;
  if (next < 0 || next > USHRT_MAX) {
    kernelWarn(k, k.profile.warnOnce, {
      kind: delta > 0 ? 'gfn-track-overflow' : 'gfn-track-underflow',
      fn: k.profile.fns.update,
      as: slot.as,
      slot: slot.id,
      gfn,
      mode,
      user,
      value: val,
    });
    return false;
  }
  k.emit('track-count-step', { as: slot.as, slot: slot.id, gfn, mode, user, delta, count: next });
  return true;
}

/**
 * The checks before a count step (spec 2.2 steps 1-2): a bad mode WARNs (<= 6.5); with write
 * tracking disabled (5.16+, spec 1.6) 5.16-6.5 WARN and return, 6.6+ hits KVM_BUG_ON, which
 * marks the VM bugged (its WARN_ON_ONCE fires only while the VM is not bugged yet).
 */
function mayStep(k: KernelContext, fn: string, user: string, slot: SlotState, gfn: number, mode: number): boolean {
  if (k.profile.modeArgument && !modeIsValid(k, mode)) {
    kernelWarn(k, false, { kind: 'invalid-mode', fn, as: slot.as, slot: slot.id, gfn, mode, user });
    return false;
  }
  if (mode !== TRACK_WRITE || k.state.vm.writeTrackingEnabled) return true;
  if (k.profile.disabledTrackingAction === 'warn') {
    kernelWarn(k, false, { kind: 'write-tracking-disabled', fn, as: slot.as, slot: slot.id, gfn, user });
    return false;
  }
  if (!k.state.vm.bugged) {
    kernelWarn(k, true, { kind: 'kvm-bug', fn, as: slot.as, slot: slot.id, gfn, user });
    k.emit('vm-bugged', { fn, reason: 'write tracking is used but not enabled (KVM_BUG_ON(!kvm_page_track_write_tracking_enabled(kvm)))' });
  }
  return false;
}

/**
 * kvm_slot_page_track_add_page / __kvm_write_track_add_gfn (spec 2.2): count +1, then — whether
 * or not the count moved (B3) — disallow large pages and, for write mode, write-protect the gfn,
 * flushing remote TLBs only if an SPTE changed.
 */
export function trackAdd(k: KernelContext, user: string, slot: SlotState, gfn: number, mode: number): void {
  if (!mayStep(k, k.profile.fns.add, user, slot, gfn, mode)) return;
  updateGfnTrack(k, user, slot, gfn, mode, 1);
  disallowLpage(k, slot, gfn);
  if (mode === TRACK_WRITE && slotGfnWriteProtect(k, slot.as, gfn, 'track-add')) flushRemoteTlbs(k, 'track-add');
}

/**
 * kvm_slot_page_track_remove_page / __kvm_write_track_remove_gfn (spec 2.3): count -1 and allow
 * large pages unconditionally; never restores write access and never flushes (B8).
 */
export function trackRemove(k: KernelContext, user: string, slot: SlotState, gfn: number, mode: number): void {
  if (!mayStep(k, k.profile.fns.remove, user, slot, gfn, mode)) return;
  updateGfnTrack(k, user, slot, gfn, mode, -1);
  allowLpage(k, slot, gfn);
}

/** The count itself, without WARNs: is gfn write-tracked in this slot? False while write tracking is disabled (spec 1.6). */
export function isWriteTracked(k: KernelContext, slot: SlotState, gfn: number): boolean {
  return k.state.vm.writeTrackingEnabled && slot.track[TRACK_WRITE]![gfn - slot.base] !== 0;
}

/**
 * kvm_page_track_is_active(vcpu, gfn, mode) (spec 3): WARN and false on a bad mode (<= 6.5), false
 * outside any slot of the vCPU's address space or while write tracking is disabled (5.16+, no
 * WARN), else count != 0. 6.6's kvm_gfn_is_write_tracked has no mode. Emits no event itself.
 */
export function isActive(k: KernelContext, as: number, gfn: number, mode: number, fn = k.profile.fns.query): boolean {
  if (k.profile.modeArgument && !modeIsValid(k, mode)) {
    kernelWarn(k, false, { kind: 'invalid-mode', fn, as, gfn, mode });
    return false;
  }
  const slot = k.state.memslots.find(as, gfn);
  if (!slot) return false;
  if (mode === TRACK_WRITE && !k.state.vm.writeTrackingEnabled) return false;
  return slot.track[mode]![gfn - slot.base] !== 0;
}

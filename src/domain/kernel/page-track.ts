import { USHRT_MAX } from '../constants.js';
import type { SlotState } from '../../projections/memslots.js';
import type { KernelContext } from './context.js';
import { allowLpage, disallowLpage } from './lpage.js';
import { flushRemoteTlbs, slotGfnWriteProtect } from './spte.js';

/** KVM_PAGE_TRACK_WRITE */
export const TRACK_WRITE = 0;

/** page_track_mode_is_valid: mode < 0 || mode >= KVM_PAGE_TRACK_MAX is invalid (spec 2.2 step 1). */
export function modeIsValid(k: KernelContext, mode: number): boolean {
  return Number.isInteger(mode) && mode >= 0 && mode < k.profile.trackModes.length;
}

/**
 * update_gfn_track (spec 2.1): a step that would leave 0..USHRT_MAX WARNs and changes nothing.
 * Returns whether the count moved.
 */
export function updateGfnTrack(k: KernelContext, user: string, slot: SlotState, gfn: number, mode: number, delta: 1 | -1): boolean {
  const val = slot.track[mode]![gfn - slot.base]!;
  const next = val + delta;
  if (next < 0 || next > USHRT_MAX) {
    k.emit('warn', {
      kind: delta > 0 ? 'gfn-track-overflow' : 'gfn-track-underflow',
      fn: 'update_gfn_track',
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
 * kvm_slot_page_track_add_page (spec 2.2): count +1, then — whether or not the count moved (B3) —
 * disallow large pages and, for write mode, write-protect the gfn, flushing remote TLBs only if
 * an SPTE changed.
 */
export function trackAdd(k: KernelContext, user: string, slot: SlotState, gfn: number, mode: number): void {
  if (!modeIsValid(k, mode)) {
    k.emit('warn', { kind: 'invalid-mode', fn: 'kvm_slot_page_track_add_page', as: slot.as, slot: slot.id, gfn, mode, user });
    return;
  }
  updateGfnTrack(k, user, slot, gfn, mode, 1);
  disallowLpage(k, slot, gfn);
  if (mode === TRACK_WRITE && slotGfnWriteProtect(k, slot.as, gfn, 'track-add')) flushRemoteTlbs(k, 'track-add');
}

/**
 * kvm_slot_page_track_remove_page (spec 2.3): count -1 and allow large pages unconditionally;
 * never restores write access and never flushes (B8).
 */
export function trackRemove(k: KernelContext, user: string, slot: SlotState, gfn: number, mode: number): void {
  if (!modeIsValid(k, mode)) {
    k.emit('warn', { kind: 'invalid-mode', fn: 'kvm_slot_page_track_remove_page', as: slot.as, slot: slot.id, gfn, mode, user });
    return;
  }
  updateGfnTrack(k, user, slot, gfn, mode, -1);
  allowLpage(k, slot, gfn);
}

/** The count itself, without WARNs: is gfn tracked in this slot for write? */
export function isWriteTracked(slot: SlotState, gfn: number): boolean {
  return slot.track[TRACK_WRITE]![gfn - slot.base] !== 0;
}

/**
 * kvm_page_track_is_active(vcpu, gfn, mode), 4.6 row of spec 3: WARN and false on a bad mode,
 * false outside any slot of the vCPU's address space, else count != 0. Emits no event itself.
 */
export function isActive(k: KernelContext, as: number, gfn: number, mode: number, fn = 'kvm_page_track_is_active'): boolean {
  if (!modeIsValid(k, mode)) {
    k.emit('warn', { kind: 'invalid-mode', fn, as, gfn, mode });
    return false;
  }
  const slot = k.state.memslots.find(as, gfn);
  if (!slot) return false;
  return slot.track[mode]![gfn - slot.base] !== 0;
}

import { HUGE_LEVELS } from '../constants.js';
import { frameOf, gfnToIndex, pagesPerLevel } from '../gfn.js';
import type { SlotState } from '../../projections/memslots.js';
import type { KernelContext } from './context.js';
import { kernelWarn } from './warn.js';

/** KVM_LPAGE_MIXED_FLAG, bit 31 of disallow_lpage (6.8+). */
const MIXED_FLAG = 0x80000000;

/**
 * update_gfn_disallow_lpage_count (spec 1.3): at each huge level the counter of gfn's frame
 * moves by `delta`, always; then <= 6.6 WARNs if it went negative (B4; WARN_ON_ONCE in 6.6),
 * 6.8+ WARN_ON_ONCE((old ^ new) & KVM_LPAGE_MIXED_FLAG) (0 -> -1 and -1 -> 0 warn, -1 -> -2 does not).
 */
export function updateDisallowLpage(k: KernelContext, slot: SlotState, gfn: number, delta: 1 | -1): void {
  for (const level of HUGE_LEVELS) {
    const index = gfnToIndex(gfn, slot.base, level);
    const arr = slot.lpage[level - 2]!;
    const old = arr[index] ?? 0;
    const value = old + delta;
    k.emit('lpage-step', { as: slot.as, slot: slot.id, level, index, gfn, delta, value });
    const mixed = k.profile.lpageWarn === 'mixed-flag-flip';
    if (mixed ? ((old ^ value) & MIXED_FLAG) !== 0 : value < 0) {
      kernelWarn(k, k.profile.warnOnce, {
        kind: mixed ? 'lpage-mixed-flag-flip' : 'lpage-negative',
        fn: 'update_gfn_disallow_lpage_count',
        as: slot.as,
        slot: slot.id,
        gfn,
        level,
        index,
        value,
      });
    }
  }
}

/** kvm_mmu_gfn_disallow_lpage */
export const disallowLpage = (k: KernelContext, slot: SlotState, gfn: number): void => updateDisallowLpage(k, slot, gfn, 1);
/** kvm_mmu_gfn_allow_lpage */
export const allowLpage = (k: KernelContext, slot: SlotState, gfn: number): void => updateDisallowLpage(k, slot, gfn, -1);

/** True when disallow_lpage of gfn's frame at `level` is nonzero (mmu_gfn_lpage_is_disallowed). */
export function lpageDisallowed(slot: SlotState, gfn: number, level: number): boolean {
  return (slot.lpage[level - 2]![gfnToIndex(gfn, slot.base, level)] ?? 0) !== 0;
}

/**
 * The initial guards of kvm_arch_create_memslot (spec 1.3), as [level, from, to, why] ranges that
 * are *assigned* 1, in the kernel's order: base misaligned, end misaligned, userspace misaligned.
 */
export function initialGuards(
  base: number,
  npages: number,
  uaddr: number,
): Array<{ level: number; from: number; to: number; why: 'base-misaligned' | 'end-misaligned' | 'uaddr-misaligned' }> {
  const out: Array<{ level: number; from: number; to: number; why: 'base-misaligned' | 'end-misaligned' | 'uaddr-misaligned' }> = [];
  const ugfn = Math.floor(uaddr / 4096);
  for (const level of HUGE_LEVELS) {
    const span = pagesPerLevel(level);
    const last = frameOf(base + npages - 1, level) - frameOf(base, level);
    if (base % span !== 0) out.push({ level, from: 0, to: 0, why: 'base-misaligned' });
    if ((base + npages) % span !== 0) out.push({ level, from: last, to: last, why: 'end-misaligned' });
    // (base_gfn ^ ugfn) & (span - 1): equal residues mod span means aligned with each other.
    if (base % span !== ugfn % span) out.push({ level, from: 0, to: last, why: 'uaddr-misaligned' });
  }
  return out;
}

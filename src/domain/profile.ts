import type { WarnKind } from '../events/types.js';

/**
 * Kernel profiles: the per-version differences of spec section 9 (and what reading each version's
 * source added to it), as data the domain reads at each decision point. A profile covers a range
 * of kernel versions; `profileForKernel` picks it for a version string. Each rule names its
 * source in a one-line comment; the README's profile table lists the differences.
 */
export interface KernelProfile {
  readonly name: string;
  readonly summary: string;
  /** The kernel versions this profile covers, inclusive ("major.minor"). */
  readonly kernels: { readonly from: string; readonly to: string };
  /** What differs from the profile before it, one line each (README table, `pagetrack profiles`). */
  readonly differences: readonly string[];
  /** Track modes by enum value (spec 1.1): a mode outside 0..length-1 WARNs (spec 2.2 step 1). */
  readonly trackModes: readonly string[];
  /** false from 6.6: the write-only API takes no mode, and a mode argument is an input error (spec 1.1, kvm-x86 2431c9ab231a). */
  readonly modeArgument: boolean;
  /** MOVE: 'carried' keeps the counter and lpage arrays (<= 5.6, B14); 'fresh' allocates zeroed ones for the new base (>= 5.7, edd4fa37baa6). */
  readonly moveArrays: 'carried' | 'fresh';
  /** DELETE/MOVE send track_flush_slot to every node before the change (spec 5.5; ~4.10-6.5). */
  readonly flushSlotNotification: boolean;
  /** KVM's own notifier node (track_write = kvm_mmu_pte_write) registered at VM creation (<= 6.5, spec 4.4); 6.6+ calls kvm_mmu_track_write directly, after the external nodes. */
  readonly kvmNode: boolean;
  /** DELETE commit sends track_remove_region to every node (6.6+, cc49e12d8d3b). */
  readonly removeRegionOnDelete: boolean;
  /** MOVE fails with -EINVAL while an external node is registered, after the zap-all (6.6+, kvm_arch_prepare_memory_region). */
  readonly moveRejectedWithExternalUser: boolean;
  /** External users call kvm_write_track_{add,remove}_gfn: the kernel finds the slot in address space 0, -EINVAL without one (6.6+, spec 2.2). */
  readonly externalGfnApi: boolean;
  /** Unregister never frees the VM while a node is registered: register takes a VM reference (6.6+, spec 4.3). */
  readonly registerPinsVm: boolean;
  /** WARN_ON_ONCE instead of WARN_ON in update_gfn_track and the lpage counter (6.6 mmu/page_track.c): only the first at a site prints. */
  readonly warnOnce: boolean;
  /** disallow_lpage WARN: 'negative' after a step below 0 (<= 6.6); 'mixed-flag-flip' when bit 31 (KVM_LPAGE_MIXED_FLAG) flips (6.8+). */
  readonly lpageWarn: 'negative' | 'mixed-flag-flip';
  /**
   * Lazy gfn_track allocation (spec 1.6): 'none' before 5.16; 'config' (5.16-6.8): enabled when
   * CONFIG_KVM_EXTERNAL_WRITE_TRACKING, !tdp_enabled, or a shadow root was allocated; 'register'
   * (6.9+): the config alone no longer enables it, the first external register does.
   */
  readonly lazyWriteTracking: 'none' | 'config' | 'register';
  /** Add/remove while write tracking is disabled: 'warn' (WARN_ON, no-op; 5.16-6.5) or 'bug' (KVM_BUG_ON: the VM is dead; 6.6+). */
  readonly disabledTrackingAction: 'warn' | 'bug';
  /** The level-1 shadow page's write-protect looks the gfn up in the creating vCPU's address space (<= 5.17, B12) or the page's role (6.1+, in account_shadowed). */
  readonly leafWriteProtectAs: 'vcpu' | 'role';
  /** The kernel function names the events cite. */
  readonly fns: { readonly add: string; readonly remove: string; readonly query: string; readonly update: string };
}

const OLD_FNS = Object.freeze({ add: 'kvm_slot_page_track_add_page', remove: 'kvm_slot_page_track_remove_page', query: 'kvm_page_track_is_active', update: 'update_gfn_track' });

export const LINUX_4_6: KernelProfile = Object.freeze({
  name: 'linux-4.6',
  summary: 'v4.6: write mode only, KVM node registered at VM creation, MOVE carries counts, zap-all on DELETE/MOVE',
  kernels: { from: '4.6', to: '4.9' },
  differences: ['the first version: KVM node with track_write only; DELETE/MOVE zap everything directly; MOVE carries counts (B14)'],
  trackModes: Object.freeze(['write']),
  modeArgument: true,
  moveArrays: 'carried',
  flushSlotNotification: false,
  kvmNode: true,
  removeRegionOnDelete: false,
  moveRejectedWithExternalUser: false,
  externalGfnApi: false,
  registerPinsVm: false,
  warnOnce: false,
  lpageWarn: 'negative',
  lazyWriteTracking: 'none',
  disabledTrackingAction: 'warn',
  leafWriteProtectAs: 'vcpu',
  fns: OLD_FNS,
});

/**
 * ~4.10-5.6 (spec 9; 4.19 and 5.6.4 read): KVMGT arrived; kvm_arch_flush_shadow_memslot became
 * kvm_page_track_flush_slot, which calls every node's track_flush_slot before a DELETE or MOVE
 * is known to succeed (spec 5.5, B15); KVM's own node zaps everything there. MOVE still carries
 * the counts over (B14; 5.6.4's kvm_arch_prepare_memory_region returns 0).
 */
export const LINUX_4_19: KernelProfile = Object.freeze({
  ...LINUX_4_6,
  name: 'linux-4.19',
  summary: 'v4.19: track_flush_slot to every node on DELETE/MOVE (KVM zaps all there), MOVE carries counts',
  kernels: { from: '4.10', to: '5.6' },
  differences: ['exported API and KVMGT; DELETE/MOVE first call track_flush_slot on every node, newest first, before the change is known to succeed (B15)'],
  flushSlotNotification: true,
});

/** 5.7-5.15 (5.7.14, 5.9, 5.13, 5.15 read): MOVE allocates fresh arrays in kvm_arch_prepare_memory_region (edd4fa37baa6). */
export const LINUX_5_7: KernelProfile = Object.freeze({
  ...LINUX_4_19,
  name: 'linux-5.7',
  summary: 'v5.7: as 4.19, but MOVE gives the slot fresh arrays (counts 0, guards for the new base)',
  kernels: { from: '5.7', to: '5.15' },
  differences: ['MOVE: kvm_alloc_memslot_metadata gives the moved slot zeroed counts and guards computed for the new base; the old arrays are freed at commit (external users lose their counts: B14)'],
  moveArrays: 'fresh',
});

/** 5.16-6.0 (5.16, 5.17 read): gfn_track allocated lazily (deae4a10f166, spec 1.6). */
export const LINUX_5_16: KernelProfile = Object.freeze({
  ...LINUX_5_7,
  name: 'linux-5.16',
  summary: 'v5.16: the write-track array exists only once write tracking is enabled (shadow root, !tdp, or CONFIG_KVM_EXTERNAL_WRITE_TRACKING)',
  kernels: { from: '5.16', to: '6.0' },
  differences: [
    'lazy gfn_track: 0 bytes per page until kvm_page_track_write_tracking_enabled (CONFIG_KVM_EXTERNAL_WRITE_TRACKING, !tdp_enabled, or the first shadow root); before that add/remove WARN and do nothing, is-active answers false',
  ],
  lazyWriteTracking: 'config',
});

/** 6.1-6.5 (6.1.20 read): the level-1 write-protect moved into account_shadowed, with the page role's slot. */
export const LINUX_6_1: KernelProfile = Object.freeze({
  ...LINUX_5_16,
  name: 'linux-6.1',
  summary: "v6.1: a level-1 shadow page write-protects its gfn in the page role's address space",
  kernels: { from: '6.1', to: '6.5' },
  differences: ["account_shadowed write-protects a level-1 page's gfn in the slot of its role (role.smm), no longer the creating vCPU's address space (B12 fixed for that path)"],
  leafWriteProtectAs: 'role',
});

/** 6.6-6.7 (6.6.47, 6.6.87 read; the 29-patch KVMGT/page-track series, spec ML-629). */
export const LINUX_6_6: KernelProfile = Object.freeze({
  ...LINUX_6_1,
  name: 'linux-6.6',
  summary: 'v6.6: write-only API, no KVM node (direct kvm_mmu_track_write), track_remove_region on DELETE, MOVE rejected with an external user, KVM_BUG_ON',
  kernels: { from: '6.6', to: '6.7' },
  differences: [
    'no modes: a mode argument is an input error; external users call kvm_write_track_{add,remove}_gfn (address space 0, -EINVAL without a slot)',
    'KVM is no notifier node: external nodes are told of a write first, then kvm_mmu_track_write runs',
    'no track_flush_slot: DELETE/MOVE zap everything directly; a committed DELETE sends track_remove_region to every node',
    'MOVE fails with -EINVAL while an external node is registered (after the zap-all)',
    'register takes a VM reference: the VM cannot be destroyed while a node is registered',
    'WARN_ON_ONCE: every WARN is an event, only the first at its site is printed; add/remove with write tracking disabled is KVM_BUG_ON: the VM is dead',
  ],
  modeArgument: false,
  flushSlotNotification: false,
  kvmNode: false,
  removeRegionOnDelete: true,
  moveRejectedWithExternalUser: true,
  externalGfnApi: true,
  registerPinsVm: true,
  warnOnce: true,
  disabledTrackingAction: 'bug',
  fns: Object.freeze({ add: '__kvm_write_track_add_gfn', remove: '__kvm_write_track_remove_gfn', query: 'kvm_gfn_is_write_tracked', update: 'update_gfn_write_track' }),
});

/** 6.8 (6.8.0 read): KVM_LPAGE_MIXED_FLAG in update_gfn_disallow_lpage_count. */
export const LINUX_6_8: KernelProfile = Object.freeze({
  ...LINUX_6_6,
  name: 'linux-6.8',
  summary: 'v6.8: the disallow_lpage WARN fires when bit 31 (KVM_LPAGE_MIXED_FLAG) flips, in either direction',
  kernels: { from: '6.8', to: '6.8' },
  differences: ['disallow_lpage: WARN_ON_ONCE((old ^ new) & KVM_LPAGE_MIXED_FLAG): 0 -> -1 warns, -1 -> -2 does not, -1 -> 0 does'],
  lpageWarn: 'mixed-flag-flip',
});

/**
 * 6.9-6.18 (6.9.0, 6.11.11, 6.12.19, 6.13.7, 6.18.2 read): CONFIG_KVM_EXTERNAL_WRITE_TRACKING no
 * longer enables write tracking by itself; the first external register does
 * (kvm_enable_external_write_tracking). The other 6.9-6.18 changes page tracking sees are listed
 * in the README (none of them changes what this model decides for a default VM).
 */
export const LINUX_6_9: KernelProfile = Object.freeze({
  ...LINUX_6_8,
  name: 'linux-6.9',
  summary: 'v6.9-6.18: write tracking is enabled by the first external notifier registration, not by the kernel config',
  kernels: { from: '6.9', to: '6.18' },
  differences: ['kvm_page_track_register_notifier enables external write tracking (allocating every slot\'s array) before registering; the config option alone no longer does'],
  lazyWriteTracking: 'register',
});

/** The WARN kinds a profile's kernel can fire (audit summaries list these). */
export function warnKinds(p: KernelProfile): WarnKind[] {
  const out: WarnKind[] = [];
  if (p.modeArgument) out.push('invalid-mode');
  out.push('gfn-track-overflow', 'gfn-track-underflow', p.lpageWarn === 'negative' ? 'lpage-negative' : 'lpage-mixed-flag-flip');
  if (p.lazyWriteTracking !== 'none') out.push(p.disabledTrackingAction === 'warn' ? 'write-tracking-disabled' : 'kvm-bug');
  return out;
}

export const PROFILES: ReadonlyMap<string, KernelProfile> = new Map(
  [LINUX_4_6, LINUX_4_19, LINUX_5_7, LINUX_5_16, LINUX_6_1, LINUX_6_6, LINUX_6_8, LINUX_6_9].map((p) => [p.name, p]),
);
export const DEFAULT_PROFILE = LINUX_4_6;

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** Looks a profile up by name; the error lists the known ones. */
export function getProfile(name: string): KernelProfile {
  const p = typeof name === 'string' ? PROFILES.get(name) : undefined;
  if (!p) throw new ProfileError(`unknown kernel profile '${String(name)}' (known: ${[...PROFILES.keys()].join(', ')})`);
  return p;
}

/** "6.18.44", "v5.7", "6.8.0-45-generic" → [major, minor]; undefined when it is no version. */
export function parseKernelVersion(v: string): [number, number] | undefined {
  const m = /^v?(\d{1,3})\.(\d{1,3})(?:[.\-+~_].*)?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const cmpVersion = (a: readonly number[], b: readonly number[]): number => a[0]! - b[0]! || a[1]! - b[1]!;

/** The profile covering a kernel version (`--kernel 6.18.44`), or a ProfileError saying why none does. */
export function profileForKernel(version: string): KernelProfile {
  const v = parseKernelVersion(version);
  if (!v) throw new ProfileError(`'${version}' is not a kernel version (expected MAJOR.MINOR[.PATCH...], e.g. 6.18.44)`);
  for (const p of PROFILES.values()) {
    if (cmpVersion(v, parseKernelVersion(p.kernels.from)!) >= 0 && cmpVersion(v, parseKernelVersion(p.kernels.to)!) <= 0) return p;
  }
  const first = [...PROFILES.values()][0]!;
  const last = [...PROFILES.values()].at(-1)!;
  if (cmpVersion(v, parseKernelVersion(first.kernels.from)!) < 0) throw new ProfileError(`kernel ${version} predates page tracking (it arrived in 4.6)`);
  throw new ProfileError(`kernel ${version} is newer than every profile (the last, ${last.name}, covers up to ${last.kernels.to}; 7.2 changes the write-tracked query to check both address spaces)`);
}

/**
 * Kernel profiles: the per-version differences of spec section 9, as data the domain reads at
 * each decision point. Only `linux-4.6` exists so far; it is the default.
 */
export interface KernelProfile {
  readonly name: string;
  readonly summary: string;
  /** Track modes by enum value (spec 1.1): a mode outside 0..length-1 WARNs (spec 2.2 step 1). */
  readonly trackModes: readonly string[];
  /** MOVE keeps the counter and lpage arrays, so counts move with the base (spec 1.5, B14). */
  readonly moveCarriesCounts: boolean;
  /** DELETE/MOVE send track_flush_slot to every node before the change (spec 5.5; ~4.10-6.5). */
  readonly flushSlotNotification: boolean;
  /** update_gfn_track / lpage WARNs fire every time (WARN_ON), not once (WARN_ON_ONCE). */
  readonly warnEveryTime: boolean;
}

export const LINUX_4_6: KernelProfile = Object.freeze({
  name: 'linux-4.6',
  summary: 'v4.6: write mode only, KVM node registered at VM creation, MOVE carries counts, zap-all on DELETE/MOVE',
  trackModes: Object.freeze(['write']),
  moveCarriesCounts: true,
  flushSlotNotification: false,
  warnEveryTime: true,
});

/**
 * ~4.10-4.19 (spec 9): KVMGT arrived; kvm_arch_flush_shadow_memslot became
 * kvm_page_track_flush_slot, which calls every node's track_flush_slot before a DELETE or MOVE
 * is known to succeed (spec 5.5, B15); KVM's own node zaps everything there. MOVE still carries
 * the counts over (B14).
 */
export const LINUX_4_19: KernelProfile = Object.freeze({
  name: 'linux-4.19',
  summary: 'v4.19: track_flush_slot to every node on DELETE/MOVE (KVM zaps all there), MOVE carries counts',
  trackModes: Object.freeze(['write']),
  moveCarriesCounts: true,
  flushSlotNotification: true,
  warnEveryTime: true,
});

export const PROFILES: ReadonlyMap<string, KernelProfile> = new Map([
  [LINUX_4_6.name, LINUX_4_6],
  [LINUX_4_19.name, LINUX_4_19],
]);
export const DEFAULT_PROFILE = LINUX_4_6;

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** Looks a profile up by name; the error lists the known ones. */
export function getProfile(name: string): KernelProfile {
  const p = PROFILES.get(name);
  if (!p) throw new ProfileError(`unknown kernel profile '${name}' (known: ${[...PROFILES.keys()].join(', ')})`);
  return p;
}

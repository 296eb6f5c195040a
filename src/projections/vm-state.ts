import type { KernelProfile } from '../domain/profile.js';
import type { VmBugged, VmCreated, VmDestroyed, Warn } from '../events/types.js';

/**
 * The VM as a whole: how it was created (tdp, the kernel config), whether write tracking is
 * enabled (spec 1.6), whether KVM_BUG_ON killed it, whether it was destroyed, and which WARN
 * sites have fired (WARN_ON_ONCE prints only the first).
 */
export class VmProjection {
  tdp = true;
  externalWriteTracking = false;
  /** kvm_page_track_write_tracking_enabled: the gfn_track arrays exist (always before 5.16). */
  writeTrackingEnabled = true;
  /** KVM_BUG_ON: the function and reason; every later ioctl answers -EIO. */
  bugged: { readonly fn: string; readonly reason: string; readonly cmd: number } | undefined;
  /** The command that destroyed the VM. */
  destroyed: number | undefined;
  /** `fn/kind` of every WARN that fired. */
  readonly warnSites = new Set<string>();

  constructor(private readonly profile: KernelProfile) {}

  onCreated(e: VmCreated): void {
    this.tdp = e.tdp;
    this.externalWriteTracking = e.externalWriteTracking;
    this.writeTrackingEnabled = initiallyEnabled(this.profile, e.tdp, e.externalWriteTracking);
  }

  onEnabled(): void {
    this.writeTrackingEnabled = true;
  }

  onBugged(e: VmBugged): void {
    this.bugged = { fn: e.fn, reason: e.reason, cmd: e.cmd };
  }

  onDestroyed(e: VmDestroyed): void {
    this.destroyed = e.cmd;
  }

  onWarn(e: Warn): void {
    this.warnSites.add(warnSite(e.fn, e.kind));
  }

  save(): VmSaved {
    return { tdp: this.tdp, externalWriteTracking: this.externalWriteTracking, writeTrackingEnabled: this.writeTrackingEnabled, bugged: this.bugged, destroyed: this.destroyed, warnSites: [...this.warnSites] };
  }

  load(v: VmSaved): void {
    ({ tdp: this.tdp, externalWriteTracking: this.externalWriteTracking, writeTrackingEnabled: this.writeTrackingEnabled, bugged: this.bugged, destroyed: this.destroyed } = v);
    this.warnSites.clear();
    for (const site of v.warnSites) this.warnSites.add(site);
  }
}

/** What a checkpoint keeps of the VM projection. */
export interface VmSaved {
  readonly tdp: boolean;
  readonly externalWriteTracking: boolean;
  readonly writeTrackingEnabled: boolean;
  readonly bugged: VmProjection['bugged'];
  readonly destroyed: number | undefined;
  readonly warnSites: readonly string[];
}

export const warnSite = (fn: string, kind: string): string => `${fn}/${kind}`;

/**
 * kvm_page_track_write_tracking_enabled at VM creation (spec 1.6): always before 5.16; then
 * !tdp_enabled, or (5.16-6.8 only) CONFIG_KVM_EXTERNAL_WRITE_TRACKING.
 */
export function initiallyEnabled(p: KernelProfile, tdp: boolean, externalConfig: boolean): boolean {
  if (p.lazyWriteTracking === 'none') return true;
  return !tdp || (p.lazyWriteTracking === 'config' && externalConfig);
}

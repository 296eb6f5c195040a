import { type KernelProfile, PROFILES, ProfileError, getProfile } from '../domain/profile.js';
import type { PageTrackVm } from '../domain/vm.js';
import type { WorkloadOptions, WorkloadResult } from './driver.js';
import { introspection } from './introspection.js';
import { shadowMmu } from './shadow-mmu.js';
import { vgpu } from './vgpu.js';

export interface Workload {
  readonly name: string;
  /** The profile it runs under by default. */
  readonly profile: string;
  readonly summary: string;
  /** Whether a profile's kernel can host it (external users need the API exported from ~4.10). */
  readonly hosts: (p: KernelProfile) => boolean;
  /** How its VM is created: shadow paging, or a kernel built with KVMGT's CONFIG_KVM_EXTERNAL_WRITE_TRACKING. */
  readonly vm: { readonly tdp: boolean; readonly externalWriteTracking: boolean };
  readonly run: (vm: PageTrackVm, o: WorkloadOptions) => WorkloadResult;
}

/** External users (KVMGT, introspection agents) need the exported API and track_flush_slot of ~4.10 on. */
const hasExternalApi = (p: KernelProfile): boolean => p.name !== 'linux-4.6';

export const WORKLOADS: readonly Workload[] = [
  { name: 'shadow-mmu', profile: 'linux-4.6', summary: "KVM's own tracking under shadow paging: walks, page-table writes, flooding zaps", hosts: () => true, vm: { tdp: false, externalWriteTracking: false }, run: shadowMmu },
  { name: 'vgpu', profile: 'linux-4.19', summary: 'a KVMGT-style vGPU: GTT pages, emulated writes, track_flush_slot (track_remove_region from 6.6) on aperture changes', hosts: hasExternalApi, vm: { tdp: true, externalWriteTracking: true }, run: vgpu },
  { name: 'introspection', profile: 'linux-4.19', summary: "an agent protecting a guest kernel's code and data, blind writes included", hosts: hasExternalApi, vm: { tdp: true, externalWriteTracking: true }, run: introspection },
];

/** The profile a workload runs under: the one named, or its default; an error when the kernel cannot host it. */
export function workloadProfile(w: Workload, p: KernelProfile | undefined): KernelProfile {
  const profile = p ?? getProfile(w.profile);
  if (!w.hosts(profile)) throw new ProfileError(`workload ${w.name} cannot run under ${profile.name}: ${profile.name} exports no page-track API to external users (profiles that host it: ${[...PROFILES.values()].filter(w.hosts).map((x) => x.name).join(', ')})`);
  return profile;
}

export { INJECTABLE, type InjectedBug, type WorkloadOptions, type WorkloadResult, prng } from './driver.js';

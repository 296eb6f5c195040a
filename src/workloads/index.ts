import type { PageTrackVm } from '../domain/vm.js';
import type { WorkloadOptions, WorkloadResult } from './driver.js';
import { introspection } from './introspection.js';
import { shadowMmu } from './shadow-mmu.js';
import { vgpu } from './vgpu.js';

export interface Workload {
  readonly name: string;
  readonly profile: string;
  readonly summary: string;
  readonly run: (vm: PageTrackVm, o: WorkloadOptions) => WorkloadResult;
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'shadow-mmu', profile: 'linux-4.6', summary: "KVM's own tracking under shadow paging: walks, page-table writes, flooding zaps", run: shadowMmu },
  { name: 'vgpu', profile: 'linux-4.19', summary: 'a KVMGT-style vGPU: GTT pages, emulated writes, track_flush_slot on aperture moves', run: vgpu },
  { name: 'introspection', profile: 'linux-4.19', summary: "an agent protecting a guest kernel's code and data, blind writes included", run: introspection },
];

export { INJECTABLE, type InjectedBug, type WorkloadOptions, type WorkloadResult, prng } from './driver.js';

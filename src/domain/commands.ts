/**
 * Commands: what callers of the page-track framework do. Each maps to a kernel entry point
 * (named per command); scripts use the same shapes as NDJSON lines (see src/script).
 */

/** How a write reached guest memory (spec 5.3). Only `guest` and `emulator` can notify nodes. */
export type WriteVia = 'guest' | 'emulator' | 'write_std' | 'kvm' | 'userspace' | 'dma';
export const WRITE_VIAS: readonly WriteVia[] = ['guest', 'emulator', 'write_std', 'kvm', 'userspace', 'dma'];

export interface MemslotCreate {
  readonly op: 'memslot-create';
  readonly as: number;
  readonly slot: number;
  readonly base: number;
  readonly npages: number;
  /** KVM_MEM_* bits: 1 log-dirty-pages, 2 readonly. */
  readonly flags: number;
  /** userspace_addr in bytes; only its alignment against base matters (spec 1.3). */
  readonly uaddr: number;
  /** Ingest made this slot up from what the trace touches (no layout was given). */
  readonly inferred?: boolean;
}
export interface MemslotDelete {
  readonly op: 'memslot-delete';
  readonly as: number;
  readonly slot: number;
  /** kvm_arch_prepare_memory_region fails after the flush (spec 5.5, B15): the slot survives. */
  readonly prepareFails?: boolean;
}
export interface MemslotMove {
  readonly op: 'memslot-move';
  readonly as: number;
  readonly slot: number;
  readonly base: number;
  readonly prepareFails?: boolean;
}
export interface MemslotFlags {
  readonly op: 'memslot-flags';
  readonly as: number;
  readonly slot: number;
  readonly flags: number;
}
/** kvm_slot_page_track_add_page / _remove_page, with the caller named (no kernel argument). */
export interface TrackChange {
  readonly op: 'track-add' | 'track-remove';
  readonly user: string;
  readonly as: number;
  /** The memslot id; when absent, the slot of `as` that holds `gfn`. */
  readonly slot?: number;
  readonly gfn: number;
  /** The raw kvm_page_track_mode value; 0 (KVM_PAGE_TRACK_WRITE) when absent; 6.6+ takes none. */
  readonly mode?: number;
}
/** kvm_page_track_is_active(vcpu, gfn, mode) (6.6+: kvm_gfn_is_write_tracked) for a vCPU in address space `as`. */
export interface IsActive {
  readonly op: 'is-active';
  readonly as: number;
  readonly gfn: number;
  readonly mode?: number;
}
/** kvm_mmu_get_page creating a new shadow page (spec 5.1). */
export interface SpCreate {
  readonly op: 'sp-create';
  /** role.smm: the address space whose slot accounts the page. */
  readonly as: number;
  readonly gfn: number;
  readonly level: number;
  readonly direct: boolean;
  /** The creating vCPU's address space (level-1 write-protect uses it, spec 5.1, B12); defaults to `as`. */
  readonly vcpuAs: number;
  /** Ingest adopted a page the trace shows only in use or being zapped (it existed before the trace began). */
  readonly inferred?: boolean;
}
/** A vCPU walk that uses an existing shadow page: clears its write-flooding count (spec 5.4). */
export interface SpUse {
  readonly op: 'sp-use';
  readonly sp: number;
}
/** kvm_mmu_prepare_zap_page + commit for one shadow page. */
export interface SpZap {
  readonly op: 'sp-zap';
  readonly sp: number;
}
/** A guest page fault taken by a vCPU in address space `as` (spec 5.2). */
export interface Fault {
  readonly op: 'fault';
  readonly as: number;
  readonly gfn: number;
  readonly write: boolean;
  /** The largest level the host backs the page with (host_mapping_level); 1..3. */
  readonly hostLevel: number;
  /**
   * The host page is already mapped writable (default true). false: a never-written anonymous
   * page (the zero page) or a read-only host mapping, so a read fault maps read-only (spec 5.2, hva_to_pfn).
   */
  readonly hostWritable?: boolean;
}
/** A write to guest memory (spec 5.3). */
export interface Write {
  readonly op: 'write';
  readonly as: number;
  readonly gpa: number;
  readonly bytes: number;
  readonly via: WriteVia;
  /** For `guest` writes that fault: the host mapping level, as in Fault. */
  readonly hostLevel: number;
}
export interface NotifierChange {
  readonly op: 'notifier-register' | 'notifier-unregister';
  readonly node: string;
}
/** An SPTE as the kernel installed it (kvm_mmu_set_spte / kvm_tdp_mmu_spte_changed in a trace): not decided by the model. */
export interface SpteSet {
  readonly op: 'spte-set';
  readonly as: number;
  readonly gfn: number;
  readonly level: number;
  readonly writable: boolean;
}
/** A marker between steps (trace_marker in a trace). */
export interface Mark {
  readonly op: 'mark';
  readonly text: string;
}
/** kvm_mmu_zap_all outside a memslot change: the MMU notifier's release (kvm_arch_flush_shadow_all). */
export interface ZapAll {
  readonly op: 'zap-all';
}
/** The VM's teardown: kvm_destroy_vm (spec 5.8). */
export interface VmDestroy {
  readonly op: 'vm-destroy';
}

export type Command =
  | MemslotCreate
  | MemslotDelete
  | MemslotMove
  | MemslotFlags
  | TrackChange
  | IsActive
  | SpCreate
  | SpZap
  | SpUse
  | Fault
  | Write
  | NotifierChange
  | ZapAll
  | VmDestroy
  | SpteSet
  | Mark;

export type CommandOp = Command['op'];
export const COMMAND_OPS: readonly CommandOp[] = [
  'memslot-create',
  'memslot-delete',
  'memslot-move',
  'memslot-flags',
  'track-add',
  'track-remove',
  'is-active',
  'sp-create',
  'sp-zap',
  'sp-use',
  'fault',
  'write',
  'notifier-register',
  'notifier-unregister',
  'zap-all',
  'vm-destroy',
  'spte-set',
  'mark',
];

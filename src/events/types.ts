/**
 * The event vocabulary. Every effect of a command is its own immutable event; together they are
 * the only input projections need (spec section 10 lists the shape this follows).
 *
 * Every event carries `seq` (global, from 1), `cmd` (the command that caused it; 0 is VM
 * creation) and `v` (the version of its type's schema, see EVENT_VERSIONS).
 */
import type { Command, WriteVia } from '../domain/commands.js';

interface Base<T extends string> {
  readonly seq: number;
  readonly cmd: number;
  readonly type: T;
  readonly v: number;
}

/** Where a command came from, for rejections: the script file and line, when there is one. */
export interface Origin {
  readonly file?: string;
  readonly line?: number;
  /** For commands ingested from a trace: the line's timestamp (seconds, as printed), CPU and task (v2). */
  readonly ts?: string;
  readonly cpu?: number;
  readonly task?: string;
}

export interface VmCreated extends Base<'vm-created'> {
  readonly profile: string;
  readonly addressSpaces: number;
  /** tdp_enabled: false means shadow paging, where write tracking is always enabled (spec 1.6; v2). */
  readonly tdp: boolean;
  /** CONFIG_KVM_EXTERNAL_WRITE_TRACKING (selected by KVMGT; spec 1.6; v2). */
  readonly externalWriteTracking: boolean;
}
/** A command that passed validation; its effects follow with the same `cmd`. */
export interface CommandIssued extends Base<'command'>, Origin {
  readonly command: Command;
}
/** A command refused before any effect: the state is unchanged. */
export interface CommandRejected extends Base<'command-rejected'>, Origin {
  /** The op, when it could be read. */
  readonly op?: string;
  /** The offending field (dotted path), when one field is to blame. */
  readonly field?: string;
  readonly reason: string;
  /** The raw input line (cut to 200 characters), for scripts. */
  readonly input?: string;
}
export interface MemslotCreated extends Base<'memslot-created'> {
  readonly as: number;
  readonly slot: number;
  readonly base: number;
  readonly npages: number;
  readonly flags: number;
  readonly uaddr: number;
}
/** Initial disallow_lpage guard: entries [from..to] of `level` are *assigned* 1 (spec 1.3). */
export interface LpageGuard extends Base<'lpage-guard'> {
  readonly as: number;
  readonly slot: number;
  readonly level: number;
  readonly from: number;
  readonly to: number;
  readonly why: 'base-misaligned' | 'end-misaligned' | 'uaddr-misaligned';
}
export interface MemslotFlagsChanged extends Base<'memslot-flags-changed'> {
  readonly as: number;
  readonly slot: number;
  readonly flags: number;
  readonly old: number;
}
export interface MemslotMoved extends Base<'memslot-moved'> {
  readonly as: number;
  readonly slot: number;
  readonly base: number;
  readonly old: number;
  /** 'carried': the arrays move with the slot (<= 5.6, B14); 'fresh': zeroed arrays for the new base, guards follow (>= 5.7; v2). */
  readonly arrays: 'carried' | 'fresh';
}
/** track_remove_region(base_gfn, npages) to one node when a DELETE commits (6.6+, spec 5.5). */
export interface RemoveRegionNotified extends Base<'remove-region-notified'> {
  readonly node: string;
  readonly as: number;
  readonly slot: number;
  readonly gfn: number;
  readonly npages: number;
}
/** Write tracking became enabled (spec 1.6, 5.16+): every slot's gfn_track array now exists. */
export interface WriteTrackingEnabled extends Base<'write-tracking-enabled'> {
  /** 'shadow-root': mmu_first_shadow_root_alloc; 'external-user': kvm_enable_external_write_tracking (6.9+). */
  readonly reason: 'shadow-root' | 'external-user';
  /** The kernel memory the arrays take now: 2 bytes per page of every slot. */
  readonly bytes: number;
}
/** KVM_BUG_ON fired: the VM is marked bugged and dead; every later ioctl answers -EIO (6.6+). */
export interface VmBugged extends Base<'vm-bugged'> {
  readonly fn: string;
  readonly reason: string;
}
/** The VM's teardown finished (kvm_destroy_vm): its memslots and arrays are freed. */
export interface VmDestroyed extends Base<'vm-destroyed'> {
  /** External nodes still registered (<= 6.5 the core does not check: B20). */
  readonly registered: number;
}
export interface MemslotDeleted extends Base<'memslot-deleted'> {
  readonly as: number;
  readonly slot: number;
}
/** track_flush_slot delivered to one node before a DELETE or MOVE (linux-4.19, spec 5.5). */
export interface SlotFlushNotified extends Base<'slot-flush-notified'> {
  readonly node: string;
  readonly as: number;
  readonly slot: number;
}
/**
 * kvm_arch_prepare_memory_region failed after the flush: the slot stays as it was, but what the
 * flush did (zaps, external users' dropped tracking) is not undone (spec 5.5, B15).
 */
export interface MemslotChangeFailed extends Base<'memslot-change-failed'> {
  readonly as: number;
  readonly slot: number;
  readonly op: 'memslot-delete' | 'memslot-move';
}
/** kvm_mmu_invalidate_zap_all_pages: every shadow page and mapping goes (spec 5.5). */
export interface MmuZappedAll extends Base<'mmu-zapped-all'> {
  /** DELETE/MOVE (kvm_arch_flush_shadow_memslot), `zap-all` (kvm_mmu_zap_all: MMU-notifier release), or the VM's teardown. */
  readonly reason: 'memslot-delete' | 'memslot-move' | 'zap-all' | 'vm-destroy';
}
/** An accepted gfn_track step (spec 2.1); `count` is the value after it. */
export interface TrackCountStep extends Base<'track-count-step'> {
  readonly as: number;
  readonly slot: number;
  readonly gfn: number;
  readonly mode: number;
  readonly user: string;
  readonly delta: 1 | -1;
  readonly count: number;
}
/** A disallow_lpage step at one level (spec 1.3); `value` is the value after it. */
export interface LpageStep extends Base<'lpage-step'> {
  readonly as: number;
  readonly slot: number;
  readonly level: number;
  readonly index: number;
  readonly gfn: number;
  readonly delta: 1 | -1;
  readonly value: number;
}

export type WarnKind =
  | 'invalid-mode'
  | 'gfn-track-overflow'
  | 'gfn-track-underflow'
  | 'lpage-negative'
  | 'lpage-mixed-flag-flip'
  | 'write-tracking-disabled'
  | 'kvm-bug';
export const WARN_KINDS: readonly WarnKind[] = ['invalid-mode', 'gfn-track-overflow', 'gfn-track-underflow', 'lpage-negative', 'lpage-mixed-flag-flip', 'write-tracking-disabled', 'kvm-bug'];
/** A kernel WARN: the kernel prints a backtrace and carries on, and so does the model (spec 8). */
export interface Warn extends Base<'warn'> {
  readonly kind: WarnKind;
  /** The kernel function whose WARN_ON fired. */
  readonly fn: string;
  readonly as?: number;
  readonly slot?: number;
  readonly gfn?: number;
  readonly mode?: number;
  readonly user?: string;
  readonly level?: number;
  readonly index?: number;
  /** The counter's value when it fired (after the step for lpage-negative and lpage-mixed-flag-flip, before it otherwise). */
  readonly value?: number;
  /** Whether the kernel prints it: always for WARN_ON, the first at its site for WARN_ON_ONCE (v2). */
  readonly printed: boolean;
}

/** An SPTE is named by its address space, level and the first gfn it maps. */
export interface SpteRef {
  readonly as: number;
  readonly level: number;
  readonly gfn: number;
}
export interface SpteInstalled extends Base<'spte-installed'>, SpteRef {
  readonly writable: boolean;
}
export type SpteZapReason = 'zap-all' | 'huge-replaces-table' | 'table-replaces-huge';
export interface SpteZapped extends Base<'spte-zapped'>, SpteRef {
  readonly reason: SpteZapReason;
}
/** spte_write_protect cleared the writable bit (spec 2.2 step 5). */
export interface SpteWriteProtected extends Base<'spte-write-protected'>, SpteRef {
  readonly reason: 'track-add' | 'sp-create' | 'log-dirty';
}
export type FlushReason = 'track-add' | 'sp-create' | 'sp-zap' | 'zap-all' | 'pte-write' | 'huge-replaces-table' | 'table-replaces-huge' | 'log-dirty';
/** kvm_flush_remote_tlbs. */
export interface TlbFlushed extends Base<'tlb-flushed'> {
  readonly reason: FlushReason;
}
export interface SpCreated extends Base<'sp-created'> {
  readonly sp: number;
  readonly as: number;
  readonly gfn: number;
  readonly level: number;
  readonly direct: boolean;
}
export interface SpZapped extends Base<'sp-zapped'> {
  readonly sp: number;
  readonly reason: SpZapReason;
}
/** Why a shadow page went: a zap command, a zap-all, or KVM's write handler (spec 5.4). */
export type SpZapReason = 'sp-zap' | 'zap-all' | 'pte-write';
/** write_flooding_count of a non-leaf shadow page after kvm_mmu_pte_write counted a write, or 0 when the page was used (spec 5.4). */
export interface SpWriteFlooding extends Base<'sp-write-flooding'> {
  readonly sp: number;
  readonly count: number;
}
/** A marker: a `mark` command, or a trace_marker line of an ingested trace. */
export interface Marked extends Base<'marked'> {
  readonly text: string;
}
export interface NotifierRegistered extends Base<'notifier-registered'> {
  readonly node: string;
}
export interface NotifierUnregistered extends Base<'notifier-unregistered'> {
  readonly node: string;
}
export type FaultOutcome = 'mapped' | 'emulate' | 'mmio';
/** A guest page fault and how it resolved (spec 5.2); its SPTE changes follow as events. */
export interface FaultResolved extends Base<'fault'> {
  readonly as: number;
  readonly gfn: number;
  readonly write: boolean;
  readonly present: boolean;
  readonly outcome: FaultOutcome;
  /** The host page is mapped writable (a never-written anonymous page is the read-only zero page; v2). */
  readonly hostWritable: boolean;
}
/**
 * One page-sized chunk of a write. `outcome`: `direct` through a writable SPTE, `emulated` by
 * emulator_write_phys (notifications follow), `mmio` when the emulator could not write it (no slot,
 * read-only slot), `blind` for paths that never notify (spec 5.3, B10).
 */
export type WriteOutcome = 'direct' | 'emulated' | 'mmio' | 'blind';
export interface WriteDone extends Base<'write'> {
  readonly as: number;
  readonly gpa: number;
  readonly bytes: number;
  readonly via: WriteVia;
  readonly outcome: WriteOutcome;
}
/** One node's track_write callback for one emulated chunk (spec 4.4). */
export interface NotificationDelivered extends Base<'notification'> {
  readonly node: string;
  readonly as: number;
  readonly gpa: number;
  readonly bytes: number;
}
export interface TrackQueried extends Base<'track-queried'> {
  readonly as: number;
  readonly gfn: number;
  readonly mode: number;
  readonly active: boolean;
}

export type PageTrackEvent =
  | VmCreated
  | CommandIssued
  | CommandRejected
  | MemslotCreated
  | LpageGuard
  | MemslotFlagsChanged
  | MemslotMoved
  | MemslotDeleted
  | MmuZappedAll
  | SlotFlushNotified
  | MemslotChangeFailed
  | TrackCountStep
  | LpageStep
  | Warn
  | SpteInstalled
  | SpteZapped
  | SpteWriteProtected
  | TlbFlushed
  | SpCreated
  | SpZapped
  | SpWriteFlooding
  | NotifierRegistered
  | NotifierUnregistered
  | FaultResolved
  | WriteDone
  | NotificationDelivered
  | TrackQueried
  | RemoveRegionNotified
  | WriteTrackingEnabled
  | VmBugged
  | VmDestroyed
  | Marked;

export type EventType = PageTrackEvent['type'];
export type EventOf<T extends EventType> = Extract<PageTrackEvent, { type: T }>;
/** The fields a producer supplies; seq, cmd and v are stamped by the VM. */
export type EventBody<T extends EventType> = Omit<EventOf<T>, 'seq' | 'cmd' | 'v' | 'type'>;

/** The schema version of each event type; bump one when its shape changes (and upcast on read). */
export const EVENT_VERSIONS: { readonly [T in EventType]: number } = Object.freeze({
  'vm-created': 2,
  command: 2,
  'command-rejected': 1,
  'memslot-created': 1,
  'lpage-guard': 1,
  'memslot-flags-changed': 1,
  'memslot-moved': 2,
  'memslot-deleted': 1,
  'mmu-zapped-all': 1,
  'slot-flush-notified': 1,
  'memslot-change-failed': 1,
  'track-count-step': 1,
  'lpage-step': 1,
  warn: 2,
  'spte-installed': 1,
  'spte-zapped': 1,
  'spte-write-protected': 1,
  'tlb-flushed': 1,
  'sp-created': 1,
  'sp-zapped': 1,
  'sp-write-flooding': 1,
  'notifier-registered': 1,
  'notifier-unregistered': 1,
  fault: 2,
  write: 1,
  notification: 1,
  'track-queried': 1,
  'remove-region-notified': 1,
  'write-tracking-enabled': 1,
  'vm-bugged': 1,
  'vm-destroyed': 1,
  marked: 1,
});
export const EVENT_TYPES = Object.keys(EVENT_VERSIONS) as EventType[];

import type { FaultOutcome, WarnKind, WriteOutcome } from '../events/types.js';

/** Counters over the whole history: WARNs by kind, TLB flushes, deliveries, writes, faults. */
export class TallyProjection {
  readonly warns: Record<WarnKind, number> = {
    'invalid-mode': 0,
    'gfn-track-overflow': 0,
    'gfn-track-underflow': 0,
    'lpage-negative': 0,
    'lpage-mixed-flag-flip': 0,
    'write-tracking-disabled': 0,
    'kvm-bug': 0,
  };
  tlbFlushes = 0;
  notifications = 0;
  /** track_flush_slot deliveries (linux-4.19). */
  slotFlushes = 0;
  /** track_remove_region deliveries (linux-6.6 and later). */
  regionRemovals = 0;
  readonly writes: Record<WriteOutcome, number> = { direct: 0, emulated: 0, mmio: 0, blind: 0 };
  readonly faults: Record<FaultOutcome, number> = { mapped: 0, emulate: 0, mmio: 0 };
  commands = 0;
  rejected = 0;
  /** Per user: accepted adds minus accepted removes (refused steps do not count). */
  readonly balances = new Map<string, number>();
  /** Position: the last event applied and its command. */
  lastSeq = 0;
  lastCmd = 0;
}

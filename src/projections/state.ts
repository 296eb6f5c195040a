import type { KernelProfile } from '../domain/profile.js';
import type { PageTrackEvent } from '../events/types.js';
import { HolderProjection } from './holders.js';
import { MemslotProjection, slotKey } from './memslots.js';
import { NotifierProjection } from './notifiers.js';
import { ShadowPageProjection } from './shadow-pages.js';
import { SpteProjection } from './sptes.js';
import { TallyProjection } from './tallies.js';
import { VmProjection } from './vm-state.js';

/**
 * All projections of one VM, derived from events alone. The live VM applies each event here as
 * it is produced (an inline projection, in Emmett's terms) and reads this state to decide the
 * next one; a replay applies a log to a fresh instance and gets the same state.
 */
export class PageTrackState {
  readonly memslots: MemslotProjection;
  readonly sptes = new SpteProjection();
  readonly shadowPages = new ShadowPageProjection();
  readonly notifiers = new NotifierProjection();
  readonly tallies = new TallyProjection();
  readonly holders = new HolderProjection();
  readonly vm: VmProjection;
  profile: string;

  constructor(profile: KernelProfile) {
    this.profile = profile.name;
    this.memslots = new MemslotProjection(profile.trackModes.length);
    this.vm = new VmProjection(profile);
  }

  /** Applies a batch in order; the replay hot path (the position is set once, from the last event). */
  applyAll(events: readonly PageTrackEvent[]): void {
    if (events.length === 0) return;
    for (let i = 0; i < events.length; i++) this.project(events[i]!);
    this.moveTo(events[events.length - 1]!);
  }

  apply(e: PageTrackEvent): void {
    this.project(e);
    this.moveTo(e);
  }

  private moveTo(e: PageTrackEvent): void {
    this.tallies.lastSeq = e.seq;
    this.tallies.lastCmd = e.cmd;
  }

  /** Every projection's part of one event; the position is the caller's. */
  private project(e: PageTrackEvent): void {
    const t = this.tallies;
    switch (e.type) {
      case 'track-count-step':
        t.balances.set(e.user, (t.balances.get(e.user) ?? 0) + e.delta);
        this.holders.onStep(e, slotKey(e.as, e.slot), this.memslots.get(e.as, e.slot)!.base);
        return this.memslots.onCountStep(e);
      case 'lpage-step':
        return this.memslots.onLpageStep(e);
      case 'notification':
        t.notifications++;
        return;
      case 'write':
        t.writes[e.outcome]++;
        return;
      case 'command':
        t.commands++;
        return;
      case 'spte-write-protected':
        return this.sptes.onWriteProtected(e);
      case 'tlb-flushed':
        t.tlbFlushes++;
        return;
      case 'spte-installed':
        return this.sptes.onInstalled(e);
      case 'spte-zapped':
        return this.sptes.onZapped(e);
      case 'fault':
        t.faults[e.outcome]++;
        return;
      case 'warn':
        t.warns[e.kind]++;
        return this.vm.onWarn(e);
      case 'sp-created':
        return this.shadowPages.onCreated(e);
      case 'sp-zapped':
        return this.shadowPages.onZapped(e);
      case 'sp-write-flooding':
        return this.shadowPages.onWriteFlooding(e);
      case 'command-rejected':
        t.commands++;
        t.rejected++;
        return;
      case 'memslot-created':
        return this.memslots.onCreated(e);
      case 'lpage-guard':
        return this.memslots.onGuard(e);
      case 'memslot-flags-changed':
        return this.memslots.onFlags(e);
      case 'memslot-moved':
        if (e.arrays === 'fresh') this.holders.dropSlot(slotKey(e.as, e.slot));
        return this.memslots.onMoved(e);
      case 'memslot-deleted':
        this.holders.dropSlot(slotKey(e.as, e.slot));
        return this.memslots.onDeleted(e);
      case 'notifier-registered':
        return this.notifiers.onRegistered(e);
      case 'notifier-unregistered':
        return this.notifiers.onUnregistered(e);
      case 'vm-created':
        this.profile = e.profile;
        return this.vm.onCreated(e);
      case 'write-tracking-enabled':
        return this.vm.onEnabled();
      case 'vm-bugged':
        return this.vm.onBugged(e);
      case 'vm-destroyed':
        this.vm.onDestroyed(e);
        this.holders.clear();
        return this.memslots.onVmDestroyed();
      case 'slot-flush-notified':
        t.slotFlushes++;
        return;
      case 'mmu-zapped-all':
      case 'track-queried':
      case 'memslot-change-failed':
        return;
      case 'marked':
        return;
      case 'remove-region-notified':
        t.regionRemovals++;
        return;
    }
  }
}

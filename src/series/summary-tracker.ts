/**
 * The headline numbers of a PageTrackState, followed event by event in O(1) per event (no scan
 * of the state after an event): what exports, series and live views plot over time.
 *
 * Definitions (each equals a scan of the state, `scanSummary`; a property test checks it after
 * every event of random histories under every profile):
 * - `tracked`: gfns whose write-track count (gfn_track[KVM_PAGE_TRACK_WRITE], spec 1.1) is
 *   nonzero, over every slot of both address spaces; `trackedBySlot` the same per live memslot
 *   (slotKey(as, id), every live slot present, 0 included).
 * - `trackedByUser`: per user, the units it holds (HolderProjection: its accepted adds minus
 *   accepted removes on counts that still exist; a remove that took another user's unit, B1, makes
 *   the taker's share negative). Units go with their slot on DELETE, a fresh-array MOVE (>= 5.7)
 *   and VM destruction; users holding 0 are absent.
 * - `writeProtected`: leaf SPTEs whose writable bit is clear (spte_write_protect, spec 2.2 step
 *   5, or installed read-only by a fault, 5.2), each SPTE counted once whatever its level.
 * - `shadowPages`: live shadow pages (direct and indirect); `zaps`: shadow pages zapped so far
 *   (`sp-zapped`, any reason) — ids are handed out 1, 2, ... (mmu.ts), so it is created minus live.
 * - `tlbFlushes`: kvm_flush_remote_tlbs calls; `warns`: WARN events of every kind.
 */
import type { PageTrackEvent } from '../events/types.js';
import { slotKey } from '../projections/memslots.js';
import { spteKey } from '../projections/sptes.js';
import { SpteTable } from '../projections/spte-table.js';
import type { PageTrackState } from '../projections/state.js';

/** The headline numbers as plain data (what a scan of the state gives). */
export interface Summary {
  readonly seq: number;
  readonly cmd: number;
  readonly tracked: number;
  readonly trackedBySlot: ReadonlyMap<number, number>;
  readonly trackedByUser: ReadonlyMap<string, number>;
  readonly writeProtected: number;
  readonly shadowPages: number;
  readonly tlbFlushes: number;
  readonly warns: number;
  readonly zaps: number;
}

/** The headline numbers of `state`, from scratch (one scan of its arrays, holders and SPTEs). */
export function scanSummary(state: PageTrackState): Summary {
  const trackedBySlot = new Map<number, number>();
  let tracked = 0;
  for (const [key, s] of state.memslots.slots) {
    const t = s.track[0]!;
    let n = 0;
    for (let i = 0; i < t.length; i++) if (t[i] !== 0) n++;
    trackedBySlot.set(key, n);
    tracked += n;
  }
  const trackedByUser = new Map<string, number>();
  for (const perSlot of state.holders.bySlot.values()) for (const users of perSlot.values()) for (const [u, n] of users) trackedByUser.set(u, (trackedByUser.get(u) ?? 0) + n);
  for (const [u, n] of trackedByUser) if (n === 0) trackedByUser.delete(u);
  let writeProtected = 0;
  state.sptes.sptes.forEach((w) => {
    if (!w) writeProtected++;
  });
  const t = state.tallies;
  let warns = 0;
  for (const n of Object.values(t.warns)) warns += n;
  const sp = state.shadowPages;
  return { seq: t.lastSeq, cmd: t.lastCmd, tracked, trackedBySlot, trackedByUser, writeProtected, shadowPages: sp.pages.size, tlbFlushes: t.tlbFlushes, warns, zaps: sp.lastId - sp.pages.size };
}

export class SummaryTracker implements Summary {
  seq = 0;
  cmd = 0;
  tracked = 0;
  readonly trackedBySlot = new Map<number, number>();
  readonly trackedByUser = new Map<string, number>();
  writeProtected = 0;
  shadowPages = 0;
  tlbFlushes = 0;
  warns = 0;
  zaps = 0;
  /** slotKey → user → units held in that slot: what a DELETE or fresh MOVE takes away, without a scan. */
  private readonly unitsBySlot = new Map<number, Map<string, number>>();
  /** spteKey → writable: the previous bit an SPTE event changes. */
  private readonly sptes = new SpteTable();

  /** A tracker standing at `state` (one scan), e.g. at a checkpoint a time machine restored. */
  static fromState(state: PageTrackState): SummaryTracker {
    const s = scanSummary(state);
    const t = new SummaryTracker();
    t.seq = s.seq;
    t.cmd = s.cmd;
    t.tracked = s.tracked;
    for (const [k, n] of s.trackedBySlot) t.trackedBySlot.set(k, n);
    for (const [u, n] of s.trackedByUser) t.trackedByUser.set(u, n);
    t.writeProtected = s.writeProtected;
    t.shadowPages = s.shadowPages;
    t.tlbFlushes = s.tlbFlushes;
    t.warns = s.warns;
    t.zaps = s.zaps;
    for (const [slot, perSlot] of state.holders.bySlot) {
      const m = new Map<string, number>();
      for (const users of perSlot.values()) for (const [u, n] of users) m.set(u, (m.get(u) ?? 0) + n);
      t.unitsBySlot.set(slot, m);
    }
    t.sptes.load(state.sptes.save());
    return t;
  }

  /**
   * Follows one event (the next of the log, in order). True when a headline number changed
   * (tracked, per slot or user, writeProtected, shadowPages, tlbFlushes, warns, zaps); seq and
   * cmd move with every event and do not count.
   */
  see(e: PageTrackEvent): boolean {
    this.seq = e.seq;
    this.cmd = e.cmd;
    switch (e.type) {
      case 'track-count-step': {
        const slot = slotKey(e.as, e.slot);
        this.units(slot, e.user, e.delta);
        // An accepted step: the count before it is count - delta (spec 2.1).
        if (e.mode === 0) {
          const before = e.count - e.delta;
          if (before === 0 && e.count !== 0) this.bySlot(slot, 1);
          else if (before !== 0 && e.count === 0) this.bySlot(slot, -1);
        }
        return true;
      }
      case 'spte-installed': {
        const key = spteKey(e.as, e.level, e.gfn);
        const old = this.sptes.get(key);
        this.sptes.set(key, e.writable);
        const d = (e.writable ? 0 : 1) - (old === false ? 1 : 0);
        this.writeProtected += d;
        return d !== 0;
      }
      case 'spte-write-protected': {
        // The projection clears the bit whether or not the SPTE was there (sptes.ts).
        const key = spteKey(e.as, e.level, e.gfn);
        if (this.sptes.get(key) === false) return false;
        this.sptes.set(key, false);
        this.writeProtected++;
        return true;
      }
      case 'spte-zapped': {
        const key = spteKey(e.as, e.level, e.gfn);
        const old = this.sptes.get(key);
        this.sptes.delete(key);
        if (old !== false) return false;
        this.writeProtected--;
        return true;
      }
      case 'tlb-flushed':
        this.tlbFlushes++;
        return true;
      case 'warn':
        this.warns++;
        return true;
      case 'sp-created':
        this.shadowPages++;
        return true;
      case 'sp-zapped':
        this.shadowPages--;
        this.zaps++;
        return true;
      case 'memslot-created':
        this.trackedBySlot.set(slotKey(e.as, e.slot), 0);
        return true;
      case 'memslot-moved':
        // A carried MOVE (<= 5.6) keeps the arrays and their holders; fresh arrays (>= 5.7) start at 0.
        return e.arrays === 'fresh' ? this.dropSlot(slotKey(e.as, e.slot), true) : false;
      case 'memslot-deleted':
        return this.dropSlot(slotKey(e.as, e.slot), false);
      case 'vm-destroyed': {
        // kvm_destroy_vm frees every memslot and its arrays (memslots.ts onVmDestroyed).
        const changed = this.trackedBySlot.size > 0 || this.trackedByUser.size > 0;
        this.trackedBySlot.clear();
        this.trackedByUser.clear();
        this.unitsBySlot.clear();
        this.tracked = 0;
        return changed;
      }
      default:
        return false;
    }
  }

  /** The numbers now, as plain data (copies of the maps). */
  summary(): Summary {
    return { seq: this.seq, cmd: this.cmd, tracked: this.tracked, trackedBySlot: new Map(this.trackedBySlot), trackedByUser: new Map(this.trackedByUser), writeProtected: this.writeProtected, shadowPages: this.shadowPages, tlbFlushes: this.tlbFlushes, warns: this.warns, zaps: this.zaps };
  }

  private bySlot(slot: number, d: number): void {
    this.trackedBySlot.set(slot, (this.trackedBySlot.get(slot) ?? 0) + d);
    this.tracked += d;
  }

  private units(slot: number, user: string, d: number): void {
    let m = this.unitsBySlot.get(slot);
    if (!m) this.unitsBySlot.set(slot, (m = new Map()));
    m.set(user, (m.get(user) ?? 0) + d);
    const n = (this.trackedByUser.get(user) ?? 0) + d;
    if (n === 0) this.trackedByUser.delete(user);
    else this.trackedByUser.set(user, n);
  }

  /** A slot's counts and units go (DELETE), or are zeroed (fresh MOVE: the slot stays, with 0). */
  private dropSlot(slot: number, stays: boolean): boolean {
    const n = this.trackedBySlot.get(slot) ?? 0;
    this.tracked -= n;
    if (stays) this.trackedBySlot.set(slot, 0);
    else this.trackedBySlot.delete(slot);
    const m = this.unitsBySlot.get(slot);
    this.unitsBySlot.delete(slot);
    if (m) {
      for (const [u, k] of m) {
        if (k === 0) continue;
        const left = (this.trackedByUser.get(u) ?? 0) - k;
        if (left === 0) this.trackedByUser.delete(u);
        else this.trackedByUser.set(u, left);
      }
    }
    return n !== 0 || !stays || (m !== undefined && m.size > 0);
  }
}

import { freeze, produce } from 'immer';
import { HUGE_LEVELS } from '../domain/constants.js';
import { lpageCount } from '../domain/gfn.js';
import type {
  LpageGuard,
  LpageStep,
  MemslotCreated,
  MemslotDeleted,
  MemslotFlagsChanged,
  MemslotMoved,
  TrackCountStep,
} from '../events/types.js';

/**
 * One memslot: small frozen metadata (replaced through immer on MOVE / flag changes) around
 * typed arrays that are mutated in place — 2 bytes per page per mode, as the kernel's
 * gfn_track (spec 1.1), and an int per huge frame per level for disallow_lpage (spec 1.3).
 */
export interface SlotState {
  readonly as: number;
  readonly id: number;
  readonly base: number;
  readonly npages: number;
  readonly flags: number;
  readonly uaddr: number;
  /** gfn_track[mode][gfn - base]. */
  readonly track: readonly Uint16Array[];
  /** disallow_lpage: lpage[level - 2][gfn_to_index(gfn, base, level)]. */
  readonly lpage: readonly Int32Array[];
}

export const slotKey = (as: number, id: number): number => as * 1024 + id;

/** Projection of memslots, gfn_track counts and disallow_lpage counters. */
export class MemslotProjection {
  readonly slots = new Map<number, SlotState>();
  constructor(private readonly modes: number) {}

  get(as: number, id: number): SlotState | undefined {
    return this.slots.get(slotKey(as, id));
  }

  /** The slot of address space `as` that holds `gfn` (__gfn_to_memslot). */
  find(as: number, gfn: number): SlotState | undefined {
    for (const s of this.slots.values()) {
      if (s.as === as && gfn >= s.base && gfn < s.base + s.npages) return s;
    }
    return undefined;
  }

  /** Slots in (as, id) order. */
  list(): SlotState[] {
    return [...this.slots.values()].sort((a, b) => a.as - b.as || a.id - b.id);
  }

  onCreated(e: MemslotCreated): void {
    const track: Uint16Array[] = [];
    for (let m = 0; m < this.modes; m++) track.push(new Uint16Array(e.npages));
    const lpage = HUGE_LEVELS.map((level) => new Int32Array(lpageCount(e.base, e.npages, level)));
    this.slots.set(
      slotKey(e.as, e.slot),
      freeze({ as: e.as, id: e.slot, base: e.base, npages: e.npages, flags: e.flags, uaddr: e.uaddr, track, lpage }),
    );
  }

  onGuard(e: LpageGuard): void {
    this.must(e.as, e.slot).lpage[e.level - 2]!.fill(1, e.from, e.to + 1);
  }

  onFlags(e: MemslotFlagsChanged): void {
    this.replace(e.as, e.slot, (d) => {
      d.flags = e.flags;
    });
  }

  /** 4.6: arrays carried over unchanged, indexes now relative to the new base (spec 1.5, B14). */
  onMoved(e: MemslotMoved): void {
    this.replace(e.as, e.slot, (d) => {
      d.base = e.base;
    });
  }

  onDeleted(e: MemslotDeleted): void {
    this.slots.delete(slotKey(e.as, e.slot));
  }

  onCountStep(e: TrackCountStep): void {
    const s = this.must(e.as, e.slot);
    s.track[e.mode]![e.gfn - s.base] = e.count;
  }

  onLpageStep(e: LpageStep): void {
    this.must(e.as, e.slot).lpage[e.level - 2]![e.index] = e.value;
  }

  private must(as: number, id: number): SlotState {
    const s = this.slots.get(slotKey(as, id));
    if (!s) throw new Error(`event refers to memslot ${id} of address space ${as}, which does not exist`);
    return s;
  }

  private replace(as: number, id: number, recipe: (draft: { -readonly [K in keyof SlotState]: SlotState[K] }) => void): void {
    this.slots.set(slotKey(as, id), produce(this.must(as, id), recipe));
  }
}

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
  /** The seq of the event that created the arrays: their identity across MOVE and flag changes. */
  readonly born: number;
  /**
   * One byte per CHUNK entries of each array (track modes first, then lpage levels): set when the
   * chunk changes, so checkpoints and restores copy only changed chunks (src/timetravel).
   */
  readonly dirty: readonly Uint8Array[];
}

/** Entries per dirty-tracking chunk of a slot array. */
export const CHUNK_SHIFT = 6;
export const CHUNK = 1 << CHUNK_SHIFT;
const chunks = (n: number): number => (n + CHUNK - 1) >>> CHUNK_SHIFT;

export const slotKey = (as: number, id: number): number => as * 1024 + id;

/**
 * A slot with zeroed arrays (as kvm_arch_create_memslot allocates them). `lpageLengths` recreates
 * arrays a 4.6 MOVE carried over, which keep the sizes computed for the base at creation.
 */
export function newSlot(
  as: number,
  id: number,
  base: number,
  npages: number,
  flags: number,
  uaddr: number,
  born: number,
  modes: number,
  lpageLengths: readonly number[] = HUGE_LEVELS.map((level) => lpageCount(base, npages, level)),
): SlotState {
  const track: Uint16Array[] = [];
  for (let m = 0; m < modes; m++) track.push(new Uint16Array(npages));
  const lpage = lpageLengths.map((n) => new Int32Array(n));
  // Bitmaps are padded to whole 32-bit words so capture can skip clean words four chunks at a time.
  const dirty = [...track, ...lpage].map((a) => new Uint8Array(new ArrayBuffer((chunks(a.length) + 3) & ~3), 0, chunks(a.length)));
  return freeze({ as, id, base, npages, flags, uaddr, track, lpage, born, dirty });
}

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
    this.slots.set(slotKey(e.as, e.slot), newSlot(e.as, e.slot, e.base, e.npages, e.flags, e.uaddr, e.seq, this.modes));
  }

  onGuard(e: LpageGuard): void {
    const s = this.must(e.as, e.slot);
    s.lpage[e.level - 2]!.fill(1, e.from, e.to + 1);
    s.dirty[this.modes + e.level - 2]!.fill(1, e.from >>> CHUNK_SHIFT, (e.to >>> CHUNK_SHIFT) + 1);
  }

  onFlags(e: MemslotFlagsChanged): void {
    this.replace(e.as, e.slot, (d) => {
      d.flags = e.flags;
    });
  }

  /**
   * 'carried' (<= 5.6): the arrays move unchanged, indexes now relative to the new base (spec 1.5,
   * B14); 'fresh' (>= 5.7): zeroed arrays sized for the new base, born with this event (its
   * guards follow as lpage-guard events).
   */
  onMoved(e: MemslotMoved): void {
    if (e.arrays === 'fresh') {
      const s = this.must(e.as, e.slot);
      this.slots.set(slotKey(e.as, e.slot), newSlot(s.as, s.id, e.base, s.npages, s.flags, s.uaddr, e.seq, this.modes));
      return;
    }
    this.replace(e.as, e.slot, (d) => {
      d.base = e.base;
    });
  }

  /** kvm_destroy_vm frees every memslot and its arrays. */
  onVmDestroyed(): void {
    this.slots.clear();
  }

  onDeleted(e: MemslotDeleted): void {
    this.slots.delete(slotKey(e.as, e.slot));
  }

  onCountStep(e: TrackCountStep): void {
    const s = this.must(e.as, e.slot);
    const i = e.gfn - s.base;
    s.track[e.mode]![i] = e.count;
    s.dirty[e.mode]![i >>> CHUNK_SHIFT] = 1;
  }

  onLpageStep(e: LpageStep): void {
    const s = this.must(e.as, e.slot);
    s.lpage[e.level - 2]![e.index] = e.value;
    s.dirty[this.modes + e.level - 2]![e.index >>> CHUNK_SHIFT] = 1;
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

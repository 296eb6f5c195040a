/**
 * Checkpoints of every projection. Slot arrays are stored as chunks (CHUNK entries): a checkpoint
 * holds only the chunks that changed since the previous one (the projections mark them dirty),
 * and a restore copies only the chunks whose content differs from what the live arrays hold.
 * Everything else (slot metadata, SPTEs, shadow pages, notifiers, tallies) is small and stored
 * whole.
 */
import { freeze } from 'immer';
import { CHUNK_SHIFT, type SlotState, newSlot, slotKey } from '../projections/memslots.js';
import type { PageTrackState } from '../projections/state.js';
import { SpteTable } from '../projections/spte-table.js';
import type { VmSaved } from '../projections/vm-state.js';

export interface SmallState {
  readonly profile: string;
  /** [as, id, base, npages, flags, uaddr, born, 2M lpage entries, 1G lpage entries] per slot */
  readonly slots: ReadonlyArray<readonly [number, number, number, number, number, number, number, number, number]>;
  /** The SPTEs packed, key * 2 + writable (SpteTable.save). */
  readonly sptes: Float64Array;
  readonly sps: Float64Array;
  readonly lastSp: number;
  readonly indirect: number;
  readonly notifiers: readonly string[];
  readonly tallies: {
    readonly warns: Record<string, number>;
    readonly writes: Record<string, number>;
    readonly faults: Record<string, number>;
    readonly tlbFlushes: number;
    readonly notifications: number;
    readonly slotFlushes: number;
    readonly regionRemovals: number;
    readonly commands: number;
    readonly rejected: number;
    readonly lastSeq: number;
    readonly lastCmd: number;
    readonly balances: ReadonlyArray<readonly [string, number]>;
  };
  readonly vm: VmSaved;
  /** Who holds each count: [slot key, mode, index, user, count] (HolderProjection). */
  readonly holders: ReadonlyArray<readonly [number, number, number, string, number]>;
}

export interface Checkpoint {
  /** The state after event `seq` (0: before any event). */
  readonly seq: number;
  readonly cmd: number;
  /** Byte offset and line number of the line holding event seq + 1. */
  readonly offset: number;
  readonly line: number;
  /** The hash of the line holding event seq (the header for seq 0): what the line at `offset` must name as prev. */
  readonly prevHash: string;
  /** The trace timestamp of the last timestamped command at or before seq (ingested logs), in seconds. */
  readonly ts?: number;
  readonly small: SmallState;
  /** Changed chunks: [array number, chunk index, byte offset into data] triples. */
  readonly dir: Int32Array;
  readonly data: Uint8Array;
}

/** A slot array's identity: the slot's creation event and which array (modes first, then lpage levels). */
export interface ArrayInfo {
  readonly key: string;
  readonly bytesPerEntry: number;
  readonly length: number;
}

function arraysOf(s: SlotState): Array<Uint16Array | Int32Array> {
  return [...s.track, ...s.lpage];
}

/** Builds checkpoints in log order from a state that is only ever moved forward. */
export class CheckpointWriter {
  readonly arrays: ArrayInfo[] = [];
  private readonly numbers = new Map<string, number>();

  capture(state: PageTrackState, at: { seq: number; cmd: number; offset: number; line: number; prevHash: string; ts?: number }): Checkpoint {
    // First the dirty chunks (skipping clean 32-bit words of the bitmaps), then one copy each.
    const found: Array<{ arr: Uint16Array | Int32Array; no: number; chunks: number[] }> = [];
    let bytes = 0;
    for (const s of state.memslots.slots.values()) {
      arraysOf(s).forEach((arr, k) => {
        const dirty = s.dirty[k]!;
        const words = new Uint32Array(dirty.buffer, dirty.byteOffset, dirty.buffer.byteLength >>> 2);
        const chunks: number[] = [];
        for (let w = 0; w < words.length; w++) {
          if (words[w] === 0) continue;
          for (let c = w << 2; c < (w << 2) + 4 && c < dirty.length; c++) if (dirty[c] !== 0) chunks.push(c);
          words[w] = 0;
        }
        if (chunks.length === 0) return;
        const key = `${s.born}/${k}`;
        let no = this.numbers.get(key);
        if (no === undefined) {
          no = this.arrays.length;
          this.numbers.set(key, no);
          this.arrays.push({ key, bytesPerEntry: arr.BYTES_PER_ELEMENT, length: arr.length });
        }
        for (const c of chunks) bytes += (Math.min(arr.length, (c + 1) << CHUNK_SHIFT) - (c << CHUNK_SHIFT)) * arr.BYTES_PER_ELEMENT;
        found.push({ arr, no, chunks });
      });
    }
    const dir = new Int32Array(found.reduce((n, f) => n + f.chunks.length * 3, 0));
    const data = new Uint8Array(bytes);
    let off = 0;
    let d = 0;
    for (const { arr, no, chunks } of found) {
      const view = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
      const per = arr.BYTES_PER_ELEMENT;
      for (const c of chunks) {
        const from = (c << CHUNK_SHIFT) * per;
        const to = Math.min(arr.length, (c + 1) << CHUNK_SHIFT) * per;
        data.set(view.subarray(from, to), off);
        dir[d++] = no;
        dir[d++] = c;
        dir[d++] = off;
        off += to - from;
      }
    }
    return { ...at, small: saveSmall(state), dir, data };
  }
}

function saveSmall(state: PageTrackState): SmallState {
  const t = state.tallies;
  return {
    profile: state.profile,
    slots: [...state.memslots.slots.values()].map((s) => [s.as, s.id, s.base, s.npages, s.flags, s.uaddr, s.born, s.lpage[0]!.length, s.lpage[1]!.length] as const),
    sptes: state.sptes.save(),
    sps: state.shadowPages.save(),
    lastSp: state.shadowPages.lastId,
    indirect: state.shadowPages.indirect,
    notifiers: [...state.notifiers.nodes],
    tallies: {
      warns: { ...t.warns },
      writes: { ...t.writes },
      faults: { ...t.faults },
      tlbFlushes: t.tlbFlushes,
      notifications: t.notifications,
      slotFlushes: t.slotFlushes,
      regionRemovals: t.regionRemovals,
      commands: t.commands,
      rejected: t.rejected,
      lastSeq: t.lastSeq,
      lastCmd: t.lastCmd,
      balances: [...t.balances],
    },
    vm: state.vm.save(),
    holders: state.holders.save(),
  };
}

/**
 * Restores any checkpoint into one live state, in place. It remembers which checkpoint's version
 * each chunk holds, so moving between nearby checkpoints copies little.
 */
export class CheckpointRestorer {
  /** array number → chunk → [checkpoint, byte offset, checkpoint, byte offset, ...] ascending */
  private readonly versions: Array<Map<number, number[]>>;
  private readonly numbers = new Map<string, number>();
  /**
   * Per live array object: the checkpoint whose version each chunk holds (-1: zeros). Keyed by
   * the array itself, since replay may delete a slot and a later restore recreate it.
   */
  private readonly loaded = new WeakMap<Uint16Array | Int32Array, Int32Array>();
  /** The checkpoint the state was last restored to: SPTEs and shadow pages are then reverted, not rebuilt. */
  private last = -1;
  private lastState: PageTrackState | undefined;
  private spteMaps = new Map<number, SpteTable>();

  constructor(
    private readonly checkpoints: readonly Checkpoint[],
    arrays: readonly ArrayInfo[],
    private readonly modes: number,
  ) {
    this.versions = arrays.map(() => new Map());
    arrays.forEach((a, i) => this.numbers.set(a.key, i));
    checkpoints.forEach((cp, index) => {
      for (let i = 0; i < cp.dir.length; i += 3) {
        const chunks = this.versions[cp.dir[i]!]!;
        let list = chunks.get(cp.dir[i + 1]!);
        if (!list) chunks.set(cp.dir[i + 1]!, (list = []));
        list.push(index, cp.dir[i + 2]!);
      }
    });
  }

  restore(state: PageTrackState, index: number): void {
    const cp = this.checkpoints[index]!;
    const small = cp.small;
    const slots = state.memslots.slots;
    const wanted = new Map(small.slots.map((m) => [slotKey(m[0], m[1]), m]));
    for (const [key, s] of slots) {
      const m = wanted.get(key);
      if (!m || m[6] !== s.born) slots.delete(key);
    }
    for (const m of small.slots) {
      const [as, id, base, npages, flags, uaddr, born, l2, l3] = m;
      const key = slotKey(as, id);
      let s = slots.get(key);
      if (!s) {
        s = newSlot(as, id, base, npages, flags, uaddr, born, this.modes, [l2, l3]);
        slots.set(key, s);
      } else if (s.base !== base || s.flags !== flags) {
        s = freeze({ ...s, base, flags });
        slots.set(key, s);
      }
      this.restoreArrays(s, index);
    }
    state.profile = small.profile;
    const again = this.last === index && this.lastState === state && state.sptes.touched && state.shadowPages.touched;
    if (again) {
      state.sptes.revert(this.spteMap(index));
      state.shadowPages.revert(small.sps, small.lastSp, small.indirect);
    } else {
      state.sptes.load(small.sptes);
      state.shadowPages.load(small.sps, small.lastSp);
    }
    state.sptes.touched = new Set();
    state.shadowPages.touched = new Set();
    this.last = index;
    this.lastState = state;
    state.notifiers.nodes = Object.freeze([...small.notifiers]);
    const t = state.tallies;
    Object.assign(t.warns, small.tallies.warns);
    Object.assign(t.writes, small.tallies.writes);
    Object.assign(t.faults, small.tallies.faults);
    t.tlbFlushes = small.tallies.tlbFlushes;
    t.notifications = small.tallies.notifications;
    t.slotFlushes = small.tallies.slotFlushes;
    t.regionRemovals = small.tallies.regionRemovals;
    t.commands = small.tallies.commands;
    t.rejected = small.tallies.rejected;
    t.lastSeq = small.tallies.lastSeq;
    t.lastCmd = small.tallies.lastCmd;
    t.balances.clear();
    for (const [u, n] of small.tallies.balances) t.balances.set(u, n);
    state.vm.load(small.vm);
    state.holders.load(small.holders);
  }

  /** A checkpoint's SPTEs as a map, built on first use (one kept at a time). */
  private spteMap(index: number): SpteTable {
    let m = this.spteMaps.get(index);
    if (!m) {
      m = new SpteTable();
      m.load(this.checkpoints[index]!.small.sptes);
      this.spteMaps.clear();
      this.spteMaps.set(index, m);
    }
    return m;
  }

  private restoreArrays(s: SlotState, index: number): void {
    arraysOf(s).forEach((arr, k) => {
      const key = `${s.born}/${k}`;
      const dirty = s.dirty[k]!;
      let loaded = this.loaded.get(arr);
      if (!loaded) this.loaded.set(arr, (loaded = new Int32Array(dirty.length).fill(-1)));
      const no = this.numbers.get(key);
      const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
      const per = arr.BYTES_PER_ELEMENT;
      if (no !== undefined) {
        for (const [c, list] of this.versions[no]!) {
          // The latest version at or before this checkpoint (binary search over pairs).
          let lo = 0;
          let hi = list.length / 2 - 1;
          let found = -1;
          while (lo <= hi) {
            const mid = (lo + hi) >> 1;
            if (list[mid * 2]! <= index) {
              found = mid;
              lo = mid + 1;
            } else hi = mid - 1;
          }
          const cpNo = found < 0 ? -1 : list[found * 2]!;
          if (cpNo === loaded[c] && dirty[c] === 0) continue;
          const from = (c << CHUNK_SHIFT) * per;
          const to = Math.min(arr.length, (c + 1) << CHUNK_SHIFT) * per;
          if (cpNo < 0) bytes.fill(0, from, to);
          else {
            const off = list[found * 2 + 1]!;
            bytes.set(this.checkpoints[cpNo]!.data.subarray(off, off + (to - from)), from);
          }
          loaded[c] = cpNo;
          dirty[c] = 0;
        }
      }
      // Chunks written since the last restore that never had a version are zeros at any checkpoint.
      for (let c = 0; c < dirty.length; c++) {
        if (dirty[c] === 0) continue;
        bytes.fill(0, (c << CHUNK_SHIFT) * per, Math.min(arr.length, (c + 1) << CHUNK_SHIFT) * per);
        loaded[c] = -1;
        dirty[c] = 0;
      }
    });
  }
}

/** A whole state as one checkpoint (every chunk, dirty or not): `audit --checkpoint` saves its model this way. */
export function captureWhole(state: PageTrackState, at: Parameters<CheckpointWriter['capture']>[1]): { checkpoint: Checkpoint; arrays: ArrayInfo[] } {
  for (const s of state.memslots.slots.values()) for (const d of s.dirty) d.fill(1);
  const writer = new CheckpointWriter();
  return { checkpoint: writer.capture(state, at), arrays: writer.arrays };
}

/** The state `captureWhole` saved, in a fresh PageTrackState of `profile`. */
export function restoreWhole(state: PageTrackState, saved: { checkpoint: Checkpoint; arrays: readonly ArrayInfo[] }, modes: number): PageTrackState {
  new CheckpointRestorer([saved.checkpoint], saved.arrays, modes).restore(state, 0);
  return state;
}

import { HUGE_LEVELS } from '../domain/constants.js';
import { frameOf, pagesPerLevel } from '../domain/gfn.js';
import type { WarnKind } from '../events/types.js';
import { slotKey } from './memslots.js';
import type { SpteCut } from './sptes.js';
import type { PageTrackState } from './state.js';

/**
 * The state at one point as plain JSON (the `pagetrack state --json` shape; README documents it).
 * Only nonzero counters are listed.
 */
export interface StateSnapshot {
  readonly profile: string;
  readonly position: { readonly event: number; readonly command: number };
  readonly slots: readonly SlotSnapshot[];
  readonly sptes: ReadonlyArray<{ readonly as: number; readonly level: number; readonly gfn: number; readonly writable: boolean }>;
  readonly shadowPages: ReadonlyArray<{ readonly sp: number; readonly as: number; readonly gfn: number; readonly level: number; readonly direct: boolean; readonly flood: number }>;
  readonly indirectShadowPages: number;
  readonly tlbFlushes: number;
  /** Dispatch order: the node called first comes first. */
  readonly notifiers: readonly string[];
  readonly warns: Readonly<Record<WarnKind, number>>;
  readonly notifications: number;
  /** track_flush_slot deliveries (linux-4.19 and later). */
  readonly slotFlushes: number;
  /** track_remove_region deliveries (linux-6.6 and later). */
  readonly regionRemovals: number;
  /** Per user, accepted adds minus accepted removes, by user name. */
  readonly balances: Readonly<Record<string, number>>;
  readonly vm: VmSnapshot;
}

export interface VmSnapshot {
  readonly tdp: boolean;
  readonly externalWriteTracking: boolean;
  /** Whether the gfn_track arrays exist (spec 1.6) and the kernel memory they take: 2 bytes per page of every slot. */
  readonly writeTracking: { readonly enabled: boolean; readonly bytes: number };
  /** KVM_BUG_ON: where, why, and the command. */
  readonly bugged?: { readonly fn: string; readonly reason: string; readonly command: number };
  /** The command that destroyed the VM. */
  readonly destroyed?: number;
}

export interface SlotSnapshot {
  readonly as: number;
  readonly slot: number;
  readonly base: number;
  readonly npages: number;
  readonly flags: number;
  /** Per mode name: [gfn, count, holders] for every nonzero count, by gfn; holders are each user's share of the count, by user name. */
  readonly track: Readonly<Record<string, ReadonlyArray<readonly [number, number, Readonly<Record<string, number>>]>>>;
  /** Per level ("2" = 2 MiB, "3" = 1 GiB): entries, nonzero values as [index, first gfn of the frame, value]. */
  readonly disallowLpage: Readonly<Record<string, { readonly entries: number; readonly nonzero: ReadonlyArray<readonly [number, number, number]> }>>;
}

/** `cut`: list only these SPTEs (a view that shows a page of them: src/cli/state-view.ts). */
export function snapshot(state: PageTrackState, modeNames: readonly string[], cut?: { readonly sptes: SpteCut }): StateSnapshot {
  const slots = state.memslots.list().map((s): SlotSnapshot => {
    const track: Record<string, Array<[number, number, Record<string, number>]>> = {};
    const key = slotKey(s.as, s.id);
    s.track.forEach((arr, mode) => {
      const rows: Array<[number, number, Record<string, number>]> = [];
      for (let i = 0; i < arr.length; i++) if (arr[i] !== 0) rows.push([s.base + i, arr[i]!, state.holders.of(key, mode, i)]);
      track[modeNames[mode] ?? String(mode)] = rows;
    });
    const disallowLpage: Record<string, { entries: number; nonzero: Array<[number, number, number]> }> = {};
    for (const level of HUGE_LEVELS) {
      const arr = s.lpage[level - 2]!;
      const first = frameOf(s.base, level);
      const nonzero: Array<[number, number, number]> = [];
      for (let i = 0; i < arr.length; i++) if (arr[i] !== 0) nonzero.push([i, (first + i) * pagesPerLevel(level), arr[i]!]);
      disallowLpage[String(level)] = { entries: arr.length, nonzero };
    }
    return { as: s.as, slot: s.id, base: s.base, npages: s.npages, flags: s.flags, track, disallowLpage };
  });
  const t = state.tallies;
  return {
    profile: state.profile,
    position: { event: t.lastSeq, command: t.lastCmd },
    slots,
    sptes: state.sptes.list(cut?.sptes),
    shadowPages: [...state.shadowPages.pages.values()].sort((a, b) => a.sp - b.sp).map((p) => ({ ...p })),
    indirectShadowPages: state.shadowPages.indirect,
    tlbFlushes: t.tlbFlushes,
    notifiers: [...state.notifiers.nodes],
    warns: { ...t.warns },
    notifications: t.notifications,
    slotFlushes: t.slotFlushes,
    regionRemovals: t.regionRemovals,
    balances: Object.fromEntries([...t.balances].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    vm: vmSnapshot(state),
  };
}

function vmSnapshot(state: PageTrackState): VmSnapshot {
  const v = state.vm;
  let pages = 0;
  for (const s of state.memslots.slots.values()) pages += s.npages;
  return {
    tdp: v.tdp,
    externalWriteTracking: v.externalWriteTracking,
    writeTracking: { enabled: v.writeTrackingEnabled, bytes: v.writeTrackingEnabled ? pages * 2 : 0 },
    ...(v.bugged ? { bugged: { fn: v.bugged.fn, reason: v.bugged.reason, command: v.bugged.cmd } } : {}),
    ...(v.destroyed !== undefined ? { destroyed: v.destroyed } : {}),
  };
}

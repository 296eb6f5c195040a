/**
 * What changed between two points. `copyState` freezes a point (its arrays copied), so the live
 * state can move on to the other point; `diffStates` compares the two.
 */
import { HUGE_LEVELS } from '../domain/constants.js';
import { frameOf, pagesPerLevel } from '../domain/gfn.js';
import type { SlotState } from '../projections/memslots.js';
import type { ShadowPage } from '../projections/shadow-pages.js';
import type { Spte } from '../projections/sptes.js';
import type { PageTrackState } from '../projections/state.js';
import type { LogPoint } from './position.js';

export interface FrozenPoint {
  readonly at: LogPoint;
  readonly slots: ReadonlyMap<number, { readonly meta: SlotState; readonly track: Uint16Array[]; readonly lpage: Int32Array[] }>;
  readonly sptes: readonly Spte[];
  readonly shadowPages: readonly ShadowPage[];
  readonly notifiers: readonly string[];
  readonly warns: Readonly<Record<string, number>>;
  readonly tlbFlushes: number;
  readonly notifications: number;
  readonly balances: ReadonlyMap<string, number>;
}

export function copyState(state: PageTrackState, at: LogPoint): FrozenPoint {
  const slots = new Map<number, { meta: SlotState; track: Uint16Array[]; lpage: Int32Array[] }>();
  for (const [k, s] of state.memslots.slots) slots.set(k, { meta: s, track: s.track.map((a) => a.slice()), lpage: s.lpage.map((a) => a.slice()) });
  return {
    at,
    slots,
    sptes: state.sptes.list(),
    shadowPages: [...state.shadowPages.pages.values()].sort((a, b) => a.sp - b.sp),
    notifiers: [...state.notifiers.nodes],
    warns: { ...state.tallies.warns },
    tlbFlushes: state.tallies.tlbFlushes,
    notifications: state.tallies.notifications,
    balances: new Map(state.tallies.balances),
  };
}

export interface StateDiff {
  readonly from: LogPoint;
  readonly to: LogPoint;
  readonly slots: { readonly added: string[]; readonly removed: string[]; readonly changed: string[] };
  /** gfns whose count changed: [as, slot, gfn, before, after] (write mode). */
  readonly counts: Array<[number, number, number, number, number]>;
  /** lpage frames whose disallow_lpage changed: [as, slot, level, first gfn of frame, before, after]. */
  readonly lpage: Array<[number, number, number, number, number, number]>;
  readonly sptes: { readonly added: Spte[]; readonly removed: Spte[]; readonly changed: Array<{ before: Spte; after: Spte }> };
  readonly shadowPages: { readonly created: ShadowPage[]; readonly zapped: ShadowPage[] };
  readonly notifiers: { readonly before: readonly string[]; readonly after: readonly string[] } | undefined;
  readonly warns: Record<string, [number, number]>;
  readonly tlbFlushes: [number, number];
  readonly notifications: [number, number];
  readonly balances: Record<string, [number, number]>;
}

const slotName = (s: SlotState) => `as${s.as}/slot${s.id}`;

export function diffStates(a: FrozenPoint, b: FrozenPoint): StateDiff {
  const counts: StateDiff['counts'] = [];
  const lpage: StateDiff['lpage'] = [];
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  const keys = new Set([...a.slots.keys(), ...b.slots.keys()]);
  for (const k of [...keys].sort((x, y) => x - y)) {
    const sa = a.slots.get(k);
    const sb = b.slots.get(k);
    const same = sa && sb && sa.meta.born === sb.meta.born;
    if (!sa) added.push(slotName(sb!.meta));
    else if (!sb) removed.push(slotName(sa.meta));
    else if (!same) {
      removed.push(slotName(sa.meta));
      added.push(slotName(sb.meta));
    } else if (sa.meta.base !== sb.meta.base || sa.meta.flags !== sb.meta.flags) changed.push(slotName(sb.meta));
    // Counts and lpage by gfn (at the later point's base); a slot at one point only counts from or to zero.
    if (same) compareArrays(sa, sb, counts, lpage);
    else {
      if (sa) compareArrays(sa, undefined, counts, lpage);
      if (sb) compareArrays(undefined, sb, counts, lpage);
    }
  }
  const key = (s: Spte) => `${s.as}/${s.level}/${s.gfn}`;
  const sa = new Map(a.sptes.map((s) => [key(s), s]));
  const sb = new Map(b.sptes.map((s) => [key(s), s]));
  const spA = new Map(a.shadowPages.map((p) => [p.sp, p]));
  const spB = new Map(b.shadowPages.map((p) => [p.sp, p]));
  const pairs = (x: Readonly<Record<string, number>> | ReadonlyMap<string, number>, y: Readonly<Record<string, number>> | ReadonlyMap<string, number>) => {
    const get = (m: typeof x, k: string) => (m instanceof Map ? m.get(k) : (m as Record<string, number>)[k]) ?? 0;
    const names = new Set([...(x instanceof Map ? x.keys() : Object.keys(x)), ...(y instanceof Map ? y.keys() : Object.keys(y))]);
    const out: Record<string, [number, number]> = {};
    for (const n of [...names].sort()) if (get(x, n) !== get(y, n)) out[n] = [get(x, n), get(y, n)];
    return out;
  };
  return {
    from: a.at,
    to: b.at,
    slots: { added, removed, changed },
    counts,
    lpage,
    sptes: {
      added: [...sb.values()].filter((s) => !sa.has(key(s))),
      removed: [...sa.values()].filter((s) => !sb.has(key(s))),
      changed: [...sb.values()].filter((s) => sa.has(key(s)) && sa.get(key(s))!.writable !== s.writable).map((s) => ({ before: sa.get(key(s))!, after: s })),
    },
    shadowPages: { created: [...spB.values()].filter((p) => !spA.has(p.sp)), zapped: [...spA.values()].filter((p) => !spB.has(p.sp)) },
    notifiers: a.notifiers.join() === b.notifiers.join() ? undefined : { before: a.notifiers, after: b.notifiers },
    warns: pairs(a.warns, b.warns),
    tlbFlushes: [a.tlbFlushes, b.tlbFlushes],
    notifications: [a.notifications, b.notifications],
    balances: pairs(a.balances, b.balances),
  };
}

type Frozen = { readonly meta: SlotState; readonly track: Uint16Array[]; readonly lpage: Int32Array[] };

function compareArrays(a: Frozen | undefined, b: Frozen | undefined, counts: StateDiff['counts'], lpage: StateDiff['lpage']): void {
  const meta = (b ?? a)!.meta;
  const ta = a?.track[0];
  const tb = b?.track[0];
  const n = (ta ?? tb)!.length;
  for (let i = 0; i < n; i++) {
    const x = ta ? ta[i]! : 0;
    const y = tb ? tb[i]! : 0;
    if (x !== y) counts.push([meta.as, meta.id, meta.base + i, x, y]);
  }
  HUGE_LEVELS.forEach((level, li) => {
    const la = a?.lpage[li];
    const lb = b?.lpage[li];
    const first = frameOf(meta.base, level);
    const len = Math.max(la?.length ?? 0, lb?.length ?? 0);
    for (let i = 0; i < len; i++) {
      const x = la?.[i] ?? 0;
      const y = lb?.[i] ?? 0;
      if (x !== y) lpage.push([meta.as, meta.id, level, (first + i) * pagesPerLevel(level), x, y]);
    }
  });
}

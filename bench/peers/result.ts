/**
 * What every contestant computes from the same operations, in one comparable shape: the counts,
 * the WARN tallies, the large-page disallow values, the TLB flushes and the notifier deliveries.
 */
import type { StateSnapshot } from '../../src/projections/snapshot.js';

export interface PeerResult {
  /** [gfn, count] for every nonzero count, by gfn. */
  readonly counts: ReadonlyArray<readonly [number, number]>;
  /** Per huge level: [frame index, value] for every nonzero disallow_lpage, by index. */
  readonly lpage: { readonly 2: ReadonlyArray<readonly [number, number]>; readonly 3: ReadonlyArray<readonly [number, number]> };
  readonly warns: { readonly overflow: number; readonly underflow: number; readonly lpageNegative: number };
  readonly flushes: number;
  readonly deliveries: number;
}

/** pagetrack's answer, read off its state. */
export function resultOfSnapshot(s: StateSnapshot): PeerResult {
  const slot = s.slots.find((x) => x.as === 0 && x.slot === 0)!;
  const lp = (level: 2 | 3) => slot.disallowLpage[level]!.nonzero.map(([index, , value]) => [index, value] as const);
  return {
    counts: (slot.track.write ?? []).map(([g, c]) => [g, c] as const),
    lpage: { 2: lp(2), 3: lp(3) },
    warns: { overflow: s.warns['gfn-track-overflow'] ?? 0, underflow: s.warns['gfn-track-underflow'] ?? 0, lpageNegative: s.warns['lpage-negative'] ?? 0 },
    flushes: s.tlbFlushes,
    deliveries: s.notifications,
  };
}

/** Sorted [key, value] pairs of the nonzero entries of a record keyed by number. */
export function nonzeroEntries(r: Readonly<Record<number, number>>): Array<[number, number]> {
  return Object.entries(r)
    .map(([k, v]) => [Number(k), v] as [number, number])
    .filter(([, v]) => v !== 0)
    .sort((a, b) => a[0] - b[0]);
}

/** The first difference between two answers, or undefined when they agree. */
export function differs(a: PeerResult, b: PeerResult): string | undefined {
  for (const k of ['flushes', 'deliveries'] as const) if (a[k] !== b[k]) return `${k}: ${a[k]} vs ${b[k]}`;
  for (const k of ['overflow', 'underflow', 'lpageNegative'] as const) if (a.warns[k] !== b.warns[k]) return `WARN ${k}: ${a.warns[k]} vs ${b.warns[k]}`;
  const pairs = (name: string, x: ReadonlyArray<readonly [number, number]>, y: ReadonlyArray<readonly [number, number]>) => {
    if (x.length !== y.length) return `${name}: ${x.length} nonzero entries vs ${y.length}`;
    for (let i = 0; i < x.length; i++) if (x[i]![0] !== y[i]![0] || x[i]![1] !== y[i]![1]) return `${name}: [${x[i]}] vs [${y[i]}]`;
    return undefined;
  };
  return pairs('counts', a.counts, b.counts) ?? pairs('disallow_lpage level 2', a.lpage[2], b.lpage[2]) ?? pairs('disallow_lpage level 3', a.lpage[3], b.lpage[3]);
}

/**
 * The page-track rules as immer recipes over plain objects: what a TypeScript user writes first,
 * shared by the Redux Toolkit slice and the RxJS scan reducer. Records keyed by gfn (a 64 GiB
 * guest has 16 M pages: nobody keeps an array of them in a store), zero entries deleted.
 */
import { USHRT_MAX } from '../../src/domain/constants.js';
import { NODES } from '../workload.js';
import { type PeerResult, nonzeroEntries } from './result.js';

export interface TrackState {
  counts: Record<number, number>;
  lpage2: Record<number, number>;
  lpage3: Record<number, number>;
  /** 'ro' | 'rw' per gfn with a 4 KiB SPTE. */
  sptes: Record<number, 'ro' | 'rw'>;
  warns: { overflow: number; underflow: number; lpageNegative: number };
  flushes: number;
  deliveries: number;
}

export const initialTrackState = (): TrackState => ({
  counts: {},
  lpage2: {},
  lpage3: {},
  sptes: {},
  warns: { overflow: 0, underflow: 0, lpageNegative: 0 },
  flushes: 0,
  deliveries: 0,
});

export interface GfnPayload {
  readonly gfn: number;
}

function step(s: TrackState, table: 'lpage2' | 'lpage3', index: number, delta: number): void {
  const v = (s[table][index] ?? 0) + delta;
  if (v === 0) delete s[table][index];
  else s[table][index] = v;
  if (v < 0) s.warns.lpageNegative++;
}

export const recipes = {
  add(s: TrackState, { gfn }: GfnPayload): void {
    const c = s.counts[gfn] ?? 0;
    if (c === USHRT_MAX) s.warns.overflow++;
    else s.counts[gfn] = c + 1;
    step(s, 'lpage2', gfn >>> 9, 1);
    step(s, 'lpage3', gfn >>> 18, 1);
    if (s.sptes[gfn] === 'rw') {
      s.sptes[gfn] = 'ro';
      s.flushes++;
    }
  },
  remove(s: TrackState, { gfn }: GfnPayload): void {
    const c = s.counts[gfn] ?? 0;
    if (c === 0) s.warns.underflow++;
    else if (c === 1) delete s.counts[gfn];
    else s.counts[gfn] = c - 1;
    step(s, 'lpage2', gfn >>> 9, -1);
    step(s, 'lpage3', gfn >>> 18, -1);
  },
  guestWrite(s: TrackState, { gfn }: GfnPayload): void {
    const spte = s.sptes[gfn];
    if (spte === 'rw') return;
    if (s.counts[gfn]) {
      if (spte === undefined) s.sptes[gfn] = 'ro';
      s.deliveries += NODES;
    } else s.sptes[gfn] = 'rw';
  },
  emulatorWrite(s: TrackState): void {
    s.deliveries += NODES;
  },
};

export function resultOfTrackState(s: TrackState): PeerResult {
  return { counts: nonzeroEntries(s.counts), lpage: { 2: nonzeroEntries(s.lpage2), 3: nonzeroEntries(s.lpage3) }, warns: { ...s.warns }, flushes: s.flushes, deliveries: s.deliveries };
}

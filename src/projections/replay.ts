import type { Observable, Observer } from 'rxjs';
import { type KernelProfile, getProfile } from '../domain/profile.js';
import type { PageTrackEvent } from '../events/types.js';
import { PageTrackState } from './state.js';

/** An observer that applies each batch of events to `state`: how projections ride the stream. */
export function projectInto(state: PageTrackState): Observer<readonly PageTrackEvent[]> {
  return {
    next: (batch) => state.applyAll(batch),
    error: (err: unknown) => {
      throw err;
    },
    complete: () => {},
  };
}

/** Where a replay stops: after event N, or after the last event of command K (both inclusive). */
export interface ReplayUntil {
  readonly event?: number;
  readonly command?: number;
}

/** Rebuilds the state from a stream of event batches (synchronous sources complete before return). */
export function replay(batches: Observable<readonly PageTrackEvent[]>, profile: KernelProfile | string): PageTrackState {
  const state = new PageTrackState(typeof profile === 'string' ? getProfile(profile) : profile);
  batches.subscribe(projectInto(state)).unsubscribe();
  return state;
}

/** True once `e` lies past the stop point. */
export function isPast(e: PageTrackEvent, until: ReplayUntil): boolean {
  return (until.event !== undefined && e.seq > until.event) || (until.command !== undefined && e.cmd > until.command);
}

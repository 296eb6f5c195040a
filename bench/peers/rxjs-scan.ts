/** The naive reading of "event-sourced with RxJS and immer": scan over the actions, produce per action. */
import { produce } from 'immer';
import { from, last, scan } from 'rxjs';
import type { PayloadAction } from '@reduxjs/toolkit';
import { type GfnPayload, type TrackState, initialTrackState, recipes, resultOfTrackState } from './recipes.js';
import type { PeerResult } from './result.js';

const byType: Record<string, (s: TrackState, p: GfnPayload) => void> = {
  'pagetrack/add': recipes.add,
  'pagetrack/remove': recipes.remove,
  'pagetrack/guestWrite': recipes.guestWrite,
  'pagetrack/emulatorWrite': recipes.emulatorWrite,
};

export function rxjsScan(actions: ReadonlyArray<PayloadAction<GfnPayload>>): () => PeerResult {
  const initial = initialTrackState();
  let out: TrackState | undefined;
  from(actions)
    .pipe(
      scan((s, a) => produce(s, (d) => byType[a.type]!(d, a.payload)), initial),
      last(undefined, initial), // no actions: the initial state
    )
    .subscribe((s) => (out = s));
  return () => resultOfTrackState(out!);
}

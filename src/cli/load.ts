import { displayed } from '../io/display-name.js';
import { getProfile } from '../domain/profile.js';
import type { PageTrackEvent } from '../events/types.js';
import { LogReader, type ReadSummary } from '../log/reader.js';
import { type ReplayUntil, isPast } from '../projections/replay.js';
import { PageTrackState } from '../projections/state.js';
import { progressBar } from './progress.js';

export interface Loaded {
  readonly state: PageTrackState;
  readonly last: PageTrackEvent | undefined;
  /** Undefined when the replay stopped early (at `until`). */
  readonly summary: ReadSummary | undefined;
}

/** Replays a log (validated, chain-checked) up to `until` into a fresh state. */
export async function loadState(path: string, until: ReplayUntil = {}, quiet = false): Promise<Loaded> {
  const bar = progressBar('replay', { quiet });
  const reader = new LogReader(path, { onProgress: (p) => bar.update(p) });
  let state: PageTrackState | undefined;
  let last: PageTrackEvent | undefined;
  try {
    outer: for await (const batch of reader.batches()) {
      state ??= new PageTrackState(getProfile(reader.header!.profile));
      for (const e of batch) {
        if (isPast(e, until)) break outer;
        state.apply(e);
        last = e;
      }
    }
  } finally {
    bar.stop();
  }
  state ??= new PageTrackState(getProfile(reader.header!.profile));
  return { state, last, summary: reader.summary };
}

/** The stderr note readers give when a log ends in a cut-off line. */
export function truncationNote(path: string, s: Pick<ReadSummary, 'events' | 'truncated'> | undefined): string | undefined {
  if (!s?.truncated) return undefined;
  return displayed(`pagetrack: ${path} ends in a cut-off line ${s.truncated.line} (${s.truncated.bytes} bytes; the writer died mid-append): dropped it, read ${s.events} whole events`);
}

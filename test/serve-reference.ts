import { getProfile } from '../src/domain/profile.js';
import { LogReader } from '../src/log/reader.js';
import { PageTrackState } from '../src/projections/state.js';
import { scanSummary } from '../src/series/summary-tracker.js';

/** The headline numbers after every event (a replay and a scan per position: the reference). */
export async function everyPosition(log: string): Promise<Array<Record<string, number>>> {
  const reader = new LogReader(log);
  let state: PageTrackState | undefined;
  const out: Array<Record<string, number>> = [];
  const take = () => {
    const s = scanSummary(state!);
    const row: Record<string, number> = { tracked: s.tracked, writeProtected: s.writeProtected, shadowPages: s.shadowPages, tlbFlushes: s.tlbFlushes, warns: s.warns, zaps: s.zaps };
    for (const [k, n] of s.trackedBySlot) row[`slot as${Math.floor(k / 1024)}/${k % 1024}`] = n;
    for (const [u, n] of s.trackedByUser) row[`user ${u}`] = n;
    out.push(row);
  };
  for await (const batch of reader.batches()) {
    if (!state) {
      state = new PageTrackState(getProfile(reader.header!.profile));
      take();
    }
    for (const e of batch) {
      state.apply(e);
      take();
    }
  }
  return out;
}


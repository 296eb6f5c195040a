/** pagetrack as a contestant: the VM turns the operations into events; replay projects them again. */
import { Subject } from 'rxjs';
import { PageTrackVm } from '../../src/domain/vm.js';
import { LINUX_4_6 } from '../../src/domain/profile.js';
import type { PageTrackEvent } from '../../src/events/types.js';
import { projectInto } from '../../src/projections/replay.js';
import { PageTrackState } from '../../src/projections/state.js';
import { SETUP, type Ops, toCommand } from '../workload.js';

/** Operation i is command FIRST_OP_CMD + i (command 0 creates the VM, then SETUP). */
export const FIRST_OP_CMD = SETUP.length + 1;

/** Runs the operations live: commands -> checks -> events (frozen) -> projections. */
export function pagetrackLive(ops: Ops, n: number): { vm: PageTrackVm; events: readonly PageTrackEvent[] } {
  const vm = new PageTrackVm({ profile: LINUX_4_6 });
  for (const c of SETUP) vm.execute(c);
  for (let i = 0; i < n; i++) vm.execute(toCommand(ops, i));
  return { vm, events: vm.log!.events };
}

/** Replays already-parsed events through all projections, in batches on an RxJS Subject. */
export function pagetrackReplay(batches: ReadonlyArray<readonly PageTrackEvent[]>): PageTrackState {
  const state = new PageTrackState(LINUX_4_6);
  const stream = new Subject<readonly PageTrackEvent[]>();
  stream.subscribe(projectInto(state));
  for (const b of batches) stream.next(b);
  return state;
}

/**
 * Reads one field of every event and applies nothing: no replay of these event objects can be
 * faster, since each must at least be loaded from memory. Returns the sum so it is not optimised away.
 */
export function readEach(batches: ReadonlyArray<readonly PageTrackEvent[]>): number {
  let sum = 0;
  for (const b of batches) for (let i = 0; i < b.length; i++) sum += b[i]!.seq;
  return sum;
}

export function batchesOf(events: readonly PageTrackEvent[], count: number, size = 4096): PageTrackEvent[][] {
  const out: PageTrackEvent[][] = [];
  for (let i = 0; i < count; i += size) out.push(events.slice(i, Math.min(count, i + size)) as PageTrackEvent[]);
  return out;
}

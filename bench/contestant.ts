/**
 * One contestant in a process of its own (so its peak memory is its own), printing one JSON line:
 * `node dist/bench/contestant.js NAME OPS RUNS [BUDGET_SECONDS]`.
 * A contestant given a budget starts small and doubles the prefix while the next size should
 * still finish within it; the size it reports is one it ran, never an extrapolation.
 */
import { snapshot } from '../src/projections/snapshot.js';
import { LINUX_4_6 } from '../src/domain/profile.js';
import { makeOps } from './workload.js';
import { plainLoop } from './peers/plain-loop.js';
import { reduxActions, reduxToolkit } from './peers/redux-toolkit.js';
import { rxjsScan } from './peers/rxjs-scan.js';
import { batchesOf, pagetrackLive, pagetrackReplay } from './peers/pagetrack.js';
import { type PeerResult, resultOfSnapshot } from './peers/result.js';

export interface Timing {
  readonly ops: number;
  /** Operations per second, one per run. */
  readonly rates: number[];
  readonly result: PeerResult;
}

export interface ContestantReport extends Timing {
  readonly name: string;
  /** Peak resident set of the whole process, bytes. */
  readonly peakRss: number;
  /** True when the budget stopped the contestant before the full size. */
  readonly prefix: boolean;
  /** pagetrack only: the live run that produced the events it replays. */
  readonly live?: { readonly opsPerSecond: number; readonly eventsPerSecond: number; readonly events: number };
}

const [name, opsArg, runsArg, budgetArg = '0'] = process.argv.slice(2);
const N = Number(opsArg);
const RUNS = Number(runsArg);
const budgetMs = Number(budgetArg) * 1000;
const ops = makeOps(N);

/** Times `run` RUNS times on a prepared input; `prepare` is outside the clock. */
/** The last run's garbage is collected before the clock starts, not during the next run (--expose-gc). */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** A run returns how to read its answer: reading it (for the agreement check) is outside the clock. */
type Run<I> = (input: I) => () => PeerResult;

function timeRuns<I>(n: number, prepare: (n: number) => I, run: Run<I>, first?: { ms: number; result: PeerResult }): Timing {
  const rates: number[] = first ? [n / (first.ms / 1000)] : [];
  let result = first?.result;
  while (rates.length < RUNS) {
    const input = prepare(n);
    collectGarbage();
    const t0 = performance.now();
    const answer = run(input);
    rates.push(n / ((performance.now() - t0) / 1000));
    result = answer();
  }
  return { ops: n, rates, result: result! };
}

function peer<I>(prepare: (n: number) => I, run: Run<I>): Timing & { prefix: boolean } {
  if (budgetMs === 0) return { ...timeRuns(N, prepare, run), prefix: false };
  let n = Math.min(N, 1000);
  for (;;) {
    const input = prepare(n);
    collectGarbage();
    const t0 = performance.now();
    const answer = run(input);
    const ms = performance.now() - t0;
    const result = answer();
    if (n === N || ms * 2 > budgetMs) return { ...timeRuns(n, prepare, run, { ms, result }), prefix: n < N };
    n = Math.min(N, n * 2);
  }
}

let report: ContestantReport;
const peak = () => process.resourceUsage().maxRSS * 1024;
switch (name) {
  case 'plain-loop':
    report = { name, ...peer((n) => n, (n) => plainLoop(ops, n)), peakRss: 0 };
    break;
  case 'redux-toolkit':
    report = { name, ...peer((n) => reduxActions(ops, n), reduxToolkit), peakRss: 0 };
    break;
  case 'rxjs-scan':
    report = { name, ...peer((n) => reduxActions(ops, n), rxjsScan), peakRss: 0 };
    break;
  case 'pagetrack': {
    const t0 = performance.now();
    const { vm, events } = pagetrackLive(ops, N);
    const liveS = (performance.now() - t0) / 1000;
    const batches = batchesOf(events, events.length);
    const full = timeRuns(N, () => batches, (b) => {
      const state = pagetrackReplay(b);
      return () => resultOfSnapshot(snapshot(state, LINUX_4_6.trackModes));
    });
    const live = resultOfSnapshot(snapshot(vm.state, LINUX_4_6.trackModes));
    if (JSON.stringify(live) !== JSON.stringify(full.result)) throw new Error('pagetrack: the replayed state differs from the live state');
    report = { name, ...full, prefix: false, peakRss: 0, live: { opsPerSecond: N / liveS, eventsPerSecond: events.length / liveS, events: events.length } };
    break;
  }
  default:
    throw new Error(`unknown contestant '${name}'`);
}
console.log(JSON.stringify({ ...report, peakRss: peak() }));

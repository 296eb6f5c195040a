/**
 * One contestant in a process of its own (so its peak memory is its own), printing one JSON line:
 * `node dist/bench/contestant.js NAME OPS RUNS [BUDGET_SECONDS]`.
 * A contestant given a budget starts small and doubles the prefix while the next size should
 * still finish within it; the size it reports is one it ran, never an extrapolation.
 */
import { snapshot } from '../src/projections/snapshot.js';
import { LINUX_4_6 } from '../src/domain/profile.js';
import { timeOnce } from './timing.js';
import { makeOps } from './workload.js';
import { plainLoop } from './peers/plain-loop.js';
import { reduxActions, reduxToolkit } from './peers/redux-toolkit.js';
import { rxjsScan } from './peers/rxjs-scan.js';
import { batchesOf, pagetrackLive, pagetrackReplay, readEach } from './peers/pagetrack.js';
import { type PeerResult, differs, resultOfSnapshot } from './peers/result.js';

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
  /** pagetrack only: operations/s of reading each event once and applying nothing (readEach), per run. */
  readonly readEachRates?: number[];
}

const [name, opsArg, runsArg, budgetArg = '0'] = process.argv.slice(2);
const N = Number(opsArg);
const RUNS = Number(runsArg);
const budgetMs = Number(budgetArg) * 1000;
const ops = makeOps(N);

/** A run returns how to read its answer: reading it (for the agreement check) is outside the clock. */
type Run<I> = (input: I) => () => PeerResult;

/** One run on `n` operations; `prepare` (building the input) is outside the clock. */
function runOnce<I>(n: number, prepare: (n: number) => I, run: Run<I>): { ms: number; result: PeerResult } {
  const input = prepare(n);
  const { ms, value: answer } = timeOnce(() => run(input));
  return { ms, result: answer() };
}

/** RUNS runs on `n` operations (the first may be one already done). */
function timeRuns<I>(n: number, prepare: (n: number) => I, run: Run<I>, first?: { ms: number; result: PeerResult }): Timing {
  const done = first ? [first] : [];
  while (done.length < RUNS) done.push(runOnce(n, prepare, run));
  return { ops: n, rates: done.map((d) => n / (d.ms / 1000)), result: done.at(-1)!.result };
}

/** The full size, or with a budget the largest doubling from 1,000 whose next size should not fit. */
function peer<I>(prepare: (n: number) => I, run: Run<I>): Timing & { prefix: boolean } {
  if (budgetMs === 0) return { ...timeRuns(N, prepare, run), prefix: false };
  for (let n = Math.min(N, 1000); ; n = Math.min(N, n * 2)) {
    const first = runOnce(n, prepare, run);
    if (n === N || first.ms * 2 > budgetMs) return { ...timeRuns(n, prepare, run, first), prefix: n < N };
  }
}

let report: Omit<ContestantReport, 'peakRss'>;
switch (name) {
  case 'plain-loop':
    report = { name, ...peer((n) => n, (n) => plainLoop(ops, n)) };
    break;
  case 'redux-toolkit':
    report = { name, ...peer((n) => reduxActions(ops, n), reduxToolkit) };
    break;
  case 'rxjs-scan':
    report = { name, ...peer((n) => reduxActions(ops, n), rxjsScan) };
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
    const d = differs(live, full.result);
    if (d) throw new Error(`pagetrack: the replayed state differs from the live state: ${d}`);
    const expected = (events.length * (events.length + 1)) / 2; // seqs are 1..events
    const readEachRates = Array.from({ length: RUNS }, () => {
      const { ms, value } = timeOnce(() => readEach(batches));
      if (value !== expected) throw new Error(`pagetrack: read ${value} as the sum of seqs, expected ${expected}`);
      return N / (ms / 1000);
    });
    report = { name, ...full, prefix: false, live: { opsPerSecond: N / liveS, eventsPerSecond: events.length / liveS, events: events.length }, readEachRates };
    break;
  }
  default:
    throw new Error(`unknown contestant '${name}'`);
}
console.log(JSON.stringify({ ...report, peakRss: process.resourceUsage().maxRSS * 1024 }));

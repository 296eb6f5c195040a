/**
 * `npm run bench`: how fast pagetrack replays events through all projections, and what its
 * per-gfn state costs. Sizes: PAGETRACK_BENCH_EVENTS (default 10 million).
 */
import { Subject } from 'rxjs';
import { isDeepStrictEqual } from 'node:util';
import { PageTrackVm } from '../src/domain/vm.js';
import { LINUX_4_6 } from '../src/domain/profile.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { projectInto } from '../src/projections/replay.js';
import { snapshot } from '../src/projections/snapshot.js';
import { PageTrackState } from '../src/projections/state.js';
import { GUEST_PAGES, runHotSetWorkload } from './hot-set.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogWriter } from '../src/log/writer.js';
import { LogReader } from '../src/log/reader.js';
import { execFileSync } from 'node:child_process';
import { DEFAULT_INTERVAL } from '../src/timetravel/log-index.js';

const N = Number(process.env.PAGETRACK_BENCH_EVENTS ?? 10_000_000);
const RUNS = Number(process.env.PAGETRACK_BENCH_RUNS ?? 5);
const BATCH = 4096;

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

console.log(`pagetrack bench — Node ${process.version}, ${N.toLocaleString()} events, median of ${RUNS} runs\n`);

// 1. Produce the log live: commands -> checks -> events -> inline projections.
let t0 = performance.now();
const vm = new PageTrackVm();
const { commands } = runHotSetWorkload(vm, N, 42);
const liveMs = performance.now() - t0;
const events = vm.log!.events;
const mix = new Map<string, number>();
for (const e of events) mix.set(e.type, (mix.get(e.type) ?? 0) + 1);
console.log(`live:   ${commands.toLocaleString()} commands -> ${events.length.toLocaleString()} events in ${(liveMs / 1000).toFixed(2)} s = ${fmt(events.length / (liveMs / 1000))} events/s (checks, event creation + freeze, projections)`);
console.log(`        mix: ${[...mix].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${((100 * n) / events.length).toFixed(1)}%`).join(', ')}`);

// 2. Replay the already-parsed events through all projections, batches on an RxJS Subject.
const batches: PageTrackEvent[][] = [];
for (let i = 0; i < events.length; i += BATCH) batches.push(events.slice(i, i + BATCH) as PageTrackEvent[]);
const times: number[] = [];
let replayed: PageTrackState | undefined;
for (let run = 0; run < RUNS; run++) {
  const state = new PageTrackState(LINUX_4_6);
  const stream = new Subject<readonly PageTrackEvent[]>();
  stream.subscribe(projectInto(state));
  t0 = performance.now();
  for (const b of batches) stream.next(b);
  times.push(performance.now() - t0);
  replayed = state;
}
const live = snapshot(vm.state, LINUX_4_6.trackModes);
if (!isDeepStrictEqual(snapshot(replayed!, LINUX_4_6.trackModes), live)) throw new Error('replayed state differs from the live state: not timing a wrong answer');
const rates = times.map((ms) => events.length / (ms / 1000));
console.log(`replay: ${fmt(median(rates))} events/s through all projections (min ${fmt(Math.min(...rates))}, max ${fmt(Math.max(...rates))}; target >= 5 M/s); replayed state == live state`);

// 3. For scale: a bare loop over the same events touching only the count array.
const counts = new Uint16Array(GUEST_PAGES);
const bare: number[] = [];
for (let run = 0; run < RUNS; run++) {
  counts.fill(0);
  t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.type === 'track-count-step') counts[e.gfn] = e.count;
  }
  bare.push(events.length / ((performance.now() - t0) / 1000));
}
console.log(`floor:  ${fmt(median(bare))} events/s for a bare loop that applies only count steps to one Uint16Array`);

// 4. Memory of per-gfn state.
const slot = vm.state.memslots.get(0, 0)!;
const countBytes = slot.track.reduce((n, a) => n + a.byteLength, 0);
const lpageBytes = slot.lpage.reduce((n, a) => n + a.byteLength, 0);
console.log(`memory: 64 GiB guest (${GUEST_PAGES.toLocaleString()} pages): counts ${mib(countBytes)} (${countBytes / GUEST_PAGES} bytes/page/mode), disallow_lpage ${mib(lpageBytes)}`);
console.log(`        live state: ${live.slots[0]!.track.write!.length} tracked gfns, ${live.sptes.length} SPTEs, ${live.shadowPages.length} shadow pages, ${live.tlbFlushes} TLB flushes, ${live.notifications} notifications; WARNs ${JSON.stringify(live.warns)}`);
console.log(`        heap used with ${events.length.toLocaleString()} events in memory: ${mib(process.memoryUsage().heapUsed)}`);

// 5. The log on disk: write (stringify + chain hash + buffered writes), then read + validate + check the chain.
const tmp = mkdtempSync(join(tmpdir(), 'pagetrack-bench-'));
const logPath = join(tmp, 'bench.log.ndjson');
const writeRates: number[] = [];
const readRates: number[] = [];
for (let run = 0; run < Math.min(RUNS, 3); run++) {
  t0 = performance.now();
  const w = LogWriter.create(logPath, 'linux-4.6', '2026-01-01T00:00:00.000Z');
  for (const b of batches) w.append(b);
  await w.close();
  writeRates.push(events.length / ((performance.now() - t0) / 1000));
  t0 = performance.now();
  const reader = new LogReader(logPath);
  let n = 0;
  for await (const b of reader.batches()) n += b.length;
  readRates.push(n / ((performance.now() - t0) / 1000));
  if (n !== events.length || reader.summary!.truncated) throw new Error(`read back ${n} of ${events.length} events`);
}
const bytes = statSync(logPath).size;
const readSecondsPerGiB = (2 ** 30 / (bytes / events.length)) / median(readRates);
console.log(`log:    write ${fmt(median(writeRates))} events/s (target >= 1 M/s); read + validate + chain ${fmt(median(readRates))} events/s (target >= 1 M/s), medians of ${writeRates.length}`);
console.log(`        ${(bytes / events.length).toFixed(1)} bytes/event on disk (${mib(bytes)} for ${events.length.toLocaleString()} events); verify takes ${readSecondsPerGiB.toFixed(1)} s per GiB`);

// 6. Time travel on the same log, each measurement in its own process; then K against seek time and size on a prefix.
const travel = (path: string, k: number, seeks: number, label: string) =>
  execFileSync(process.execPath, ['--max-semi-space-size=64', join(import.meta.dirname, 'travel.js'), path, String(k), String(seeks), label], { stdio: 'inherit' });
travel(logPath, DEFAULT_INTERVAL, 1000, `travel: ${(events.length / 1e6).toFixed(0)}M events `);
{
  const prefix = join(tmp, 'prefix.log.ndjson');
  const w = LogWriter.create(prefix, 'linux-4.6', '2026-01-01T00:00:00.000Z');
  let n = 0;
  for (const b of batches) {
    if (n >= 2_000_000) break;
    w.append(b);
    n += b.length;
  }
  await w.close();
  for (const k of [10_000, 25_000, 50_000, 100_000]) travel(prefix, k, 300, '        2M prefix ');
}
rmSync(tmp, { recursive: true, force: true });

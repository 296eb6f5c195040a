/**
 * Time-travel measurements on one log, in a process of its own (so the numbers do not pay for
 * the main bench's heap): `node dist/bench/travel.js LOG INTERVAL SEEKS`; prints JSON.
 */
import { statSync } from 'node:fs';
import { buildIndex, saveIndex } from '../src/timetravel/log-index.js';
import { TimeMachine } from '../src/timetravel/time-machine.js';
import { prng } from '../src/workloads/driver.js';
import { cpuSecondsSince } from './timing.js';

const [log, intervalArg, seeksArg] = process.argv.slice(2);
const interval = Number(intervalArg);
const seeks = Number(seeksArg);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

let t0 = performance.now();
const cpu0 = process.cpuUsage();
const index = await buildIndex(log!, { interval });
const buildMs = performance.now() - t0;
const buildCpuSeconds = cpuSecondsSince(cpu0);
await saveIndex(log!, index);
t0 = performance.now();
const tm = await TimeMachine.open(log!, { interval });
const openMs = performance.now() - t0;
const rnd = prng(7);
const seekMs: number[] = [];
for (let i = 0; i < seeks; i++) {
  const target = Math.floor(rnd() * (tm.total + 1));
  const s0 = performance.now();
  await tm.seek(target);
  seekMs.push(performance.now() - s0);
}
// Step back one event at a time from a random point, as a user in `debug` would.
await tm.seek(Math.floor(rnd() * tm.total) + seeks);
const backMs: number[] = [];
for (let i = 0; i < seeks && tm.seq > 0; i++) {
  const s0 = performance.now();
  await tm.stepEvents(-1);
  backMs.push(performance.now() - s0);
}
await tm.close();
const cpBytes = index.checkpoints.reduce((n, c) => n + c.data.byteLength + c.dir.byteLength + c.small.sptes.byteLength + c.small.sps.byteLength, 0);
const idxBytes = statSync(`${log}.idx`).size;
const events = index.log.events;
console.log(
  JSON.stringify({
    interval,
    events,
    buildEventsPerSecond: (events / buildMs) * 1000,
    buildCpuSeconds,
    buildSeconds: buildMs / 1000,
    loadMs: openMs,
    seeks,
    seekMedianMs: median(seekMs),
    seekP90Ms: p90(seekMs),
    stepBackMedianMs: median(backMs),
    stepBackP90Ms: p90(backMs),
    checkpoints: index.checkpoints.length,
    checkpointBytes: cpBytes,
    indexBytes: idxBytes,
    peakRss: process.resourceUsage().maxRSS * 1024,
  }),
);

/**
 * Time-travel measurements on one log, in a process of its own (so the numbers do not pay for
 * the main bench's heap): `node dist/bench/travel.js LOG INTERVAL SEEKS LABEL`.
 */
import { statSync } from 'node:fs';
import { buildIndex, saveIndex } from '../src/timetravel/log-index.js';
import { TimeMachine } from '../src/timetravel/time-machine.js';
import { prng } from '../src/workloads/driver.js';

const [log, intervalArg, seeksArg, label = ''] = process.argv.slice(2);
const interval = Number(intervalArg);
const seeks = Number(seeksArg);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

let t0 = performance.now();
const index = await buildIndex(log!, { interval });
const buildMs = performance.now() - t0;
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
  `${label}K=${interval.toLocaleString('en-US')}: index build ${((events / buildMs) * 1000 / 1e6).toFixed(2)} M events/s (load ${openMs.toFixed(0)} ms); ` +
    `seek median ${median(seekMs).toFixed(1)} ms (p90 ${p90(seekMs).toFixed(1)}, ${seeks} random targets); step back median ${median(backMs).toFixed(2)} ms (p90 ${p90(backMs).toFixed(2)}); ` +
    `${index.checkpoints.length} checkpoints, ${mib(cpBytes)} of checkpoint data, index file ${mib(idxBytes)} (${(idxBytes / events).toFixed(1)} bytes/event)`,
);

/**
 * The ingest bench, in a process of its own: `node dist/bench/ingest-job.js TRACE OUT`. First the
 * feed alone (what ingest's reading thread does: read, split into lines, count other events,
 * locate page-tracking lines' fields and decode walk lines), on this thread; then the whole
 * ingest (feed thread, model and log encoding on the main thread, hashing and writing on the
 * log's thread). Prints JSON: rates, wall and CPU seconds, peak memory.
 */
import { rmSync } from 'node:fs';
import { LINUX_6_9 } from '../src/domain/profile.js';
import { ingest } from '../src/ingest/ingest.js';
import { traceFeed } from '../src/ingest/trace-feed.js';
import { collectGarbage, cpuSecondsSince } from './timing.js';

const [trace, out] = process.argv.slice(2);

collectGarbage();
let t0 = performance.now();
let cpu0 = process.cpuUsage();
let lines = 0;
let passed = 0; // lines the feed hands to the model's thread
for await (const b of traceFeed(trace!)) {
  lines += b.lines;
  passed += b.entries;
}
const parseSeconds = (performance.now() - t0) / 1000;
const parseCpuSeconds = cpuSecondsSince(cpu0);

collectGarbage();
t0 = performance.now();
cpu0 = process.cpuUsage();
const r = await ingest({ profile: LINUX_6_9, input: trace!, out: () => out!, created: '2026-01-01T00:00:00.000Z' });
const seconds = (performance.now() - t0) / 1000;
const cpuSeconds = cpuSecondsSince(cpu0);
rmSync(out!, { force: true });
if (r.errorCount || r.findingCount) throw new Error(`bench trace ingest: ${r.errorCount} errors, ${r.findingCount} findings`);
if (r.lines !== lines) throw new Error(`bench trace ingest: ${r.lines} lines, the feed alone read ${lines}`);
console.log(
  JSON.stringify({
    lines,
    passed,
    parseSeconds,
    parseCpuSeconds,
    parseLinesPerSecond: lines / parseSeconds,
    seconds,
    cpuSeconds,
    linesPerSecond: r.lines / seconds,
    feedThread: r.feedThread,
    commands: r.vms[0]!.commands,
    events: r.vms[0]!.events,
    peakRss: process.resourceUsage().maxRSS * 1024,
  }),
);

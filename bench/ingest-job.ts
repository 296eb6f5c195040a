/**
 * The ingest bench, in a process of its own: `node dist/bench/ingest-job.js TRACE`: the trace
 * read, split and parsed (every line's header; the page-tracking payloads decoded), then the
 * whole ingest (parse, model, log written). Prints JSON.
 */
import { createReadStream, rmSync } from 'node:fs';
import { LINUX_6_9 } from '../src/domain/profile.js';
import { ingest } from '../src/ingest/ingest.js';
import { parseTracefsLine } from '../src/ingest/formats/tracefs.js';
import { splitLineBatches } from '../src/io/lines.js';
import { collectGarbage, cpuSecondsSince } from './timing.js';

const [trace, out] = process.argv.slice(2);

collectGarbage();
let t0 = performance.now();
let lines = 0;
let records = 0;
for await (const batch of splitLineBatches(createReadStream(trace!, { highWaterMark: 1 << 20 }))) {
  for (const l of batch) {
    lines++;
    if ('text' in l && parseTracefsLine(l.text, l.line).kind === 'record') records++;
  }
}
const parseSeconds = (performance.now() - t0) / 1000;

collectGarbage();
t0 = performance.now();
const cpu0 = process.cpuUsage();
const r = await ingest({ profile: LINUX_6_9, input: trace!, out: () => out!, created: '2026-01-01T00:00:00.000Z' });
const seconds = (performance.now() - t0) / 1000;
const cpuSeconds = cpuSecondsSince(cpu0);
rmSync(out!, { force: true });
if (r.errorCount || r.findingCount) throw new Error(`bench trace ingest: ${r.errorCount} errors, ${r.findingCount} findings`);
console.log(
  JSON.stringify({
    lines,
    records,
    parseSeconds,
    parseLinesPerSecond: lines / parseSeconds,
    seconds,
    cpuSeconds,
    linesPerSecond: r.lines / seconds,
    commands: r.vms[0]!.commands,
    events: r.vms[0]!.events,
    peakRss: process.resourceUsage().maxRSS * 1024,
  }),
);

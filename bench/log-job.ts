/**
 * One log job in a process of its own, printing JSON (events, seconds, peak memory):
 *   node dist/bench/log-job.js read LOG             read + validate + chain-check
 *   node dist/bench/log-job.js audit LOG            the audit, as `pagetrack audit` runs it
 *   node dist/bench/log-job.js simulate NAME N OUT  a workload through the model, its log written
 *   node dist/bench/log-job.js write EVENTS OUT     the bench workload's first EVENTS events (cut at
 *                                                   a command), produced live, then written 3 times
 */
import { auditLog } from '../src/cli/audit-command.js';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { LogReader } from '../src/log/reader.js';
import { LogWriter } from '../src/log/writer.js';
import { WORKLOADS } from '../src/workloads/index.js';
import { FIRST_OP_CMD, batchesOf, pagetrackLive } from './peers/pagetrack.js';
import { makeOps } from './workload.js';
import { collectGarbage, cpuSecondsSince } from './timing.js';

const CREATED = '2026-01-01T00:00:00.000Z';
const [job, a, b, c] = process.argv.slice(2);

async function read(log: string): Promise<number> {
  const reader = new LogReader(log);
  let events = 0;
  for await (const batch of reader.batches()) events += batch.length;
  if (reader.summary!.truncated) throw new Error(`${log}: cut off`);
  return events;
}

async function simulate(name: string, events: number, out: string): Promise<number> {
  const w = WORKLOADS.find((x) => x.name === name)!;
  const writer = LogWriter.create(out, w.profile, CREATED);
  const vm = new PageTrackVm({ profile: w.profile, log: writer, ...w.vm });
  const r = w.run(vm, { events, seed: 1 });
  await writer.close();
  return r.events;
}

/** The first `want` events of the bench workload, cut at a command boundary, and the operations they hold. */
function benchEvents(want: number): { events: readonly PageTrackEvent[]; count: number; ops: number } {
  const n = Math.ceil(want / 4); // at least 4 events per operation on this workload
  const { events } = pagetrackLive(makeOps(n), n);
  let count = Math.min(events.length, want);
  while (count < events.length && events[count]!.cmd === events[count - 1]!.cmd) count++;
  if (count < want) throw new Error(`the workload gave only ${count} events`);
  return { events, count, ops: events[count - 1]!.cmd - FIRST_OP_CMD + 1 };
}

async function write(batches: ReadonlyArray<readonly PageTrackEvent[]>, out: string): Promise<void> {
  const w = LogWriter.create(out, 'linux-4.6', CREATED);
  for (const batch of batches) w.append(batch);
  await w.close();
}

let report: Record<string, unknown>;
if (job === 'write') {
  const { events, count, ops } = benchEvents(Number(a));
  const batches = batchesOf(events, count);
  const rates: number[] = [];
  for (let run = 0; run < 3; run++) {
    collectGarbage();
    const t0 = performance.now();
    await write(batches, b!); // the worker finishes the file inside close(): the clock covers the whole write
    rates.push(count / ((performance.now() - t0) / 1000));
  }
  report = { events: count, ops, rates };
} else {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage(); // every thread of the process: the worker's share too
  const events = job === 'read' ? await read(a!) : job === 'audit' ? (await auditLog(a!, true)).summary.events : job === 'simulate' ? await simulate(a!, Number(b), c!) : undefined;
  if (events === undefined) throw new Error(`unknown job '${job}'`);
  const seconds = (performance.now() - t0) / 1000;
  report = { events, seconds, eventsPerSecond: events / seconds, cpuSeconds: cpuSecondsSince(cpu0) };
}
console.log(JSON.stringify({ job, ...report, peakRss: process.resourceUsage().maxRSS * 1024 }));

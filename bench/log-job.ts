/**
 * One log job in a process of its own, printing JSON (events, seconds, peak memory):
 *   node dist/bench/log-job.js read LOG             read + validate + chain-check
 *   node dist/bench/log-job.js audit LOG            the audit, as `pagetrack audit` runs it
 *   node dist/bench/log-job.js simulate NAME N OUT  a workload through the model, its log written
 *   node dist/bench/log-job.js write EVENTS OUT     the bench workload's first EVENTS events (cut at
 *                                                   a command), produced live, then written RUNS times
 */
import { auditLog } from '../src/cli/audit-command.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { LogReader } from '../src/log/reader.js';
import { LogWriter } from '../src/log/writer.js';
import { WORKLOADS } from '../src/workloads/index.js';
import { FIRST_OP_CMD, batchesOf, pagetrackLive } from './peers/pagetrack.js';
import { makeOps } from './workload.js';

const [job, a, b, c] = process.argv.slice(2);
let t0 = performance.now();
let events: number;
const extra: Record<string, unknown> = {};
switch (job) {
  case 'read': {
    const reader = new LogReader(a!);
    events = 0;
    for await (const batch of reader.batches()) events += batch.length;
    if (reader.summary!.truncated) throw new Error(`${a}: cut off`);
    break;
  }
  case 'audit':
    events = (await auditLog(a!, true)).summary.events;
    break;
  case 'simulate': {
    const w = WORKLOADS.find((x) => x.name === a)!;
    const writer = LogWriter.create(c!, w.profile, '2026-01-01T00:00:00.000Z');
    const vm = new PageTrackVm({ profile: w.profile, log: writer });
    events = w.run(vm, { events: Number(b), seed: 1 }).events;
    await writer.close();
    break;
  }
  case 'write': {
    const want = Number(a);
    // About 4.6 events per operation: produce enough, then cut at the first command boundary past `want`.
    const { events: all } = pagetrackLive(makeOps(Math.ceil(want / 4)), Math.ceil(want / 4));
    let count = Math.min(all.length, want);
    while (count < all.length && all[count]!.cmd === all[count - 1]!.cmd) count++;
    if (count < want) throw new Error(`the workload gave only ${count} events`);
    const batches = batchesOf(all, count);
    const rates: number[] = [];
    for (let run = 0; run < 3; run++) {
      (globalThis as { gc?: () => void }).gc?.();
      const w0 = performance.now();
      const w = LogWriter.create(b!, 'linux-4.6', '2026-01-01T00:00:00.000Z');
      for (const batch of batches) w.append(batch);
      await w.close();
      rates.push(count / ((performance.now() - w0) / 1000));
    }
    events = count;
    extra.rates = rates;
    extra.ops = all[count - 1]!.cmd - FIRST_OP_CMD + 1;
    t0 = performance.now() - (count / rates.at(-1)!) * 1000; // seconds: the last write
    break;
  }
  default:
    throw new Error(`unknown job '${job}'`);
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ job, events, seconds, eventsPerSecond: events / seconds, peakRss: process.resourceUsage().maxRSS * 1024, ...extra }));

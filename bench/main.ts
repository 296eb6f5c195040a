/**
 * `npm run bench`: pagetrack side by side with what users would pick instead, on one
 * deterministic workload (workload.ts), then pagetrack's log, time travel and audit on its log,
 * and the realistic workloads. Every contestant and every log job runs in a process of its own.
 * `npm run bench -- --json` also writes bench/results/DATE.json; `npm run bench -- --only SECTION` runs one
 * section alone (ingest, cli, export, serve, fleet; with --json: bench/results/DATE-SECTION.json).
 *
 * Sizes: PAGETRACK_BENCH_OPS (default 10 million operations), PAGETRACK_BENCH_LOG_EVENTS (the
 * log's size, default 10 million events), PAGETRACK_BENCH_RUNS (default 5), and
 * PAGETRACK_BENCH_BUDGET (seconds a slow peer may take for one run, default 60).
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_INTERVAL } from '../src/timetravel/log-index.js';
import { WORKLOADS } from '../src/workloads/index.js';
import type { ContestantReport, Timing } from './contestant.js';
import { differs } from './peers/result.js';
import { type Spread, spread } from './timing.js';
import { GUEST_PAGES, HOT_SET, SEED } from './workload.js';
import { writeTrace } from './trace-gen.js';
import { type CliTiming, cliBench } from './cli-bench.js';
import type { ExportTiming } from './export-bench.js';

const sizes = {
  OPS: Number(process.env.PAGETRACK_BENCH_OPS ?? 10_000_000),
  LOG_EVENTS: Number(process.env.PAGETRACK_BENCH_LOG_EVENTS ?? 10_000_000),
  RUNS: Number(process.env.PAGETRACK_BENCH_RUNS ?? 5),
  BUDGET: Number(process.env.PAGETRACK_BENCH_BUDGET ?? 60),
  INGEST_LINES: Number(process.env.PAGETRACK_BENCH_INGEST_LINES ?? 10_000_000),
};
const { OPS, LOG_EVENTS, RUNS, BUDGET, INGEST_LINES } = sizes;
/** Set when any size was given: such a run's results file gets a name of its own. */
const customSizes = Object.keys(sizes).some((k) => process.env[`PAGETRACK_BENCH_${k}`] !== undefined);
const LOG_RUNS = 3;
const json = process.argv.includes('--json');

const rate = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));
const showSpread = (s: Spread, unit = '/s') => `${rate(s.median)}${unit} (${rate(s.min)}-${rate(s.max)}, ${s.runs} runs)`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (s: Spread) => `${s.median.toFixed(1)} ms (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;

const dist = import.meta.dirname;

interface IngestReportJob { lines: number; passed: number; parseLinesPerSecond: number; parseCpuSeconds: number; linesPerSecond: number; seconds: number; cpuSeconds: number; feedThread: boolean; commands: number; events: number; peakRss: number }

/** Section 6, also run alone (`npm run bench -- --only ingest`): LOG_RUNS ingests of one synthetic trace. */
async function ingestBench() {
  say('ingest');
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-bench-ingest-'));
  const tracePath = join(dir, 'bench.trace');
  await writeTrace(tracePath, INGEST_LINES);
  const runs = Array.from({ length: LOG_RUNS }, () => child<IngestReportJob>('ingest-job.js', [tracePath, join(dir, 'ingested.log.ndjson')]));
  rmSync(dir, { recursive: true, force: true });
  const endToEnd = spread(runs.map((x) => x.linesPerSecond));
  const parse = spread(runs.map((x) => x.parseLinesPerSecond));
  const wall = spread(runs.map((x) => x.seconds));
  const cpu = spread(runs.map((x) => x.cpuSeconds));
  const feedCpu = spread(runs.map((x) => x.parseCpuSeconds));
  const r = runs[0]!;
  console.log(`ingest of ${r.lines.toLocaleString('en-US')} trace lines (${r.commands.toLocaleString('en-US')} commands, ${r.events.toLocaleString('en-US')} events written), lines/s; target >= 1 M/s end to end`);
  console.log(`  the feed alone         ${showSpread(parse)}  (read, split, count other events, locate fields: ${feedCpu.median.toFixed(1)} s CPU; ${r.passed.toLocaleString('en-US')} lines passed on)`);
  console.log(`  end to end             ${showSpread(endToEnd)}  ${wall.median.toFixed(1)} s, ${cpu.median.toFixed(1)} s CPU on ${cpus().length} cores (feed ${runs.every((x) => x.feedThread) ? 'on its own thread' : 'inline'}); peak ${mib(Math.max(...runs.map((x) => x.peakRss)))}`);
  console.log(`  split                  the feed ${((100 * feedCpu.median) / cpu.median).toFixed(0)}% of the CPU, model + log encoding + hashing and writing ${((100 * (cpu.median - feedCpu.median)) / cpu.median).toFixed(0)}%`);
  return { lines: r.lines, commands: r.commands, events: r.events, parse, endToEnd, seconds: wall, cpuSeconds: cpu, feedCpuSeconds: feedCpu, peakRss: Math.max(...runs.map((x) => x.peakRss)) };
}


/** Section 7, also alone (`--only cli`): every time-travel command as a user runs it, on an indexed shadow-mmu log of LOG_EVENTS events. */
/** A shadow-mmu log of LOG_EVENTS events in a fresh folder (the sections below remove it). */
function shadowLog(what: string): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), `pagetrack-bench-${what}-`));
  const log = join(dir, 'shadow-mmu.log.ndjson');
  execFileSync(process.execPath, [join(dist, '..', 'src', 'cli', 'main.js'), 'simulate', 'shadow-mmu', '--events', String(LOG_EVENTS), '--out', log, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, log };
}

async function cliSection() {
  say(`time-travel commands on a ${LOG_EVENTS.toLocaleString('en-US')}-event shadow-mmu log`);
  const { dir, log } = shadowLog('cli');
  const r = await cliBench(log, 3);
  rmSync(dir, { recursive: true, force: true });
  const s = (t: CliTiming) => `${t.seconds.median.toFixed(2)} s${t.seconds.runs > 1 ? ` (${t.seconds.min.toFixed(2)}-${t.seconds.max.toFixed(2)}, ${t.seconds.runs} runs)` : ''}`;
  console.log(`time-travel commands, whole processes, on an indexed ${r.log.events.toLocaleString('en-US')}-event shadow-mmu log; targets: within 2 s, a full pass within one audit`);
  console.log(`  ${r.index.command.padEnd(58)} ${s(r.index)}`);
  for (const t of r.interactive) console.log(`  ${t.command.padEnd(58)} ${s(t)}`);
  for (const t of r.full) console.log(`  ${t.command.padEnd(58)} ${s(t)}`);
  return r;
}

function child<T>(script: string, args: Array<string | number>, heapMiB = 4096): T {
  const out = execFileSync(process.execPath, [`--max-old-space-size=${heapMiB}`, '--max-semi-space-size=64', '--expose-gc', join(dist, script), ...args.map(String)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 28,
  });
  // A job prints one JSON document: on one line, or (the jobs that also run alone) indented.
  const text = out.trim();
  return JSON.parse(text.startsWith('{') ? text : text.split('\n').at(-1)!) as T;
}

const tmp = mkdtempSync(join(tmpdir(), 'pagetrack-bench-'));
const logPath = join(tmp, 'bench.log.ndjson');
console.log(`pagetrack bench: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${mib(totalmem())}`);
console.log(`workload: ${OPS.toLocaleString('en-US')} operations (35% track-add, 30% track-remove, 35% writes: 70% guest, 30% emulator) on a hot set of ${HOT_SET} gfns of a ${GUEST_PAGES / 262144} GiB guest, seed ${SEED}\n`);

// 1. The contestants, each in its own process; slow peers on the largest prefix they finish in about BUDGET s.
const say = (s: string) => process.stderr.write(`  ... ${s}\n`);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
/** Section 8, also alone (`--only export`): each export format on a shadow-mmu log of LOG_EVENTS events, beside the validated read. */
async function exportSection() {
  say(`exports of a ${LOG_EVENTS.toLocaleString('en-US')}-event shadow-mmu log`);
  const { dir, log } = shadowLog('export');
  // In a process of its own, as every job here.
  const r = child<{ events: number; results: Record<string, ExportTiming> }>('export-bench.js', [log]);
  rmSync(dir, { recursive: true, force: true });
  console.log(`exports of ${r.events.toLocaleString('en-US')} events, one run each ("read": the validated read every export stands on); target >= 1 M events/s`);
  for (const [job, t] of Object.entries(r.results)) console.log(`  ${job.padEnd(22)} ${rate(t.eventsPerSecond)}/s  ${t.seconds.toFixed(1)} s wall, ${((t.cpuSeconds * 1e6) / t.events).toFixed(2)} CPU µs/event${t.outputBytes ? `, ${mib(t.outputBytes)}` : ''}`);
  return r;
}

/** Section 9, also alone (`--only serve`): the web view on an indexed shadow-mmu log of LOG_EVENTS events: start, 200 zooms, 200 seeks. */
async function serveSection() {
  say(`serve on a ${LOG_EVENTS.toLocaleString('en-US')}-event shadow-mmu log`);
  const { dir, log } = shadowLog('serve');
  execFileSync(process.execPath, [join(dist, '..', 'src', 'cli', 'main.js'), 'step', log, '--at', 'start', '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  type Stats = { requests: number; medianMs: number; p90Ms: number; maxMs: number };
  const r = child<{ events: number; startup: Record<string, number | boolean>; zoom: Stats; seek: Stats }>('serve-bench.js', [log]);
  rmSync(dir, { recursive: true, force: true });
  const st = (s: Stats) => `median ${s.medianMs} ms, p90 ${s.p90Ms} ms, max ${s.maxMs} ms (${s.requests} requests)`;
  console.log(`serve on ${r.events.toLocaleString('en-US')} events (a process of its own, wall-clock round trips); targets: first answer within 2 s, zoom and seek well under 100 ms`);
  console.log(`  start                  URL ${r.startup.urlPrintedMs} ms, first answer ${r.startup.firstAnswerMs} ms, first timeline ${r.startup.firstTimelineMs} ms; reduced ${r.startup.timelineReducedMs} ms, findings ${r.startup.findingsReadyMs} ms`);
  console.log(`  zooms                  ${st(r.zoom)}`);
  console.log(`  seeks                  ${st(r.seek)}`);
  return r;
}

/** Section 10, also alone (`--only fleet`): publish and audit through a real 3-node nats-server cluster, beside the file audit. */
async function fleetSection() {
  say('fleet through a 3-node nats-server cluster');
  type S = Spread;
  const r = child<{ skipped?: string; vms: number; events: number; eventsPerSecond: Record<string, S> & { publishOneLinePerMessage: { events: number; eventsPerSecond: number } } }>('fleet-bench.js', []);
  if (r.skipped) {
    console.log(`fleet: skipped (${r.skipped})`);
    return r;
  }
  const e = r.eventsPerSecond;
  console.log(`fleet: ${r.vms} VMs, ${r.events.toLocaleString('en-US')} events, 3 nats-server nodes on loopback (R3 file streams); target: the network path no slower than the file path`);
  console.log(`  file audit (1 process)  ${showSpread(e.fileAudit!)}`);
  console.log(`  publish                 ${showSpread(e.publish!)}`);
  for (const c of [1, 2, 4]) console.log(`  audit, ${c} process${c > 1 ? 'es' : '  '}     ${showSpread(e[`audit${c}`]!)}`);
  console.log(`  publish, 1 line/message ${rate(e.publishOneLinePerMessage.eventsPerSecond)}/s (${e.publishOneLinePerMessage.events.toLocaleString('en-US')} events)`);
  return r;
}

const alone: Record<string, () => Promise<unknown>> = { ingest: ingestBench, cli: cliSection, export: exportSection, serve: serveSection, fleet: fleetSection };
if (only !== undefined) {
  const section = alone[only];
  if (!section) throw new Error(`--only: the sections run alone are: ${Object.keys(alone).join(', ')} (got ${only})`);
  const result = await section();
  if (json) {
    const date = new Date().toISOString().slice(0, 10);
    const out = join(dist, '..', '..', 'bench', 'results', `${date}-${only}${customSizes ? `-${Object.entries(sizes).map(([k, v]) => `${k.toLowerCase()}${v}`).join('-')}` : ''}.json`);
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ date, machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem() }, [only]: result }, null, 2)}\n`);
    console.log(`results: ${out}`);
  }
  process.exit(0);
}
say('plain typed-array loop');
const plain = child<ContestantReport>('contestant.js', ['plain-loop', OPS, RUNS]);
say(`Redux Toolkit reducer (prefix within ~${BUDGET} s a run)`);
const redux = child<ContestantReport>('contestant.js', ['redux-toolkit', OPS, 3, BUDGET]);
say(`RxJS scan + immer produce (prefix within ~${BUDGET} s a run)`);
const scan = child<ContestantReport>('contestant.js', ['rxjs-scan', OPS, 3, BUDGET]);
say('pagetrack: live run, then replays');
const pagetrack = child<ContestantReport>('contestant.js', ['pagetrack', OPS, RUNS], 20480);
/** pagetrack on a slow peer's prefix: a process of its own, holding only that prefix's events. */
const onPrefix = new Map<number, ContestantReport>();
for (const p of [redux, scan]) if (p.prefix && !onPrefix.has(p.ops)) onPrefix.set(p.ops, child<ContestantReport>('contestant.js', ['pagetrack', p.ops, RUNS]));

// 2. Every peer must agree with pagetrack on the same operations before any timing is shown.
const pagetrackOn = (p: ContestantReport): Timing => (p.ops === OPS ? pagetrack : onPrefix.get(p.ops)!);
for (const p of [plain, redux, scan]) {
  const d = differs(pagetrackOn(p).result, p.result);
  if (d) throw new Error(`${p.name} disagrees with pagetrack on ${p.ops.toLocaleString('en-US')} operations: ${d}`);
}
const r = pagetrack.result;
console.log(
  `all agree: ${r.counts.length} tracked gfns, ${r.lpage[2].length + r.lpage[3].length} nonzero disallow_lpage frames, WARNs ${JSON.stringify(r.warns)}, ${r.flushes.toLocaleString('en-US')} TLB flushes, ${r.deliveries.toLocaleString('en-US')} deliveries\n`,
);

const rows = [plain, redux, scan].map((p) => {
  const mine = spread(pagetrackOn(p).rates);
  const theirs = spread(p.rates);
  return {
    name: p.name,
    ops: p.ops,
    prefix: p.prefix,
    opsPerSecond: theirs,
    peakRss: p.peakRss,
    pagetrackOpsPerSecond: mine,
    ratio: mine.median / theirs.median,
  };
});
const replay = spread(pagetrack.rates);
console.log('operations/s, median (min-max); peak memory of each process');
console.log(`  pagetrack replay     ${pagetrack.ops.toLocaleString('en-US').padStart(10)} ops  ${showSpread(replay).padEnd(34)} ${mib(pagetrack.peakRss).padStart(9)} (holds ${pagetrack.live!.events.toLocaleString('en-US')} parsed events)`);
for (const row of rows) {
  const where = row.prefix ? ` on its ${row.ops.toLocaleString('en-US')}-op prefix (pagetrack on the same prefix: ${rate(row.pagetrackOpsPerSecond.median)}/s)` : '';
  console.log(`  ${row.name.padEnd(20)} ${row.ops.toLocaleString('en-US').padStart(10)} ops  ${showSpread(row.opsPerSecond).padEnd(34)} ${mib(row.peakRss).padStart(9)}   pagetrack ${row.ratio >= 1 ? `${row.ratio.toFixed(row.ratio >= 100 ? 0 : 2)}x faster` : `${(1 / row.ratio).toFixed(2)}x slower`}${where}`);
}
const vsFloor = 1 / rows[0]!.ratio;
const vsRedux = rows[1]!.ratio;
const readEach = spread(pagetrack.readEachRates!);
const readEachVsPlainLoop = rows[0]!.opsPerSecond.median / readEach.median; // rows[0]: the plain loop
console.log(`  targets: replay within 3x of the plain loop: ${vsFloor.toFixed(2)}x (${vsFloor <= 3 ? 'met' : 'NOT met'}); >= 1000x Redux Toolkit on its prefix: ${vsRedux.toFixed(0)}x (${vsRedux >= 1000 ? 'met' : 'NOT met'})`);
console.log(
  `  bound: the same events read once, nothing applied: ${showSpread(readEach)}, ${readEachVsPlainLoop >= 1 ? `${readEachVsPlainLoop.toFixed(2)}x slower` : `${(1 / readEachVsPlainLoop).toFixed(2)}x faster`} than the plain loop; no replay of these event objects can be faster`,
);
console.log(`  live (commands -> checks -> frozen events -> projections): ${rate(pagetrack.live!.opsPerSecond)} ops/s = ${rate(pagetrack.live!.eventsPerSecond)} events/s, ${(pagetrack.live!.events / OPS).toFixed(2)} events per operation\n`);

// 3. pagetrack's log of the same workload: write, read + validate, index build, seek, step back, audit.
say(`log jobs on ${LOG_EVENTS.toLocaleString('en-US')} events`);
const log = child<{ events: number; ops: number; rates: number[]; peakRss: number }>('log-job.js', ['write', LOG_EVENTS, logPath], 8192);
const write = spread(log.rates);
const reads = Array.from({ length: LOG_RUNS }, () => child<{ eventsPerSecond: number; seconds: number; cpuSeconds: number; peakRss: number }>('log-job.js', ['read', logPath]));
const audits = Array.from({ length: LOG_RUNS }, () => child<{ eventsPerSecond: number; peakRss: number }>('log-job.js', ['audit', logPath]));
interface TravelReport {
  buildEventsPerSecond: number;
  buildSeconds: number;
  buildCpuSeconds: number;
  seekMedianMs: number;
  seekP90Ms: number;
  stepBackMedianMs: number;
  stepBackP90Ms: number;
  checkpoints: number;
  checkpointBytes: number;
  indexBytes: number;
  peakRss: number;
  interval: number;
  events: number;
}
const travels = Array.from({ length: LOG_RUNS }, () => child<TravelReport>('travel.js', [logPath, DEFAULT_INTERVAL, 1000]));
const read = spread(reads.map((x) => x.eventsPerSecond));
const build = spread(travels.map((x) => x.buildEventsPerSecond));
const seek = spread(travels.map((x) => x.seekMedianMs));
const back = spread(travels.map((x) => x.stepBackMedianMs));
const audit = spread(audits.map((x) => x.eventsPerSecond));
const t = travels[0]!;
console.log(`pagetrack on its log of the same workload: ${log.events.toLocaleString('en-US')} events (the first ${log.ops.toLocaleString('en-US')} operations), events/s median (min-max)`);
console.log(`  log write             ${showSpread(write)}  (events produced live first, then written)`);
/** Cores kept busy (CPU seconds of all threads per wall second) and CPU microseconds per event. */
const cpuOf = (runs: ReadonlyArray<{ seconds: number; cpuSeconds: number }>) => ({
  cores: spread(runs.map((x) => x.cpuSeconds / x.seconds)),
  cpuMicrosPerEvent: spread(runs.map((x) => (x.cpuSeconds / log.events) * 1e6)),
});
const readCpu = cpuOf(reads);
const buildCpu = cpuOf(travels.map((x) => ({ seconds: x.buildSeconds, cpuSeconds: x.buildCpuSeconds })));
const showCpu = (c: ReturnType<typeof cpuOf>) => `${c.cores.median.toFixed(2)} of ${cpus().length} cores busy, ${c.cpuMicrosPerEvent.median.toFixed(2)} CPU µs/event`;
console.log(`  read + validate       ${showSpread(read)}  peak ${mib(Math.max(...reads.map((x) => x.peakRss)))}; ${showCpu(readCpu)}`);
console.log(`  index build           ${showSpread(build)}  = ${((100 * build.median) / read.median).toFixed(0)}% of the validated read; ${showCpu(buildCpu)}`);
console.log(`                        K=${t.interval.toLocaleString('en-US')}: ${t.checkpoints} checkpoints, ${mib(t.checkpointBytes)}, index file ${mib(t.indexBytes)} (${(t.indexBytes / t.events).toFixed(1)} bytes/event)`);
console.log(`  random seek           median of 1,000 seeks ${ms(seek)} over ${LOG_RUNS} processes (p90 ${t.seekP90Ms.toFixed(1)} ms in the first); target < 50 ms`);
console.log(`  step back             ${ms(back)} (p90 ${t.stepBackP90Ms.toFixed(1)} ms); target < 5 ms`);
console.log(`  audit                 ${showSpread(audit)}  peak ${mib(Math.max(...audits.map((x) => x.peakRss)))}`);

// 4. How seek time and index size move with K, on the same log.
const sweep = [10_000, 25_000, 50_000, 100_000].map((k) => child<TravelReport>('travel.js', [logPath, k, 300]));
console.log(`  K sweep (300 seeks each): ${sweep.map((s) => `K=${s.interval / 1000}k ${s.seekMedianMs.toFixed(1)} ms, ${(s.indexBytes / s.events).toFixed(1)} B/event`).join('; ')}\n`);

// 5. The realistic workloads: simulate (model + log write) and audit, LOG_EVENTS events each.
say('realistic workloads');
const realistic = WORKLOADS.map((w) => {
  const out = join(tmp, `${w.name}.log.ndjson`);
  const sims = Array.from({ length: LOG_RUNS }, () => child<{ eventsPerSecond: number; events: number }>('log-job.js', ['simulate', w.name, LOG_EVENTS, out]));
  const auds = Array.from({ length: LOG_RUNS }, () => child<{ eventsPerSecond: number; peakRss: number }>('log-job.js', ['audit', out]));
  rmSync(out, { force: true });
  return { name: w.name, profile: w.profile, events: sims[0]!.events, simulate: spread(sims.map((s) => s.eventsPerSecond)), audit: spread(auds.map((a) => a.eventsPerSecond)), auditPeakRss: Math.max(...auds.map((a) => a.peakRss)) };
});
console.log('realistic workloads (events/s, median (min-max)); targets >= 1 M/s');
for (const w of realistic) console.log(`  ${w.name.padEnd(14)} ${w.profile}  ${w.events.toLocaleString('en-US')} events: simulate ${showSpread(w.simulate)}; audit ${showSpread(w.audit)}, peak ${mib(w.auditPeakRss)}`);
// 6. Ingest: a synthetic host trace of INGEST_LINES lines (bench/trace-gen.ts), the feed alone and ingested end to end.
const ig = await ingestBench();
rmSync(tmp, { recursive: true, force: true });
// 7. The time-travel commands as a user runs them (issue 15).
const cli = await cliSection();
// 8. Exports (issue 16).
const exports = await exportSection();
// 9. The web view (issue 16).
const serve = await serveSection();
// 10. The fleet (issue 17).
const fleet = await fleetSection();

if (json) {
  const date = new Date().toISOString().slice(0, 10);
  // A run at other sizes must not replace the day's full-size results.
  const sized = customSizes ? `-ops${OPS}-log${LOG_EVENTS}-runs${RUNS}-budget${BUDGET}` : '';
  const dir = join(dist, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date}${sized}.json`);
  const strip = ({ result: _r, ...rest }: ContestantReport) => rest;
  writeFileSync(
    file,
    JSON.stringify(
      {
        date,
        machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, memoryBytes: totalmem() },
        workload: { ops: OPS, hotSet: HOT_SET, guestPages: GUEST_PAGES, seed: SEED, runs: RUNS, budgetSeconds: BUDGET },
        contestants: { pagetrack: { ...strip(pagetrack), replay, readEach }, peers: rows, targets: { replayVsPlainLoop: vsFloor, replayVsReduxToolkit: vsRedux, readEachVsPlainLoop } },
        log: { events: log.events, ops: log.ops, write, read, readCpu, indexBuild: build, indexBuildCpu: buildCpu, seekMs: seek, stepBackMs: back, audit, index: t, sweep },
        realistic,
        ingest: ig,
        cli,
        exports,
        serve,
        fleet,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nresults: ${file}`);
}

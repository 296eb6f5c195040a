/**
 * Issue 15's speed: the time a user waits for each time-travel command on an indexed log, as
 * whole CLI processes (start-up, index open, restore, replay, output), beside one `audit`:
 * `state` (text and JSON), `step`, `diff`, `why`, `history`, and `bisect` with each documented
 * function. Each bisect expression never holds, so it scans the whole log: the worst case.
 * Alone: `node dist/bench/cli-bench.js LOG [RUNS]` prints JSON.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { FUNCTION_DOCS } from '../src/timetravel/expr.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'pagetrack.js');

/** One expression per documented function, false at every event (a full pass). */
function neverExpressions(gfn: string): Record<string, string> {
  return {
    count: `count(${gfn}) > 70000`,
    lpage: `lpage(2, ${gfn}) < -1000000000`,
    balance: 'balance("nobody") > 0',
    spte: `spte(${gfn}) == 7`,
    writable_tracked: 'writable_tracked() > 1000000000',
    warns: 'warns() > 1000000000',
    flushes: 'flushes() < 0',
    notifications: 'notifications() < 0',
    sps: 'sps() < 0',
    registered: 'registered("nobody") == 1',
  };
}

export interface CliTiming {
  readonly command: string;
  readonly seconds: { median: number; min: number; max: number; runs: number };
}

function seconds(args: string[]): number {
  const t0 = performance.now();
  // Exit 1 is an answer too (bisect's "never").
  const r = spawnSync(process.execPath, [BIN, ...args, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 && r.status !== 1) throw new Error(`pagetrack ${args.join(' ')} exited ${r.status}`);
  return (performance.now() - t0) / 1000;
}

function timed(label: string, args: string[], runs: number): CliTiming {
  const xs = Array.from({ length: runs }, () => seconds(args)).sort((a, b) => a - b);
  return { command: label, seconds: { median: xs[Math.floor(xs.length / 2)]!, min: xs[0]!, max: xs.at(-1)!, runs } };
}

export async function cliBench(log: string, runs = 3) {
  const index = timed('index build (first time-travel command)', ['step', log, '--at', 'start', '--rebuild-index'], 1);
  const audit = JSON.parse(execFileSync(process.execPath, [BIN, 'audit', log, '--json', '--quiet'], { encoding: 'utf8', maxBuffer: 1 << 30 })) as { summary: { commands: number; events: number; topGfns: Array<[number, number, number]> } };
  const { commands, events } = audit.summary;
  const gfn = `0x${audit.summary.topGfns[0]![1].toString(16)}`;
  const mid = `c${Math.floor(commands / 2)}`;
  const exprs = neverExpressions(gfn);
  const names = FUNCTION_DOCS.map((d) => d.slice(0, d.indexOf('(')));
  const missing = names.filter((n) => !(n in exprs));
  if (missing.length) throw new Error(`cli-bench: no bisect expression for ${missing.join(', ')}`);
  const interactive = [
    timed('state (text), at the end', ['state', log, '--at', 'end'], runs),
    timed('state --json, at the end', ['state', log, '--at', 'end', '--json'], runs),
    timed(`state (text) --at ${mid}`, ['state', log, '--at', mid], runs),
    timed(`step --at e${Math.floor(events / 2)}`, ['step', log, '--at', `e${Math.floor(events / 2)}`], runs),
    timed(`diff c${Math.floor(commands / 4)} ${mid}`, ['diff', log, `c${Math.floor(commands / 4)}`, mid], runs),
    timed(`why --gfn ${gfn} --at end (the busiest gfn)`, ['why', log, '--gfn', gfn, '--at', 'end'], runs),
    timed(`history --gfn ${gfn} (the busiest gfn)`, ['history', log, '--gfn', gfn], runs),
  ];
  const full = [timed('audit (one full pass, for reference)', ['audit', log], 1), ...names.map((n) => timed(`bisect --when '${exprs[n]}'`, ['bisect', log, '--when', exprs[n]!], 1))];
  return { log: { events, commands }, index, interactive, full };
}

if (process.argv[1] === import.meta.filename) {
  const [log, runs] = process.argv.slice(2);
  if (!log) throw new Error('usage: node dist/bench/cli-bench.js LOG [RUNS]');
  console.log(JSON.stringify(await cliBench(log, runs ? Number(runs) : 3), null, 2));
}

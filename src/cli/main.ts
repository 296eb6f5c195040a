#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { PageTrackVm } from '../domain/vm.js';
import type { PageTrackEvent } from '../events/types.js';
import { LogReadError, NdjsonLogWriter, readLog } from '../log/ndjson-log.js';
import { snapshot } from '../projections/snapshot.js';
import { PageTrackState } from '../projections/state.js';
import { isPast } from '../projections/replay.js';
import { getProfile } from '../domain/profile.js';
import { runScriptFile } from '../script/run-script.js';
import { formatResult, formatState } from './format.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function positiveInt(what: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

const program = new Command()
  .name('pagetrack')
  .description('An event-sourced model of KVM guest page tracking: run command scripts, inspect the state at any event.')
  .version(version);

program
  .command('run')
  .description('execute an NDJSON command script and write the event log')
  .argument('<script>', 'NDJSON command script')
  .option('--log <file>', 'write the event log here (NDJSON)')
  .option('--profile <name>', 'kernel profile', 'linux-4.6')
  .option('--quiet', 'print only rejections and the summary')
  .action(async (script: string, opts: { log?: string; profile: string; quiet?: boolean }) => {
    const profile = getProfile(opts.profile);
    const writer = opts.log ? new NdjsonLogWriter(opts.log, profile.name) : null;
    const vm = new PageTrackVm({ profile, log: writer });
    let rejected = 0;
    try {
      await runScriptFile(vm, script, (r, line) => {
        if (!r.ok) rejected++;
        if (!opts.quiet || !r.ok) console.log(formatResult(r, `${script}:${line}`));
      });
    } finally {
      writer?.close();
    }
    console.log(`${vm.commandCount} commands, ${vm.eventCount} events, ${rejected} rejected${opts.log ? `; log: ${opts.log}` : ''}`);
    if (rejected > 0) process.exitCode = 1;
  });

program
  .command('state')
  .description('print the state after a command or event of a log')
  .argument('<log>', 'event log written by `pagetrack run --log`')
  .option('--json', 'print JSON (shape in the README)')
  .option('--command <K>', 'state after command K', positiveInt('--command'))
  .option('--event <N>', 'state after event N', positiveInt('--event'))
  .action(async (log: string, opts: { json?: boolean; command?: number; event?: number }) => {
    if (opts.command !== undefined && opts.event !== undefined) throw new InvalidArgumentError('give --command or --event, not both');
    let state: PageTrackState | undefined;
    let last: PageTrackEvent | undefined;
    const until = { ...(opts.command !== undefined ? { command: opts.command } : {}), ...(opts.event !== undefined ? { event: opts.event } : {}) };
    for await (const item of readLog(log)) {
      if (!('seq' in item)) {
        state = new PageTrackState(getProfile(item.profile));
        continue;
      }
      if (isPast(item, until)) break;
      state!.apply(item);
      last = item;
    }
    if (opts.event !== undefined && (last?.seq ?? 0) < opts.event) {
      throw new InvalidArgumentError(`--event ${opts.event} is past the end of ${log}, which has ${last?.seq ?? 0} events`);
    }
    if (opts.command !== undefined && (last?.cmd ?? 0) < opts.command) {
      throw new InvalidArgumentError(`--command ${opts.command} is past the end of ${log}, whose last command is ${last?.cmd ?? 0}`);
    }
    const snap = snapshot(state!, getProfile(state!.profile).trackModes);
    console.log(opts.json ? JSON.stringify(snap, null, 2) : formatState(snap));
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof LogReadError || err instanceof InvalidArgumentError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
    console.error(`pagetrack: ${(err as Error).message}`);
    process.exit(2);
  }
  throw err;
});

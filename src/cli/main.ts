#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { DEFAULT_PROFILE, getProfile } from '../domain/profile.js';
import { type ProfileOpts, profileFrom } from './profile-options.js';
import type { PageTrackVm } from '../domain/vm.js';
import { LogError } from '../log/format.js';
import { LogReader } from '../log/reader.js';
import { LogWriter } from '../log/writer.js';
import { snapshot } from '../projections/snapshot.js';
import type { PageTrackState } from '../projections/state.js';
import { formatResult } from './format.js';
import { DEFAULT_ROWS, type StateView, formatStateView, narrow, parseGfnRange, parseTables, spteCut } from './state-view.js';
import { loadState, truncationNote } from './load.js';
import { progressBar } from './progress.js';
import { addDebugCommand } from './debug.js';
import { addAuditCommand } from './audit-command.js';
import { addSimulateCommand } from './simulate-command.js';
import { addProfileCommands } from './profiles-command.js';
import { addIngestCommand } from './ingest-command.js';
import { addRecordCommand } from './record-command.js';
import { addExportCommands } from './export-command.js';
import { addServeCommand } from './serve-command.js';
import { addFleetCommands, natsLogPath, natsLogOptions } from './fleet-command.js';
import { addTimeTravelCommands, openMachine, parseInt10 } from './timetravel-commands.js';
import { UsageError, exitWithError, installLastResort } from './errors.js';
import { openInput } from '../io/input-file.js';
import { spoolStdin } from '../io/stdin-spool.js';
import { parsePosition } from '../timetravel/position.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;



/** Commands whose log may come from a NATS JetStream stream instead (README, "A fleet of hosts"). */
const LOG_OR_NATS = new Set(['state', 'why', 'history', 'audit']);

const program = new Command()
  .name('pagetrack')
  .description('An event-sourced model of KVM guest page tracking: run command scripts, verify logs, inspect the state at any event.')
  .version(version)
  // Bad arguments (a missing argument or option, an unknown command) exit 2 as every input error does; commander has printed the message.
  .exitOverride()
  // `-` for a log is standard input, wherever a command reads a log (issue 15): spooled to a
  // private file first, since log commands read their log more than once.
  .hook('preAction', async (_program, command) => {
    const i = command.registeredArguments.findIndex((a) => a.name() === 'log');
    if (i < 0) return;
    // --nats stands for the log in these (publish's --nats is where the log goes).
    const nats = LOG_OR_NATS.has(command.name()) ? (command.opts() as { nats?: string }).nats : undefined;
    const given = command.processedArgs[i] as string | undefined;
    if (nats !== undefined && given !== undefined) throw new UsageError(`give a log or --nats, not both (got ${given} and --nats ${nats})`);
    // `state`/`why`/`history --nats URL --vm HOST/VM`: the VM's log, copied out of the stream.
    if (nats !== undefined && command.name() !== 'audit') command.processedArgs[i] = await natsLogPath(command.opts() as { nats: string; vm?: string; stream?: string });
    else if (given === undefined && nats === undefined) throw new UsageError(`${command.name()} needs a log (a file, - for standard input${command.name() === 'audit' ? ', or --nats URL --vms PATTERN' : ', or --nats URL --vm HOST/VM'})`);
    else if (given === '-') {
      if (command.name() === 'debug') throw new UsageError('debug reads its commands from standard input: give the log as a file');
      command.processedArgs[i] = await spoolStdin();
    }
  });

program
  .command('run')
  .description('execute an NDJSON command script and write the event log')
  .argument('<script>', 'NDJSON command script, or - for standard input')
  .option('--log <file>', 'write the event log here')
  .option('--append', 'continue the log at --log (repairing a cut-off tail) instead of replacing it')
  .option('--profile <name>', 'kernel profile for a new log (default linux-4.6; `pagetrack profiles` lists them)')
  .option('--kernel <version>', 'pick the profile that covers this kernel version, e.g. 6.18.44')
  .option('--shadow-paging', 'the host runs KVM without TDP (tdp_enabled = 0): write tracking is always on (5.16+)')
  .option('--external-write-tracking', 'the kernel is built with CONFIG_KVM_EXTERNAL_WRITE_TRACKING (KVMGT selects it)')
  .option('--quiet', 'print only rejections and the summary')
  .action(async (script: string, opts: ProfileOpts & { log?: string; append?: boolean; quiet?: boolean; shadowPaging?: boolean; externalWriteTracking?: boolean }) => {
    // The script must be readable before any log is touched.
    if (script !== '-') await (await openInput(script, 'script', ['regular', 'fifo'])).fh.close();
    // The model (rxjs) and the script schema (zod) load here, not at every command's start.
    const [{ PageTrackVm }, { runScriptFile }] = await Promise.all([import('../domain/vm.js'), import('../script/run-script.js')]);
    let writer: LogWriter | null = null;
    let vm: PageTrackVm;
    if (opts.append) {
      if (!opts.log) throw new UsageError('--append needs --log');
      if (opts.profile || opts.kernel || opts.shadowPaging || opts.externalWriteTracking) throw new UsageError('--append continues the log under the profile and VM options it was created with');
      // Validate the whole log first (a bad log is refused untouched), then repair a dead
      // writer's cut-off last line and go on from the state the log proves.
      const { state } = await loadState(opts.log, {}, opts.quiet);
      const opened = LogWriter.openForAppend(opts.log);
      writer = opened.writer;
      if (opened.tail.repairedBytes) console.error(`pagetrack: ${opts.log}: removed a cut-off last line (${opened.tail.repairedBytes} bytes) before appending`);
      vm = new PageTrackVm({ profile: opened.tail.header.profile, log: writer, resume: { state, seq: opened.tail.lastSeq, cmd: opened.tail.lastCmd } });
    } else {
      const profile = profileFrom(opts) ?? DEFAULT_PROFILE;
      writer = opts.log ? LogWriter.create(opts.log, profile.name) : null;
      vm = new PageTrackVm({ profile, log: writer, tdp: !opts.shadowPaging, externalWriteTracking: opts.externalWriteTracking === true });
    }
    let rejected = 0;
    const first = vm.commandCount;
    try {
      await runScriptFile(vm, script, (r, line) => {
        if (!r.ok) rejected++;
        if (!opts.quiet || !r.ok) console.log(formatResult(r, `${script}:${line}`));
      });
    } finally {
      await writer?.close();
    }
    console.log(`${vm.commandCount - first} commands, ${vm.eventCount} events, ${rejected} rejected${opts.log ? `; log: ${opts.log}` : ''}`);
    if (rejected > 0) process.exitCode = 1;
  });

natsLogOptions(program.command('state'))
  .description('print the state at a position of a log (default: its end)')
  .argument('[log]', 'event log, or - for standard input (or --nats URL --vm HOST/VM)')
  .option('--json', 'print JSON (shape in the README)')
  .option('--at <P>', 'state at position P: e<N>, c<K>, start or end (through the index)')
  .option('--command <K>', 'state after command K (a plain replay)', parseInt10('--command'))
  .option('--event <N>', 'state after event N (a plain replay)', parseInt10('--event'))
  .option('--interval <N>', 'events between index checkpoints', parseInt10('--interval'))
  .option('--index <path>', 'with --at: where the index lives (default: beside the log, or in $PAGETRACK_INDEX_DIR)')
  .option('--limit <N>', `rows per table (text default ${DEFAULT_ROWS}; JSON: all)`, parseInt10('--limit'))
  .option('--all', 'every row of every table')
  .option('--gfn <G|A-B>', 'only this gfn, or this range (hex 0x... or decimal)', parseGfnRange)
  .option('--slot <N>', 'only memslot N', parseInt10('--slot'))
  .option('--as <N>', 'only address space N', parseInt10('--as'))
  .option('--type <T,...>', 'only these tables: slots, track, lpage, spte, sp', parseTables)
  .option('--quiet', 'no progress bar')
  .action(async (log: string, opts: { json?: boolean; at?: string; command?: number; event?: number; quiet?: boolean; interval?: number; index?: string } & StateView & { type?: StateView['tables'] }) => {
    if ([opts.at, opts.command, opts.event].filter((x) => x !== undefined).length > 1) throw new UsageError('give one of --at, --command, --event');
    if (opts.all && opts.limit !== undefined) throw new UsageError('give --limit or --all, not both');
    const view: StateView = { ...opts, ...(opts.type ? { tables: opts.type } : {}) };
    const show = (snap: ReturnType<typeof snapshot>) => (opts.json ? JSON.stringify(narrow(snap, view), null, 2) : formatStateView(snap, view));
    // JSON lists only the SPTEs it prints; the text view counts them all.
    const snap = (st: PageTrackState) => snapshot(st, getProfile(st.profile).trackModes, opts.json ? spteCut(view) : undefined);
    if (opts.at !== undefined) {
      const p = parsePosition(opts.at);
      const tm = await openMachine(log, opts);
      await tm.seekTo(p);
      console.log(show(snap(tm.state)));
      return;
    }
    const until = { ...(opts.command !== undefined ? { command: opts.command } : {}), ...(opts.event !== undefined ? { event: opts.event } : {}) };
    const { state, last, summary } = await loadState(log, until, opts.quiet);
    const note = truncationNote(log, summary);
    if (note) console.error(note);
    if (opts.event !== undefined && (last?.seq ?? 0) < opts.event) throw new UsageError(`--event ${opts.event} is past the end of ${log}, which has ${last?.seq ?? 0} events`);
    if (opts.command !== undefined && (last?.cmd ?? 0) < opts.command) throw new UsageError(`--command ${opts.command} is past the end of ${log}, whose last command is ${last?.cmd ?? 0}`);
    console.log(show(snap(state)));
  });

program
  .command('verify')
  .description("check a log's hash chain, sequence numbers and every event; print the head hash")
  .argument('<log>', 'event log, or - for standard input')
  .option('--json', 'print the result as JSON')
  .option('--quiet', 'no progress bar')
  .action(async (log: string, opts: { json?: boolean; quiet?: boolean }) => {
    const bar = progressBar('verify', { quiet: opts.quiet });
    const reader = new LogReader(log, { onProgress: (p) => bar.update(p) });
    const started = performance.now();
    try {
      for await (const _ of reader.batches());
    } catch (err) {
      bar.stop();
      if (!(err instanceof LogError)) throw err;
      if (opts.json) console.log(JSON.stringify({ ok: false, file: err.file, line: err.line, field: err.field, reason: err.reason }));
      else console.log(`BAD ${err.message}`);
      process.exitCode = 1;
      return;
    }
    bar.stop();
    const s = reader.summary!;
    const seconds = (performance.now() - started) / 1000;
    if (opts.json) {
      console.log(JSON.stringify({ ok: !s.truncated, events: s.events, head: s.headHash, profile: s.header.profile, created: s.header.created, bytes: s.bytes, ...(s.truncated ? { truncated: s.truncated } : {}) }));
    } else if (s.truncated) {
      console.log(`CUT ${log}:${s.truncated.line}: the last line is cut off (${s.truncated.bytes} bytes; the writer died mid-append); the ${s.events} whole events before it verify, head ${s.headHash}`);
    } else {
      console.log(`OK ${s.events} events, head ${s.headHash} (${s.header.profile}, created ${s.header.created}; ${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(2)} s)`);
    }
    if (s.truncated) process.exitCode = 1;
  });

addTimeTravelCommands(program);
addDebugCommand(program);
addAuditCommand(program);
addSimulateCommand(program);
addProfileCommands(program);
addIngestCommand(program);
addRecordCommand(program);
addExportCommands(program);
addServeCommand(program);
addFleetCommands(program);

installLastResort();
program.parseAsync().catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  exitWithError(err);
});

/** `pagetrack record`: a VMM's page-tracking events from tracefs into a trace file (src/record). */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_EVENTS, RecordError } from '../record/tracefs.js';
import { record } from '../record/record.js';
import { UsageError } from './errors.js';
import { formatIngest, hostProfile, logPerVm } from './ingest-command.js';
import { parseInt10 } from './timetravel-commands.js';
import { profileFrom } from './profile-options.js';

export function addRecordCommand(program: Command): void {
  program
    .command('record')
    .description('record the page-tracking events of a running VMM (--pid) or of a command it starts (-- COMMAND ...) from tracefs, into a trace file')
    .argument('[command...]', 'the command to start and record (after --)')
    .requiredOption('--out <trace>', 'the trace file to write (tracefs text; .gz with --gzip)')
    .option('--pid <pid>', 'record this running process (and the threads and children it starts)', parseInt10('--pid'))
    .option('--events <list>', `comma-separated tracefs events (default: ${DEFAULT_EVENTS.join(',')})`)
    .option('--duration <seconds>', 'stop after this many seconds', (v) => Number(v))
    .option('--buffer-kb <n>', 'ring buffer per CPU in KiB (default 16384)', parseInt10('--buffer-kb'))
    .option('--gzip', 'compress the trace')
    .option('--ingest', 'go straight on into pagetrack ingest of the trace (log beside it)')
    .option('--kernel <version>', "for --ingest: the profile (default: this machine's kernel)")
    .option('--quiet', 'no live status line')
    .action(async (command: string[], o: { out: string; pid?: number; events?: string; duration?: number; bufferKb?: number; gzip?: boolean; ingest?: boolean; kernel?: string; quiet?: boolean }) => {
      if (o.duration !== undefined && !(o.duration > 0)) throw new UsageError('--duration must be a positive number of seconds');
      const events = o.events ? o.events.split(',').map((e) => e.trim()).filter(Boolean) : [...DEFAULT_EVENTS];
      const live = !o.quiet && process.stderr.isTTY;
      let r;
      try {
        r = await record({
          out: o.out,
          ...(o.pid !== undefined ? { pid: o.pid } : {}),
          ...(command.length ? { command } : {}),
          events,
          ...(o.duration !== undefined ? { durationSeconds: o.duration } : {}),
          ...(o.bufferKb !== undefined ? { bufferKb: o.bufferKb } : {}),
          gzip: o.gzip === true,
          onStatus: (s) => {
            if (live) process.stderr.write(`\rrecording: ${s.lines.toLocaleString('en-US')} events, ${(s.lines / Math.max(s.seconds, 1e-3)).toFixed(0)}/s, ${(s.bytes / 2 ** 20).toFixed(1)} MiB, lost ${s.lost}   `);
          },
        });
      } catch (err) {
        if (err instanceof RecordError) throw new UsageError(err.message);
        throw err;
      } finally {
        if (live) process.stderr.write('\n');
      }
      console.log(`recorded ${r.lines.toLocaleString('en-US')} lines (${(r.bytes / 2 ** 20).toFixed(1)} MiB) in ${r.seconds.toFixed(1)} s to ${r.out}; stopped by ${r.stoppedBy}${r.exitCode !== null ? ` (the command exited ${r.exitCode})` : ''}; events lost: ${r.lost}`);
      if (r.lost > 0) console.log(`warning: ${r.lost} events were lost (the per-CPU buffers overran): give --buffer-kb more, or record fewer --events`);
      if (!existsSync(r.out)) throw new UsageError(`${r.out} was not written`);
      if (o.ingest) {
        const profile = profileFrom(o.kernel ? { kernel: o.kernel } : {}) ?? hostProfile();
        const base = r.out.replace(/(\.gz)?$/, '').replace(/(\.trace|\.txt)?$/, '');
        const { ingest } = await import('../ingest/ingest.js');
        const report = await ingest({ profile, input: r.out, out: logPerVm(`${base}.log.ndjson`) });
        console.log(formatIngest(report));
        if (report.errorCount > 0 || report.findingCount > 0) process.exitCode = 1;
      }
      if (r.lost > 0) process.exitCode = 1;
    });
}

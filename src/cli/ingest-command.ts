/** `pagetrack ingest TRACE`: a host's trace into one pagetrack log per VM (src/ingest). */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { LINUX_6_9, profileForKernel } from '../domain/profile.js';
import { asInputError } from '../io/input-file.js';
import type { IngestReport } from '../ingest/ingest.js';
// The ingest (iced-x86) and the layout parser (zod) load only when the command runs: every other
// command starts without them (README, Performance: "start-up").
import { FORMATS, type FormatName } from '../ingest/formats/registry.js';
import { UsageError } from './errors.js';
import { progressBar } from './progress.js';
import { type ProfileOpts, profileFrom } from './profile-options.js';

/** The profile of this machine's kernel, when it has one; else the newest. */
export function hostProfile() {
  try {
    return profileForKernel(release());
  } catch {
    return LINUX_6_9;
  }
}

/** Where each VM's log goes: the first VM's at `base`, each further one's with `.vmPID` before `.log.ndjson`. */
export function logPerVm(base: string): (vm: string) => string {
  let first: string | undefined;
  return (vm) => {
    first ??= vm;
    return vm === first ? base : base.replace(/(\.log\.ndjson|\.ndjson)?$/, `.vm${vm}$1`);
  };
}

export function formatIngest(r: IngestReport): string {
  const out = [`ingested ${r.input} (${r.format}${r.compression !== 'none' ? `, ${r.compression}` : ''}): ${r.lines} lines, ${r.records} events in ${r.seconds.toFixed(2)} s`];
  const used = Object.entries(r.used).sort((a, b) => b[1] - a[1]);
  out.push(`page-tracking events used: ${used.map(([e, n]) => `${e} ${n}`).join(', ') || 'none'}`);
  const skipped = Object.entries(r.skipped).sort((a, b) => b[1] - a[1]);
  if (skipped.length) out.push(`skipped (not page tracking): ${skipped.slice(0, 12).map(([e, n]) => `${e} ${n}`).join(', ')}${skipped.length > 12 ? `, and ${skipped.length - 12} more kinds` : ''}`);
  for (const v of r.vms) {
    out.push(`VM ${v.vm} (${v.task}): ${v.commands} commands, ${v.events} events -> ${v.log}`);
    const inferred = [v.inferredSlots ? `${v.inferredSlots} memslot(s) inferred (no layout given)` : '', v.adoptedPages ? `${v.adoptedPages} shadow page(s) adopted as pre-existing` : '', v.writesWithoutAddress ? `${v.writesWithoutAddress} emulated store(s) without a traced address` : ''].filter(Boolean);
    if (inferred.length) out.push(`  inferred: ${inferred.join('; ')}`);
  }
  out.push(`errors: ${r.errorCount}${r.errorCount > r.errors.length ? ` (first ${r.errors.length} listed with --json)` : ''}`);
  for (const e of r.errors.slice(0, 10)) out.push(`  ${r.input}:${e.line}:${e.column}: expected ${e.expected}`);
  out.push(`findings (model vs kernel): ${r.findingCount}${r.findingCount ? ` (${Object.entries(r.findingsByKind).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`);
  for (const f of r.findings.slice(0, 20)) out.push(`  ${r.input}:${f.line} t${f.ts} VM ${f.vm}: ${f.kind}: ${f.message}`);
  if (r.vms.length) {
    const log = r.vms[0]!.log;
    out.push('next:', `  npx pagetrack audit ${log}`, `  npx pagetrack history ${log} --gfn <gfn>`, `  npx pagetrack state ${log} --at end`);
  }
  return out.join('\n');
}

export function addIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('turn a host trace (tracefs text, trace-cmd report [-R], perf script; gzip/zstd; - for stdin) into pagetrack logs, one per VM')
    .argument('<trace>', 'trace file, or - for standard input')
    .option('--format <name>', `input format (detected from the content): ${Object.keys(FORMATS).join(', ')}`)
    .option('--out <log>', 'where to write the log (several VMs: .vmPID is put before .log.ndjson)')
    .option('--vm <pid>', 'only the VM of this process id (thread group id when the trace has it)')
    .option('--memslots <file>', 'the memslot layout: pagetrack memslot commands, or QEMU kvm_set_user_memory trace output')
    .option('--profile <name>', "kernel profile (default: this machine's kernel's)")
    .option('--kernel <version>', 'the kernel version the trace came from, e.g. 6.18.44')
    .option('--shadow-paging', 'the host ran KVM without TDP (write tracking always on from 5.16)')
    .option('--external-write-tracking', 'the kernel has CONFIG_KVM_EXTERNAL_WRITE_TRACKING')
    .option('--json', 'print the ingest report as JSON')
    .option('--quiet', 'no progress bar')
    .action(async (trace: string, o: ProfileOpts & { format?: string; out?: string; vm?: string; memslots?: string; shadowPaging?: boolean; externalWriteTracking?: boolean; json?: boolean; quiet?: boolean }) => {
      if (o.format !== undefined && !Object.hasOwn(FORMATS, o.format)) throw new UsageError(`--format must be one of ${Object.keys(FORMATS).join(', ')}, got '${o.format}'`);
      const profile = profileFrom(o) ?? hostProfile();
      let layout;
      if (o.memslots) {
        let text: string;
        try {
          text = readFileSync(o.memslots, 'utf8');
        } catch (err) {
          throw asInputError(err, 'memslot layout', o.memslots);
        }
        try {
          const { parseLayout } = await import('../ingest/formats/memslot-layout.js');
          layout = parseLayout(text, o.memslots);
        } catch (err) {
          if (err instanceof (await import('../ingest/formats/memslot-layout.js')).LayoutError) throw new UsageError((err as Error).message);
          throw err;
        }
      }
      const base = o.out ?? `pagetrack-out/${trace === '-' ? 'stdin' : basename(trace).replace(/\.(gz|zst)$/, '').replace(/\.(trace|txt|dat|log)$/, '')}.log.ndjson`;
      const bar = progressBar('ingest', { quiet: o.quiet });
      let r: IngestReport;
      try {
        const { ingest } = await import('../ingest/ingest.js');
        r = await ingest({
          profile,
          input: trace,
          ...(o.format ? { format: o.format as FormatName } : {}),
          ...(o.vm ? { vm: o.vm } : {}),
          ...(layout ? { layout } : {}),
          tdp: !o.shadowPaging,
          externalWriteTracking: o.externalWriteTracking === true,
          out: logPerVm(base),
          onProgress: (p) => bar.update(p),
        });
      } finally {
        bar.stop();
      }
      console.log(o.json ? JSON.stringify({ profile: profile.name, ...r }, null, 2) : `profile ${profile.name}\n${formatIngest(r)}`);
      if (r.errorCount > 0 || r.findingCount > 0) process.exitCode = 1;
    });
}

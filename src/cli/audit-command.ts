import { type Command, Option } from 'commander';
import { type AuditReport, Auditor, SAMPLES, SEVERITIES, type Severity, severityRank } from '../audit/auditor.js';
import { hex } from '../domain/gfn.js';
import { table } from './format.js';
import { LogReader } from '../log/reader.js';
import { progressBar } from './progress.js';
import { truncationNote } from './load.js';

/** Streams a log through the auditor (bounded memory: nothing but the state and the findings). */
export async function auditLog(log: string, quiet = false): Promise<AuditReport> {
  const bar = progressBar('audit', { quiet });
  let next = 0;
  let auditor: Auditor | undefined;
  const reader = new LogReader(log, {
    onProgress: (p) => {
      bar.update(p);
      // Sample the tracked-gfn series at even shares of the file.
      while (auditor && p.bytes >= ((next + 1) * p.totalBytes) / SAMPLES) {
        auditor.sample();
        next++;
      }
    },
  });
  try {
    for await (const batch of reader.batches()) {
      auditor ??= new Auditor(reader.header!.profile);
      for (const e of batch) auditor.see(e);
    }
  } finally {
    bar.stop();
  }
  const note = truncationNote(log, reader.summary);
  if (note) console.error(note);
  return (auditor ?? new Auditor(reader.summary!.header.profile)).finish();
}

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function findingsCsv(r: AuditReport): string {
  const head = ['class', 'severity', 'event', 'command', 'as', 'slot', 'gfn', 'user', 'node', 'message', 'trace_file', 'trace_line', 'trace_ts'];
  const rows = r.findings.map((f) => [f.class, f.severity, f.event, f.command, f.as, f.slot, f.gfn === undefined ? undefined : hex(f.gfn), f.user, f.node, f.message, f.trace?.file, f.trace?.line, f.trace?.ts].map(csvCell).join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}

export function formatAudit(r: AuditReport): string {
  const s = r.summary;
  const out = [`audit of ${s.events} events, ${s.commands} commands (${s.profile})`];
  out.push(`tracked gfns over time: ${s.trackedOverTime.map(([e, n]) => `e${e}:${n}`).join(' ')}`);
  out.push(`user balances (adds - removes): ${Object.entries(s.balances).map(([u, n]) => `${u} ${n}`).join(', ') || 'none'}`);
  out.push(`writes: ${Object.entries(s.writes).map(([k, n]) => `${k} ${n}`).join(', ')}; blind writes to tracked gfns ${s.blindWritesToTracked}; notifications ${s.notifications}; TLB flushes ${s.tlbFlushes}`);
  out.push(`WARNs: ${Object.entries(s.warns).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (s.topGfns.length) out.push(`top gfns: ${s.topGfns.map(([as, g, n]) => `${hex(g)}${as ? `@as${as}` : ''} (${n})`).join(', ')}`);
  out.push(`findings: ${s.findings.error} error, ${s.findings.warning} warning, ${s.findings.info} info${Object.keys(s.findingsByClass).length ? ` (${Object.entries(s.findingsByClass).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`);
  out.push(`classes ${s.profile} can show: ${s.classes.join(' ')}`);
  if (r.findings.length) {
    out.push(
      table(
        ['class', 'severity', 'at', 'where', 'what'],
        r.findings.slice(0, 100).map((f) => [f.class, f.severity, `e${f.event} c${f.command}${f.trace ? `\n${f.trace.file ?? 'trace'}:${f.trace.line} t${f.trace.ts}` : ''}`, [f.as !== undefined ? `as${f.as}` : '', f.slot !== undefined ? `slot${f.slot}` : '', f.gfn !== undefined ? hex(f.gfn) : '', f.user ?? f.node ?? ''].filter(Boolean).join(' '), f.message]),
      ),
    );
    if (r.findings.length > 100) out.push(`(${r.findings.length - 100} more; --json or --csv list all)`);
  }
  return out.join('\n');
}

export function addAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('check a log against the invariants and bug classes of spec section 8 (README, "Audit")')
    .argument('<log>', 'event log')
    .option('--json', 'print the summary and findings as JSON')
    .option('--csv', 'print the findings as CSV')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding at or above this severity exists').choices([...SEVERITIES]).default('error'))
    .option('--quiet', 'no progress bar')
    .action(async (log: string, o: { json?: boolean; csv?: boolean; failOn: Severity; quiet?: boolean }) => {
      const r = await auditLog(log, o.quiet);
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else if (o.csv) process.stdout.write(findingsCsv(r));
      else console.log(formatAudit(r));
      const s = r.summary.findings;
      if (SEVERITIES.some((sev) => severityRank(sev) >= severityRank(o.failOn) && s[sev] > 0)) process.exitCode = 1;
    });
}

import { type Command, Option } from 'commander';
import { type AuditReport, Auditor, SAMPLES, SEVERITIES, type Severity, referenceOf, severityRank } from '../audit/auditor.js';
import { BUG_CLASS_TITLES } from '../audit/classes.js';
import { type NatsAuditFlags, natsAuditCommand, natsAuditOptions } from './fleet-command.js';
import { hex } from '../domain/gfn.js';
import { table } from './format.js';
import { LogReader } from '../log/reader.js';
import { progressBar } from './progress.js';
import { truncationNote } from './load.js';
import { UsageError } from './errors.js';
import { EventValidator } from '../log/validate.js';
import { parseHeader } from '../log/format.js';
import { openInput } from '../io/input-file.js';
import { type AuditCheckpoint, checkpointKeyProblem, loadAuditCheckpoint, mismatch, saveAuditCheckpoint } from '../audit/audit-checkpoint.js';

/** Why checkpoint `cp` does not fit `log` (its header, and the line where it stopped), or undefined. */
async function checkpointMismatch(log: string, cp: AuditCheckpoint): Promise<string | undefined> {
  const { fh, size } = await openInput(log, 'log');
  try {
    const buf = Buffer.alloc(Math.min(size, 1 << 16));
    await fh.read(buf, 0, buf.length, 0);
    const nl = buf.indexOf(10);
    return await mismatch(cp, parseHeader(buf.subarray(0, nl < 0 ? buf.length : nl).toString('utf8'), log), fh, size);
  } finally {
    await fh.close();
  }
}

/**
 * Streams a log through the auditor (bounded memory: nothing but the state and the findings).
 * With `checkpoint`: resumes where the last audit of this log stopped, if it saved one there,
 * and saves where this one stops; the report is the whole log's either way.
 */
export async function auditLog(log: string, quiet = false, checkpoint?: string): Promise<AuditReport> {
  if (checkpoint !== undefined) {
    const problem = checkpointKeyProblem();
    if (problem) throw new UsageError(problem);
  }
  const resumed = checkpoint !== undefined ? loadAuditCheckpoint(checkpoint) : undefined;
  if (resumed && checkpoint) {
    const why = await checkpointMismatch(log, resumed);
    if (why) throw new UsageError(`--checkpoint ${checkpoint} does not fit ${log}: ${why}; delete it to audit from the start`);
  }
  const validator = resumed ? EventValidator.load(resumed.validator) : new EventValidator();
  const bar = progressBar('audit', { quiet });
  let next = 0;
  let auditor: Auditor | undefined = resumed ? Auditor.load(resumed.auditor) : undefined;
  const reader = new LogReader(log, {
    validator,
    ...(resumed ? { start: resumed.start, header: resumed.header } : {}),
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
  auditor ??= new Auditor(reader.summary!.header.profile);
  if (checkpoint !== undefined) {
    const s = validator.position;
    // Where the events read end: after the last one, or (none read) where the read began.
    const at =
      reader.at.hash !== ''
        ? { offset: reader.at.bytes, line: reader.at.line, prevHash: reader.at.hash }
        : resumed
          ? { offset: resumed.start.offset, line: resumed.start.line, prevHash: resumed.start.prevHash }
          : { offset: reader.headerLine!.offset, line: 2, prevHash: reader.headerLine!.hash };
    // Saved before finish(), which closes the last command's checks for this report only.
    saveAuditCheckpoint(checkpoint, { header: reader.summary!.header, start: { ...at, seq: s.seq, cmd: s.cmd }, auditor: auditor.save(at), validator: validator.save() });
  }
  return auditor.finish();
}

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; // RFC 4180, as export --format csv
};

export function findingsCsv(r: AuditReport): string {
  // Machine formats carry gfns as integers, as the JSON does (README, "JSON output").
  const head = ['class', 'severity', 'event', 'command', 'as', 'slot', 'gfn', 'user', 'node', 'message', 'ref', 'trace_file', 'trace_line', 'trace_ts'];
  const rows = r.findings.map((f) => [f.class, f.severity, f.position.event, f.position.command, f.as, f.slot, f.gfn, f.user, f.node, f.message, f.ref, f.trace?.file, f.trace?.line, f.trace?.ts].map(csvCell).join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}

export function formatAudit(r: AuditReport): string {
  const s = r.summary;
  const out = [`audit of ${s.events} events, ${s.commands} commands (${s.profile})`];
  out.push(`tracked gfns over time: ${s.trackedOverTime.map((x) => `e${x.position.event}:${x.tracked}`).join(' ')}`);
  out.push(`user balances (adds - removes): ${Object.entries(s.balances).map(([u, n]) => `${u} ${n}`).join(', ') || 'none'}`);
  out.push(`writes: ${Object.entries(s.writes).map(([k, n]) => `${k} ${n}`).join(', ')}; blind writes to tracked gfns ${s.blindWritesToTracked}; notifications ${s.notifications}; TLB flushes ${s.tlbFlushes}`);
  out.push(`WARNs: ${Object.entries(s.warns).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (s.topGfns.length) out.push(`top gfns: ${s.topGfns.map(([as, g, n]) => `${hex(g)}${as ? `@as${as}` : ''} (${n})`).join(', ')}`);
  out.push(`findings: ${s.findings.error} error, ${s.findings.warning} warning, ${s.findings.info} info${Object.keys(s.findingsByClass).length ? ` (${Object.entries(s.findingsByClass).map(([c, n]) => `${c} ${n}`).join(', ')})` : ''}`);
  out.push(`classes ${s.profile} can show: ${s.classes.join(' ')} (each explained in docs/reference.md, e.g. ${referenceOf(s.classes[0] ?? 'B1')})`);
  if (r.findings.length) {
    out.push(
      table(
        ['class', 'severity', 'at', 'where', 'what'],
        r.findings.slice(0, 100).map((f) => [f.class, f.severity, `e${f.position.event} c${f.position.command}${f.trace ? `\n${f.trace.file ?? 'trace'}:${f.trace.line} t${f.trace.ts}` : ''}`, [f.as !== undefined ? `as${f.as}` : '', f.slot !== undefined ? `slot${f.slot}` : '', f.gfn !== undefined ? hex(f.gfn) : '', f.user ?? f.node ?? ''].filter(Boolean).join(' '), f.message]),
      ),
    );
    if (r.findings.length > 100) out.push(`(${r.findings.length - 100} more; --json or --csv list all)`);
  }
  return out.join('\n');
}

export function addAuditCommand(program: Command): void {
  const cmd = program
    .command('audit')
    .description('check a log against the invariants and bug classes of docs/reference.md (README, "Audit")')
    .argument('[log]', 'event log, or - for standard input (or --nats URL --vms PATTERN)')
    .option('--json', 'print the summary and findings as JSON')
    .option('--csv', 'print the findings as CSV')
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding at or above this severity exists').choices([...SEVERITIES]).default('error'))
    .option('--quiet', 'no progress bar')
    .option('--checkpoint <file>', 'resume after the events the last audit with this file read (a log appended since), and save where this one stops')
    .addHelpText('after', `\nBug classes (each finding's "ref" is its entry in docs/reference.md, anchored by the class name):\n${Object.entries(BUG_CLASS_TITLES).map(([c, t]) => `  ${c.padEnd(4)} ${t}`).join('\n')}`);
  natsAuditOptions(cmd).action(async (log: string | undefined, o: NatsAuditFlags & { json?: boolean; csv?: boolean; failOn: Severity; quiet?: boolean; checkpoint?: string }) => {
    if (o.nats !== undefined) {
      // A fleet's VMs from a JetStream stream, audited by a group (README, "A fleet of hosts").
      if (o.csv || o.checkpoint !== undefined) throw new UsageError(`--nats does not take ${o.csv ? '--csv' : '--checkpoint'}: the group keeps its own records in the stream`);
      await natsAuditCommand({ ...o, nats: o.nats });
      return;
    }
    const r = await auditLog(log!, o.quiet, o.checkpoint);
    if (o.json) console.log(JSON.stringify(r, null, 2));
    else if (o.csv) process.stdout.write(findingsCsv(r));
    else console.log(formatAudit(r));
    const s = r.summary.findings;
    if (SEVERITIES.some((sev) => severityRank(sev) >= severityRank(o.failOn) && s[sev] > 0)) process.exitCode = 1;
  });
}

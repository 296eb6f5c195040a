/** `pagetrack profiles` (what each kernel profile changes) and `pagetrack compare` (one script, several profiles). */
import type { Command } from 'commander';
import { type KernelProfile, PROFILES, getProfile, profileForKernel, warnKinds } from '../domain/profile.js';
import { auditClasses } from '../audit/auditor.js';
import type { CompareReport } from '../compare/compare.js';
import { openInput } from '../io/input-file.js';
import { splitLines, tooLongReason } from '../io/lines.js';
import { UsageError } from './errors.js';
import { table } from './format.js';

export function profileJson(p: KernelProfile) {
  return {
    name: p.name,
    kernels: p.kernels,
    summary: p.summary,
    differences: p.differences,
    warns: warnKinds(p),
    auditClasses: auditClasses(p),
    rules: {
      modeArgument: p.modeArgument,
      moveArrays: p.moveArrays,
      flushSlotNotification: p.flushSlotNotification,
      kvmNode: p.kvmNode,
      removeRegionOnDelete: p.removeRegionOnDelete,
      moveRejectedWithExternalUser: p.moveRejectedWithExternalUser,
      externalGfnApi: p.externalGfnApi,
      registerPinsVm: p.registerPinsVm,
      warnOnce: p.warnOnce,
      lpageWarn: p.lpageWarn,
      lazyWriteTracking: p.lazyWriteTracking,
      disabledTrackingAction: p.disabledTrackingAction,
      leafWriteProtectAs: p.leafWriteProtectAs,
    },
  };
}

export function formatCompare(r: CompareReport, limit = 50): string {
  const out = [`${r.commands} commands under ${r.profiles.join(', ')}; each compared with ${r.reference}`];
  for (const p of r.pairs) {
    out.push('', `${r.reference} vs ${p.profile}: ${p.commandsDiffering} command(s) with different events, ${p.outcomes.length} with a different outcome, ${p.state.length} state difference(s) at the end`);
    const d = p.firstDivergence;
    if (d) {
      out.push(`first divergence: c${d.command} (line ${d.line}, ${d.op ?? '?'}), event ${d.effect + 1} of its effects`);
      out.push(`  ${r.reference}: ${d.reference ? JSON.stringify(d.reference) : '(no event)'}`);
      out.push(`  ${p.profile}: ${d.other ? JSON.stringify(d.other) : '(no event)'}`);
    }
    if (p.outcomes.length) out.push(table(['command', 'line', 'op', r.reference, p.profile], p.outcomes.slice(0, limit).map((o) => [`c${o.command}`, o.line, o.op ?? '?', o.reference, o.other])));
    if (p.outcomes.length > limit) out.push(`  (${p.outcomes.length - limit} more; --json lists all)`);
    if (p.state.length) out.push(table(['state at the end', r.reference, p.profile], p.state.slice(0, limit).map((s) => [s.key, s.reference ?? '-', s.other ?? '-'])));
    if (p.state.length > limit) out.push(`  (${p.state.length - limit} more; --json lists all)`);
  }
  out.push('', r.same ? 'the profiles behave the same on this script' : 'the profiles part on this script');
  return out.join('\n');
}

export function addProfileCommands(program: Command): void {
  program
    .command('profiles')
    .description('list the kernel profiles, the kernel versions each covers, and what each changes')
    .option('--json', 'print JSON')
    .option('--kernel <version>', 'only the profile that covers this kernel version')
    .action((o: { json?: boolean; kernel?: string }) => {
      const list = o.kernel !== undefined ? [profileForKernel(o.kernel)] : [...PROFILES.values()];
      if (o.json) {
        console.log(JSON.stringify({ profiles: list.map(profileJson) }, null, 2));
        return;
      }
      const out: string[] = [];
      for (const p of list) {
        out.push(`${p.name.padEnd(11)} kernels ${p.kernels.from} to ${p.kernels.to}: ${p.summary}`);
        for (const d of p.differences) out.push(`    - ${d}`);
      }
      out.push('', 'Each profile is the one before it plus its differences. `--json` gives every rule; `--kernel VERSION` picks one.');
      console.log(out.join('\n'));
    });

  program
    .command('compare')
    .description('run one script under several profiles and show where their behaviour parts (exit 1 when it does, as diff does)')
    .argument('<script>', 'NDJSON command script, or - for standard input')
    .requiredOption('--profiles <list>', 'comma-separated profiles, the first is the reference, e.g. linux-4.6,linux-6.6 (a kernel version picks its profile)')
    .option('--shadow-paging', 'the host runs KVM without TDP (write tracking always on from 5.16)')
    .option('--external-write-tracking', 'the kernel is built with CONFIG_KVM_EXTERNAL_WRITE_TRACKING')
    .option('--limit <N>', 'rows per table in the text output', (v) => Number(v), 50)
    .option('--json', 'print JSON')
    .action(async (script: string, o: { profiles: string; shadowPaging?: boolean; externalWriteTracking?: boolean; limit: number; json?: boolean }) => {
      const profiles = o.profiles.split(',').map((x) => x.trim()).filter(Boolean).map((x) => (/^v?\d/.test(x) ? profileForKernel(x) : getProfile(x)));
      if (profiles.length < 2) throw new UsageError('--profiles needs at least two profiles, e.g. linux-4.6,linux-6.6');
      // '-' is standard input, as for run (README, "CLI").
      const fh = script === '-' ? undefined : (await openInput(script, 'script', ['regular', 'fifo'])).fh;
      const lines: Array<{ line: number; text: string }> = [];
      try {
        for await (const l of splitLines(fh ? fh.createReadStream({ autoClose: false }) : process.stdin)) {
          lines.push('text' in l ? l : { line: l.line, text: JSON.stringify({ reason: tooLongReason(l.tooLong) }) });
        }
      } finally {
        await fh?.close();
      }
      const { compareProfiles } = await import('../compare/compare.js');
      const r = compareProfiles(lines, profiles, { tdp: !o.shadowPaging, externalWriteTracking: o.externalWriteTracking === true, file: script });
      console.log(o.json ? JSON.stringify(r, null, 2) : formatCompare(r, Number.isSafeInteger(o.limit) && o.limit > 0 ? o.limit : 50));
      if (!r.same) process.exitCode = 1;
    });
}

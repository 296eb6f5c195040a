import { type Command, InvalidArgumentError, Option } from 'commander';
import { LogWriter } from '../log/writer.js';
import type { InjectedBug } from '../workloads/driver.js';
// The workloads and the model (rxjs) load when the command runs, not at every command's start.
import { INJECTABLE, WORKLOAD_NAMES } from '../workloads/catalog.js';
import { type ProfileOpts, profileFrom, withProfileOptions } from './profile-options.js';
import { progressBar } from './progress.js';
import { UsageError, parseInt10 } from './timetravel-commands.js';

export const DEFAULT_EVENTS = 300_000;
export const defaultLogPath = (name: string) => `pagetrack-out/${name}.log.ndjson`;

export function addSimulateCommand(program: Command): void {
  const cmd = program
    .command('simulate')
    .description(`run a workload through the model and write its log: ${WORKLOAD_NAMES.join(', ')}`)
    .argument('[name]', 'workload', 'shadow-mmu')
    .option('--out <log>', 'where to write the log (default pagetrack-out/NAME.log.ndjson)')
    .option('--seed <N>', 'seed: the same seed gives the same log', parseInt10('--seed'), 1)
    .option('--events <N>', 'size: stop after about N events', parseInt10('--events'), DEFAULT_EVENTS)
    .addOption(new Option('--inject <bug>', 'inject a classic bug for the audit to find').choices([...INJECTABLE]))
    .option('--quiet', 'no progress bar');
  withProfileOptions(cmd, "default: the workload's own, see the README").action(
    async (name: string, o: ProfileOpts & { out?: string; seed: number; events: number; inject?: InjectedBug; quiet?: boolean }) => {
      const [{ PageTrackVm }, { WORKLOADS, workloadProfile }] = await Promise.all([import('../domain/vm.js'), import('../workloads/index.js')]);
      const w = WORKLOADS.find((x) => x.name === name);
      if (!w) throw new UsageError(`unknown workload '${name}' (one of: ${WORKLOADS.map((x) => x.name).join(', ')})`);
      if (o.events < 1) throw new InvalidArgumentError('--events must be at least 1');
      const profile = workloadProfile(w, profileFrom(o));
      const out = o.out ?? defaultLogPath(name);
      const writer = LogWriter.create(out, profile.name);
      const vm = new PageTrackVm({ profile, log: writer, ...w.vm });
      const bar = progressBar(name, { quiet: o.quiet });
      const started = performance.now();
      let r;
      try {
        r = w.run(vm, { events: o.events, seed: o.seed, ...(o.inject ? { inject: o.inject } : {}), onProgress: (n) => bar.update({ bytes: n, totalBytes: o.events, events: n }) });
      } finally {
        bar.stop();
        await writer.close();
      }
      const s = (performance.now() - started) / 1000;
      console.log(`${name} (${profile.name}, seed ${o.seed}${o.inject ? `, injected ${o.inject} at c${r.injected?.cmd}` : ''}): ${r.commands} commands, ${r.events} events in ${s.toFixed(2)} s; log: ${out}`);
      // Every hint answers in about the time of an audit at 10 M events (test/cli-hints.test.ts runs them).
      console.log('next:');
      console.log(`  npx pagetrack audit ${out}`);
      console.log(`  npx pagetrack state ${out} --at c${Math.floor(r.commands / 2)}`);
      console.log(`  npx pagetrack bisect ${out} --between-commands --when 'warns() > 0 || writable_tracked() > 0'`);
      console.log(`  npx pagetrack debug ${out}`);
      if (!o.inject) console.log(`  npx pagetrack simulate ${name} --inject unbalanced-remove   (a classic bug planted, for the audit to find)`);
    },
  );
}

/**
 * The fleet's commands (README, "A fleet of hosts"): `publish` a log to a VM's subject, `fleet`
 * to summarise every VM, `nats-dev` to run a local cluster for trying it; the options and runs of
 * `audit --nats` (natsAuditCommand) and of `state`/`why`/`history --nats --vm` (natsLogPath).
 */
import { nameCopy } from '../io/display-name.js';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { mkdirSync } from 'node:fs';
import { removeAtExit } from '../io/temp-dir.js';
import { dirname } from 'node:path';
import { SEVERITIES, type Severity, severityRank } from '../audit/auditor.js';
import type { NatsAuditResult } from '../fleet/consume.js';
// The NATS client loads when a fleet command runs (dynamic imports below), not at every start.
import { DEFAULT_GROUP, DEFAULT_LEASE_MS, DEFAULT_MESSAGE_BYTES, DEFAULT_STREAM } from '../fleet/defaults.js';
import { NatsCluster, natsServerMissing } from '../fleet/dev-cluster.js';
import { parseVmId } from '../fleet/subjects.js';
import { truncationNote } from './load.js';
import { UsageError } from './errors.js';


/** `state`, `why`, `history` on one VM's log in a NATS JetStream stream instead of a file. */
export function natsLogOptions(cmd: Command): Command {
  return cmd
    .option('--nats <url>', 'read the log of --vm from a NATS JetStream cluster instead of a file: nats://host:port[,...]')
    .option('--vm <host/vm>', 'with --nats: the VM whose log to read')
    .option('--stream <name>', `with --nats: the log stream (default ${DEFAULT_STREAM})`);
}

/** The VM's log copied out of the stream (validated on the way) into a private file, removed at exit. */
export async function natsLogPath(o: { nats: string; vm?: string; stream?: string }): Promise<string> {
  if (!o.vm) throw new UsageError('--nats needs --vm HOST/VM: the VM whose log to read');
  const { natsMaterialize } = await import('../fleet/fleet.js');
  const { path } = await natsMaterialize({ url: o.nats, vm: o.vm, stream: o.stream });
  removeAtExit(dirname(path));
  nameCopy(path, `the log of ${o.vm} in ${o.nats}`);
  return path;
}

const int = (what: string, min: number, max = Number.MAX_SAFE_INTEGER) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be an integer in ${min}..${max}, got '${v.slice(0, 40)}'`);
  return n;
};

/** The options natsAuditOptions adds to `audit`, as commander gives them (--nats absent: a file audit). */
export type NatsAuditFlags = Partial<Omit<NatsAuditCliOptions, 'json' | 'failOn' | 'quiet'>>;

/** The options `audit --nats` takes, as commander gives them. */
export interface NatsAuditCliOptions {
  readonly nats: string;
  readonly vms?: string;
  readonly stream?: string;
  readonly group?: string;
  readonly consumer?: string;
  readonly lease?: number;
  readonly json?: boolean;
  readonly failOn?: Severity;
  readonly quiet?: boolean;
}

/**
 * `audit --nats URL --vms PATTERN`: joins the audit group, audits until every selected VM is
 * done, prints every VM's row (or --json), and sets the exit status: 1 when a finding at or above
 * --fail-on exists in the selection, 2 when a VM's log failed validation.
 */
export async function natsAuditCommand(o: NatsAuditCliOptions): Promise<NatsAuditResult> {
  if (!o.vms) throw new UsageError("audit --nats needs --vms HOST/VM (either may be *, e.g. 'host1/*')");
  const [{ natsAudit }, { formatFleet }] = await Promise.all([import('../fleet/consume.js'), import('../fleet/fleet.js')]);
  const r = await natsAudit({
    url: o.nats,
    vms: o.vms,
    stream: o.stream,
    group: o.group,
    consumer: o.consumer,
    leaseMs: o.lease !== undefined ? o.lease * 1000 : undefined,
    onVm: o.quiet || o.json ? undefined : (v) => console.error(`pagetrack: audited ${v.vm}: ${v.error ? `log bad: ${v.error}` : `${v.events} events`}`),
  });
  if (r.vms.length === 0) throw new UsageError(`no VM in the log stream matches --vms ${o.vms} (pagetrack fleet --nats ${o.nats} lists them)`);
  if (o.json) console.log(JSON.stringify(r, null, 2));
  else {
    const here = r.auditedHere.length ? `audited here: ${r.auditedHere.join(' ')}${r.takenOver.length ? ` (taken over: ${r.takenOver.join(' ')})` : ''}` : 'audited here: none (the group had done them)';
    console.log(formatFleet(r.vms, `audit group '${r.group}', consumer ${r.consumer}; ${here}`));
  }
  const failOn = o.failOn ?? 'error';
  if (r.vms.some((v) => v.error)) process.exitCode = 2;
  else if (r.vms.some((v) => SEVERITIES.some((s) => severityRank(s) >= severityRank(failOn) && (v.findings?.[s] ?? 0) > 0))) process.exitCode = 1;
  return r;
}

/** The options to add to `audit` for `--nats` (the lead's audit-command.ts adds these). */
export function natsAuditOptions(cmd: Command): Command {
  return cmd
    .option('--nats <url>', 'audit VMs from a NATS JetStream cluster instead of a file: nats://host:port[,...]')
    .option('--vms <pattern>', "with --nats: HOST/VM, either may be * (e.g. 'host1/*')")
    .option('--stream <name>', `with --nats: the log stream (default ${DEFAULT_STREAM})`)
    .option('--group <name>', `with --nats: the audit group sharing the VMs (default ${DEFAULT_GROUP})`)
    .option('--consumer <name>', 'with --nats: this process in the group (default host-pid-random)')
    .option('--lease <seconds>', `with --nats: a VM goes to another member this long after its owner stops (default ${DEFAULT_LEASE_MS / 1000})`, int('--lease', 1, 3600));
}

export function addFleetCommands(program: Command): void {
  program
    .command('publish')
    .description('publish a log to its VM\'s subject in a NATS JetStream stream, resuming after what the stream holds (README, "A fleet of hosts")')
    .argument('<log>', 'event log')
    .requiredOption('--nats <url>', 'the cluster: nats://host:port[,nats://host:port...]')
    .requiredOption('--vm <host/vm>', 'the VM the log is of: subject pagetrack.log.HOST.VM')
    .option('--stream <name>', `the stream (default ${DEFAULT_STREAM}; created when missing)`)
    .option('--replicas <n>', 'replicas when creating the stream (default 3, or the cluster size when smaller)', int('--replicas', 1, 5))
    .option('--follow', 'keep publishing what is appended to the log until interrupted')
    .option('--message-bytes <n>', `lines per message up to this many bytes (default ${DEFAULT_MESSAGE_BYTES}; 1: one line per message)`, int('--message-bytes', 1, 512 << 10))
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'print nothing on success')
    .action(async (log: string, o: { nats: string; vm: string; stream?: string; replicas?: number; follow?: boolean; messageBytes?: number; json?: boolean; quiet?: boolean }) => {
      const vm = parseVmId(o.vm);
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      if (o.follow) {
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      }
      try {
        const { publishLog } = await import('../fleet/publish.js');
        const r = await publishLog({ url: o.nats, stream: o.stream, vm, log, follow: o.follow, signal: stop.signal, replicas: o.replicas, messageBytes: o.messageBytes });
        const note = truncationNote(log, r.truncated ? { events: r.lastSeq, truncated: r.truncated } : undefined);
        if (note && !o.follow) console.error(note);
        if (o.json) console.log(JSON.stringify(r));
        else if (!o.quiet) console.log(`published ${r.vm}: ${r.published} events in ${r.messages} messages${r.skipped ? ` (${r.skipped} already in the stream)` : ''}${r.duplicates ? `, ${r.duplicates} retried` : ''}; the stream holds events 1..${r.lastSeq}, head ${r.headHash}`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });

  program
    .command('fleet')
    .description('summarise the fleet: per host and VM, events, the audit group\'s findings by class, the last event')
    .requiredOption('--nats <url>', 'the cluster: nats://host:port[,...]')
    .option('--vms <pattern>', 'HOST/VM, either may be * (default */*)')
    .option('--stream <name>', `the log stream (default ${DEFAULT_STREAM})`)
    .option('--group <name>', `the audit group (default ${DEFAULT_GROUP})`)
    .option('--json', 'print the summary as JSON')
    .action(async (o: { nats: string; vms?: string; stream?: string; group?: string; json?: boolean }) => {
      const { fleetSummary, formatFleet } = await import('../fleet/fleet.js');
      const s = await fleetSummary({ url: o.nats, vms: o.vms, stream: o.stream, group: o.group });
      if (o.json) console.log(JSON.stringify(s, null, 2));
      else {
        const t = s.totals;
        const classes = Object.entries(t.findingsByClass).map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
        console.log(formatFleet(s.vms, `stream ${s.stream}, group '${s.group}': ${t.hosts} hosts, ${t.vms} VMs, ${t.events.toLocaleString('en-US')} events; audited ${t.audited}, logs bad ${t.failed}; findings by class: ${classes}`));
      }
    });

  program
    .command('nats-dev')
    .description('run a local nats-server cluster with JetStream on loopback ports for trying the fleet (Ctrl-C stops it)')
    .addOption(new Option('--nodes <n>', 'servers in the cluster').choices(['1', '3']).default('3'))
    .option('--port <n>', 'the first client port (cluster ports +100, monitoring +200)', int('--port', 1024, 65000), 4222)
    .option('--dir <dir>', 'where the servers keep their streams', 'pagetrack-out/nats')
    .action(async (o: { nodes: string; port: number; dir: string }) => {
      const missing = natsServerMissing();
      if (missing) throw new UsageError(`nats-dev needs nats-server: ${missing}`);
      mkdirSync(o.dir, { recursive: true });
      const c = await NatsCluster.start({ nodes: Number(o.nodes), dir: o.dir, basePort: o.port });
      console.log(`nats-server: ${c.size} node(s) with JetStream, stores in ${o.dir}; Ctrl-C stops them\n--nats ${c.url}`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await c.stop();
    });
}

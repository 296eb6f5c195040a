/**
 * The fleet through a real 3-node nats-server cluster on this machine (README, "A fleet of
 * hosts"): publish throughput (VMS logs published at once, one publisher each), then audit
 * throughput with 1, 2 and 4 audit processes sharing the VMs, beside the file-based audit of the
 * same logs (as `pagetrack audit LOG`, one process). Events/s, min/median/max over RUNS runs.
 *
 * `node dist/bench/fleet-bench.js` prints the JSON; `fleetBench()` is what bench/main.ts calls.
 * Sizes: PAGETRACK_BENCH_FLEET_VMS (default 4), PAGETRACK_BENCH_FLEET_EVENTS (per VM, default
 * 250,000), PAGETRACK_BENCH_FLEET_RUNS (default 3).
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditLog } from '../src/cli/audit-command.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { natsAudit } from '../src/fleet/consume.js';
import { NatsCluster, natsServerMissing } from '../src/fleet/dev-cluster.js';
import { publishLog } from '../src/fleet/publish.js';
import { connectFleet, ensureAuditStreams, ensureLogStream } from '../src/fleet/stream.js';
import { LogWriter } from '../src/log/writer.js';
import { spread } from './timing.js';
import { WORKLOADS, workloadProfile } from '../src/workloads/index.js';

const VMS = Number(process.env.PAGETRACK_BENCH_FLEET_VMS ?? 4);
const EVENTS = Number(process.env.PAGETRACK_BENCH_FLEET_EVENTS ?? 250_000);
const RUNS = Number(process.env.PAGETRACK_BENCH_FLEET_RUNS ?? 3);
const CONSUMERS = [1, 2, 4];


async function simulate(out: string, seed: number): Promise<number> {
  const w = WORKLOADS.find((x) => x.name === 'shadow-mmu')!;
  const profile = workloadProfile(w, undefined);
  const writer = LogWriter.create(out, profile.name);
  const vm = new PageTrackVm({ profile, log: writer, ...w.vm });
  try {
    return w.run(vm, { events: EVENTS, seed }).events;
  } finally {
    await writer.close();
  }
}

/** The file path, as `pagetrack audit LOG` takes it. */
const fileAudit = (path: string) => auditLog(path, true);

/** One audit process of a group (this file run with --member): prints when it was ready and done. */
async function member(url: string, vms: string, group: string): Promise<void> {
  const ready = Date.now();
  const r = await natsAudit({ url, vms, group });
  console.log(JSON.stringify({ ready, done: Date.now(), audited: r.auditedHere.length }));
}

function runMember(url: string, vms: string, group: string): Promise<{ ready: number; done: number; audited: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--member', url, vms, group], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      try {
        if (code !== 0 && code !== 1) throw new Error(`exited ${code}`);
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as { ready: number; done: number; audited: number });
      } catch (err) {
        reject(new Error(`audit member: ${(err as Error).message}: ${out}`));
      }
    });
  });
}

export async function fleetBench(): Promise<object> {
  const missing = natsServerMissing();
  if (missing) return { skipped: missing };
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-bench-fleet-'));
  const cluster = await NatsCluster.start({ nodes: 3, dir: join(dir, 'nats') });
  try {
    const logs: string[] = [];
    let total = 0;
    for (let i = 0; i < VMS; i++) {
      logs.push(join(dir, `vm${i}.log.ndjson`));
      total += await simulate(logs[i]!, i + 1);
    }
    // The streams exist before anything is timed (creating an R3 stream takes a second or two).
    const f = await connectFleet({ url: cluster.url });
    await ensureLogStream(f, { create: true });
    await ensureAuditStreams(f);
    await f.close();
    const file: number[] = [];
    const publish: number[] = [];
    const audit: Record<number, number[]> = Object.fromEntries(CONSUMERS.map((c) => [c, []]));
    for (let run = 0; run < RUNS; run++) {
      let t = performance.now();
      for (const l of logs) await fileAudit(l);
      file.push(total / ((performance.now() - t) / 1000));
      t = performance.now();
      await Promise.all(logs.map((l, i) => publishLog({ url: cluster.url, vm: { host: `run${run}`, vm: `vm${i}` }, log: l })));
      publish.push(total / ((performance.now() - t) / 1000));
      for (const c of CONSUMERS) {
        const members = await Promise.all(Array.from({ length: c }, () => runMember(cluster.url, `run${run}/*`, `c${c}`)));
        const seconds = (Math.max(...members.map((m) => m.done)) - Math.min(...members.map((m) => m.ready))) / 1000;
        audit[c]!.push(total / seconds);
      }
    }
    // One line per message, for the record: one message in flight per VM costs a round trip per line.
    const slice = join(dir, 'slice.log.ndjson');
    const sliceEvents = await (async () => {
      const w = WORKLOADS.find((x) => x.name === 'shadow-mmu')!;
      const profile = workloadProfile(w, undefined);
      const writer = LogWriter.create(slice, profile.name);
      const vm = new PageTrackVm({ profile, log: writer, ...w.vm });
      const n = w.run(vm, { events: 20_000, seed: 99 }).events;
      await writer.close();
      return n;
    })();
    let t = performance.now();
    await publishLog({ url: cluster.url, vm: { host: 'lines', vm: 'vm0' }, log: slice, messageBytes: 1 });
    const perLine = sliceEvents / ((performance.now() - t) / 1000);
    return {
      cluster: '3 nats-server 2.9 nodes on loopback, R3 file streams',
      cpus: cpus().length,
      vms: VMS,
      eventsPerVm: Math.round(total / VMS),
      events: total,
      eventsPerSecond: {
        fileAudit: spread(file),
        publish: spread(publish),
        ...Object.fromEntries(CONSUMERS.map((c) => [`audit${c}`, spread(audit[c]!)])),
        publishOneLinePerMessage: { events: sliceEvents, eventsPerSecond: perLine },
      },
    };
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--member') await member(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  else console.log(JSON.stringify(await fleetBench(), null, 2));
}

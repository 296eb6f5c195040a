/**
 * What the fleet holds, from the streams alone: `pagetrack fleet --nats URL` (per host and VM:
 * events, findings by class, the last event's time, who audits it) and a VM's log materialised
 * into a local file for the commands that read files (`state`, `why`, `history` on one VM).
 */
import { mkdtempSync, openSync, closeSync, writeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type VmAudit, DEFAULT_GROUP, listVms, summariseVms } from './consume.js';
import { JetStreamApiError } from '@nats-io/jetstream';
import { type Fleet, auditStream, connectFleet, ensureLogStream } from './stream.js';
import { retrying } from './retry.js';

/** How long the cluster may not answer before a command gives up. */
const RETRY_MS = 120_000;
import { checkName, parseVmId, vmName } from './subjects.js';
import { vmTail } from './vm-tail.js';
import { VmLogReader } from './vm-reader.js';
import { UsageError } from '../cli/errors.js';
import { LogError } from '../log/format.js';
import { table } from '../cli/format.js';
import type { ReadSummary } from '../log/reader.js';

export interface FleetSummaryOptions {
  readonly url: string;
  readonly stream?: string | undefined;
  readonly vms?: string | undefined;
  readonly group?: string | undefined;
}

export interface FleetSummary {
  readonly stream: string;
  readonly group: string;
  readonly vms: readonly VmAudit[];
  readonly totals: { readonly hosts: number; readonly vms: number; readonly events: number; readonly findingsByClass: Readonly<Record<string, number>>; readonly audited: number; readonly failed: number };
}

export async function fleetSummary(o: FleetSummaryOptions): Promise<FleetSummary> {
  const group = checkName(o.group ?? DEFAULT_GROUP, '--group');
  const f = await connectFleet({ url: o.url, stream: o.stream, name: 'pagetrack fleet' });
  try {
    await retrying('fleet: find the log stream', RETRY_MS, () => ensureLogStream(f, { create: false }));
    const vms = await retrying('fleet: list VMs', RETRY_MS, () => listVms(f, o.vms ?? '*/*'));
    const hasAudit = await retrying('fleet: find the audit stream', RETRY_MS, () => f.jsm.streams.info(auditStream(f.stream)).then(() => true, (err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === 10059) return false;
      throw err;
    }));
    const rows: VmAudit[] = hasAudit ? await summariseVms(f, group, vms) : await Promise.all(vms.map(async (vm) => {
      let t;
      try {
        t = await retrying(`fleet: ${vmName(vm)}: read its last message`, RETRY_MS, () => vmTail(f, vm));
      } catch (err) {
        if (!(err instanceof LogError)) throw err;
        return { vm: vmName(vm), events: 0, audited: 0, done: false, owner: null, error: err.message } satisfies VmAudit;
      }
      return { vm: vmName(vm), events: t?.eventSeq ?? 0, audited: 0, done: false, owner: null, ...(t ? { lastEvent: t.time.toISOString() } : {}) } satisfies VmAudit;
    }));
    const byClass: Record<string, number> = {};
    for (const r of rows) for (const [c, n] of Object.entries(r.findingsByClass ?? {})) byClass[c] = (byClass[c] ?? 0) + n;
    return {
      stream: f.stream,
      group,
      vms: rows,
      totals: {
        hosts: new Set(rows.map((r) => r.vm.split('/')[0])).size,
        vms: rows.length,
        events: rows.reduce((n, r) => n + r.events, 0),
        findingsByClass: Object.fromEntries(Object.entries(byClass).sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))),
        audited: rows.filter((r) => r.done).length,
        failed: rows.filter((r) => r.error).length,
      },
    };
  } finally {
    await f.close();
  }
}

const classes = (r: VmAudit): string =>
  r.findingsByClass && Object.keys(r.findingsByClass).length ? Object.entries(r.findingsByClass).map(([c, n]) => `${c} ${n}`).join(', ') : r.done ? 'none' : '';

function status(r: VmAudit): string {
  if (r.error) return 'LOG BAD';
  if (r.done) return r.findings ? `${r.findings.error} error, ${r.findings.warning} warning, ${r.findings.info} info` : 'audited';
  if (r.owner) return `auditing (${r.audited.toLocaleString('en-US')} events; ${r.owner})`;
  return r.audited > 0 ? `audited to ${r.audited.toLocaleString('en-US')}` : 'not audited';
}

/** The table of `pagetrack fleet` and of `pagetrack audit --nats`. */
export function formatFleet(rows: readonly VmAudit[], title: string): string {
  const out = [title];
  out.push(
    table(
      ['host', 'vm', 'events', 'audit', 'findings by class', 'last event'],
      rows.map((r) => {
        const [host, vm] = r.vm.split('/') as [string, string];
        return [host, vm, r.events.toLocaleString('en-US'), status(r), classes(r), r.lastEvent ?? ''];
      }),
    ),
  );
  for (const r of rows) if (r.error) out.push(`${r.vm}: ${r.error}`);
  return out.join('\n');
}

export interface MaterializeOptions {
  readonly url: string;
  readonly stream?: string | undefined;
  /** HOST/VM. */
  readonly vm: string;
  /** Where to write the log (default: a fresh temporary directory). */
  readonly out?: string | undefined;
}

/**
 * Copies a VM's log from the stream into a local file, validated on the way by the same reader
 * as a file (a bad stream is refused and nothing is left behind): `state`, `why` and `history`
 * then run on that file as on any log. Returns the file's path.
 */
export async function natsMaterialize(o: MaterializeOptions): Promise<{ path: string; summary: ReadSummary }> {
  const vm = parseVmId(o.vm);
  const f: Fleet = await connectFleet({ url: o.url, stream: o.stream, name: `pagetrack materialise ${o.vm}` });
  const dir = o.out ? undefined : mkdtempSync(join(tmpdir(), 'pagetrack-vm-'));
  const path = o.out ?? join(dir!, `${vm.host}-${vm.vm}.log.ndjson`);
  let fd: number | undefined;
  let created = false;
  try {
    await retrying('find the log stream', RETRY_MS, () => ensureLogStream(f, { create: false }));
    const tail = await retrying(`${vmName(vm)}: read its last message`, RETRY_MS, () => vmTail(f, vm));
    if (!tail) throw new UsageError(`nothing was published for ${vmName(vm)} in stream ${f.stream}`);
    fd = openSync(path, 'wx', 0o600); // never over an existing file or through a planted link
    created = true;
    const out = fd;
    const tee = (b: Uint8Array): void => {
      for (let off = 0; off < b.length; ) off += writeSync(out, b, off);
    };
    const reader = new VmLogReader(f, vm, { until: tail.streamSeq, tee });
    for await (const batch of reader.batches()) void batch;
    closeSync(fd);
    fd = undefined;
    return { path, summary: reader.summary! };
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    if (dir) rmSync(dir, { recursive: true, force: true });
    else if (created) rmSync(path, { force: true });
    throw err;
  } finally {
    await f.close();
  }
}

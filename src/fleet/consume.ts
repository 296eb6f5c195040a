/**
 * `pagetrack audit --nats URL --vms 'HOST/*'`: an audit group shares the VMs among however many
 * processes run it, on however many machines. Each VM is audited by one process at a time, its
 * events in stream order, through the same validating reader and the same Auditor as a file.
 *
 * Work sharing: per VM, a record in the audit stream (audit-record.ts) is a lease with a
 * checkpoint, written by compare-and-set. A process claims a VM nobody holds (or whose lease
 * expired), audits it, and after every batch publishes the batch's new findings (message id
 * `GROUP/HOST/VM/<index>`), then writes the checkpoint (events audited, findings published),
 * which also renews the lease; a timer renews it while a read waits. A process that dies stops
 * renewing; when the lease expires another claims the VM and goes on.
 *
 * A takeover re-reads the VM from its first message: the chain is checked from the header, so
 * a successor trusts nothing a dead process left but the count of findings it published, and
 * publishes only findings past that count. The audit is deterministic, so the list up to there
 * is the same; findings a dead owner published after its last checkpoint are republished with
 * the same ids inside the findings stream's duplicate window, which the server drops. Nothing is
 * lost and nothing is published twice; the price is re-reading what the dead owner had read
 * (the Auditor's state is not serialisable today, and it can outgrow a NATS message).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Finding, type AuditReport, Auditor } from '../audit/auditor.js';
import { LogError } from '../log/format.js';
import { type AuditRecord, readRecord, writeRecord } from './audit-record.js';
import { retrying } from './retry.js';
import { type Fleet, connectFleet, ensureAuditStreams, ensureLogStream } from './stream.js';
import { checkName, findingsSubject, LOG_PREFIX, logFilter, parseVmPattern, type VmId, vmName, vmOfSubject } from './subjects.js';
import { vmTail, type VmTail } from './vm-tail.js';
import { VmLogReader } from './vm-reader.js';

export { DEFAULT_GROUP, DEFAULT_LEASE_MS } from './defaults.js';
import { DEFAULT_GROUP, DEFAULT_LEASE_MS } from './defaults.js';

export interface NatsAuditOptions {
  readonly url: string;
  readonly stream?: string | undefined;
  /** `HOST/VM`, either part may be `*`. */
  readonly vms: string;
  readonly group?: string | undefined;
  /** This process's name in the records (default host-pid-random). */
  readonly consumer?: string | undefined;
  readonly leaseMs?: number | undefined;
  /** How long to retry while the cluster does not answer (default 120 s). */
  readonly retryForMs?: number | undefined;
  /** Told of each checkpoint written (events audited so far in a VM): progress. */
  readonly onCheckpoint?: ((vm: string, audited: number) => void) | undefined;
  /** Told of each VM this process finished (or found bad). */
  readonly onVm?: ((r: VmAudit) => void) | undefined;
}

/** One VM as the group's record has it. */
export interface VmAudit {
  readonly vm: string;
  readonly events: number;
  readonly audited: number;
  readonly done: boolean;
  readonly owner: string | null;
  readonly profile?: string | undefined;
  readonly findings?: AuditRecord['findings'];
  readonly findingsByClass?: AuditRecord['findingsByClass'];
  readonly error?: string | undefined;
  readonly lastEvent?: string | undefined;
}

export interface NatsAuditResult {
  readonly group: string;
  readonly consumer: string;
  /** Every VM of the selection, as the group's records have them at the end. */
  readonly vms: readonly VmAudit[];
  /** The VMs this process audited (to the end), in order. */
  readonly auditedHere: readonly string[];
  /** VMs this process took over from an owner whose lease had expired. */
  readonly takenOver: readonly string[];
}

/** The auditor's findings list so far (in order; it only grows). */
const listed = (a: Auditor): readonly Finding[] => a.findingsSoFar;

/** The VMs a selection names, from the log stream's subjects. */
export async function listVms(f: Fleet, pattern: string): Promise<VmId[]> {
  const p = parseVmPattern(pattern);
  const info = await f.jsm.streams.info(f.stream, { subjects_filter: logFilter(p) });
  const out: VmId[] = [];
  for (const s of Object.keys(info.state.subjects ?? {})) {
    const vm = vmOfSubject(s, LOG_PREFIX);
    if (vm) out.push(vm);
  }
  return out.sort((a, b) => (vmName(a) < vmName(b) ? -1 : 1));
}

class LostLease extends Error {}

export class AuditGroupMember {
  readonly group: string;
  readonly me: string;
  private readonly leaseMs: number;
  private readonly retryMs: number;
  readonly auditedHere: string[] = [];
  readonly takenOver: string[] = [];

  constructor(
    private readonly f: Fleet,
    private readonly o: NatsAuditOptions,
  ) {
    this.group = checkName(o.group ?? DEFAULT_GROUP, '--group');
    this.me = o.consumer ? checkName(o.consumer, '--consumer') : `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 32)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    this.retryMs = o.retryForMs ?? 120_000;
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retrying(`audit ${what}`, this.retryMs, fn);
  }

  /** Audits VMs of the selection until every one is done to the message it ended at when listed. */
  async run(): Promise<NatsAuditResult> {
    const vms = await this.retry('list VMs', () => listVms(this.f, this.o.vms));
    const tails = new Map<string, VmTail | undefined>();
    for (const vm of vms) {
      try {
        tails.set(vmName(vm), await this.retry(`${vmName(vm)}: read its last message`, () => vmTail(this.f, vm)));
      } catch (err) {
        // One VM's bad last message (forged, not whole lines) is that VM's row, not the group's end.
        if (!(err instanceof LogError)) throw err;
        tails.set(vmName(vm), undefined);
      }
    }
    // Start at a different VM in each process: fewer lost races.
    const start = vms.length ? randomBytes(2).readUInt16BE() % vms.length : 0;
    const order = [...vms.slice(start), ...vms.slice(0, start)];
    for (;;) {
      let waiting = false;
      for (const vm of order) {
        const tail = tails.get(vmName(vm));
        const stored = await this.retry(`${vmName(vm)}: read its record`, () => readRecord(this.f, this.group, vm));
        // A record past the end of the VM's log was not written by an audit of this log: audited again.
        const rec = stored?.record && tail && stored.record.streamSeq > tail.streamSeq ? undefined : stored?.record;
        if (rec && tail && rec.streamSeq >= tail.streamSeq && (rec.done || rec.error)) continue; // done up to where it ended when listed
        if (!tail) continue; // nothing published for it
        if (rec?.error && rec.streamSeq >= tail.streamSeq) continue;
        waiting = true;
        if (rec && rec.owner && rec.owner !== this.me && rec.until > Date.now()) continue; // someone holds it
        const { error: _bad, ...before } = rec ?? { audited: 0, published: 0, streamSeq: 0, done: false, owner: null, until: 0, at: 0 };
        void _bad; // a VM whose log failed validation is audited again once its log has grown
        const claim: AuditRecord = { ...before, owner: this.me, until: Date.now() + this.leaseMs, done: false, at: Date.now() };
        const seq = await this.retry(`${vmName(vm)}: claim`, () => writeRecord(this.f, this.group, vm, claim, stored?.seq ?? 0));
        if (seq === undefined) continue; // another process won it
        if (rec?.owner && rec.owner !== this.me && !rec.done) this.takenOver.push(vmName(vm));
        try {
          await this.auditVm(vm, tail, claim, seq);
        } catch (err) {
          if (!(err instanceof LostLease)) throw err;
        }
      }
      if (!waiting) break;
      await new Promise((r) => setTimeout(r, Math.min(500, this.leaseMs / 4)));
    }
    return { group: this.group, consumer: this.me, vms: await this.summarise(vms), auditedHere: this.auditedHere, takenOver: this.takenOver };
  }

  /** Every VM's row from its record and tail. */
  async summarise(vms: readonly VmId[]): Promise<VmAudit[]> {
    return summariseVms(this.f, this.group, vms, this.retryMs);
  }

  private async auditVm(vm: VmId, tail: VmTail, claim: AuditRecord, claimSeq: number): Promise<void> {
    const name = vmName(vm);
    let recordSeq = claimSeq;
    let lost = false;
    let checkpoint: AuditRecord = claim;
    // Record writes one at a time (compare-and-set needs the last sequence): checkpoints and lease renewals.
    let writes: Promise<void> = Promise.resolve();
    const write = (r: AuditRecord): Promise<void> =>
      (writes = writes.then(async () => {
        if (lost) return;
        const seq = await this.retry(`${name}: write the checkpoint`, () => writeRecord(this.f, this.group, vm, r, recordSeq));
        if (seq === undefined) lost = true;
        else recordSeq = seq;
      }));
    const renew = setInterval(() => void write({ ...checkpoint, until: Date.now() + this.leaseMs, at: Date.now() }).catch(() => undefined), Math.max(50, this.leaseMs / 3));
    let published = claim.published;
    const subject = findingsSubject(this.group, vm);
    const publishFrom = async (list: readonly Finding[]): Promise<void> => {
      const acks: Promise<unknown>[] = [];
      for (let k = published; k < list.length; k++) {
        const body = JSON.stringify({ vm: name, index: k, ...list[k] });
        acks.push(this.retry(`${name}: publish finding ${k}`, () => this.f.js.publish(subject, body, { msgID: `${this.group}/${name}/${k}` })));
      }
      await Promise.all(acks);
      published = Math.max(published, list.length);
    };
    try {
      const reader = new VmLogReader(this.f, vm, { until: tail.streamSeq });
      let auditor: Auditor | undefined;
      let seen = 0;
      try {
        for await (const batch of reader.batches()) {
          if (lost) throw new LostLease();
          auditor ??= new Auditor(reader.header!.profile);
          for (const e of batch) auditor.see(e);
          seen = batch.at(-1)!.seq;
          await publishFrom(listed(auditor));
          if (seen > checkpoint.audited) {
            checkpoint = { ...checkpoint, audited: seen, published, streamSeq: reader.lastStreamSeq, until: Date.now() + this.leaseMs, at: Date.now() };
            await write(checkpoint);
            if (!lost) this.o.onCheckpoint?.(name, seen);
          }
        }
      } catch (err) {
        if (!(err instanceof LogError)) throw err;
        // The log is not what pagetrack writes (forged, reordered, cut): recorded, and the VM is not retried until it grows.
        await write({ ...checkpoint, owner: null, until: 0, done: false, error: err.message, streamSeq: tail.streamSeq, at: Date.now() });
        await writes;
        this.o.onVm?.({ vm: name, events: tail.eventSeq, audited: checkpoint.audited, done: false, owner: null, error: err.message });
        return;
      }
      if (lost) throw new LostLease();
      const report: AuditReport = (auditor ?? new Auditor(reader.header!.profile)).finish();
      // What finish() adds (the last command's closing checks) holds for the log as it ends here,
      // not for a longer one: published under ids of this end (`atEnd`), and not counted in
      // `published`, the stable prefix an audit of the grown log goes on from.
      const acks: Promise<unknown>[] = [];
      for (let k = published; k < report.findings.length; k++) {
        const body = JSON.stringify({ vm: name, index: k, atEnd: tail.streamSeq, ...report.findings[k] });
        acks.push(this.retry(`${name}: publish finding ${k}`, () => this.f.js.publish(subject, body, { msgID: `${this.group}/${name}/end${tail.streamSeq}/${k}` })));
      }
      await Promise.all(acks);
      const s = report.summary;
      checkpoint = { owner: null, until: 0, audited: seen, published, streamSeq: tail.streamSeq, done: true, profile: s.profile, findings: s.findings, findingsByClass: s.findingsByClass, at: Date.now() };
      await write(checkpoint);
      await writes;
      if (lost) throw new LostLease();
      this.auditedHere.push(name);
      this.o.onVm?.({ vm: name, events: seen, audited: seen, done: true, owner: null, profile: s.profile, findings: s.findings, findingsByClass: s.findingsByClass });
    } finally {
      clearInterval(renew);
      await writes.catch(() => undefined);
    }
  }
}

/** Rows for `vms` from the group's records and the log stream's tails (the fleet summary, the audit's answer). */
export async function summariseVms(f: Fleet, group: string, vms: readonly VmId[], retryMs = 120_000): Promise<VmAudit[]> {
  const rows: VmAudit[] = [];
  for (const vm of vms) {
    let tail: VmTail | undefined;
    let bad: string | undefined;
    try {
      tail = await retrying(`${vmName(vm)}: read its last message`, retryMs, () => vmTail(f, vm));
    } catch (err) {
      if (!(err instanceof LogError)) throw err;
      bad = err.message; // this VM's row, not the summary's end
    }
    const stored = await retrying(`${vmName(vm)}: read its record`, retryMs, () => readRecord(f, group, vm));
    const r = stored?.record && stored.record.streamSeq <= (tail?.streamSeq ?? Infinity) ? stored.record : undefined;
    const error = bad ?? stored?.problem ?? (stored?.record && !r ? `its audit record names stream message ${stored.record.streamSeq}, past the end of its log: not written by an audit of this log` : r?.error);
    rows.push({
      vm: vmName(vm),
      events: tail?.eventSeq ?? 0,
      audited: r?.audited ?? 0,
      done: r?.done === true && r.streamSeq >= (tail?.streamSeq ?? 0),
      owner: r?.owner && r.until > Date.now() ? r.owner : null,
      ...(r?.profile ? { profile: r.profile } : {}),
      ...(r?.findings ? { findings: r.findings } : {}),
      ...(r?.findingsByClass ? { findingsByClass: r.findingsByClass } : {}),
      ...(error ? { error } : {}),
      ...(tail ? { lastEvent: tail.time.toISOString() } : {}),
    });
  }
  return rows;
}

/**
 * The audit of a fleet, as `pagetrack audit --nats URL --vms PATTERN` runs it: joins the group,
 * audits VMs until every VM of the selection is done, and answers with every VM's row.
 */
export async function natsAudit(o: NatsAuditOptions): Promise<NatsAuditResult> {
  // Short request timeouts: what a dying node swallowed is retried soon after the election (every write is idempotent or compare-and-set).
  const f = await connectFleet({ url: o.url, stream: o.stream, name: `pagetrack audit ${o.vms}`, timeoutMs: 2000 });
  try {
    await retrying('audit: find the log stream', o.retryForMs ?? 120_000, () => ensureLogStream(f, { create: false }));
    await retrying('audit: find or create the findings and audit streams', o.retryForMs ?? 120_000, () => ensureAuditStreams(f));
    return await new AuditGroupMember(f, o).run();
  } finally {
    await f.close();
  }
}

/**
 * An audit group's record for one VM (`pagetrack.audit.GROUP.HOST.VM`, the latest message only):
 * who holds the VM and until when (a lease), and how far its audit got (a checkpoint). Every
 * write expects the subject's last sequence to be the one read (compare-and-set), so of two
 * processes racing for a VM exactly one wins, and an owner whose lease was taken over can no
 * longer write: its next checkpoint is refused and it stops (fencing).
 */
import type { Fleet } from './stream.js';
import { auditStream } from './stream.js';
import { auditSubject, type VmId, vmName } from './subjects.js';
import { UsageError } from '../cli/errors.js';
import { isWrongLast } from './retry.js';

export interface AuditRecord {
  /** The consumer holding the VM, or null when nobody does. */
  readonly owner: string | null;
  /** Lease expiry, ms since the epoch (the owner's clock: clocks must agree to well within a lease). */
  readonly until: number;
  /** Events audited whose findings are all published. */
  readonly audited: number;
  /** Findings published: the auditor's list up to here is in the findings subject. */
  readonly published: number;
  /** The stream message holding event `audited`. */
  readonly streamSeq: number;
  /** The audit reached the message it was started for and closed (finish): the counts below are final for it. */
  readonly done: boolean;
  readonly profile?: string;
  readonly findings?: { readonly error: number; readonly warning: number; readonly info: number };
  readonly findingsByClass?: Readonly<Record<string, number>>;
  /** The log failed validation there: the error, and the stream message the audit was started for. */
  readonly error?: string;
  /** When the record was written (ms since the epoch). */
  readonly at: number;
}

export interface Stored {
  /** Undefined when the latest message is not a record pagetrack wrote (`problem` says why): it is audited again and overwritten. */
  readonly record: AuditRecord | undefined;
  /** The record's stream sequence: what the next write expects. */
  readonly seq: number;
  readonly problem?: string;
}

const num = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** A record from the stream, checked: anyone with publish rights could have written it. */
function parseRecord(data: Uint8Array, where: string): AuditRecord {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new UsageError(`${where}: not JSON`);
  }
  if (typeof r !== 'object' || r === null) throw new UsageError(`${where}: not an object`);
  const counts = (x: unknown): boolean => x === undefined || (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every(num));
  const severities = (x: unknown): boolean => x === undefined || (counts(x) && ['error', 'warning', 'info'].every((k) => num((x as Record<string, unknown>)[k])) && Object.keys(x as object).length === 3);
  if (
    !(r.owner === null || typeof r.owner === 'string') ||
    !num(r.until) ||
    !num(r.audited) ||
    !num(r.published) ||
    !num(r.streamSeq) ||
    typeof r.done !== 'boolean' ||
    !num(r.at) ||
    !(r.profile === undefined || typeof r.profile === 'string') ||
    !(r.error === undefined || typeof r.error === 'string') ||
    !severities(r.findings) ||
    !counts(r.findingsByClass) ||
    (r.findingsByClass !== undefined && !Object.keys(r.findingsByClass as object).every((k) => /^B\d{1,2}$/.test(k)))
  ) {
    throw new UsageError(`${where}: not an audit record pagetrack wrote`);
  }
  return r as unknown as AuditRecord;
}

export async function readRecord(f: Fleet, group: string, vm: VmId): Promise<Stored | undefined> {
  const m = await f.jsm.streams.getMessage(auditStream(f.stream), { last_by_subj: auditSubject(group, vm) });
  if (!m) return undefined;
  try {
    return { record: parseRecord(m.data, `audit record of ${vmName(vm)} (stream ${auditStream(f.stream)} message ${m.seq})`), seq: m.seq };
  } catch (err) {
    // Anyone with publish rights on the audit subjects can write there: a bad record is reported and overwritten, never trusted.
    if (err instanceof UsageError) return { record: undefined, seq: m.seq, problem: err.message };
    throw err;
  }
}

/** Writes `record` if the subject still ends at `expect` (0: no record yet); undefined when another writer got there first. */
export async function writeRecord(f: Fleet, group: string, vm: VmId, record: AuditRecord, expect: number): Promise<number | undefined> {
  try {
    const ack = await f.js.publish(auditSubject(group, vm), JSON.stringify(record), { expect: { lastSubjectSequence: expect } });
    return ack.seq;
  } catch (err) {
    if (isWrongLast(err)) return undefined;
    throw err;
  }
}

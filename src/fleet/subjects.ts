/**
 * The subject scheme of a fleet (README, "A fleet of hosts"): every name that reaches a NATS
 * subject comes from outside (a command line, a message's subject) and is checked here.
 *
 *   pagetrack.log.HOST.VM                 a VM's log: the header line, then its event lines
 *   pagetrack.findings.GROUP.HOST.VM      the findings an audit group published for that VM
 *   pagetrack.audit.GROUP.HOST.VM         the group's record for that VM: owner lease and checkpoint
 *
 * A NATS subject is dot-separated tokens; `*` and `>` are wildcards and whitespace ends it
 * (NATS "Subject-Based Messaging"), so a name is one token of letters, digits, `_` and `-`.
 */
import { UsageError } from '../cli/errors.js';

export const LOG_PREFIX = 'pagetrack.log';
export const FINDINGS_PREFIX = 'pagetrack.findings';
export const AUDIT_PREFIX = 'pagetrack.audit';

/** Host, VM and group names: one subject token; 64 characters are plenty for a hostname label. */
export const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface VmId {
  readonly host: string;
  readonly vm: string;
}

function nameProblem(name: string): string {
  if (name.length === 0) return 'is empty';
  if (name.length > 64) return `is ${name.length} characters long; at most 64`;
  const bad = [...name].find((c) => !/[A-Za-z0-9_-]/.test(c))!;
  const why = bad === '.' ? "'.' separates subject tokens" : bad === '*' || bad === '>' ? `'${bad}' is a NATS wildcard` : /\s/.test(bad) ? 'whitespace ends a subject' : 'only letters, digits, _ and - are allowed';
  return `contains ${JSON.stringify(bad)} (${why})`;
}

/** Checks one host, VM or group name; `what` names it in the error. */
export function checkName(name: string, what: string): string {
  if (!NAME_RE.test(name)) throw new UsageError(`${what} '${clipName(name)}' ${nameProblem(name)}`);
  return name;
}

const clipName = (s: string): string => (s.length > 80 ? `${s.slice(0, 77)}...` : s);

/** `HOST/VM`, both plain names (publish, state/why/history on one VM). */
export function parseVmId(text: string, option = '--vm'): VmId {
  const parts = text.split('/');
  if (parts.length !== 2) throw new UsageError(`${option} must be HOST/VM, got '${clipName(text)}'`);
  return { host: checkName(parts[0]!, `${option} host`), vm: checkName(parts[1]!, `${option} VM`) };
}

/** `HOST/VM` where either part may be `*` (every host, every VM): the audit's and fleet's selection. */
export interface VmPattern {
  readonly host: string | '*';
  readonly vm: string | '*';
}

export function parseVmPattern(text: string, option = '--vms'): VmPattern {
  const parts = text.split('/');
  if (parts.length !== 2) throw new UsageError(`${option} must be HOST/VM where either may be *, e.g. 'host1/*', got '${clipName(text)}'`);
  const [h, v] = parts as [string, string];
  return { host: h === '*' ? '*' : checkName(h, `${option} host`), vm: v === '*' ? '*' : checkName(v, `${option} VM`) };
}

export const logSubject = (id: VmId): string => `${LOG_PREFIX}.${id.host}.${id.vm}`;
export const findingsSubject = (group: string, id: VmId): string => `${FINDINGS_PREFIX}.${group}.${id.host}.${id.vm}`;
export const auditSubject = (group: string, id: VmId): string => `${AUDIT_PREFIX}.${group}.${id.host}.${id.vm}`;
export const logFilter = (p: VmPattern): string => `${LOG_PREFIX}.${p.host}.${p.vm}`;
export const vmName = (id: VmId): string => `${id.host}/${id.vm}`;

/**
 * The VM a subject under `prefix` names, or undefined when it is not one of ours (a stream may
 * hold anything someone published under its subjects: such a subject is skipped, not trusted).
 */
export function vmOfSubject(subject: string, prefix: string): VmId | undefined {
  if (!subject.startsWith(`${prefix}.`)) return undefined;
  const rest = subject.slice(prefix.length + 1).split('.');
  if (rest.length !== 2 || !NAME_RE.test(rest[0]!) || !NAME_RE.test(rest[1]!)) return undefined;
  return { host: rest[0]!, vm: rest[1]! };
}

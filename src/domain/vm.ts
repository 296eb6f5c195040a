import { freeze } from 'immer';
import { Observable, Subject, filter } from 'rxjs';
import { ADDRESS_SPACES, KVM_MMU_NODE } from './constants.js';
import { MAX_NAME, MAX_PATH, MAX_TEXT, clip } from '../io/limits.js';
import type { Command } from './commands.js';
import { type CommandValue, handlerFor } from './handlers.js';
import { type KernelContext, Rejection } from './kernel/context.js';
import type { NodeHandler } from './kernel/node-handlers.js';
import { DEFAULT_PROFILE, type KernelProfile, getProfile } from './profile.js';
import { InMemoryEventLog, type EventSink } from '../events/event-log.js';
import {
  EVENT_VERSIONS,
  type EventBody,
  type EventOf,
  type EventType,
  type NotificationDelivered,
  type Origin,
  type PageTrackEvent,
} from '../events/types.js';
import { PageTrackState } from '../projections/state.js';

export interface VmOptions {
  /** A profile or its name; `linux-4.6` by default. */
  readonly profile?: KernelProfile | string;
  /** Where committed batches go; an in-memory log by default, `null` to keep none. */
  readonly log?: EventSink | null;
  /**
   * Continue a VM whose events so far are in a log: the state rebuilt from them and the last
   * event's seq and cmd. Nothing is emitted at construction then.
   */
  readonly resume?: { readonly state: PageTrackState; readonly seq: number; readonly cmd: number };
  /** tdp_enabled (default true); false is a shadow-paging host, where write tracking is always on (spec 1.6). */
  readonly tdp?: boolean;
  /** CONFIG_KVM_EXTERNAL_WRITE_TRACKING (default false; KVMGT selects it; spec 1.6). */
  readonly externalWriteTracking?: boolean;
}

export interface CommandResult {
  /** The command's number: 1 for the first command, in the order they reached the VM. */
  readonly cmd: number;
  readonly op: string | undefined;
  readonly ok: boolean;
  /** The answer: is-active's boolean, fault's outcome, sp-create's id, write's per-chunk outcomes. */
  readonly value?: CommandValue;
  readonly rejection?: { readonly field?: string; readonly reason: string };
  /** The events the command produced, in order (a rejected command has exactly one). */
  readonly events: readonly PageTrackEvent[];
}

/** A rejection of input that never became a command (a bad script line). */
export interface InputRejection {
  readonly op?: string;
  readonly field?: string;
  readonly reason: string;
  readonly input?: string;
}

/**
 * One VM's page tracking, event-sourced. `execute` checks a command against the state, and only
 * if it passes turns it into events; each event is applied to the inline projections (`state`)
 * as it is produced, so the next decision sees it. A command's events are committed together:
 * appended to the log, then published as one batch on `events$`, then delivered to notifier
 * observers.
 */
export class PageTrackVm {
  readonly profile: KernelProfile;
  readonly state: PageTrackState;
  /** The in-memory log, when the VM keeps one. */
  readonly log: InMemoryEventLog | undefined;
  /** Every committed batch, in order: one per command (VM creation is command 0). */
  readonly events$: Observable<readonly PageTrackEvent[]>;

  private readonly sink: EventSink | null;
  private readonly batches = new Subject<readonly PageTrackEvent[]>();
  private readonly deliveries = new Subject<NotificationDelivered>();
  private readonly kernel: KernelContext;
  private readonly handlers = new Map<string, NodeHandler>();
  private seq = 0;
  private cmd = 0;
  private pending: PageTrackEvent[] = [];

  constructor(options: VmOptions = {}) {
    const p = options.profile ?? DEFAULT_PROFILE;
    this.profile = typeof p === 'string' ? getProfile(p) : p;
    this.state = options.resume?.state ?? new PageTrackState(this.profile);
    if (options.log === undefined) {
      this.log = new InMemoryEventLog();
      this.sink = this.log;
    } else {
      this.log = options.log instanceof InMemoryEventLog ? options.log : undefined;
      this.sink = options.log;
    }
    this.events$ = this.batches.asObservable();
    this.kernel = { state: this.state, profile: this.profile, emit: (type, body) => this.emit(type, body), handlers: this.handlers };
    if (options.resume) {
      if (options.resume.state.profile !== this.profile.name) throw new Error(`cannot resume a ${options.resume.state.profile} state under profile ${this.profile.name}`);
      this.seq = options.resume.seq;
      this.cmd = options.resume.cmd;
      return;
    }
    this.emit('vm-created', { profile: this.profile.name, addressSpaces: ADDRESS_SPACES, tdp: options.tdp ?? true, externalWriteTracking: options.externalWriteTracking ?? false });
    // <= 6.5: kvm_arch_init_vm -> kvm_mmu_init_vm registers KVM's own node first, so it dispatches last (spec 4.4).
    if (this.profile.kvmNode) this.emit('notifier-registered', { node: KVM_MMU_NODE });
    this.commit();
  }

  /** Number of events so far (the last sequence number). */
  get eventCount(): number {
    return this.seq;
  }

  /** Number of commands so far, rejected ones included. */
  get commandCount(): number {
    return this.cmd;
  }

  /**
   * Runs one command. A command that fails its checks changes nothing and is recorded as a
   * `command-rejected` event; `origin` (script file and line) goes into that record.
   */
  execute(input: Command, origin: Origin = {}): CommandResult {
    this.cmd++;
    let command = input;
    const handler = (() => {
      try {
        const h = handlerFor(command);
        command = h.normalise?.(command, this.profile) ?? command;
        checkNames(command);
        checkAlive(this.state);
        h.check(command, this.state, this.profile);
        return h;
      } catch (err) {
        if (err instanceof Rejection) return err;
        throw err;
      }
    })();
    if (handler instanceof Rejection) {
      return this.recordRejection({ op: command.op, ...(handler.field ? { field: handler.field } : {}), reason: handler.reason }, origin);
    }
    this.emit('command', { command: freeze(command), ...clipOrigin(origin) }); // commands are flat: a shallow freeze is whole
    const value = handler.run(command, this.kernel);
    const events = this.commit();
    return { cmd: this.cmd, op: command.op, ok: true, value, events };
  }

  /** Records input that could not become a command (malformed JSON, unknown op, bad field) as the next command. */
  rejectInput(rejection: InputRejection, origin: Origin = {}): CommandResult {
    this.cmd++;
    return this.recordRejection(rejection, origin);
  }

  /**
   * Gives node `node` in-kernel callbacks (track_write, track_flush_slot), called synchronously
   * while it is registered; what they do becomes events of the command being run.
   */
  attach(node: string, handler: NodeHandler): void {
    if (node === KVM_MMU_NODE) throw new Error(`'${KVM_MMU_NODE}' is KVM's own node; its handling is built in`);
    this.handlers.set(node, handler);
  }

  detach(node: string): void {
    this.handlers.delete(node);
  }

  /** Deliveries to `node` (its track_write callbacks), in dispatch order, for as long as it is registered. */
  notifications$(node: string): Observable<NotificationDelivered> {
    return this.deliveries.pipe(filter((d) => d.node === node));
  }

  /** Deliveries to every node, in dispatch order. */
  allNotifications$(): Observable<NotificationDelivered> {
    return this.deliveries.asObservable();
  }

  private recordRejection(r: InputRejection, origin: Origin): CommandResult {
    // Texts built from hostile input are cut to what the log's readers accept (src/io/limits.ts).
    const cut: InputRejection = {
      ...(r.op !== undefined ? { op: clip(r.op, MAX_TEXT) } : {}),
      ...(r.field !== undefined ? { field: clip(r.field, MAX_TEXT) } : {}),
      reason: clip(r.reason, MAX_TEXT),
      ...(r.input !== undefined ? { input: clip(r.input, MAX_TEXT) } : {}),
    };
    const body: EventBody<'command-rejected'> = { ...strip(cut), ...clipOrigin(origin) };
    this.emit('command-rejected', body);
    const events = this.commit();
    return {
      cmd: this.cmd,
      op: r.op,
      ok: false,
      rejection: { ...(r.field ? { field: r.field } : {}), reason: r.reason },
      events,
    };
  }

  private emit<T extends EventType>(type: T, body: EventBody<T>): EventOf<T> {
    const e = freeze({ seq: ++this.seq, cmd: this.cmd, type, v: EVENT_VERSIONS[type], ...body }) as unknown as EventOf<T>;
    this.state.apply(e);
    this.pending.push(e);
    return e;
  }

  private commit(): readonly PageTrackEvent[] {
    const batch = freeze(this.pending);
    this.pending = [];
    this.sink?.append(batch);
    this.batches.next(batch);
    if (this.deliveries.observed) for (const e of batch) if (e.type === 'notification') this.deliveries.next(e);
    return batch;
  }
}

/** A bugged (KVM_BUG_ON) or destroyed VM answers nothing but -EIO (kvm_vm_ioctl: `if (kvm->vm_dead) return -EIO`). */
function checkAlive(s: PageTrackState): void {
  const { bugged, destroyed } = s.vm;
  if (destroyed !== undefined) throw new Rejection(undefined, `the VM was destroyed by command ${destroyed}`);
  if (bugged) throw new Rejection(undefined, `the VM is dead: KVM_BUG_ON in ${bugged.fn} at command ${bugged.cmd} (${bugged.reason}); KVM answers -EIO`);
}

/** Names (users, nodes) longer than the log's readers accept are refused here too, for library callers. */
function checkNames(c: Command): void {
  // The only free-form strings a command holds (a per-command hot path: no allocation).
  const { user, node } = c as { user?: unknown; node?: unknown };
  if (typeof user === 'string' && user.length > MAX_NAME) throw new Rejection('user', `must be at most ${MAX_NAME} characters, got ${user.length}`);
  if (typeof node === 'string' && node.length > MAX_NAME) throw new Rejection('node', `must be at most ${MAX_NAME} characters, got ${node.length}`);
}

/** An origin's texts cut to what the log's readers accept (a library caller may pass anything). */
function clipOrigin(o: Origin): Origin {
  const longFile = o.file !== undefined && o.file.length > MAX_PATH;
  const longTask = o.task !== undefined && o.task.length > MAX_NAME;
  if (!longFile && !longTask) return o;
  return { ...o, ...(longFile ? { file: clip(o.file!, MAX_PATH) } : {}), ...(longTask ? { task: clip(o.task!, MAX_NAME) } : {}) };
}

/** Drops undefined fields so events serialise the same as they compare. */
function strip<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

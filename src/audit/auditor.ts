/**
 * The audit: one streaming pass over a log that checks the invariants and bug classes of spec
 * section 8 and gathers a summary. Feed events in order with `see`; `finish` closes the pass.
 *
 * Users and notifier nodes are matched by name: an external user `vgpu0` is expected to register
 * a node `vgpu0` (B11). `kvm-mmu` is KVM's own accounting and node.
 */
import { KVM_MMU_USER } from '../domain/constants.js';
import { hex } from '../domain/gfn.js';
import { type KernelProfile, getProfile, warnKinds } from '../domain/profile.js';
import type { PageTrackEvent } from '../events/types.js';
import { PageTrackState } from '../projections/state.js';
import type { LogPoint } from '../timetravel/position.js';
import { type ArrayInfo, type Checkpoint, captureWhole, restoreWhole } from '../timetravel/checkpoint.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

export type BugClass = 'B1' | 'B2' | 'B3' | 'B4' | 'B5' | 'B7' | 'B9' | 'B10' | 'B11' | 'B13' | 'B14' | 'B15' | 'B17' | 'B20';

/**
 * The classes a log of this profile can show: B15 needs track_flush_slot (4.10-6.5), B17 lazy
 * write tracking (5.16+), B20 a VM destroyed under a registered node (<= 6.5; 6.6+ pins the VM);
 * B14 is a carried (<= 5.6) or dropped (5.7+) count: 6.6+ refuses a MOVE while an external node is
 * registered (kvm_page_track_has_external_user), so there only a user tracking with no node of its
 * own (late registration, B11) still loses its counts to a MOVE.
 */
export function auditClasses(p: KernelProfile): BugClass[] {
  const out: BugClass[] = ['B1', 'B2', 'B3', 'B4', 'B5', 'B7', 'B9', 'B10', 'B11', 'B13', 'B14'];
  if (p.flushSlotNotification) out.push('B15');
  if (p.lazyWriteTracking !== 'none') out.push('B17');
  if (!p.registerPinsVm) out.push('B20');
  return out;
}

/** Where a bug class is explained, relative to the project's root (README links it). */
export const referenceOf = (c: BugClass): string => `docs/reference.md#${c}`;

export interface Finding {
  readonly class: BugClass;
  readonly severity: Severity;
  /** Where it started. */
  readonly position: LogPoint;
  readonly as?: number;
  readonly slot?: number;
  readonly gfn?: number;
  readonly user?: string;
  readonly node?: string;
  readonly message: string;
  /** The class's entry in the project's reference (docs/reference.md). */
  readonly ref: string;
  /** For ingested logs: the trace line of the command where it started. */
  readonly trace?: { readonly file?: string; readonly line?: number; readonly ts?: string };
}

export interface AuditSummary {
  readonly profile: string;
  readonly events: number;
  readonly commands: number;
  /** Samples over the log: gfns with a nonzero count after a point. */
  readonly trackedOverTime: ReadonlyArray<{ readonly position: LogPoint; readonly tracked: number }>;
  readonly trackedAtEnd: number;
  readonly balances: Readonly<Record<string, number>>;
  readonly writes: Readonly<Record<string, number>>;
  readonly blindWritesToTracked: number;
  readonly notifications: number;
  readonly tlbFlushes: number;
  readonly warns: Readonly<Record<string, number>>;
  /** gfns with the most events (count steps, writes, faults): [as, gfn, events]. */
  readonly topGfns: ReadonlyArray<readonly [number, number, number]>;
  /** All findings by severity and by class (the list keeps at most FINDINGS_KEPT per class). */
  readonly findings: Readonly<Record<Severity, number>>;
  readonly findingsByClass: Readonly<Record<string, number>>;
  /** The classes this profile can show (auditClasses). */
  readonly classes: readonly BugClass[];
}

/** An Auditor's state (Auditor.save): its own fields and its model's state as one whole checkpoint. */
export interface AuditorSaved {
  readonly profile: string;
  readonly fields: Record<string, unknown>;
  readonly state: { checkpoint: Checkpoint; arrays: ArrayInfo[] } | undefined;
}

export interface AuditReport {
  readonly summary: AuditSummary;
  readonly findings: readonly Finding[];
}

/** Findings listed per class; beyond that they are only counted. */
export const FINDINGS_KEPT = 1000;
/** How many points the tracked-over-time series has, at most (plus the end). */
export const SAMPLES = 24;

/** A slot incarnation as one number: born (an event seq) times 2048, plus as * 1024 + slot id. */
const heldKey = (as: number, slot: number, born: number): number => born * 2048 + as * 1024 + slot;
/** A gfn in an address space as one number (gfn < 2^40, so it stays a safe integer). */
const gfnKey = (as: number, gfn: number): number => gfn * 2 + as;

export class Auditor {
  private state: PageTrackState | undefined;
  private readonly findings: Finding[] = [];
  private readonly perClass = new Map<BugClass, number>();
  private readonly bySeverity: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  /** user → slotKey(as, id, born) → slot index → accepted units held */
  private readonly held = new Map<string, Map<number, Map<number, number>>>();
  private lastUnits: { user: string; key: number; map: Map<number, number> } | undefined;
  /** gfnKey(as, gfn) → live indirect shadow pages of level > 1 (each holds one kvm-mmu unit, B9) */
  private readonly spUnits = new Map<number, number>();
  /** gfnKey(as, gfn) → kvm-mmu units accepted */
  private readonly kvmUnits = new Map<number, number>();
  private readonly b9Dirty = new Set<number>();
  private readonly gfnEvents = new Map<number, number>();
  /** Tracked gfns per 2 MiB and per 1 GiB frame (gfnKey of the frame number): B5 scans a huge mapping only when one is there. */
  private readonly tracked2M = new Map<number, number>();
  private readonly tracked1G = new Map<number, number>();
  private readonly warnedLate = new Set<string>();
  private readonly flushedExternal = new Set<string>();
  private tracked = 0;
  private readonly series: Array<{ position: LogPoint; tracked: number }> = [];
  private blindTracked = 0;
  private last: PageTrackEvent | undefined;
  private pendingNotify: { seq: number; cmd: number; as: number; gpa: number; nodes: string[] } | undefined;

  private readonly profile: KernelProfile;

  constructor(private readonly profileName: string) {
    this.profile = getProfile(profileName);
  }

  /**
   * Everything this auditor knows, as structured-clonable data (`audit --checkpoint`): take it
   * before `finish`, which closes the last command's checks.
   */
  save(at: { offset: number; line: number; prevHash: string }): AuditorSaved {
    const { state, lastUnits: _cache, profile: _p, ...fields } = this as unknown as Record<string, unknown> & { state: PageTrackState | undefined };
    return {
      profile: this.profileName,
      fields,
      state: state ? captureWhole(state, { seq: this.last?.seq ?? 0, cmd: this.last?.cmd ?? 0, ...at }) : undefined,
    };
  }

  /** An auditor that goes on where `save` left off. */
  static load(saved: AuditorSaved): Auditor {
    const a = new Auditor(saved.profile);
    Object.assign(a, saved.fields);
    if (saved.state) a.state = restoreWhole(new PageTrackState(a.profile), saved.state, a.profile.trackModes.length);
    return a;
  }

  /**
   * Counts a finding; true while its class has fewer than FINDINGS_KEPT listed (bounded memory),
   * so the caller builds the finding (and its message) only then.
   */
  private keep(cls: BugClass, severity: Severity): boolean {
    const n = (this.perClass.get(cls) ?? 0) + 1;
    this.perClass.set(cls, n);
    this.bySeverity[severity]++;
    return n <= FINDINGS_KEPT;
  }

  /** The trace source of the command being audited (ingested logs). */
  private source: Finding['trace'];

  private add(f: Omit<Finding, 'ref'>): void {
    const ref = referenceOf(f.class);
    this.findings.push(this.source ? { ...f, ref, trace: this.source } : { ...f, ref });
  }

  see(e: PageTrackEvent): void {
    if (e.type === 'command') this.source = e.ts !== undefined ? { ...(e.file !== undefined ? { file: e.file } : {}), ...(e.line !== undefined ? { line: e.line } : {}), ts: e.ts } : undefined;
    const s = (this.state ??= new PageTrackState(getProfile(this.profileName)));
    if (this.pendingNotify && (e.type !== 'notification' || e.cmd !== this.pendingNotify.cmd)) this.closeDelivery();
    if (this.b9Dirty.size > 0 && this.last && e.cmd !== this.last.cmd) this.checkB9(this.last);
    switch (e.type) {
      case 'track-count-step': {
        const slot = s.memslots.get(e.as, e.slot)!;
        const units = this.unitsMap(e.user, e.as, e.slot, slot.born);
        const idx = e.gfn - slot.base;
        const mine = units.get(idx) ?? 0;
        if (e.delta < 0 && mine <= 0) {
          if (this.keep('B1', 'error')) this.add({ class: 'B1', severity: 'error', position: { event: e.seq, command: e.cmd }, as: e.as, slot: e.slot, gfn: e.gfn, user: e.user, message: `${e.user} removed a unit of gfn ${hex(e.gfn)} it never added: it took another user's tracking (count now ${e.count})` });
        }
        units.set(idx, mine + e.delta);
        if (e.user === KVM_MMU_USER) this.bump(this.kvmUnits, gfnKey(e.as, e.gfn), e.delta);
        else if (e.delta > 0 && !s.notifiers.has(e.user) && !this.warnedLate.has(e.user)) {
          this.warnedLate.add(e.user);
          if (this.keep('B11', 'warning')) this.add({ class: 'B11', severity: 'warning', position: { event: e.seq, command: e.cmd }, as: e.as, gfn: e.gfn, user: e.user, message: `${e.user} tracks gfn ${hex(e.gfn)} before registering a notifier '${e.user}': writes are emulated but nobody consumes them (late registration)` });
        }
        const before = slot.track[e.mode]![e.gfn - slot.base]!;
        if (before === 0 && e.count !== 0) {
          this.tracked++;
          this.frames(e.as, e.gfn, 1);
        } else if (before !== 0 && e.count === 0) {
          this.tracked--;
          this.frames(e.as, e.gfn, -1);
        }
        this.bump(this.gfnEvents, gfnKey(e.as, e.gfn), 1);
        break;
      }
      case 'warn':
        if (e.kind === 'gfn-track-overflow' || e.kind === 'gfn-track-underflow') {
          const what = e.kind === 'gfn-track-overflow' ? 'an add at 65535' : 'a remove at count 0';
          if (this.keep('B2', 'error')) this.add({ class: 'B2', severity: 'error', position: { event: e.seq, command: e.cmd }, as: e.as!, slot: e.slot!, gfn: e.gfn!, user: e.user!, message: `${what} by ${e.user} on gfn ${hex(e.gfn!)}: ${e.fn} WARNed and kept the count` });
          if (this.keep('B3', 'warning')) this.add({ class: 'B3', severity: 'warning', position: { event: e.seq, command: e.cmd }, as: e.as!, slot: e.slot!, gfn: e.gfn!, user: e.user!, message: `the refused step still moved disallow_lpage${e.kind === 'gfn-track-overflow' ? ' and write-protected' : ''}: the lpage counters no longer match the counts of gfn ${hex(e.gfn!)}'s frames` });
        } else if (e.kind === 'lpage-negative' || e.kind === 'lpage-mixed-flag-flip') {
          const how = e.kind === 'lpage-negative' ? `went negative (${e.value})` : `flipped KVM_LPAGE_MIXED_FLAG (now ${e.value})`;
          if (this.keep('B4', 'error')) this.add({ class: 'B4', severity: 'error', position: { event: e.seq, command: e.cmd }, as: e.as!, slot: e.slot!, gfn: e.gfn!, message: `disallow_lpage of the level-${e.level} frame holding gfn ${hex(e.gfn!)} ${how}: huge pages may map over tracked gfns` });
        } else if (e.kind === 'write-tracking-disabled' || e.kind === 'kvm-bug') {
          const what = e.kind === 'kvm-bug' ? 'KVM_BUG_ON: the VM is dead, every later ioctl fails with -EIO' : 'WARN and nothing done';
          if (this.keep('B17', 'error')) this.add({ class: 'B17', severity: 'error', position: { event: e.seq, command: e.cmd }, as: e.as!, slot: e.slot!, gfn: e.gfn!, user: e.user!, message: `${e.user} changed tracking of gfn ${hex(e.gfn!)} while write tracking was not enabled (${what})` });
        }
        break;
      case 'vm-destroyed':
        if (e.registered > 0 && !this.profile.registerPinsVm) {
          const nodes = s.notifiers.nodes.join(', ');
          if (this.keep('B20', 'error')) this.add({ class: 'B20', severity: 'error', position: { event: e.seq, command: e.cmd }, node: nodes, message: `the VM was destroyed with ${e.registered} external notifier(s) still registered (${nodes}): they stay linked into the freed VM` });
        }
        break;
      case 'spte-installed':
        this.checkMapping(s, e.as, e.level, e.gfn, e.writable, { event: e.seq, command: e.cmd });
        break;
      case 'sp-created':
        if (!e.direct && e.level > 1) {
          this.bump(this.spUnits, gfnKey(e.as, e.gfn), 1);
          this.b9Dirty.add(gfnKey(e.as, e.gfn));
        }
        break;
      case 'sp-zapped': {
        const sp = s.shadowPages.pages.get(e.sp);
        if (sp && !sp.direct && sp.level > 1) {
          this.bump(this.spUnits, gfnKey(sp.as, sp.gfn), -1);
          this.b9Dirty.add(gfnKey(sp.as, sp.gfn));
        }
        break;
      }
      case 'write': {
        const gfn = Math.floor(e.gpa / 4096);
        this.bump(this.gfnEvents, gfnKey(e.as, gfn), 1);
        if (e.outcome === 'blind' && this.countAt(s, e.as, gfn) > 0) {
          this.blindTracked++;
          if (this.keep('B10', 'info')) this.add({ class: 'B10', severity: 'info', position: { event: e.seq, command: e.cmd }, as: e.as, gfn, message: `a ${e.via} write to tracked gfn ${hex(gfn)} reached no notifier (a known blind spot: docs/reference.md#rule-blind-writes)` });
        }
        if (e.outcome === 'emulated') this.pendingNotify = { seq: e.seq, cmd: e.cmd, as: e.as, gpa: e.gpa, nodes: [] };
        break;
      }
      case 'notification':
        if (!s.notifiers.has(e.node)) {
          if (this.keep('B11', 'error')) this.add({ class: 'B11', severity: 'error', position: { event: e.seq, command: e.cmd }, node: e.node, gfn: Math.floor(e.gpa / 4096), message: `notifier '${e.node}' was called while not registered` });
        }
        if (this.pendingNotify && this.pendingNotify.gpa === e.gpa) this.pendingNotify.nodes.push(e.node);
        break;
      case 'notifier-unregistered': {
        const units = this.unitsOf(e.node);
        if (units > 0) if (this.keep('B11', 'error')) this.add({ class: 'B11', severity: 'error', position: { event: e.seq, command: e.cmd }, node: e.node, user: e.node, message: `'${e.node}' unregistered while still holding ${units} tracking unit(s): they leak (permanent write-protection and huge-page disallow)` });
        break;
      }
      case 'slot-flush-notified':
        if (e.node !== KVM_MMU_USER) this.flushedExternal.add(`${e.cmd}|${e.as}|${e.slot}`);
        break;
      case 'memslot-change-failed':
        if (this.flushedExternal.has(`${e.cmd}|${e.as}|${e.slot}`)) {
          if (this.keep('B15', 'warning')) this.add({ class: 'B15', severity: 'warning', position: { event: e.seq, command: e.cmd }, as: e.as, slot: e.slot, message: `track_flush_slot told external nodes to drop slot ${e.slot}, then the ${e.op} failed: the slot survives, and tracking its users dropped is gone` });
        }
        break;
      case 'memslot-deleted':
      case 'memslot-moved': {
        // Who still tracks gfns of this slot: the users holding units where the count is nonzero.
        const slot = s.memslots.get(e.as, e.slot)!;
        const t = slot.track[0]!;
        const users = new Map<string, number>();
        let gfns = 0;
        for (let i = 0; i < t.length; i++) {
          if (t[i] === 0) continue;
          gfns++;
          this.frames(e.as, slot.base + i, -1);
          if (e.type === 'memslot-moved') this.frames(e.as, e.base + i, 1);
        }
        if (gfns > 0) {
          for (const [user, slots] of this.held) {
            const m = slots.get(heldKey(e.as, e.slot, slot.born));
            if (!m) continue;
            for (const [idx, v] of m) if (v > 0 && t[idx] !== 0) users.set(user, (users.get(user) ?? 0) + v);
          }
          const who = [...users].map(([u, n]) => `${u} ${n}`).join(', ') || 'no user holds them (stolen units)';
          if (e.type === 'memslot-deleted') {
            // 6.6+ frees the counts with the slot and tells every node (track_remove_region): expected, not a leak.
            const sev: Severity = this.profile.removeRegionOnDelete ? 'info' : 'error';
            const tail = this.profile.removeRegionOnDelete ? '; they are freed with the slot and every node is sent track_remove_region' : '';
            if (this.keep('B13', sev)) this.add({ class: 'B13', severity: sev, position: { event: e.seq, command: e.cmd }, as: e.as, slot: e.slot, message: `${gfns} gfn(s) of slot ${e.slot} were still tracked when it was deleted (units: ${who})${tail}` });
          } else if (e.arrays === 'carried') {
            if (this.keep('B14', 'info')) this.add({ class: 'B14', severity: 'info', position: { event: e.seq, command: e.cmd }, as: e.as, slot: e.slot, message: `the counts of ${gfns} gfn(s) moved with slot ${e.slot} to base ${hex(e.base)} (units: ${who})` });
          } else if (this.keep('B14', 'warning')) {
            this.add({ class: 'B14', severity: 'warning', position: { event: e.seq, command: e.cmd }, as: e.as, slot: e.slot, message: `the MOVE of slot ${e.slot} to base ${hex(e.base)} dropped the counts of ${gfns} gfn(s): their users lose write protection (units: ${who})` });
          }
        }
        if (e.type === 'memslot-deleted' || (e.type === 'memslot-moved' && e.arrays === 'fresh')) {
          for (const slots of this.held.values()) slots.delete(heldKey(e.as, e.slot, slot.born));
          this.lastUnits = undefined;
          this.tracked -= gfns; // a carrying MOVE takes them along
          if (e.type === 'memslot-moved') for (let i = 0; i < t.length; i++) if (t[i] !== 0) this.frames(e.as, e.base + i, -1);
        }
        break;
      }
      default:
        break;
    }
    s.apply(e);
    this.last = e;
  }

  /** The findings listed so far, in order (the list only grows): a fleet audit publishes them as they come. */
  get findingsSoFar(): readonly Finding[] {
    return this.findings;
  }

  /** Records the number of tracked gfns now, for the summary's series (the caller paces it). */
  sample(): void {
    if (this.last && this.series.at(-1)?.position.event !== this.last.seq) this.series.push({ position: { event: this.last.seq, command: this.last.cmd }, tracked: this.tracked });
  }

  finish(): AuditReport {
    this.closeDelivery();
    if (this.last) this.checkB9(this.last);
    const s = this.state ?? new PageTrackState(getProfile(this.profileName));
    const t = s.tallies;
    this.sample();
    return {
      findings: this.findings,
      summary: {
        profile: this.profileName,
        events: this.last?.seq ?? 0,
        commands: this.last?.cmd ?? 0,
        trackedOverTime: this.series,
        trackedAtEnd: this.tracked,
        balances: Object.fromEntries([...t.balances].sort(([a], [b]) => (a < b ? -1 : 1))),
        writes: { ...t.writes },
        blindWritesToTracked: this.blindTracked,
        notifications: t.notifications,
        tlbFlushes: t.tlbFlushes,
        warns: Object.fromEntries(warnKinds(this.profile).map((k) => [k, t.warns[k]])),
        topGfns: [...this.gfnEvents]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 10)
          .map(([k, n]) => [k % 2, Math.floor(k / 2), n] as const),
        findings: { ...this.bySeverity },
        findingsByClass: Object.fromEntries([...this.perClass].sort(([a], [b]) => Number(a.slice(1)) - Number(b.slice(1)))),
        classes: auditClasses(this.profile),
      },
    };
  }

  private frames(as: number, gfn: number, d: number): void {
    this.bump(this.tracked2M, gfnKey(as, Math.floor(gfn / 512)), d);
    this.bump(this.tracked1G, gfnKey(as, Math.floor(gfn / 262144)), d);
  }

  private bump(m: Map<number, number>, k: number, d: number): void {
    m.set(k, (m.get(k) ?? 0) + d);
  }

  /** The units `user` holds in one slot incarnation, by slot index (the last one looked up is cached). */
  private unitsMap(user: string, as: number, slot: number, born: number): Map<number, number> {
    const key = heldKey(as, slot, born);
    const c = this.lastUnits;
    if (c && c.key === key && c.user === user) return c.map;
    let slots = this.held.get(user);
    if (!slots) this.held.set(user, (slots = new Map()));
    let m = slots.get(key);
    if (!m) slots.set(key, (m = new Map()));
    this.lastUnits = { user, key, map: m };
    return m;
  }

  private countAt(s: PageTrackState, as: number, gfn: number): number {
    const slot = s.memslots.find(as, gfn);
    return slot ? slot.track[0]![gfn - slot.base]! : 0;
  }

  /** B5 and B7 for a new mapping. */
  private checkMapping(s: PageTrackState, as: number, level: number, gfn: number, writable: boolean, at: LogPoint): void {
    const slot = s.memslots.find(as, gfn);
    if (!slot) return;
    const frames = level === 2 ? this.tracked2M : level === 3 ? this.tracked1G : undefined;
    const worth = level === 1 ? slot.track[0]![gfn - slot.base] !== 0 : (frames!.get(gfnKey(as, Math.floor(gfn / 512 ** (level - 1)))) ?? 0) > 0;
    if (writable && worth) {
      const span = 512 ** (level - 1);
      const t = slot.track[0]!;
      for (let g = Math.max(gfn, slot.base); g < Math.min(gfn + span, slot.base + slot.npages); g++) {
        if (t[g - slot.base] !== 0) {
          if (this.keep('B5', 'error')) this.add({ class: 'B5', severity: 'error', position: at, as, slot: slot.id, gfn: g, message: `a writable level-${level} SPTE maps tracked gfn ${hex(g)} (count ${t[g - slot.base]}): guest writes to it are not intercepted` });
          break;
        }
      }
    }
    for (let l = 2; l <= level; l++) {
      const span = 512 ** (l - 1);
      const v = slot.lpage[l - 2]![Math.floor(gfn / span) - Math.floor(slot.base / span)] ?? 0;
      if (v > 0) {
        if (this.keep('B7', 'error')) this.add({ class: 'B7', severity: 'error', position: at, as, slot: slot.id, gfn, message: `a level-${level} SPTE was installed over a frame whose level-${l} disallow_lpage is ${v}` });
        break;
      }
    }
  }

  /** B9 at the end of each command: KVM's units on a gfn must equal its live non-leaf indirect shadow pages. */
  private checkB9(last: PageTrackEvent): void {
    for (const k of this.b9Dirty) {
      const sps = this.spUnits.get(k) ?? 0;
      const units = this.kvmUnits.get(k) ?? 0;
      if (sps !== units) {
        const as = k % 2;
        const gfn = Math.floor(k / 2);
        if (this.keep('B9', 'error')) this.add({ class: 'B9', severity: 'error', position: { event: last.seq, command: last.cmd }, as, gfn, user: KVM_MMU_USER, message: `KVM's accounting of gfn ${hex(gfn)} is off: ${sps} live non-leaf shadow page(s) but ${units} kvm-mmu unit(s) in the count` });
        this.spUnits.set(k, units); // report each drift once
      }
    }
    this.b9Dirty.clear();
  }

  /** B10: an emulated write must reach every registered node. */
  private closeDelivery(): void {
    const p = this.pendingNotify;
    this.pendingNotify = undefined;
    if (!p || !this.state) return;
    const missed = this.state.notifiers.nodes.filter((n) => !p.nodes.includes(n));
    if (missed.length) {
      if (this.keep('B10', 'error')) this.add({ class: 'B10', severity: 'error', position: { event: p.seq, command: p.cmd }, as: p.as, gfn: Math.floor(p.gpa / 4096), node: missed.join(','), message: `an emulated write reached ${p.nodes.length} node(s) but not ${missed.join(', ')}` });
    }
  }

  private unitsOf(user: string): number {
    let n = 0;
    for (const m of this.held.get(user)?.values() ?? []) for (const v of m.values()) if (v > 0) n += v;
    return n;
  }
}

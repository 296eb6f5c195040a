/**
 * One VM's trace turned into model commands (spec 7.3, the kernel the authority). What the kernel
 * decided and the trace shows (a shadow page created or zapped, an SPTE installed) is fed to the
 * model as such; where the model decides itself (KVM's write handler zapping on flooding or a
 * misaligned write, spec 5.4; the zap-all of a memslot change, 5.5) ingest feeds the cause (the
 * emulated write, the memslot command) and compares the model's decision with the zaps the trace
 * shows next. Every disagreement is a finding; the model is then brought to what the kernel did,
 * so the log keeps following the host.
 */
import type { Command } from '../domain/commands.js';
import { hex } from '../domain/gfn.js';
import type { KernelProfile } from '../domain/profile.js';
import { type CommandResult, PageTrackVm } from '../domain/vm.js';
import type { EventSink } from '../events/event-log.js';
import type { Origin } from '../events/types.js';
import { clip } from '../io/limits.js';
import { parseCommand } from '../script/command-schema.js';
import { storeWidth } from './insn.js';
import {
  type PagingElementLine,
  type SpLine,
  type Split64,
  decodeCr,
  decodeEmulate,
  decodeKernelSp,
  decodePageFault,
  decodePagingElement,
  decodePluginSp,
  decodeRawSp,
  decodeSetSpte,
  decodeSpteChanged,
  decodeWalk,
  isError,
} from './payloads.js';
import type { TraceRecord } from './record.js';

export type FindingKind = 'kernel-only-zap' | 'model-only-zap' | 'kernel-zap-all-unexplained' | 'kernel-created-known-page' | 'unresolved-zap' | 'command-refused';

/** A place where the model and the kernel (as traced) parted. */
export interface IngestFinding {
  readonly kind: FindingKind;
  readonly vm: string;
  readonly line: number;
  readonly ts: string;
  readonly message: string;
}

export interface VmIngestOptions {
  readonly profile: KernelProfile;
  readonly file: string;
  readonly payloads: 'kernel' | 'plugin' | 'raw';
  readonly log: EventSink;
  readonly tdp: boolean;
  readonly externalWriteTracking: boolean;
  /** Memslot commands that describe the layout (a --memslots file), applied before the first event. */
  readonly layout: readonly Command[];
  readonly onFinding: (f: IngestFinding) => void;
}

/** Why the model zapped: words for a finding, made only when one is reported (a write is the ingest hot path). */
type Cause = string | (() => string);
const said = (c: Cause | undefined): string => (typeof c === 'function' ? c() : (c ?? ''));

/** Profiles whose role bit 4 means 8-byte gptes (cr4_pae, gpte_is_8_bytes); later ones mean 4-byte. */
const ROLE_8_BYTE_BIT: ReadonlySet<string> = new Set(['linux-4.6', 'linux-4.19', 'linux-5.7', 'linux-5.16']);

/** Pages a slot made up for an unknown layout covers: one aligned 1 GiB region. */
const INFERRED_PAGES = 1 << 18;
const PFERR_WRITE = 2;

interface PendingEmulation {
  readonly record: TraceRecord;
  /** Bytes the instruction stores to memory (iced-x86; 0: none, or no bytes traced). */
  readonly width: number;
  /** The data walk (W bit): its address and the last paging element seen. */
  walk?: { addrLow: number; last?: PagingElementLine };
}

export class VmIngest {
  readonly vm: PageTrackVm;
  /** Kernel shadow page (gfn and role as printed) → model shadow page id, and back. */
  private readonly sps = new Map<string, number>();
  private readonly keyOf = new Map<number, string>();
  /** Pages the model zapped by its own decision, waiting for the kernel's prepare_zap lines. */
  private expected = new Map<number, { readonly line: number; readonly why: Cause }>();
  private expectZapAll: { line: number } | undefined;
  /** Per vCPU thread, its emulation waiting for its walks (undefined: none; entries are reused, not deleted, as a thread emulates again and again). */
  private pending = new Map<number, PendingEmulation | undefined>();
  private nextInferredSlot = [0, 0];
  readonly stats = { commands: 0, inferredSlots: 0, adoptedPages: 0, writes: 0, writesWithoutAddress: 0, skippedSpLines: 0 };
  /** The line seen last (findings name it): a record, or where a line the feed decoded is (made into one only when asked). */
  private last: Pick<TraceRecord, 'line' | 'ts'> | undefined;
  private lastAt: { text: { slice(a: number, z: number): string }; line: number; tsStart: number; tsEnd: number } | undefined;
  /** Role bit 4 is has_4_byte_gpte, and bit 18 passthrough, from ~5.18 (replacing gpte_is_8_bytes): the 6.1+ profiles. */
  private readonly has4ByteBit: boolean;

  constructor(
    readonly key: string,
    private readonly o: VmIngestOptions,
  ) {
    this.vm = new PageTrackVm({ profile: o.profile, log: o.log, tdp: o.tdp, externalWriteTracking: o.externalWriteTracking });
    this.has4ByteBit = !ROLE_8_BYTE_BIT.has(o.profile.name);
    for (const c of o.layout) {
      this.execute(c, { file: o.file });
      if (c.op === 'memslot-create') this.nextInferredSlot[c.as] = Math.max(this.nextInferredSlot[c.as]!, c.slot + 1);
    }
  }

  /** Feeds one trace record; returns whether it was a page-tracking event this ingest used. */
  see(r: TraceRecord): boolean {
    this.enter(r);
    const e = r.event;
    if (e === 'kvm_mmu_pagetable_walk' || e === 'kvm_mmu_paging_element') return this.walkStep(r);
    this.closeEmulation(r.pid);
    switch (e) {
      case 'kvm_emulate_insn':
        return this.emulate(r);
      case 'kvm_mmu_get_page':
        this.closeZapWindow();
        return this.getPage(r);
      case 'kvm_mmu_prepare_zap_page':
        return this.prepareZap(r);
      case 'kvm_mmu_zap_all_fast':
      case 'kvm_mmu_invalidate_zap_all_pages':
        return this.zapAllLine(r);
      case 'kvm_mmu_set_spte':
      case 'kvm_tdp_mmu_spte_changed':
        this.closeZapWindow();
        return this.spte(r);
      case 'tracing_mark_write':
      case 'print':
        this.closeZapWindow();
        return this.marker(r);
      case 'kvm_page_fault':
        return this.decodes(decodePageFault(r.payload));
      case 'kvm_cr':
        return this.decodes(decodeCr(r.payload));
      default:
        return false;
    }
  }

  /** The end of the trace: pending writes are fed and unconfirmed zaps reported. */
  finish(): void {
    for (const [pid, p] of [...this.pending]) if (p) this.closeEmulation(pid);
    this.closeZapWindow();
  }

  /** Decoding failures become the caller's parse errors. */
  decodeError: string | undefined;

  private decodes(d: object): boolean {
    if (!isError(d)) return true;
    this.decodeError = d.error;
    return false;
  }

  private origin(r: TraceRecord): Origin {
    return { file: this.o.file, line: r.line, ts: r.ts, cpu: r.cpu, task: clip(r.task, 256) };
  }

  private execute(c: Command, origin: Origin): CommandResult {
    this.stats.commands++;
    const res = this.vm.execute(c, origin);
    const last = this.lastLine();
    if (!res.ok && last) this.finding('command-refused', last, `the model refused ${c.op} for this line: ${res.rejection!.reason}`);
    for (const ev of res.events) {
      if (ev.type === 'sp-zapped') {
        const key = this.keyOf.get(ev.sp);
        if (key !== undefined && this.sps.get(key) === ev.sp) this.sps.delete(key);
      }
    }
    return res;
  }

  private lastLine(): Pick<TraceRecord, 'line' | 'ts'> | undefined {
    const at = this.lastAt;
    if (at) {
      this.last = { line: at.line, ts: at.text.slice(at.tsStart, at.tsEnd) };
      this.lastAt = undefined;
    }
    return this.last;
  }

  private finding(kind: FindingKind, r: Pick<TraceRecord, 'line' | 'ts'>, message: string): void {
    this.o.onFinding({ kind, vm: this.key, line: r.line, ts: r.ts, message });
  }

  private sp(r: TraceRecord): SpLine | undefined {
    const has4 = this.has4ByteBit;
    const d = this.o.payloads === 'kernel' ? decodeKernelSp(r.payload) : this.o.payloads === 'plugin' ? decodePluginSp(r.payload, has4) : decodeRawSp(r.payload, has4, has4);
    if (isError(d)) {
      this.decodeError = d.error;
      return undefined;
    }
    return d;
  }

  private static keyFor(line: SpLine): string {
    const r = line.role;
    return `${line.gfn}/${r.level}/${r.quadrant ?? '?'}/${r.smm ?? 0}/${r.gpteBytes ?? '?'}/${r.access ?? '?'}`;
  }

  /** A memslot for gfn: the layout's, else one made up (1 GiB, aligned) and marked inferred. */
  private ensureSlot(as: number, gfn: number, r: TraceRecord): void {
    if (this.vm.state.memslots.find(as, gfn)) return;
    const base = gfn - (gfn % INFERRED_PAGES);
    const id = this.nextInferredSlot[as]!++;
    this.stats.inferredSlots++;
    this.execute({ op: 'memslot-create', as, slot: id, base, npages: INFERRED_PAGES, flags: 0, uaddr: base * 4096, inferred: true }, this.origin(r));
  }

  private createSp(line: SpLine, r: TraceRecord, inferred: boolean): number | undefined {
    const as = line.role.smm ?? 0;
    this.ensureSlot(as, line.gfn!, r);
    const res = this.execute({ op: 'sp-create', as, gfn: line.gfn!, level: line.role.level, direct: false, vcpuAs: as, ...(inferred ? { inferred: true } : {}) }, this.origin(r));
    if (!res.ok) return undefined;
    const id = res.value as number;
    const key = VmIngest.keyFor(line);
    this.sps.set(key, id);
    this.keyOf.set(id, key);
    if (inferred) this.stats.adoptedPages++;
    return id;
  }

  /** Only pages with gptes are accounted (spec 5.1: !direct, and 6.x !passthrough). */
  private static accounted(line: SpLine): boolean {
    return line.role.direct === false && line.role.passthrough !== true;
  }

  private getPage(r: TraceRecord): boolean {
    const line = this.sp(r);
    if (!line) return false;
    if (line.gfn === undefined || !VmIngest.accounted(line)) return true; // direct/TDP pages: no page-track effect
    const id = this.sps.get(VmIngest.keyFor(line));
    if (line.created === true) {
      if (id !== undefined) this.finding('kernel-created-known-page', r, `the kernel created shadow page gfn ${hex(line.gfn)} level ${line.role.level}, which the model already holds as sp ${id}; taken as a reuse`);
      else {
        this.createSp(line, r, false);
        return true;
      }
    }
    // existing (or the first plugin generation, which does not say): a hit clears the flooding count.
    if (id === undefined) this.createSp(line, r, line.created === undefined ? false : true);
    else this.execute({ op: 'sp-use', sp: id }, this.origin(r));
    return true;
  }

  private prepareZap(r: TraceRecord): boolean {
    const line = this.sp(r);
    if (!line) return false;
    if (!VmIngest.accounted(line) || line.role.invalid === true) return true; // direct, or already unaccounted
    let key: string | undefined;
    if (line.gfn !== undefined) key = VmIngest.keyFor(line);
    else {
      // The kvm plugin prints no gfn for prepare_zap: match by role, if exactly one live page has it.
      const suffix = VmIngest.keyFor({ ...line, gfn: 0 }).slice(1);
      const matches = [...this.sps.keys(), ...[...this.expected.keys()].map((id) => this.keyOf.get(id) ?? '')].filter((k) => k.endsWith(suffix));
      if (matches.length !== 1) {
        this.finding('unresolved-zap', r, `a prepare_zap line without a gfn (trace-cmd's kvm plugin) matches ${matches.length} shadow pages; use trace-cmd report -R for exact zaps`);
        return true;
      }
      key = matches[0];
    }
    const expectedId = [...this.expected.keys()].find((id) => this.keyOf.get(id) === key);
    if (expectedId !== undefined) {
      this.expected.delete(expectedId); // the model decided this zap too
      return true;
    }
    let id = this.sps.get(key!);
    if (id === undefined) {
      if (line.gfn === undefined) return true;
      id = this.createSp(line, r, true); // first seen being zapped: it existed before the trace
      if (id === undefined) return true;
    } else if (this.zapCause) {
      this.finding('kernel-only-zap', r, `the kernel zapped shadow page gfn ${hex(line.gfn ?? 0)} level ${line.role.level} (${said(this.zapCause)}); the model did not`);
    }
    this.execute({ op: 'sp-zap', sp: id }, this.origin(r));
    return true;
  }

  /** What the model's pending decision was, for messages; set while a cause window is open. */
  private zapCause: Cause | undefined;

  /**
   * Runs a command whose zaps the model decides (a write, a memslot change, a zap-all): they
   * become expectations that the kernel's next prepare_zap lines must meet.
   */
  private runDeciding(c: Command, r: TraceRecord, why: Cause): CommandResult {
    const res = this.execute(c, this.origin(r));
    for (const ev of res.events) if (ev.type === 'sp-zapped' && this.keyOf.has(ev.sp)) this.expected.set(ev.sp, { line: r.line, why });
    this.zapCause = why;
    return res;
  }

  /** Zaps the model decided that the kernel's next lines did not show: findings. */
  private closeZapWindow(): void {
    if (this.expected.size === 0 && this.zapCause === undefined && this.expectZapAll === undefined) return;
    const r = this.lastLine();
    if (this.expected.size > 0) {
      for (const [id, e] of this.expected) {
        if (r) this.o.onFinding({ kind: 'model-only-zap', vm: this.key, line: e.line, ts: r.ts, message: `the model zapped sp ${id} (gfn/level/quadrant/smm/gpte/access ${this.keyOf.get(id)}) for ${said(e.why)}; the kernel's trace shows no zap of it` });
      }
      this.expected.clear();
    }
    this.zapCause = undefined;
    this.expectZapAll = undefined;
  }

  private zapAllLine(r: TraceRecord): boolean {
    if (this.expectZapAll) {
      this.expectZapAll = undefined; // the memslot change the model ran zapped everything, as the kernel does
      return true;
    }
    this.closeZapWindow();
    this.runDeciding({ op: 'zap-all' }, r, 'a zap-all the trace shows (no memslot change was given to explain it)');
    this.finding('kernel-zap-all-unexplained', r, `the kernel zapped all shadow pages (${r.event}); no memslot command in the trace explains it, so the model zapped all too`);
    return true;
  }

  private emulate(r: TraceRecord): boolean {
    this.closeZapWindow();
    const insn = decodeEmulate(r.payload, this.o.payloads);
    if (isError(insn)) {
      this.decodeError = insn.error;
      return false;
    }
    if (!insn.failed) this.pending.set(r.pid, { record: r, width: storeWidth(insn) });
    return true;
  }

  /**
   * A kvm_emulate_insn line whose payload the feed decoded (`failed`, and the store's width from
   * storeWidth): what see() does with it, without decoding the payload again (the hot path).
   */
  emulated(r: TraceRecord, failed: boolean, width: number): void {
    this.enter(r);
    this.closeEmulation(r.pid);
    this.closeZapWindow();
    if (!failed) this.pending.set(r.pid, { record: r, width });
  }

  /** A record is the line seen last. */
  private enter(r: TraceRecord): void {
    this.last = r;
    this.lastAt = undefined;
  }

  /**
   * A kernel-format walk (`walk`) or paging-element line the feed decoded, at `tsStart..tsEnd` of
   * `text`: what walkStep does with its record, without one (the hot path: most lines of an
   * emulating guest's trace). `high`/`low`/`small`: gva or gpte halves, pferr or level.
   */
  walkLine(walk: boolean, pid: number, high: number, low: number, small: number, line: number, text: { slice(a: number, z: number): string }, tsStart: number, tsEnd: number): void {
    if (this.lastAt) {
      this.lastAt.text = text;
      this.lastAt.line = line;
      this.lastAt.tsStart = tsStart;
      this.lastAt.tsEnd = tsEnd;
    } else this.lastAt = { text, line, tsStart, tsEnd };
    if (walk) this.walked(pid, low, small);
    else this.element(pid, { pte: { high, low }, level: small });
  }

  /** The emulator's data walk (the W bit of pferr) starts: its gva's low 32 bits are the offset the last level keeps. */
  private walked(pid: number, addrLow: number, pferr: number): void {
    const p = this.pending.get(pid);
    if (p && (pferr & PFERR_WRITE) !== 0) p.walk = { addrLow };
  }

  /** A level of that walk: the last one seen gives the gpa. */
  private element(pid: number, el: PagingElementLine): void {
    const p = this.pending.get(pid);
    if (p?.walk) p.walk.last = el;
  }

  private walkStep(r: TraceRecord): boolean {
    if (r.event === 'kvm_mmu_pagetable_walk') {
      const w = decodeWalk(r.payload);
      if (isError(w)) {
        this.decodeError = w.error;
        return false;
      }
      this.walked(r.pid, w.addrLow, w.pferr);
      return true;
    }
    const el = decodePagingElement(r.payload);
    if (isError(el)) {
      this.decodeError = el.error;
      return false;
    }
    this.element(r.pid, el);
    return true;
  }

  /**
   * An emulated instruction's walks are over: when it stores to memory, the page-track write path
   * runs (emulator_write_phys, spec 5.3) with the store's width (iced-x86) at the walked gpa.
   */
  private closeEmulation(pid: number): void {
    const p = this.pending.get(pid);
    if (!p) return;
    this.pending.set(pid, undefined);
    const width = p.width;
    if (width === 0) return;
    const gpa = p.walk ? gpaOf(p.walk.addrLow, p.walk.last) : undefined;
    if (gpa === undefined) {
      this.stats.writesWithoutAddress++;
      return;
    }
    this.stats.writes++;
    const line = p.record.line;
    this.runDeciding({ op: 'write', as: 0, gpa, bytes: width, via: 'emulator', hostLevel: 1 }, p.record, () => `the emulated ${width}-byte write at gpa ${hex(gpa)} (line ${line})`);
  }

  private spte(r: TraceRecord): boolean {
    if (r.event === 'kvm_mmu_set_spte') {
      const d = decodeSetSpte(r.payload);
      if (isError(d)) {
        this.decodeError = d.error;
        return false;
      }
      this.ensureSlot(0, d.gfn, r);
      this.execute({ op: 'spte-set', as: 0, gfn: d.gfn, level: d.level, writable: d.writable }, this.origin(r));
      return true;
    }
    const d = decodeSpteChanged(r.payload);
    if (isError(d)) {
      this.decodeError = d.error;
      return false;
    }
    if (d.present && d.level <= 3) {
      this.ensureSlot(d.as, d.gfn, r);
      this.execute({ op: 'spte-set', as: d.as, gfn: d.gfn, level: d.level, writable: d.writable }, this.origin(r));
    }
    return true;
  }

  /**
   * trace_marker text: `pagetrack-cmd {json}` runs that command here (how a recorder puts the
   * memslot changes the kernel does not trace at their exact place); anything else is a marker.
   */
  private marker(r: TraceRecord): boolean {
    // raw (-R) prints "ip=... buf=TEXT"; perf and the kernel print TEXT
    const text = r.payload.replace(/^(?:ip=\S+\s+)?buf=/, '').trim();
    const m = /^pagetrack-cmd (\{.*\})$/.exec(text);
    if (!m) {
      this.execute({ op: 'mark', text: clip(text, 1024) }, this.origin(r));
      return true;
    }
    let value: unknown;
    try {
      value = JSON.parse(m[1]!);
    } catch {
      this.decodeError = 'pagetrack-cmd: a JSON command object';
      return false;
    }
    const parsed = parseCommand(value);
    if (!parsed.ok) {
      this.decodeError = `pagetrack-cmd: ${parsed.field ? `field '${parsed.field}': ` : ''}${parsed.reason}`;
      return false;
    }
    const c = parsed.command;
    const changesSlots = c.op === 'memslot-delete' || c.op === 'memslot-move';
    const res = changesSlots ? this.runDeciding(c, r, `${c.op} of slot ${c.slot} (kvm_arch_flush_shadow_memslot)`) : this.execute(c, this.origin(r));
    if (changesSlots && res.events.some((e) => e.type === 'mmu-zapped-all')) this.expectZapAll = { line: r.line };
    return true;
  }
}

/**
 * The guest-physical address a walk ends at (walk_addr_generic's last kvm_mmu_paging_element):
 * a level-1 PTE maps 4 KiB; a level-2 or level-3 entry with PS (bit 7) maps 2 MiB or 1 GiB.
 * The frame is bits 12-51 of the gpte; the offset the low bits of the gva. Both come as exact
 * 32-bit halves, so the arithmetic stays in numbers (no BigInt per write).
 */
export function gpaOf(addrLow: number, last: { readonly pte: Split64; readonly level: number } | undefined): number | undefined {
  if (!last || (last.pte.low & 1) === 0) return undefined;
  const ps = (last.pte.low & 0x80) !== 0;
  const shift = last.level === 1 ? 12 : ps && last.level === 2 ? 21 : ps && last.level === 3 ? 30 : 0;
  if (shift === 0) return undefined;
  const mask = 2 ** shift - 1;
  const frameLow = (last.pte.low & ~mask) >>> 0; // bits shift..31
  const frameHigh = last.pte.high & 0xfffff; // bits 32..51
  return frameHigh * 2 ** 32 + frameLow + (addrLow & mask);
}

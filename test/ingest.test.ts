/**
 * Issue 13: traces in. The spec's verbatim sample lines (spec 7.4) as fixtures with what they
 * mean; one scenario printed in every format ingest reads, all giving the same log; the
 * model-vs-kernel findings; round-trip properties (print with the format string, read back) and
 * fuzzing (any line: an error or a skip, never a crash).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Auditor } from '../src/audit/auditor.js';
import { LINUX_4_19, LINUX_6_9, getProfile } from '../src/domain/profile.js';
import { parsePerfScriptLine } from '../src/ingest/formats/perf-script.js';
import { parseTraceCmdLine } from '../src/ingest/formats/trace-cmd.js';
import { parseTracefsLine } from '../src/ingest/formats/tracefs.js';
import { parseLayout } from '../src/ingest/formats/memslot-layout.js';
import { type FormatName, detectFormat, ingest } from '../src/ingest/ingest.js';
import { memoryWrite } from '../src/ingest/insn.js';
import { decodeEmulate, decodeKernelSp, decodePageFault, decodePluginSp, decodeRawSp, decodeSetSpte, decodeSpteChanged, isError } from '../src/ingest/payloads.js';
import { readAllEvents } from '../src/log/reader.js';
import { type SpFields, kernelSp, perfLine, pluginSp, rawSp, roleWord, traceCmdLine, tracefsLine } from './trace-printers.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-ingest-'));
});
let n = 0;
const fresh = (name: string) => join(dir, `${n++}-${name}`);

describe('spec 7.4: the verbatim sample lines', () => {
  it('tracefs kernel format: kvm_mmu_prepare_zap_page of a direct TDP root', () => {
    const p = parseTracefsLine('qemu-system-x86-8397    [002] .....  1404.389384: kvm_mmu_prepare_zap_page: sp gen 0 gfn 0 l3 8-byte q0 direct wux nxe ad root 0 sync', 7);
    expect(p).toEqual({ kind: 'record', record: { line: 7, task: 'qemu-system-x86', pid: 8397, cpu: 2, ts: '1404.389384', event: 'kvm_mmu_prepare_zap_page', payload: 'sp gen 0 gfn 0 l3 8-byte q0 direct wux nxe ad root 0 sync' } });
    expect(decodeKernelSp('sp gen 0 gfn 0 l3 8-byte q0 direct wux nxe ad root 0 sync')).toEqual({ gfn: 0, role: { level: 3, quadrant: 0, direct: true, access: 7, invalid: false, gpteBytes: 8 }, rootCount: 0, unsync: false });
  });

  it('kvm_tdp_mmu_spte_changed, kvm_emulate_insn (kernel), kvm_page_fault new and old, kvm_mmu_set_spte', () => {
    expect(decodeSpteChanged('as id 0 gfn 0 level 4 old_spte 2c583e907 new_spte 0')).toEqual({ as: 0, gfn: 0, level: 4, writable: false, present: false });
    expect(decodeEmulate('0:ffffffff810551b8:0f 00 d8 (prot64)', 'kernel')).toEqual({ rip: 0xffffffff810551b8, bytes: Uint8Array.from([0x0f, 0x00, 0xd8]), mode: 'prot64', failed: false });
    expect(parseTracefsLine('CPU 5/KVM-4145    [002] .....    86.581928: kvm_page_fault: vcpu 5 rip 0x7f08a4602116 address 0x0000000113600002 error_code 0x181', 1)).toMatchObject({ record: { task: 'CPU 5/KVM', pid: 4145, cpu: 2, ts: '86.581928' } });
    expect(decodePageFault('vcpu 5 rip 0x7f08a4602116 address 0x0000000113600002 error_code 0x181')).toEqual({ vcpu: 5, rip: 0x7f08a4602116, address: 0x113600002, errorCode: 0x181 });
    expect(decodePageFault('address fd000 error_code 14')).toEqual({ address: 0xfd000, errorCode: 0x14 });
    expect(decodeEmulate('0:fd11d: (prot32)', 'kernel')).toEqual({ rip: 0xfd11d, bytes: new Uint8Array(0), mode: 'prot32', failed: false });
    expect(decodeEmulate('0:fd11d: (prot32) failed', 'kernel')).toMatchObject({ failed: true });
    expect(decodeSetSpte('gfn 800 spte 100b4a00ea7 (rwxu) level 2 at 10052fa5020')).toEqual({ gfn: 0x800, level: 2, writable: true });
  });

  it('trace-cmd kvm plugin: new direct root, and the set_spte line', () => {
    const p = parseTraceCmdLine('CPU 0/KVM-1018505 [025] 57120.030891: kvm_mmu_get_page:     new sp gfn 0 4 q0 direct wux pae !nxe !wp root 0 sync', 3);
    expect(p).toMatchObject({ kind: 'record', record: { task: 'CPU 0/KVM', pid: 1018505, cpu: 25, ts: '57120.030891', event: 'kvm_mmu_get_page' } });
    const payload = (p as { record: { payload: string } }).record.payload;
    // "pae" is bit 4: on a 5.x kernel gpte_is_8_bytes (8 bytes), on 6.x has_4_byte_gpte (4 bytes)
    expect(decodePluginSp(payload.trim(), false)).toEqual({ gfn: 0, role: { level: 4, quadrant: 0, direct: true, access: 7, invalid: false, smm: 0, gpteBytes: 8 }, created: true, rootCount: 0, unsync: false });
    expect(decodePluginSp(payload.trim(), true)).toMatchObject({ role: { gpteBytes: 4 } });
    expect(decodeSetSpte('gfn fffff spte 8be2171025 (r-xu) level 1 at 8a53b01ff8')).toEqual({ gfn: 0xfffff, level: 1, writable: false });
  });

  it('kernel-format get_page with the new flag', () => {
    expect(decodeKernelSp('sp gen 0 gfn 14b600 l1 8-byte q0 direct wux nxe ad root 0 sync new')).toMatchObject({ gfn: 0x14b600, role: { level: 1, direct: true }, created: true });
  });
});

/** One scenario: a root, three 8-byte stores into it (the third floods), the kernel's zap. */
interface Step {
  event: string;
  kernel: string;
  plugin?: string;
  raw?: string;
}
const ROOT_SP: SpFields = { gen: 0, gfn: 1, level: 4, gpteBytes: 8, quadrant: 0, direct: false, access: 7, invalid: false, nxe: true, ad: true, rootCount: 0, unsync: false, smm: 0 };
function floodSteps(): Step[] {
  const store = (gva: number): Step[] => [
    { event: 'kvm_emulate_insn', kernel: '0:2000:48 89 18 (prot64)', plugin: '0:2000: 48 89 18', raw: 'rip=0x2000 csbase=0x0 len=3 insn=ARRAY[48, 89, 18, 00, 00] flags=9 failed=0' },
    { event: 'kvm_mmu_pagetable_walk', kernel: `addr ${gva.toString(16)} pferr 2 W`, raw: `addr=${gva} pferr=2` },
    { event: 'kvm_mmu_paging_element', kernel: 'pte 2003 level 4', raw: 'pte=8195 level=4' },
    { event: 'kvm_mmu_paging_element', kernel: 'pte 3003 level 3', raw: 'pte=12291 level=3' },
    { event: 'kvm_mmu_paging_element', kernel: 'pte 83 level 2', raw: 'pte=131 level=2' },
  ];
  return [
    { event: 'tracing_mark_write', kernel: 'pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":512}', raw: 'ip=0xffffffff8100 buf=pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":512}' },
    { event: 'kvm_mmu_get_page', kernel: kernelSp({ ...ROOT_SP, created: true }, '6.x'), plugin: pluginSp({ ...ROOT_SP, created: true }, true, true), raw: rawSp({ ...ROOT_SP, created: true }, true) },
    ...store(0x1008),
    ...store(0x1010),
    ...store(0x1018),
    { event: 'kvm_mmu_prepare_zap_page', kernel: kernelSp({ ...ROOT_SP, rootCount: 1 }, '6.x'), plugin: pluginSp({ ...ROOT_SP, rootCount: 1 }, true, false), raw: rawSp({ ...ROOT_SP, rootCount: 1 }, true) },
    { event: 'kvm_exit', kernel: 'reason HLT rip 0x2003 info 0 0' },
  ];
}

function print(steps: Step[], format: FormatName, pid = 500): string {
  const lines = format === 'tracefs' ? ['# tracer: nop', '#', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION'] : format.startsWith('trace-cmd') ? ['cpus=2'] : [];
  steps.forEach((s, i) => {
    const ts = `100.${String(i + 1).padStart(6, '0')}`;
    const payload = format === 'trace-cmd' ? (s.plugin ?? s.kernel) : format === 'trace-cmd-raw' ? (s.raw ?? s.kernel) : s.kernel;
    if (format === 'tracefs') lines.push(tracefsLine('guest-runner', pid, 0, ts, s.event, payload));
    else if (format === 'perf-script') lines.push(perfLine('guest-runner', pid, 0, ts, s.event.startsWith('kvm_mmu') ? 'kvmmmu' : s.event === 'tracing_mark_write' ? 'ftrace' : 'kvm', s.event === 'tracing_mark_write' ? 'print' : s.event, payload));
    else lines.push(traceCmdLine('guest-runner', pid, 0, ts, s.event, payload));
  });
  return lines.join('\n') + '\n';
}

const commandsOf = async (log: string) => (await readAllEvents(log)).events.filter((e) => e.type === 'command').map((e) => ({ ...(e as unknown as { command: object }).command }));

describe('one scenario in every format gives the same log', () => {
  for (const format of ['tracefs', 'trace-cmd', 'trace-cmd-raw', 'perf-script'] as const) {
    it(`${format}: detected, three stores fed to the model, its flooding zap confirmed by the kernel's line; no finding`, async () => {
      const trace = fresh(`flood.${format}`);
      writeFileSync(trace, print(floodSteps(), format));
      const log = fresh('flood.log.ndjson');
      const r = await ingest({ profile: LINUX_6_9, input: trace, out: () => log, created: '2026-01-01T00:00:00.000Z' });
      expect(r.format).toBe(format);
      expect([r.errorCount, r.errors]).toEqual([0, []]);
      expect(r.findingCount).toBe(0);
      expect(r.skipped).toEqual({ kvm_exit: 1 });
      expect(r.vms.map((v) => [v.vm, v.task, v.writes, v.inferredSlots, v.adoptedPages])).toEqual([['500', 'guest-runner', 3, 0, 0]]);
      expect(await commandsOf(log)).toEqual([
        { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 512, flags: 0, uaddr: 0 },
        { op: 'sp-create', as: 0, gfn: 1, level: 4, direct: false, vcpuAs: 0 },
        { op: 'write', as: 0, gpa: 0x1008, bytes: 8, via: 'emulator', hostLevel: 1 },
        { op: 'write', as: 0, gpa: 0x1010, bytes: 8, via: 'emulator', hostLevel: 1 },
        { op: 'write', as: 0, gpa: 0x1018, bytes: 8, via: 'emulator', hostLevel: 1 },
      ]);
      // every command names its trace line, timestamp, CPU and task
      const cmd = (await readAllEvents(log)).events.find((e) => e.type === 'command' && e.command.op === 'sp-create')!;
      expect(cmd).toMatchObject({ file: trace, line: format === 'tracefs' ? 5 : format === 'perf-script' ? 2 : 3, ts: '100.000002', cpu: 0, task: 'guest-runner' });
    });
  }

  it('gzip, zstd and standard input are read as streams: the same report', async () => {
    const text = print(floodSteps(), 'tracefs');
    const plain = fresh('f.trace');
    writeFileSync(plain, text);
    const gz = fresh('f.trace.gz');
    writeFileSync(gz, gzipSync(text));
    const base = await ingest({ profile: LINUX_6_9, input: plain, out: () => fresh('a.log') });
    const viaGz = await ingest({ profile: LINUX_6_9, input: gz, out: () => fresh('b.log') });
    expect([viaGz.compression, viaGz.used, viaGz.findingCount]).toEqual(['gzip', base.used, 0]);
    const zstd = spawnSync('zstd', ['-q', '-f', plain, '-o', `${plain}.zst`]);
    if (zstd.error) console.log(`zstd case skipped: the zstd command is not installed (${zstd.error.message})`);
    else {
      const viaZst = await ingest({ profile: LINUX_6_9, input: `${plain}.zst`, out: () => fresh('c.log') });
      expect([viaZst.compression, viaZst.used]).toEqual(['zstd', base.used]);
    }
    const log = fresh('stdin.log.ndjson');
    const r = spawnSync(process.execPath, [BIN, 'ingest', '-', '--kernel', '6.18', '--out', log, '--json'], { input: gzipSync(text), encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ profile: 'linux-6.9', input: '-', compression: 'gzip', used: base.used, findingCount: 0 });
  });
});

describe('decided by the kernel or by the model: every disagreement is a finding', () => {
  it('a zap the model did not decide (kernel-only) and one the kernel did not show (model-only), each naming its line', async () => {
    const steps = floodSteps();
    const noKernelZap = steps.filter((s) => s.event !== 'kvm_mmu_prepare_zap_page');
    const t1 = fresh('model-only.trace');
    writeFileSync(t1, print(noKernelZap, 'tracefs'));
    const r1 = await ingest({ profile: LINUX_6_9, input: t1, out: () => fresh('m.log') });
    expect(r1.findings.map((f) => [f.kind, f.line])).toEqual([['model-only-zap', 16]]);
    expect(r1.findings[0]!.message).toContain('for the emulated 8-byte write at gpa 0x1018 (line 16)');
    // only two stores, then the kernel zaps anyway: the kernel decided something the model did not
    const early = [...steps.slice(0, 12), steps.at(-2)!];
    const t2 = fresh('kernel-only.trace');
    writeFileSync(t2, print(early, 'tracefs'));
    const r2 = await ingest({ profile: LINUX_6_9, input: t2, out: () => fresh('k.log') });
    expect(r2.findings.map((f) => [f.kind, f.line])).toEqual([['kernel-only-zap', 16]]);
    expect(r2.findings[0]!.message).toBe('the kernel zapped shadow page gfn 0x1 level 4 (the emulated 8-byte write at gpa 0x1010 (line 11)); the model did not');
  });

  it('pages first seen in use or being zapped are adopted as pre-existing, so the audit reports no underflow the host never had', async () => {
    const t = fresh('late.trace');
    writeFileSync(t, print([{ event: 'kvm_mmu_get_page', kernel: kernelSp({ ...ROOT_SP, created: false }, '6.x') }, { event: 'kvm_mmu_prepare_zap_page', kernel: kernelSp({ ...ROOT_SP, gfn: 7 }, '6.x') }], 'tracefs'));
    const log = fresh('late.log.ndjson');
    const r = await ingest({ profile: LINUX_6_9, input: t, out: () => log });
    expect(r.vms[0]).toMatchObject({ inferredSlots: 1, adoptedPages: 2 });
    const cmds = await commandsOf(log);
    expect(cmds).toEqual([
      { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 262144, flags: 0, uaddr: 0, inferred: true },
      { op: 'sp-create', as: 0, gfn: 1, level: 4, direct: false, vcpuAs: 0, inferred: true },
      { op: 'sp-create', as: 0, gfn: 7, level: 4, direct: false, vcpuAs: 0, inferred: true },
      { op: 'sp-zap', sp: 2 },
    ]);
    const a = new Auditor('linux-6.9');
    for (const e of (await readAllEvents(log)).events) a.see(e);
    expect(a.finish().findings).toEqual([]);
  });

  it('a writable SPTE installed over a tracked gfn (spec 7.3) becomes audit B5, naming the trace line', async () => {
    const t = fresh('b5.trace');
    writeFileSync(
      t,
      print(
        [
          { event: 'kvm_mmu_get_page', kernel: kernelSp({ ...ROOT_SP, gfn: 0x40, level: 2, created: true }, '6.x') },
          { event: 'kvm_mmu_set_spte', kernel: 'gfn 40 spte 8be2171027 (rwxu) level 1 at 8a53b01ff8' },
        ],
        'tracefs',
      ),
    );
    const log = fresh('b5.log.ndjson');
    await ingest({ profile: LINUX_6_9, input: t, out: () => log });
    const audit = spawnSync(process.execPath, [BIN, 'audit', log, '--json'], { encoding: 'utf8' });
    const b5 = JSON.parse(audit.stdout).findings.filter((f: { class: string }) => f.class === 'B5');
    expect(b5).toEqual([expect.objectContaining({ class: 'B5', gfn: 0x40, trace: { file: t, line: 5, ts: '100.000002' } })]);
  });
});

describe('layouts, several VMs, errors, timestamps', () => {
  it('QEMU kvm_set_user_memory lines (all three shapes) become memslot commands; a failed call changes nothing', () => {
    const text = [
      '1234@1700000000.000001:kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x80000000 ua=0x7f0000000000 ret=0',
      'kvm_set_user_memory AddrSpace#1 Slot#0 flags=0x0 gpa=0x0 size=0x10000 ua=0x7f1000000000 ret=0',
      'kvm_set_user_memory AddrSpace#0 Slot#1 flags=0x2 gpa=0xfffc0000 size=0x40000 ua=0x7f2000000000 guest_memfd=-1 guest_memfd_offset=0x0 ret=0',
      'kvm_set_user_memory AddrSpace#0 Slot#1 flags=0x2 gpa=0xfffc0000 size=0x0 ua=0x7f2000000000 ret=0',
      'kvm_set_user_memory AddrSpace#0 Slot#5 flags=0x0 gpa=0x0 size=0x1000 ua=0x0 ret=-17',
    ].join('\n');
    expect(parseLayout(text, 'qemu.log')).toEqual([
      { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x80000, flags: 0, uaddr: 0x7f0000000000 },
      { op: 'memslot-create', as: 1, slot: 0, base: 0, npages: 16, flags: 0, uaddr: 0x7f1000000000 },
      { op: 'memslot-create', as: 0, slot: 1, base: 0xfffc0, npages: 0x40, flags: 2, uaddr: 0x7f2000000000 },
      { op: 'memslot-delete', as: 0, slot: 1 },
    ]);
    expect(() => parseLayout('hello', 'x.txt')).toThrow('x.txt:1: expected a memslot command (JSON) or QEMU\'s "kvm_set_user_memory [AddrSpace#A ]Slot#S flags=0x.. gpa=0x.. size=0x.. ua=0x.. ret=N"');
  });

  it('two VMs become two logs; a page-tracking line that does not parse is an error with line, column and expected shape, and the ingest goes on', async () => {
    const a = print(floodSteps(), 'tracefs', 500).split('\n');
    const b = print(floodSteps(), 'tracefs', 600).split('\n').slice(3);
    const bad = tracefsLine('guest-runner', 500, 0, '200.000001', 'kvm_mmu_get_page', 'sp gen zz gfn');
    const t = fresh('two.trace');
    writeFileSync(t, [...a.slice(0, -1), ...b.slice(0, -1), bad, 'garbage line'].join('\n') + '\n');
    const base = fresh('two.log.ndjson');
    const r = spawnSync(process.execPath, [BIN, 'ingest', t, '--kernel', '6.18.44', '--out', base, '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.vms.map((v: { vm: string; log: string }) => [v.vm, v.log])).toEqual([
      ['500', base],
      ['600', base.replace('.log.ndjson', '.vm600.log.ndjson')],
    ]);
    expect(j.errorCount).toBe(1);
    expect(j.errors[0]).toMatchObject({ line: 42, column: bad.indexOf('sp gen') + 1 });
    expect(j.errors[0].expected).toMatch(/^KVM_MMU_PAGE_PRINTK: "sp \[gen G \]gfn X/);
    expect(j.skipped['(unrecognised line)']).toBe(1);
  });

  it('t<SECONDS> positions: state, step and history accept trace timestamps', async () => {
    const t = fresh('ts.trace');
    writeFileSync(t, print(floodSteps(), 'tracefs'));
    const log = fresh('ts.log.ndjson');
    await ingest({ profile: LINUX_6_9, input: t, out: () => log });
    const s = JSON.parse(spawnSync(process.execPath, [BIN, 'state', log, '--at', 't100.000012', '--json'], { encoding: 'utf8' }).stdout);
    expect(s.position).toMatchObject({ command: 4 }); // the second store, at line 11 (t100.000008) is the last command at or before .000012
    expect(s.shadowPages).toEqual([{ sp: 1, as: 0, gfn: 1, level: 4, direct: false, flood: 2 }]);
    const h = spawnSync(process.execPath, [BIN, 'history', log, '--gfn', '1'], { encoding: 'utf8' }).stdout;
    expect(h).toContain('c5 write (trace line 16, t100.000013)');
    const none = spawnSync(process.execPath, [BIN, 'state', log, '--at', 't99'], { encoding: 'utf8' });
    expect(none.stderr.trim()).toBe(`pagetrack: t99 is before the first timestamped command of ${log}`);
  });
});

describe('x86 stores decoded with iced-x86', () => {
  it.each([
    [[0x88, 0x18], 1, false],
    [[0x66, 0x89, 0x18], 2, false],
    [[0x89, 0x18], 4, false],
    [[0x48, 0x89, 0x18], 8, false],
    [[0xf0, 0x48, 0x83, 0x00, 0x01], 8, true],
    [[0x48, 0x8b, 0x18], 0, false],
  ])('%j writes %s bytes (rmw %s)', (bytes, width, rmw) => {
    expect(memoryWrite(Uint8Array.from(bytes))).toMatchObject({ bytes: width, rmw });
  });
});

describe('round trips and fuzzing', () => {
  const spArb = fc.record({
    gen: fc.nat(255),
    gfn: fc.nat(2 ** 40 - 1),
    level: fc.integer({ min: 1, max: 5 }),
    gpteBytes: fc.constantFrom(4 as const, 8 as const),
    quadrant: fc.nat(3),
    direct: fc.boolean(),
    access: fc.nat(7),
    invalid: fc.boolean(),
    nxe: fc.boolean(),
    ad: fc.boolean(),
    rootCount: fc.nat(1000),
    unsync: fc.boolean(),
    smm: fc.nat(1),
    created: fc.option(fc.boolean(), { nil: undefined }),
  }).map((f) => (f.created === undefined ? (({ created: _c, ...rest }) => rest)(f) : f) as SpFields);

  it('KVM_MMU_PAGE_PRINTK (4.6, 4.19, 4.20-5.2 without gen, 5.9+) printed and read back', () => {
    fc.assert(
      fc.property(spArb, fc.constantFrom('4.6' as const, '4.19' as const, '5.0' as const, '6.x' as const), (f, v) => {
        const d = decodeKernelSp(kernelSp(f, v));
        expect(isError(d)).toBe(false);
        expect(d).toEqual({
          gfn: f.gfn,
          role: { level: f.level, quadrant: f.quadrant, direct: f.direct, access: f.access, invalid: f.invalid, ...(v === '6.x' || f.gpteBytes === 8 ? { gpteBytes: f.gpteBytes } : v === '4.19' || v === '5.0' ? { gpteBytes: 4 } : {}) },
          ...(f.created !== undefined ? { created: f.created } : {}),
          rootCount: f.rootCount,
          unsync: f.unsync,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('the kvm plugin (current) and raw -R printed and read back, with the role word decoded per kernel generation', () => {
    fc.assert(
      fc.property(spArb, fc.boolean(), (f, has4) => {
        const withCreated = { ...f, created: f.created ?? true };
        expect(decodePluginSp(pluginSp(withCreated, has4, true), has4)).toEqual({ gfn: f.gfn, role: { level: f.level, quadrant: f.quadrant, direct: f.direct, access: f.access, invalid: f.invalid, smm: f.smm, gpteBytes: f.gpteBytes }, created: withCreated.created, rootCount: f.rootCount, unsync: f.unsync });
        const raw = decodeRawSp(rawSp(f, has4), has4, has4);
        expect(raw).toMatchObject({ gfn: f.gfn, role: { level: f.level, quadrant: f.quadrant, direct: f.direct, access: f.access, invalid: f.invalid, smm: f.smm, gpteBytes: f.gpteBytes }, rootCount: f.rootCount });
        expect(roleWord(f, has4)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });

  it('line headers of every format printed and read back (tasks with spaces and dashes, any pid, cpu, timestamp)', () => {
    const task = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 /:._-]{0,14}[A-Za-z0-9]$/);
    fc.assert(
      fc.property(task, fc.integer({ min: 1, max: 4194304 }), fc.nat(511), fc.tuple(fc.nat(999999), fc.nat(999999)), (t, pid, cpu, [s, us]) => {
        const ts = `${s}.${String(us).padStart(6, '0')}`;
        const want = { task: t, pid, cpu, ts, event: 'kvm_cr', payload: 'cr_write 3 = 0x1000' };
        expect(parseTracefsLine(tracefsLine(t, pid, cpu, ts, 'kvm_cr', 'cr_write 3 = 0x1000'), 1)).toEqual({ kind: 'record', record: { line: 1, ...want } });
        expect(parseTraceCmdLine(traceCmdLine(t, pid, cpu, ts, 'kvm_cr', 'cr_write 3 = 0x1000'), 1)).toEqual({ kind: 'record', record: { line: 1, ...want } });
        expect(parsePerfScriptLine(perfLine(t, pid, cpu, ts, 'kvm', 'kvm_cr', 'cr_write 3 = 0x1000'), 1)).toEqual({ kind: 'record', record: { line: 1, ...want } });
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz: any line in any format gives a record, a skip or an error with a column — never a crash — and ingest of garbage reports it', async () => {
    const junk = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('x-1 [0] 1.1: kvm_mmu_get_page: sp gen', ' t-1 [000] ..... 5.5: kvm_emulate_insn: zz', 'a 1 [0] 1.0: kvmmmu:kvm_mmu_get_page: ???'));
    fc.assert(
      fc.property(junk, (text) => {
        for (const parse of [parseTracefsLine, parseTraceCmdLine, parsePerfScriptLine]) {
          const p = parse(text, 1);
          if (p.kind === 'error') expect(p.column).toBeGreaterThanOrEqual(1);
        }
        for (const d of [decodeKernelSp(text), decodePluginSp(text, true), decodeRawSp(text, true, true), decodeEmulate(text, 'kernel'), decodeEmulate(text, 'raw'), decodeSetSpte(text), decodePageFault(text)]) {
          if (isError(d)) expect(d.error.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
    const lines = fc.sample(fc.array(junk, { minLength: 1, maxLength: 30 }), 20);
    for (const ls of lines) {
      const t = fresh('junk.trace');
      const content = ls.map((l) => l.replace(/\n/g, ' ')).join('\n');
      writeFileSync(t, content);
      const r = await ingest({ profile: getProfile('linux-6.9'), input: t, out: () => fresh('junk.log') });
      // every line is counted (an empty file has none; a final LF ends the last line)
      expect(r.lines).toBe(content === '' ? 0 : content.split('\n').length - (content.endsWith('\n') ? 1 : 0));
    }
  });

  it('format detection from the content', () => {
    expect(detectFormat(['# tracer: nop'])).toBe('tracefs');
    expect(detectFormat(['cpus=2', 'x-1 [000] 1.000001: kvm_mmu_get_page:     new sp gfn 0 4 q0 direct wux pae !nxe !wp root 0 sync'])).toBe('trace-cmd');
    expect(detectFormat(['cpus=2', 'x-1 [000] 1.000001: kvm_mmu_get_page: mmu_valid_gen=0 gfn=0 role=4 root_count=0 unsync=0 created=1'])).toBe('trace-cmd-raw');
    expect(detectFormat(['  qemu  8397 [002]  1404.389384: kvmmmu:kvm_mmu_prepare_zap_page: sp gen 0 gfn 0'])).toBe('perf-script');
    expect(LINUX_4_19.name).toBe('linux-4.19');
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('pagetrack ingest');
  });
});

import { describe, expect, it } from 'vitest';
import { writeMisaligned } from '../src/domain/kernel/mmu.js';
import { effects, exec, vmWithSlot } from './helpers.js';

describe("KVM's write handler, kvm_mmu_pte_write (spec 5.4)", () => {
  it.each([
    [0x1000, 8, false],
    [0x1004, 8, true],
    [0x1000, 1, false],
    [0x1001, 1, true],
    [0x1000, 2, true],
    [0x1000, 4, false],
    [0x1ffc, 4, false],
  ])('detect_write_misaligned(gpa %s, %s bytes) = %s', (gpa, bytes, want) => expect(writeMisaligned(gpa, bytes)).toBe(want));

  it('a misaligned emulated write zaps the shadow pages of its gfn (unaccounting them) and flushes once', () => {
    const vm = vmWithSlot([{ op: 'sp-create', as: 0, gfn: 0x20, level: 2 }]);
    const r = exec(vm, { op: 'write', as: 0, gpa: 0x20003, bytes: 8, via: 'emulator' });
    expect(effects(r)).toEqual([
      { type: 'write', as: 0, gpa: 0x20003, bytes: 8, via: 'emulator', outcome: 'emulated' },
      { type: 'notification', node: 'kvm-mmu', as: 0, gpa: 0x20003, bytes: 8 },
      { type: 'sp-zapped', sp: 1, reason: 'pte-write' },
      { type: 'track-count-step', as: 0, slot: 0, gfn: 0x20, mode: 0, user: 'kvm-mmu', delta: -1, count: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 2, index: 0, gfn: 0x20, delta: -1, value: 0 },
      { type: 'lpage-step', as: 0, slot: 0, level: 3, index: 0, gfn: 0x20, delta: -1, value: 0 },
      { type: 'tlb-flushed', reason: 'pte-write' },
    ]);
  });

  it('write flooding: the third aligned write since the page was last used zaps a non-leaf page; sp-use resets the count', () => {
    const vm = vmWithSlot([{ op: 'sp-create', as: 0, gfn: 0x20, level: 3 }]);
    const w = () => exec(vm, { op: 'write', as: 0, gpa: 0x20008, bytes: 8, via: 'emulator' });
    expect(effects(w()).slice(2)).toEqual([{ type: 'sp-write-flooding', sp: 1, count: 1 }]);
    expect(effects(w()).slice(2)).toEqual([{ type: 'sp-write-flooding', sp: 1, count: 2 }]);
    expect(effects(exec(vm, { op: 'sp-use', sp: 1 }))).toEqual([{ type: 'sp-write-flooding', sp: 1, count: 0 }]);
    expect(effects(exec(vm, { op: 'sp-use', sp: 1 }))).toEqual([]);
    w();
    w();
    expect(effects(w()).slice(2).map((e) => e.type)).toEqual(['sp-write-flooding', 'sp-zapped', 'track-count-step', 'lpage-step', 'lpage-step', 'tlb-flushed']);
    expect(vm.state.shadowPages.pages.size).toBe(0);
  });

  it('mmu_pte_write_fetch_gpte: a 4-byte write is checked as the whole aligned 8-byte gpte, so one straddling gptes is not misaligned (found reading the 6.18 source for the real-kernel proof)', () => {
    const vm = vmWithSlot([{ op: 'sp-create', as: 0, gfn: 0x20, level: 2 }]);
    // offset 6, 4 bytes crosses two gptes, yet the kernel widens it to offset 0, 8 bytes: a flooding count, no zap
    expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x20006, bytes: 4, via: 'emulator' })).slice(2)).toEqual([{ type: 'sp-write-flooding', sp: 1, count: 1 }]);
    // 2 bytes are not widened: misaligned, zapped
    expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x20000, bytes: 2, via: 'emulator' })).slice(2, 3)).toEqual([{ type: 'sp-zapped', sp: 1, reason: 'pte-write' }]);
  });

  it('leaf pages never flood; without indirect shadow pages the handler does nothing', () => {
    const vm = vmWithSlot([{ op: 'sp-create', as: 0, gfn: 0x20, level: 1 }]);
    for (let i = 0; i < 5; i++) expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x20010, bytes: 8, via: 'emulator' })).length).toBe(2);
    exec(vm, { op: 'sp-zap', sp: 1 });
    expect(effects(exec(vm, { op: 'write', as: 0, gpa: 0x20013, bytes: 8, via: 'emulator' })).length).toBe(2);
  });
});

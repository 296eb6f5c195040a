import { describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import { parseCommand } from '../src/script/command-schema.js';
import { runScriptText } from '../src/script/run-script.js';
import { effects } from './helpers.js';

describe('command script parsing', () => {
  it('fills defaults and accepts 0x hex strings; a mode is left to the profile (0 where modes exist, none from 6.6)', () => {
    expect(parseCommand({ op: 'track-add', user: 'u', as: 0, gfn: '0x1F' })).toEqual({
      ok: true,
      command: { op: 'track-add', user: 'u', as: 0, gfn: 31 },
    });
    expect(parseCommand({ op: 'memslot-create', as: 1, slot: 2, base: '0x100', npages: 16 })).toEqual({
      ok: true,
      command: { op: 'memslot-create', as: 1, slot: 2, base: 256, npages: 16, flags: 0, uaddr: 256 * 4096 },
    });
    expect(parseCommand({ op: 'sp-create', as: 1, gfn: 3, level: 2 })).toEqual({
      ok: true,
      command: { op: 'sp-create', as: 1, gfn: 3, level: 2, direct: false, vcpuAs: 1 },
    });
    expect(parseCommand({ op: 'is-active', as: 0, gfn: 3, mode: 'write' })).toEqual({ ok: true, command: { op: 'is-active', as: 0, gfn: 3, mode: 0 } });
  });

  it.each([
    [{}, { ok: false, field: 'op', reason: 'is missing (one of: memslot-create, memslot-delete, memslot-move, memslot-flags, track-add, track-remove, is-active, sp-create, sp-zap, sp-use, fault, write, notifier-register, notifier-unregister, zap-all, vm-destroy, spte-set, mark)' }],
    [{ op: 'track-addd' }, { ok: false, field: 'op', reason: 'unknown command "track-addd" (one of: memslot-create, memslot-delete, memslot-move, memslot-flags, track-add, track-remove, is-active, sp-create, sp-zap, sp-use, fault, write, notifier-register, notifier-unregister, zap-all, vm-destroy, spte-set, mark)' }],
    [{ op: 'track-add', as: 0, gfn: 1 }, { ok: false, op: 'track-add', field: 'user', reason: 'is missing' }],
    [{ op: 'track-add', user: 'u', as: 2, gfn: 1 }, { ok: false, op: 'track-add', field: 'as', reason: 'must be an address space (an integer 0..1, or a "0x" hex string), got 2' }],
    [{ op: 'track-add', user: 'u', as: 0, gfn: 1.5 }, { ok: false, op: 'track-add', field: 'gfn', reason: 'must be a gfn (an integer 0..1099511627775, or a "0x" hex string), got 1.5' }],
    [{ op: 'track-add', user: 'u', as: 0, gfn: true }, { ok: false, op: 'track-add', field: 'gfn', reason: 'must be a gfn (an integer 0..1099511627775, or a "0x" hex string), got true' }],
    [{ op: 'track-add', user: 'u', as: 0, gfn: '0xzz' }, { ok: false, op: 'track-add', field: 'gfn', reason: 'must be a gfn (an integer 0..1099511627775, or a "0x" hex string), got "0xzz"' }],
    [{ op: 'track-add', user: 'u', as: 0, gfn: 1, gnf: 2 }, { ok: false, op: 'track-add', field: 'gnf', reason: 'unknown field for track-add (it takes: user, as, slot, gfn, mode)' }],
    [{ op: 'fault', as: 0, gfn: 1 }, { ok: false, op: 'fault', field: 'write', reason: 'is missing' }],
    [{ op: 'write', as: 0, gpa: 1, bytes: 4, via: 'pci' }, { ok: false, op: 'write', field: 'via', reason: 'must be one of guest, emulator, write_std, kvm, userspace, dma, got "pci"' }],
    [{ op: 'memslot-create', as: 0, slot: 1, base: 0, npages: 1, flags: ['dirty'] }, { ok: false, op: 'memslot-create', field: 'flags', reason: 'unknown flag "dirty" (known: log-dirty-pages, readonly)' }],
    [[1, 2], { ok: false, reason: 'a command must be a JSON object, got [1,2]' }],
  ])('rejects %j with the field and reason', (input, expected) => {
    expect(parseCommand(input)).toEqual(expected);
  });
});

describe('running a script', () => {
  it('numbers commands from 1 in script order; bad lines are recorded with line, field and reason and change nothing', () => {
    const vm = new PageTrackVm();
    const script = [
      '// comment lines and blank lines are not commands',
      '{"op":"memslot-create","as":0,"slot":0,"base":0,"npages":512}',
      '',
      '{"op":"track-add","user":"u","as":0,"gfn":5',
      '{"op":"track-add","user":"u","as":0,"gfn":5,"mode":"read"}',
      '{"op":"track-add","user":"u","as":0,"gfn":5}',
    ].join('\n');
    const results = runScriptText(vm, script, 'demo.ndjson');
    expect(results.map((r) => [r.cmd, r.ok])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(effects(results[1]!)).toEqual([
      {
        type: 'command-rejected',
        reason: "malformed JSON (Expected ',' or '}' after property value in JSON at position 43)",
        input: '{"op":"track-add","user":"u","as":0,"gfn":5',
        file: 'demo.ndjson',
        line: 4,
      },
    ]);
    expect(effects(results[2]!)).toEqual([
      {
        type: 'command-rejected',
        op: 'track-add',
        field: 'mode',
        reason: 'must be a mode (an integer, or "write"), got "read"',
        input: '{"op":"track-add","user":"u","as":0,"gfn":5,"mode":"read"}',
        file: 'demo.ndjson',
        line: 5,
      },
    ]);
    expect(results[3]!.events[0]).toMatchObject({ type: 'command', cmd: 4, line: 6 });
    expect(vm.state.memslots.get(0, 0)!.track[0]![5]).toBe(1);
    expect(vm.state.tallies.rejected).toBe(2);
  });
});

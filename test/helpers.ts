import { expect } from 'vitest';
import type { Command } from '../src/domain/commands.js';
import { type CommandResult, PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { parseCommand } from '../src/script/command-schema.js';

/** Parses a script-shaped object (so defaults apply) and executes it. */
export function exec(vm: PageTrackVm, input: Record<string, unknown>): CommandResult {
  const p = parseCommand(input);
  if (!p.ok) throw new Error(`test input does not parse: ${p.field}: ${p.reason}`);
  return vm.execute(p.command);
}

export function cmd(input: Record<string, unknown>): Command {
  const p = parseCommand(input);
  if (!p.ok) throw new Error(`test input does not parse: ${p.field}: ${p.reason}`);
  return p.command;
}

/** Events without seq/cmd/v, for exact comparisons; the `command` record itself is dropped. */
export function effects(r: CommandResult | readonly PageTrackEvent[]): Array<Record<string, unknown>> {
  const events = 'events' in r ? r.events : r;
  return events
    .filter((e) => e.type !== 'command')
    .map((e) => {
      const { seq: _s, cmd: _c, v: _v, ...rest } = e as PageTrackEvent & Record<string, unknown>;
      return rest;
    });
}

export function types(r: CommandResult): string[] {
  return r.events.map((e) => e.type);
}

/** A VM with one 4 GiB slot 0 in address space 0 (and optionally more commands). */
export function vmWithSlot(extra: Array<Record<string, unknown>> = []): PageTrackVm {
  const vm = new PageTrackVm();
  expect(exec(vm, { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 1 << 20 }).ok).toBe(true);
  for (const c of extra) expect(exec(vm, c).ok).toBe(true);
  return vm;
}

export function count(vm: PageTrackVm, as: number, slot: number, gfn: number, mode = 0): number {
  const s = vm.state.memslots.get(as, slot)!;
  return s.track[mode]![gfn - s.base]!;
}

export function lpage(vm: PageTrackVm, as: number, slot: number, level: number, index: number): number {
  return vm.state.memslots.get(as, slot)!.lpage[level - 2]![index]!;
}

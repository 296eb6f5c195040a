/** What every workload shares: a seeded PRNG and a driver that runs commands and watches size. */
import type { Command } from '../domain/commands.js';
import type { CommandResult, PageTrackVm } from '../domain/vm.js';
import { INJECTABLE } from './catalog.js';

/** mulberry32: small, fast and seeded, so a seed gives the same log every time. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bugs a workload can inject on purpose, so the audit has something to find (named in catalog.ts). */
export { INJECTABLE };
export type InjectedBug = (typeof INJECTABLE)[number];

export interface WorkloadOptions {
  /** Stop once the log holds this many events (roughly: the current step finishes). */
  readonly events: number;
  readonly seed: number;
  readonly inject?: InjectedBug;
  readonly onProgress?: (events: number) => void;
}

export interface WorkloadResult {
  readonly commands: number;
  readonly events: number;
  /** Where the injected bug was put: its command number. */
  readonly injected?: { readonly bug: InjectedBug; readonly cmd: number };
}

export class Driver {
  readonly rnd: () => number;
  private lastProgress = 0;

  constructor(
    readonly vm: PageTrackVm,
    private readonly options: WorkloadOptions,
  ) {
    this.rnd = prng(options.seed);
  }

  /** Runs a command the workload expects to succeed; a refusal is a workload bug. */
  run(c: Command): CommandResult {
    const r = this.vm.execute(c);
    if (!r.ok) throw new Error(`workload command ${JSON.stringify(c)} was refused: ${r.rejection!.reason}`);
    if (this.vm.eventCount - this.lastProgress >= 50_000) {
      this.lastProgress = this.vm.eventCount;
      this.options.onProgress?.(this.vm.eventCount);
    }
    return r;
  }

  pick(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  get full(): boolean {
    return this.vm.eventCount >= this.options.events;
  }

  result(injected?: { bug: InjectedBug; cmd: number }): WorkloadResult {
    return { commands: this.vm.commandCount, events: this.vm.eventCount, ...(injected ? { injected } : {}) };
  }
}

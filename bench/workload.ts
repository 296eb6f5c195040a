/**
 * The benchmark's one workload: what pagetrack and its peers are all fed. External users add and
 * remove write tracking on a hot set of gfns of a 64 GiB guest (one in fifty removes is a stray:
 * an underflow WARN) while the guest and the emulator write to those gfns. Deterministic for a
 * seed; held as typed arrays so that generating it costs the peers nothing.
 */
import type { Command } from '../src/domain/commands.js';
import { prng } from '../src/workloads/driver.js';

export const GUEST_PAGES = 16 * 1024 * 1024; // 64 GiB
export const USERS = ['vgpu0', 'intro'] as const;
export const HOT_SET = 4096;
export const SEED = 42;

export const OP_ADD = 0;
export const OP_REMOVE = 1;
export const OP_GUEST_WRITE = 2;
export const OP_EMULATOR_WRITE = 3;

export interface Ops {
  readonly length: number;
  readonly op: Uint8Array;
  readonly user: Uint8Array;
  readonly gfn: Int32Array;
  /** Byte offset of a write within its page (8-byte aligned: KVM's write handler is not involved). */
  readonly offset: Uint16Array;
}

/** What every run starts from: the guest's RAM slot and one notifier per user (kvm-mmu is KVM's own). */
export const SETUP: readonly Command[] = [
  { op: 'memslot-create', as: 0, slot: 0, base: 0, npages: GUEST_PAGES, flags: 0, uaddr: 0 },
  ...USERS.map((node): Command => ({ op: 'notifier-register', node })),
];
/** Nodes told of each emulated write: the users and kvm-mmu. */
export const NODES = USERS.length + 1;

export function makeOps(n: number, seed = SEED): Ops {
  const rnd = prng(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const hot = Int32Array.from({ length: HOT_SET }, () => pick(GUEST_PAGES));
  const held: number[][] = USERS.map(() => []);
  const ops = { length: n, op: new Uint8Array(n), user: new Uint8Array(n), gfn: new Int32Array(n), offset: new Uint16Array(n) };
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const u = pick(USERS.length);
    ops.user[i] = u;
    if (r < 0.35) {
      const gfn = hot[pick(HOT_SET)]!;
      held[u]!.push(gfn);
      ops.op[i] = OP_ADD;
      ops.gfn[i] = gfn;
    } else if (r < 0.65) {
      const h = held[u]!;
      ops.op[i] = OP_REMOVE;
      ops.gfn[i] = h.length > 0 && rnd() < 0.98 ? h.splice(pick(h.length), 1)[0]! : hot[pick(HOT_SET)]!;
    } else {
      ops.op[i] = rnd() < 0.7 ? OP_GUEST_WRITE : OP_EMULATOR_WRITE;
      ops.gfn[i] = hot[pick(HOT_SET)]!;
      ops.offset[i] = 8 * pick(511);
    }
  }
  return ops;
}

/** Operation i as the command pagetrack executes (4 KiB host pages: the SPTE of a gfn is its own). */
export function toCommand(ops: Ops, i: number): Command {
  const gfn = ops.gfn[i]!;
  const user = USERS[ops.user[i]!]!;
  switch (ops.op[i]) {
    case OP_ADD:
      return { op: 'track-add', user, as: 0, gfn, mode: 0 };
    case OP_REMOVE:
      return { op: 'track-remove', user, as: 0, gfn, mode: 0 };
    default:
      return { op: 'write', as: 0, gpa: gfn * 4096 + ops.offset[i]!, bytes: 8, via: ops.op[i] === OP_GUEST_WRITE ? 'guest' : 'emulator', hostLevel: 1 };
  }
}

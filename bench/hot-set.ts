/**
 * A synthetic hot-set workload: external users adding and removing write tracking on a hot set
 * of gfns of a 64 GiB guest, guest and emulator writes, faults, and KVM shadow pages coming and
 * going. Deterministic for a seed. Drives the VM through its public commands only.
 */
import type { Command } from '../src/domain/commands.js';
import type { PageTrackVm } from '../src/domain/vm.js';
import { prng } from '../src/workloads/driver.js';

export const GUEST_PAGES = 16 * 1024 * 1024; // 64 GiB
const USERS = ['vgpu0', 'intro'];

export function runHotSetWorkload(vm: PageTrackVm, targetEvents: number, seed = 1): { commands: number } {
  const rnd = prng(seed);
  const pick = (n: number) => Math.floor(rnd() * n);
  const hot = Array.from({ length: 4096 }, () => pick(GUEST_PAGES));
  const held: number[][] = USERS.map(() => []);
  const sps: number[] = [];
  const run = (c: Command) => vm.execute(c);
  run({ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: GUEST_PAGES, flags: 0, uaddr: 0 });
  run({ op: 'memslot-create', as: 1, slot: 0, base: 0xa0, npages: 0x60, flags: 0, uaddr: 0xa0000 });
  for (const node of USERS) run({ op: 'notifier-register', node });
  let commands = USERS.length + 2;
  while (vm.eventCount < targetEvents) {
    commands++;
    const r = rnd();
    const u = pick(USERS.length);
    if (r < 0.33) {
      const gfn = hot[pick(hot.length)]!;
      held[u]!.push(gfn);
      run({ op: 'track-add', user: USERS[u]!, as: 0, gfn, mode: 0 });
    } else if (r < 0.6) {
      // Mostly balanced removes; one in fifty is a stray (an underflow WARN when nobody holds it).
      const h = held[u]!;
      const gfn = h.length > 0 && rnd() < 0.98 ? h.splice(pick(h.length), 1)[0]! : hot[pick(hot.length)]!;
      run({ op: 'track-remove', user: USERS[u]!, as: 0, gfn, mode: 0 });
    } else if (r < 0.8) {
      const gfn = hot[pick(hot.length)]!;
      run({ op: 'write', as: 0, gpa: gfn * 4096 + pick(4088), bytes: 8, via: rnd() < 0.7 ? 'guest' : 'emulator', hostLevel: 2 });
    } else if (r < 0.93) {
      run({ op: 'fault', as: 0, gfn: hot[pick(hot.length)]!, write: rnd() < 0.5, hostLevel: 1 + pick(3) });
    } else if (r < 0.97 || sps.length === 0) {
      const res = run({ op: 'sp-create', as: 0, gfn: hot[pick(hot.length)]!, level: 1 + pick(4), direct: false, vcpuAs: 0 });
      sps.push(res.value as number);
    } else {
      // KVM's write handler may have zapped it already (spec 5.4): only live pages are zapped.
      const sp = sps.splice(pick(sps.length), 1)[0]!;
      if (vm.state.shadowPages.pages.has(sp)) run({ op: 'sp-zap', sp });
    }
  }
  return { commands };
}

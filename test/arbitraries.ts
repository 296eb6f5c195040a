import fc from 'fast-check';

/** A small world: two address spaces, three slot ids, gfns in the first few 2M frames, a few users and nodes. */
const as = fc.constantFrom(0, 1);
const slot = fc.constantFrom(0, 1, 2);
const gfn = fc.oneof(fc.integer({ min: 0, max: 0x7ff }), fc.constantFrom(0x1ff, 0x200, 0x3ff, 0x400, 0x40000));
const base = fc.constantFrom(0, 0x10, 0x200, 0x400, 0x800, 0x1000, 0x40000);
const user = fc.constantFrom('vgpu', 'intro', 'agent');
const node = fc.constantFrom('vgpu', 'intro', 'agent', 'kvm-mmu');
/** A mode, or none (the default; the only choice from 6.6, where a mode is an input error). */
const mode = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(1, -1) });
/** Drops undefined fields, as a script line would leave them out. */
const present = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export const commandArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('memslot-create'), as, slot, base, npages: fc.constantFrom(1, 0x10, 0x200, 0x400, 0x1000), flags: fc.constantFrom(0, 0, 1, 2), uaddr: fc.constantFrom(0, 0x1000, 0x200000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('memslot-delete'), as, slot, prepareFails: fc.constantFrom(false, false, false, true) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('memslot-move'), as, slot, base, prepareFails: fc.constantFrom(false, false, false, true) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('memslot-flags'), as, slot, flags: fc.constantFrom(0, 1, 2, 3) }) },
  { weight: 10, arbitrary: fc.record({ op: fc.constant('track-add'), user, as, gfn, mode }).map(present) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('track-remove'), user, as, gfn, mode }).map(present) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('is-active'), as, gfn, mode }).map(present) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('sp-create'), as, gfn, level: fc.integer({ min: 1, max: 4 }), direct: fc.boolean(), vcpuAs: as }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('sp-zap'), sp: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sp-use'), sp: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('fault'), as, gfn, write: fc.boolean(), hostLevel: fc.integer({ min: 1, max: 3 }), hostWritable: fc.constantFrom(undefined, true, false) }).map(present) },
  { weight: 1, arbitrary: fc.constant({ op: 'zap-all' }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('write'),
      as,
      gpa: gfn.map((g) => g * 4096 + 4090),
      bytes: fc.constantFrom(1, 8, 16),
      via: fc.constantFrom('guest', 'guest', 'emulator', 'write_std', 'dma'),
      hostLevel: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('notifier-register'), node }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('notifier-unregister'), node }) },
);

/** Scripts always start with a slot, so most commands have something to act on. */
export const scriptArb = fc
  .array(commandArb, { minLength: 1, maxLength: 60, size: 'max' })
  .map((cmds) => [{ op: 'memslot-create', as: 0, slot: 0, base: 0, npages: 0x800 }, ...cmds] as Array<Record<string, unknown>>);

/** How a VM is created: tdp or shadow paging, and the kernel config KVMGT selects (both matter from 5.16). */
export const vmOptionsArb = fc.record({ tdp: fc.boolean(), externalWriteTracking: fc.boolean() });

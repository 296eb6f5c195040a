/**
 * Each command's checks (what the kernel rejects, or leaves undefined — spec B22) and its run.
 * `check` sees the state and throws a Rejection; only when it passes does `run` emit events.
 */
import { show } from './show.js';
import {
  ADDRESS_SPACES,
  GFN_LIMIT,
  KVM_MEM_READONLY,
  KVM_MMU_NODE,
  KVM_MMU_USER,
  MAX_MAPPING_LEVEL,
  MAX_SP_LEVEL,
  MAX_WRITE_BYTES,
  MEM_MAX_NR_PAGES,
  MEM_SLOTS_NUM,
  PAGE_SIZE,
  VALID_MEMSLOT_FLAGS,
} from './constants.js';
import type { Command, Fault, IsActive, Mark, MemslotCreate, MemslotDelete, MemslotFlags, MemslotMove, NotifierChange, SpCreate, SpteSet, SpUse, SpZap, TrackChange, VmDestroy, Write, ZapAll } from './commands.js';
import type { KernelProfile } from './profile.js';
import { hex, lpageCount, splitAtPages } from './gfn.js';
import { type KernelContext, Rejection } from './kernel/context.js';
import { initialGuards } from './kernel/lpage.js';
import { createShadowPage, enableWriteTracking, handleFault, prepareZapShadowPage, zapAll } from './kernel/mmu.js';
import { TRACK_WRITE, isActive, trackAdd, trackRemove } from './kernel/page-track.js';
import { flushRemoteTlbs, installSpte } from './kernel/spte.js';
import { nodeApi } from './kernel/node-handlers.js';
import { blindWrite, emulatorWritePhys, guestWrite } from './kernel/writes.js';
import type { SlotState } from '../projections/memslots.js';
import type { PageTrackState } from '../projections/state.js';

/** What a command answers besides its events. */
export type CommandValue = boolean | number | string | readonly string[] | undefined;

interface Handler<C extends Command> {
  /** Fills what the profile implies (e.g. mode 0 where modes exist) before the command is recorded. */
  normalise?(c: C, p: KernelProfile): C;
  check(c: C, s: PageTrackState, p: KernelProfile): void;
  run(c: C, k: KernelContext): CommandValue;
}

/** Linux errno values the model answers with. */
export const EINVAL = -22;

// ---- shared checks ------------------------------------------------------------------------

const reject = (field: string | undefined, reason: string): never => {
  throw new Rejection(field, reason);
};

function int(field: string, v: number, min: number, max: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) reject(field, `${what} must be an integer in ${min}..${max}, got ${v}`);
}
const checkAs = (v: number, field = 'as'): void => int(field, v, 0, ADDRESS_SPACES - 1, 'address space');
const checkGfn = (v: number, field = 'gfn'): void => int(field, v, 0, GFN_LIMIT - 1, 'gfn');

function slotLabel(s: SlotState): string {
  return `slot ${s.id} of address space ${s.as} (base ${hex(s.base)}, ${s.npages} pages)`;
}

/** B22: the kernel dereferences the slot it is handed; a missing slot or a gfn outside it is undefined. */
function slotFor(s: PageTrackState, as: number, slot: number | undefined, gfn: number): SlotState {
  if (slot === undefined) {
    return s.memslots.find(as, gfn) ?? reject('gfn', `no memslot of address space ${as} holds gfn ${hex(gfn)} (docs/reference.md#B22: the kernel would dereference a NULL slot)`);
  }
  const found = s.memslots.get(as, slot) ?? reject('slot', `memslot ${slot} does not exist in address space ${as} (docs/reference.md#B22)`);
  if (gfn < found.base || gfn >= found.base + found.npages) {
    reject('gfn', `gfn ${hex(gfn)} is outside ${slotLabel(found)} (docs/reference.md#B22: gfn_to_index would index out of bounds)`);
  }
  return found;
}

/** __kvm_set_memory_region's overlap check (-EEXIST) within one address space. */
function checkNoOverlap(s: PageTrackState, as: number, id: number, base: number, npages: number): void {
  for (const other of s.memslots.slots.values()) {
    if (other.as !== as || other.id === id) continue;
    if (base < other.base + other.npages && other.base < base + npages) {
      reject('base', `[${hex(base)}, ${hex(base + npages)}) overlaps ${slotLabel(other)} (kernel: -EEXIST)`);
    }
  }
}

function checkFlags(flags: number): void {
  int('flags', flags, 0, 2 ** 31 - 1, 'flags');
  if (flags & ~VALID_MEMSLOT_FLAGS) reject('flags', `unknown flag bits ${hex(flags & ~VALID_MEMSLOT_FLAGS)} (valid: 1 log-dirty-pages, 2 readonly; kernel: -EINVAL)`);
}

function existingSlot(s: PageTrackState, as: number, id: number): SlotState {
  return s.memslots.get(as, id) ?? reject('slot', `memslot ${id} does not exist in address space ${as} (kernel: -EINVAL)`);
}

/**
 * kvm_arch_flush_shadow_memslot (spec 5.5): 4.6 and 6.6+ zap everything directly; ~4.10-6.5
 * call track_flush_slot on every node in dispatch order, and KVM's own node zaps everything
 * there. (6.12+ zaps only the slot when KVM_X86_QUIRK_SLOT_ZAP_ALL is off; it is on by default,
 * and the model's VMs keep it.)
 */
function flushShadowMemslot(k: KernelContext, as: number, slot: number, reason: 'memslot-delete' | 'memslot-move'): void {
  if (!k.profile.flushSlotNotification) return zapAll(k, reason);
  const s = k.state.memslots.get(as, slot)!;
  for (const node of k.state.notifiers.nodes) {
    k.emit('slot-flush-notified', { node, as, slot });
    if (node === KVM_MMU_NODE) zapAll(k, reason);
    else k.handlers.get(node)?.trackFlushSlot?.({ as, id: slot, base: s.base, npages: s.npages }, nodeApi(k, node));
  }
}

// ---- handlers ----------------------------------------------------------------------------

const memslotCreate: Handler<MemslotCreate> = {
  check(c, s) {
    checkAs(c.as);
    int('slot', c.slot, 0, MEM_SLOTS_NUM - 1, 'slot id');
    int('npages', c.npages, 1, MEM_MAX_NR_PAGES, 'npages');
    checkGfn(c.base, 'base');
    if (c.base + c.npages > GFN_LIMIT) reject('npages', `slot end ${hex(c.base + c.npages)} passes the 2^40 gfn limit`);
    int('uaddr', c.uaddr, 0, Number.MAX_SAFE_INTEGER, 'uaddr');
    if (c.uaddr % PAGE_SIZE !== 0) reject('uaddr', `userspace_addr ${hex(c.uaddr)} is not page aligned (kernel: -EINVAL)`);
    checkFlags(c.flags);
    const old = s.memslots.get(c.as, c.slot);
    if (old) reject('slot', `memslot ${c.slot} already exists in address space ${c.as}; use memslot-move, memslot-flags or memslot-delete`);
    checkNoOverlap(s, c.as, c.slot, c.base, c.npages);
  },
  // kvm_arch_create_memslot + kvm_page_track_create_memslot: zeroed arrays, then the guards (spec 1.3).
  run(c, k) {
    k.emit('memslot-created', { as: c.as, slot: c.slot, base: c.base, npages: c.npages, flags: c.flags, uaddr: c.uaddr });
    for (const g of initialGuards(c.base, c.npages, c.uaddr)) k.emit('lpage-guard', { as: c.as, slot: c.slot, ...g });
    return undefined;
  },
};

const memslotDelete: Handler<MemslotDelete> = {
  check(c, s) {
    checkAs(c.as);
    existingSlot(s, c.as, c.slot);
  },
  // Spec 1.5 DELETE: the invalid slot is flushed, then (unless prepare fails, B15) its arrays are
  // freed; 6.6+ kvm_arch_commit_memory_region then sends track_remove_region to every node.
  run(c, k) {
    const old = k.state.memslots.get(c.as, c.slot)!;
    flushShadowMemslot(k, c.as, c.slot, 'memslot-delete');
    if (c.prepareFails) {
      k.emit('memslot-change-failed', { as: c.as, slot: c.slot, op: c.op });
      return undefined;
    }
    k.emit('memslot-deleted', { as: c.as, slot: c.slot });
    if (k.profile.removeRegionOnDelete) {
      for (const node of k.state.notifiers.nodes) {
        k.emit('remove-region-notified', { node, as: c.as, slot: c.slot, gfn: old.base, npages: old.npages });
        k.handlers.get(node)?.trackRemoveRegion?.({ as: c.as, id: c.slot, base: old.base, npages: old.npages }, nodeApi(k, node));
      }
    }
    return undefined;
  },
};

const memslotMove: Handler<MemslotMove> = {
  check(c, s, p) {
    checkAs(c.as);
    const slot = existingSlot(s, c.as, c.slot);
    checkGfn(c.base, 'base');
    if (c.base + slot.npages > GFN_LIMIT) reject('base', `slot end ${hex(c.base + slot.npages)} passes the 2^40 gfn limit`);
    checkNoOverlap(s, c.as, c.slot, c.base, slot.npages);
    if (p.moveArrays === 'fresh') return;
    // <= 5.6 keeps the lpage arrays sized for the old base (spec 1.5, B14); a base that needs more entries is undefined (B22).
    for (const level of [2, 3]) {
      const need = lpageCount(c.base, slot.npages, level);
      const have = slot.lpage[level - 2]!.length;
      if (need > have) {
        reject('base', `moving to ${hex(c.base)} needs ${need} level-${level} lpage entries but the carried-over array has ${have} (docs/reference.md#B22: out-of-bounds lpage_info in 4.6)`);
      }
    }
  },
  // Spec 1.5 MOVE: flush, then prepare — which fails with -EINVAL in 6.6+ while an external node is
  // registered (the zap-all stays done) — then the slot moves with its arrays (<= 5.6, B14) or
  // gets fresh ones with guards for the new base (>= 5.7, kvm_alloc_memslot_metadata).
  run(c, k) {
    const old = k.state.memslots.get(c.as, c.slot)!;
    if (old.base === c.base) return undefined; // "Nothing to change": the kernel returns 0.
    flushShadowMemslot(k, c.as, c.slot, 'memslot-move');
    if (k.profile.moveRejectedWithExternalUser && k.state.notifiers.nodes.length > 0) {
      k.emit('memslot-change-failed', { as: c.as, slot: c.slot, op: c.op });
      return EINVAL;
    }
    if (c.prepareFails) {
      k.emit('memslot-change-failed', { as: c.as, slot: c.slot, op: c.op });
      return undefined;
    }
    k.emit('memslot-moved', { as: c.as, slot: c.slot, base: c.base, old: old.base, arrays: k.profile.moveArrays });
    if (k.profile.moveArrays === 'fresh') for (const g of initialGuards(c.base, old.npages, old.uaddr)) k.emit('lpage-guard', { as: c.as, slot: c.slot, ...g });
    return undefined;
  },
};

const memslotFlags: Handler<MemslotFlags> = {
  check(c, s) {
    checkAs(c.as);
    const slot = existingSlot(s, c.as, c.slot);
    checkFlags(c.flags);
    if ((c.flags ^ slot.flags) & KVM_MEM_READONLY) reject('flags', 'the readonly flag cannot change on an existing slot (kernel: -EINVAL)');
  },
  // Spec 1.5 FLAGS_ONLY: the arrays are shared with the new slot, counts preserved.
  run(c, k) {
    const old = k.state.memslots.get(c.as, c.slot)!;
    if (old.flags !== c.flags) k.emit('memslot-flags-changed', { as: c.as, slot: c.slot, flags: c.flags, old: old.flags });
    return undefined;
  },
};

/** Where modes exist a missing mode is KVM_PAGE_TRACK_WRITE; 6.6+ has none, and names none. */
function normaliseMode<C extends TrackChange | IsActive>(c: C, p: KernelProfile): C {
  return p.modeArgument && c.mode === undefined ? { ...c, mode: TRACK_WRITE } : c;
}

function checkMode(mode: number | undefined, p: KernelProfile): void {
  if (!p.modeArgument) {
    if (mode !== undefined) reject('mode', `${p.name} has no track modes: the write-only API takes no mode (kvm-x86 2431c9ab231a)`);
    return;
  }
  if (!Number.isSafeInteger(mode)) reject('mode', `mode must be an integer, got ${mode}`);
}

const trackChange: Handler<TrackChange> = {
  normalise: normaliseMode,
  check(c, s, p) {
    if (c.user === KVM_MMU_USER) reject('user', `'${KVM_MMU_USER}' tracks pages only through its shadow pages (sp-create / sp-zap)`);
    if (c.user.length === 0) reject('user', 'the user id must not be empty');
    checkAs(c.as);
    checkGfn(c.gfn);
    checkMode(c.mode, p);
    if (p.externalGfnApi) {
      // kvm_write_track_{add,remove}_gfn(kvm, gfn): the kernel looks the slot up in address space 0.
      if (c.slot !== undefined) reject('slot', `${p.name}'s kvm_write_track_${c.op === 'track-add' ? 'add' : 'remove'}_gfn takes no slot: the kernel finds it (gfn_to_memslot)`);
      if (c.as !== 0) reject('as', `${p.name}'s external API looks gfns up in address space 0 only (gfn_to_memslot), got ${c.as}`);
      return;
    }
    slotFor(s, c.as, c.slot, c.gfn);
  },
  run(c, k) {
    const mode = c.mode ?? TRACK_WRITE;
    let slot: SlotState | undefined;
    if (k.profile.externalGfnApi) {
      slot = k.state.memslots.find(0, c.gfn);
      if (!slot) return EINVAL; // "if (!slot) return -EINVAL;" with nothing changed
    } else slot = slotFor(k.state, c.as, c.slot, c.gfn);
    if (c.op === 'track-add') trackAdd(k, c.user, slot, c.gfn, mode);
    else trackRemove(k, c.user, slot, c.gfn, mode);
    return k.profile.externalGfnApi ? 0 : undefined;
  },
};

const isActiveQuery: Handler<IsActive> = {
  normalise: normaliseMode,
  check(c, _s, p) {
    checkAs(c.as);
    checkGfn(c.gfn);
    checkMode(c.mode, p);
  },
  run(c, k) {
    const mode = c.mode ?? TRACK_WRITE;
    const active = isActive(k, c.as, c.gfn, mode);
    k.emit('track-queried', { as: c.as, gfn: c.gfn, mode, active });
    return active;
  },
};

const spCreate: Handler<SpCreate> = {
  check(c, s) {
    checkAs(c.as);
    checkAs(c.vcpuAs, 'vcpuAs');
    checkGfn(c.gfn);
    int('level', c.level, 1, MAX_SP_LEVEL, 'shadow page level');
    if (c.direct) return;
    // account_shadowed and (level 1) rmap_write_protect dereference the slots they look up (B22).
    if (!s.memslots.find(c.as, c.gfn)) reject('gfn', `no memslot of address space ${c.as} (role.smm) holds gfn ${hex(c.gfn)} (docs/reference.md#B22)`);
    if (c.level === 1 && !s.memslots.find(c.vcpuAs, c.gfn)) {
      reject('vcpuAs', `no memslot of the vCPU's address space ${c.vcpuAs} holds gfn ${hex(c.gfn)} (docs/reference.md#B22: rmap_write_protect)`);
    }
  },
  run(c, k) {
    return createShadowPage(k, { as: c.as, gfn: c.gfn, level: c.level, direct: c.direct }, c.vcpuAs);
  },
};

const spZap: Handler<SpZap> = {
  check(c, s) {
    if (!s.shadowPages.pages.has(c.sp)) reject('sp', `shadow page ${c.sp} is not live (never created, or zapped already)`);
  },
  // kvm_mmu_prepare_zap_page, then kvm_mmu_commit_zap_page flushes remote TLBs.
  run(c, k) {
    prepareZapShadowPage(k, k.state.shadowPages.pages.get(c.sp)!, 'sp-zap');
    flushRemoteTlbs(k, 'sp-zap');
    return undefined;
  },
};

const spUse: Handler<SpUse> = {
  check(c, s) {
    if (!s.shadowPages.pages.has(c.sp)) reject('sp', `shadow page ${c.sp} is not live (never created, or zapped already)`);
  },
  // kvm_mmu_get_page's cache hit / the shadow walk: clear_sp_write_flooding_count.
  run(c, k) {
    if (k.state.shadowPages.pages.get(c.sp)!.flood !== 0) k.emit('sp-write-flooding', { sp: c.sp, count: 0 });
    return undefined;
  },
};

const fault: Handler<Fault> = {
  check(c) {
    checkAs(c.as);
    checkGfn(c.gfn);
    int('hostLevel', c.hostLevel, 1, MAX_MAPPING_LEVEL, 'host mapping level');
  },
  run(c, k) {
    return handleFault(k, c.as, c.gfn, c.write, c.hostLevel, c.hostWritable ?? true);
  },
};

const write: Handler<Write> = {
  check(c) {
    checkAs(c.as);
    int('gpa', c.gpa, 0, GFN_LIMIT * PAGE_SIZE - 1, 'gpa');
    int('bytes', c.bytes, 1, MAX_WRITE_BYTES, 'bytes');
    if (c.gpa + c.bytes > GFN_LIMIT * PAGE_SIZE) reject('bytes', 'the write runs past the 2^52 guest-physical limit');
    int('hostLevel', c.hostLevel, 1, MAX_MAPPING_LEVEL, 'host mapping level');
  },
  run(c, k) {
    const outcomes: string[] = [];
    for (const chunk of splitAtPages(c.gpa, c.bytes)) {
      if (c.via === 'guest') outcomes.push(guestWrite(k, c.as, chunk.gpa, chunk.bytes, c.hostLevel));
      else if (c.via === 'emulator') outcomes.push(emulatorWritePhys(k, c.as, chunk.gpa, chunk.bytes, c.via));
      else outcomes.push(blindWrite(k, c.as, chunk.gpa, chunk.bytes, c.via));
    }
    return outcomes;
  },
};

const notifierChange: Handler<NotifierChange> = {
  check(c, s) {
    if (c.node.length === 0) reject('node', 'the node id must not be empty');
    const registered = s.notifiers.has(c.node);
    if (c.op === 'notifier-register' && registered) {
      reject('node', `notifier '${c.node}' is already registered (docs/reference.md#B22: a second hlist_add_head_rcu corrupts the list)`);
    }
    if (c.op === 'notifier-register' && c.node === KVM_MMU_NODE) reject('node', `'${KVM_MMU_NODE}' is KVM's own name; an external node needs another`);
    if (c.op === 'notifier-unregister') {
      if (!registered) reject('node', `notifier '${c.node}' is not registered (docs/reference.md#B22: hlist_del_rcu of an unlinked node)`);
      if (c.node === KVM_MMU_NODE) reject('node', `'${KVM_MMU_NODE}' is KVM's own node; only kvm_mmu_uninit_vm at VM destroy unregisters it`);
    }
  },
  // 6.9+: kvm_page_track_register_notifier enables external write tracking first (spec 1.6).
  run(c, k) {
    if (c.op === 'notifier-register' && k.profile.lazyWriteTracking === 'register' && !k.state.vm.writeTrackingEnabled) enableWriteTracking(k, 'external-user');
    k.emit(c.op === 'notifier-register' ? 'notifier-registered' : 'notifier-unregistered', { node: c.node });
    return undefined;
  },
};

/** An SPTE the kernel installed, as a trace shows it (kernel-decided: the audit checks it, B5/B7). */
const spteSet: Handler<SpteSet> = {
  check(c, s) {
    checkAs(c.as);
    checkGfn(c.gfn);
    int('level', c.level, 1, MAX_MAPPING_LEVEL, 'mapping level');
    if (!s.memslots.find(c.as, c.gfn)) reject('gfn', `no memslot of address space ${c.as} holds gfn ${hex(c.gfn)}`);
  },
  run(c, k) {
    installSpte(k, c.as, c.level, c.gfn - (c.gfn % 512 ** (c.level - 1)), c.writable);
    return undefined;
  },
};

const mark: Handler<Mark> = {
  check() {},
  run(c, k) {
    k.emit('marked', { text: c.text });
    return undefined;
  },
};

/** kvm_mmu_zap_all (4.6/4.19: kvm_mmu_invalidate_zap_all_pages), as kvm_arch_flush_shadow_all calls it at the MMU notifier's release. */
const zapAllCommand: Handler<ZapAll> = {
  check() {},
  run(_c, k) {
    zapAll(k, 'zap-all');
    return undefined;
  },
};

/**
 * kvm_destroy_vm (spec 5.8; research note 6.2): the MMU notifier's release zaps every shadow
 * page (unaccounting each); kvm_mmu_uninit_vm unregisters KVM's own node (<= 6.5); the memslots
 * and their arrays are freed. External nodes still registered are not looked at (<= 6.5, B20);
 * from 6.6 each holds a VM reference, so the VM is not destroyed while one is registered.
 */
const vmDestroy: Handler<VmDestroy> = {
  check(_c, s, p) {
    const external = s.notifiers.nodes.filter((n) => n !== KVM_MMU_NODE);
    if (p.registerPinsVm && external.length > 0) {
      reject(undefined, `the VM is still referenced by ${external.length} registered notifier(s) (${external.join(', ')}): kvm_page_track_register_notifier took a VM reference, so kvm_destroy_vm runs only after they unregister`);
    }
  },
  run(_c, k) {
    zapAll(k, 'vm-destroy');
    if (k.state.notifiers.has(KVM_MMU_NODE)) k.emit('notifier-unregistered', { node: KVM_MMU_NODE });
    k.emit('vm-destroyed', { registered: k.state.notifiers.nodes.length });
    return undefined;
  },
};

/** The command whose op (or one of whose ops) is Op. */
type CommandOf<Op> = Command extends infer C ? (C extends { op: infer O } ? (Op extends O ? C : never) : never) : never;

const HANDLERS: { readonly [Op in Command['op']]: Handler<CommandOf<Op>> } = {
  'memslot-create': memslotCreate,
  'memslot-delete': memslotDelete,
  'memslot-move': memslotMove,
  'memslot-flags': memslotFlags,
  'track-add': trackChange,
  'track-remove': trackChange,
  'is-active': isActiveQuery,
  'sp-create': spCreate,
  'sp-zap': spZap,
  'sp-use': spUse,
  fault,
  write,
  'notifier-register': notifierChange,
  'notifier-unregister': notifierChange,
  'zap-all': zapAllCommand,
  'vm-destroy': vmDestroy,
  'spte-set': spteSet,
  mark,
};

export function handlerFor<C extends Command>(c: C): Handler<C> {
  // Own properties only: an op such as "constructor" must not find Object's (issue 11).
  const h = typeof c.op === 'string' && Object.hasOwn(HANDLERS, c.op) ? (HANDLERS as unknown as Record<string, Handler<C>>)[c.op] : undefined;
  return h ?? reject('op', `unknown command ${show(c.op)}`);
}

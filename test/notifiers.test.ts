import { describe, expect, it } from 'vitest';
import { PageTrackVm } from '../src/domain/vm.js';
import type { PageTrackEvent } from '../src/events/types.js';
import { effects, exec, vmWithSlot } from './helpers.js';

describe('notifiers (spec 4.3, 4.4)', () => {
  it('spec 4.4: KVM registers its own node at VM creation (command 0), so it dispatches last', () => {
    const vm = new PageTrackVm();
    expect(vm.log!.events.map((e) => [e.seq, e.cmd, e.type])).toEqual([
      [1, 0, 'vm-created'],
      [2, 0, 'notifier-registered'],
    ]);
    expect(vm.state.notifiers.nodes).toEqual(['kvm-mmu']);
  });

  it('spec 4.3: hlist_add_head makes dispatch LIFO, and RxJS observers are called in that order, not subscription order', () => {
    const vm = vmWithSlot();
    const heard: string[] = [];
    // Subscribe in the opposite order of registration.
    for (const node of ['kvm-mmu', 'a', 'b', 'c']) vm.notifications$(node).subscribe((d) => heard.push(`${d.node}@${d.gpa.toString(16)}`));
    for (const node of ['a', 'b', 'c']) exec(vm, { op: 'notifier-register', node });
    expect(vm.state.notifiers.nodes).toEqual(['c', 'b', 'a', 'kvm-mmu']);
    exec(vm, { op: 'write', as: 0, gpa: 0x5000, bytes: 4, via: 'emulator' });
    expect(heard).toEqual(['c@5000', 'b@5000', 'a@5000', 'kvm-mmu@5000']);
  });

  it('after unregister a node receives nothing; the others keep their order', () => {
    const vm = vmWithSlot([{ op: 'notifier-register', node: 'a' }, { op: 'notifier-register', node: 'b' }]);
    const heard: string[] = [];
    vm.allNotifications$().subscribe((d) => heard.push(d.node));
    exec(vm, { op: 'notifier-unregister', node: 'b' });
    exec(vm, { op: 'write', as: 0, gpa: 0x5000, bytes: 4, via: 'emulator' });
    expect(heard).toEqual(['a', 'kvm-mmu']);
    // Re-registering puts it at the head again.
    exec(vm, { op: 'notifier-register', node: 'b' });
    exec(vm, { op: 'write', as: 0, gpa: 0x5000, bytes: 4, via: 'emulator' });
    expect(heard).toEqual(['a', 'kvm-mmu', 'b', 'a', 'kvm-mmu']);
  });

  it('B22: registering twice or unregistering an unknown node is rejected; kvm-mmu stays until VM destroy', () => {
    const vm = vmWithSlot([{ op: 'notifier-register', node: 'a' }]);
    expect(exec(vm, { op: 'notifier-register', node: 'a' }).rejection).toEqual({
      field: 'node',
      reason: "notifier 'a' is already registered (docs/reference.md#B22: a second hlist_add_head_rcu corrupts the list)",
    });
    expect(exec(vm, { op: 'notifier-unregister', node: 'zz' }).rejection).toEqual({
      field: 'node',
      reason: "notifier 'zz' is not registered (docs/reference.md#B22: hlist_del_rcu of an unlinked node)",
    });
    expect(exec(vm, { op: 'notifier-unregister', node: 'kvm-mmu' }).rejection?.reason).toBe(
      "'kvm-mmu' is KVM's own node; only kvm_mmu_uninit_vm at VM destroy unregisters it",
    );
    expect(vm.state.notifiers.nodes).toEqual(['a', 'kvm-mmu']);
  });

  it('events$ publishes one frozen batch per command, after the state has it', () => {
    const vm = vmWithSlot();
    const batches: Array<readonly PageTrackEvent[]> = [];
    vm.events$.subscribe((b) => {
      batches.push(b);
      expect(vm.state.tallies.lastSeq).toBe(b[b.length - 1]!.seq);
    });
    exec(vm, { op: 'track-add', user: 'u', as: 0, gfn: 1 });
    vm.execute({ op: 'notifier-register', node: '' }); // the VM checks API callers too
    expect(batches.map((b) => b.map((e) => e.type))).toEqual([
      ['command', 'track-count-step', 'lpage-step', 'lpage-step'],
      ['command-rejected'],
    ]);
    expect(Object.isFrozen(batches[0])).toBe(true);
    expect(Object.isFrozen(batches[0]![1])).toBe(true);
    expect(Object.isFrozen((batches[0]![0] as { command: object }).command)).toBe(true);
    expect(effects(batches[1]!)).toEqual([{ type: 'command-rejected', op: 'notifier-register', field: 'node', reason: 'the node id must not be empty' }]);
  });
});

/**
 * A synthetic host trace for the ingest bench, in tracefs's exact line shape: a shadow-paging
 * guest whose every instruction is emulated (as on a PVM host): each step a kvm_exit and
 * kvm_entry, the emulated instruction, and for stores the emulator's walk (4 lines); roots are
 * created, reused on CR3 switches and zapped by write flooding, with the kernel's zap lines.
 */
import { createWriteStream } from 'node:fs';

export async function writeTrace(path: string, lines: number): Promise<number> {
  const w = createWriteStream(path);
  let n = 0;
  let us = 1_000_000_000;
  let buf = '# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n';
  const line = (ev: string, payload: string) => {
    n++;
    us += 1;
    buf += `    guest-runner-4242    [000] .....  ${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}: ${ev}: ${payload}\n`;
  };
  line('tracing_mark_write', 'pagetrack-cmd {"op":"memslot-create","as":0,"slot":0,"base":0,"npages":262144}');
  const roots = [1];
  let root = 1;
  const floods = new Map<number, number>();
  line('kvm_mmu_get_page', 'sp gen 0 gfn 1 l4 8-byte q0 wux nxe ad root 0 sync new');
  let step = 0;
  while (n < lines) {
    step++;
    line('kvm_exit', 'reason EXCEPTION_NMI rip 0x2000 info 0 0');
    const store = step % 2 === 0;
    line('kvm_emulate_insn', store ? '0:2000:48 89 18 (prot64)' : '0:2000:48 8b 18 (prot64)');
    if (store) {
      const toRoot = step % 8 === 0;
      const gva = toRoot ? root * 4096 + 8 * (1 + (step % 300)) : 0x100000 + (step % 4096) * 8;
      line('kvm_mmu_pagetable_walk', `addr ${gva.toString(16)} pferr 2 W`);
      line('kvm_mmu_paging_element', 'pte 2003 level 4');
      line('kvm_mmu_paging_element', 'pte 3003 level 3');
      line('kvm_mmu_paging_element', 'pte 83 level 2');
      if (toRoot) {
        const f = (floods.get(root) ?? 0) + 1;
        floods.set(root, f);
        if (f >= 3) {
          line('kvm_mmu_prepare_zap_page', `sp gen 0 gfn ${root.toString(16)} l4 8-byte q0 wux nxe ad root 1 sync`);
          floods.delete(root);
          // the vCPU reloads its MMU: a new root for the same CR3
          line('kvm_mmu_get_page', `sp gen 0 gfn ${root.toString(16)} l4 8-byte q0 wux nxe ad root 0 sync new`);
        }
      }
    }
    line('kvm_entry', 'vcpu 0, rip 0x2003');
    if (step % 64 === 0) {
      // a CR3 switch: an existing root, or a new one
      const next = 1 + ((step / 64) % 40);
      const known = roots.includes(next);
      line('kvm_mmu_get_page', `sp gen 0 gfn ${next.toString(16)} l4 8-byte q0 wux nxe ad root 0 sync ${known ? 'existing' : 'new'}`);
      if (known) floods.delete(next);
      else roots.push(next);
      root = next;
    }
    if (buf.length > 1 << 20) {
      if (!w.write(buf)) await new Promise<void>((r) => w.once('drain', () => r()));
      buf = '';
    }
  }
  await new Promise<void>((r) => w.end(buf, () => r()));
  return n + 3;
}

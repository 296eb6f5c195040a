/**
 * The memslot layout a trace runs on (the kernel does not trace memslots): a `--memslots` file of
 * pagetrack command lines (memslot-create, -flags, -move, -delete; see "Command scripts"), or
 * QEMU's own trace output of `kvm_set_user_memory` (trace-events in accel/kvm), in any of its
 * three shapes: "Slot#%d flags=0x%x gpa=0x%PRIx64 size=0x%PRIx64 ua=0x%PRIx64 ret=%d", the same
 * with "AddrSpace#%d " first, and that with " guest_memfd=%d guest_memfd_offset=0x%PRIx64" before
 * ret (optionally after the log backend's "PID@SECONDS:" prefix). QEMU calls with size 0 delete a
 * slot; a failed call (ret != 0) changed nothing.
 */
import type { Command } from '../../domain/commands.js';
import { parseCommand } from '../../script/command-schema.js';

const QEMU = /(?:^|\s|:)kvm_set_user_memory\s+(?:AddrSpace#(\d+)\s+)?Slot#(\d+)\s+flags=0x([0-9a-f]+)\s+gpa=0x([0-9a-f]+)\s+size=0x([0-9a-f]+)\s+ua=0x([0-9a-f]+)(?:\s+guest_memfd=-?\d+\s+guest_memfd_offset=0x[0-9a-f]+)?\s+ret=(-?\d+)/i;

export class LayoutError extends Error {}

/** The layout's commands, in order; `file` names the source in errors. */
export function parseLayout(text: string, file: string): Command[] {
  const out: Command[] = [];
  const live = new Map<string, { base: number; npages: number; flags: number }>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const t = line.trim();
    if (!t || t.startsWith('//') || t.startsWith('#')) return;
    if (t.startsWith('{')) {
      let v: unknown;
      try {
        v = JSON.parse(t);
      } catch (err) {
        throw new LayoutError(`${file}:${i + 1}: malformed JSON (${(err as Error).message})`);
      }
      const p = parseCommand(v);
      if (!p.ok) throw new LayoutError(`${file}:${i + 1}: ${p.field ? `field '${p.field}': ` : ''}${p.reason}`);
      if (!p.command.op.startsWith('memslot-')) throw new LayoutError(`${file}:${i + 1}: a layout holds memslot commands only, got ${p.command.op}`);
      out.push(p.command);
      return;
    }
    const m = QEMU.exec(t);
    if (!m) throw new LayoutError(`${file}:${i + 1}: expected a memslot command (JSON) or QEMU's "kvm_set_user_memory [AddrSpace#A ]Slot#S flags=0x.. gpa=0x.. size=0x.. ua=0x.. ret=N"`);
    if (Number(m[7]) !== 0) return; // the ioctl failed: nothing changed
    const as = Number(m[1] ?? 0);
    const slot = Number(m[2]);
    const flags = Number.parseInt(m[3]!, 16);
    const base = Number.parseInt(m[4]!, 16) / 4096;
    const npages = Number.parseInt(m[5]!, 16) / 4096;
    const uaddr = Number.parseInt(m[6]!, 16);
    const key = `${as}/${slot}`;
    const old = live.get(key);
    if (npages === 0) {
      if (old) out.push({ op: 'memslot-delete', as, slot });
      live.delete(key);
      return;
    }
    if (!old) out.push({ op: 'memslot-create', as, slot, base, npages, flags, uaddr });
    else if (old.base !== base) out.push({ op: 'memslot-move', as, slot, base });
    else if (old.flags !== flags) out.push({ op: 'memslot-flags', as, slot, flags });
    live.set(key, { base, npages, flags });
  });
  return out;
}

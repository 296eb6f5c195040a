/**
 * tracefs for the recorder: found wherever the host mounted it, or mounted privately (root only)
 * and unmounted afterwards; a private instance (instances/NAME) so other tracing is undisturbed,
 * removed whatever happens. Every problem is explained with what is missing and the fix.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class RecordError extends Error {}

export interface Tracefs {
  readonly root: string;
  /** Unmounts a private mount (a no-op for the host's). */
  readonly release: () => void;
}

const isTracefs = (dir: string) => existsSync(join(dir, 'instances')) && existsSync(join(dir, 'events'));

/** The host's tracefs, or a private mount of it when the host has none and we are root. */
export function findTracefs(): Tracefs {
  const mounts = existsSync('/proc/mounts') ? readFileSync('/proc/mounts', 'utf8').split('\n') : [];
  const mounted = mounts.map((l) => l.split(' ')).filter((f) => f[2] === 'tracefs').map((f) => f[1]!);
  for (const dir of [...mounted, '/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (isTracefs(dir)) return { root: dir, release: () => {} };
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new RecordError('tracefs is not mounted and only root can mount it: run pagetrack record as root (or mount tracefs: mount -t tracefs nodev /sys/kernel/tracing)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-tracefs-'));
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', dir], { stdio: 'pipe' });
  } catch (err) {
    rmdirSync(dir);
    throw new RecordError(`tracefs is not mounted and mounting it failed (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}): the kernel needs CONFIG_TRACING; mount it with mount -t tracefs nodev /sys/kernel/tracing`);
  }
  return {
    root: dir,
    release: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
        rmdirSync(dir);
      } catch {
        // left mounted: said by the caller's check of leftovers
      }
    },
  };
}

/** The events to record by default: what ingest reads (README, "Ingesting host traces"). */
export const DEFAULT_EVENTS = [
  'kvmmmu/kvm_mmu_get_page',
  'kvmmmu/kvm_mmu_prepare_zap_page',
  'kvmmmu/kvm_mmu_zap_all_fast',
  'kvmmmu/kvm_mmu_set_spte',
  'kvmmmu/kvm_tdp_mmu_spte_changed',
  'kvmmmu/kvm_mmu_pagetable_walk',
  'kvmmmu/kvm_mmu_paging_element',
  'kvm/kvm_emulate_insn',
  'kvm/kvm_page_fault',
  'kvm/kvm_cr',
];

export interface Instance {
  readonly dir: string;
  readonly marker: string;
  readonly pipe: string;
  readonly cpus: number;
  remove(): void;
}

/**
 * A private instance with `events` enabled (a missing one is an error naming it and why), the
 * thread-group ids recorded (ingest groups VMs by them), a buffer of `bufferKb` per CPU, and
 * events of `pids` (and their children) only.
 */
export function createInstance(t: Tracefs, name: string, events: readonly string[], bufferKb: number): Instance {
  const dir = join(t.root, 'instances', name);
  const missing = events.filter((e) => !existsSync(join(t.root, 'events', e, 'enable')));
  if (missing.length) {
    const kvm = existsSync(join(t.root, 'events', 'kvmmmu'));
    throw new RecordError(`this kernel has no event ${missing.join(', ')}${kvm ? '' : ' (no kvmmmu events at all: KVM is not loaded, or the kernel was built without CONFIG_KVM; load kvm and kvm_intel or kvm_amd)'}; name the events to record with --events`);
  }
  mkdirSync(dir);
  const remove = () => {
    try {
      writeFileSync(join(dir, 'tracing_on'), '0');
    } catch {
      // the directory is going anyway
    }
    for (let i = 0; i < 5; i++) {
      try {
        rmdirSync(dir);
        return;
      } catch {
        // a reader may still hold it for a moment
      }
    }
  };
  try {
    writeFileSync(join(dir, 'buffer_size_kb'), String(bufferKb));
    for (const o of ['record-tgid', 'event-fork']) if (existsSync(join(dir, 'options', o))) writeFileSync(join(dir, 'options', o), '1');
    for (const e of events) writeFileSync(join(dir, 'events', e, 'enable'), '1');
  } catch (err) {
    remove();
    throw err;
  }
  const cpus = countCpus(t.root);
  return { dir, marker: join(dir, 'trace_marker'), pipe: join(dir, 'trace_pipe'), cpus, remove };
}

function countCpus(root: string): number {
  let n = 0;
  while (existsSync(join(root, 'per_cpu', `cpu${n}`))) n++;
  return n;
}

/** Events lost so far: the per-CPU "overrun" and "dropped events" counters of the instance. */
export function lostEvents(inst: Instance): number {
  let lost = 0;
  for (let c = 0; c < inst.cpus; c++) {
    let stats: string;
    try {
      stats = readFileSync(join(inst.dir, 'per_cpu', `cpu${c}`, 'stats'), 'utf8');
    } catch {
      continue;
    }
    for (const m of stats.matchAll(/^(?:overrun|dropped events):\s*(\d+)/gm)) lost += Number(m[1]);
  }
  return lost;
}

/** Restricts the instance to these processes (and, with event-fork, their children). */
export function followPids(inst: Instance, pids: readonly number[]): void {
  writeFileSync(join(inst.dir, 'set_event_pid'), pids.join(' '));
}

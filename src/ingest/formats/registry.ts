/**
 * The trace formats ingest reads, how one is recognised from a trace's first lines, and which
 * events are page tracking (the rest are only counted by name).
 */
import type { TraceFormat } from '../record.js';
import { PERF_SCRIPT } from './perf-script.js';
import { TRACE_CMD, TRACE_CMD_RAW } from './trace-cmd.js';
import { TRACEFS } from './tracefs.js';

/** Events ingest reads (kvmmmu and kvm, and trace markers); any other is counted by name. */
export const PAGE_TRACKING_EVENTS: ReadonlySet<string> = new Set([
  'kvm_mmu_get_page',
  'kvm_mmu_prepare_zap_page',
  'kvm_mmu_zap_all_fast',
  'kvm_mmu_invalidate_zap_all_pages',
  'kvm_mmu_set_spte',
  'kvm_tdp_mmu_spte_changed',
  'kvm_mmu_pagetable_walk',
  'kvm_mmu_paging_element',
  'kvm_emulate_insn',
  'kvm_page_fault',
  'kvm_cr',
  'tracing_mark_write',
  'print',
]);

export type FormatName = 'tracefs' | 'trace-cmd' | 'trace-cmd-raw' | 'perf-script';
export const FORMATS: Readonly<Record<FormatName, TraceFormat>> = Object.freeze({ tracefs: TRACEFS, 'trace-cmd': TRACE_CMD, 'trace-cmd-raw': TRACE_CMD_RAW, 'perf-script': PERF_SCRIPT });

/** The format of a trace from its first lines (`--format` overrides). */
export function detectFormat(lines: readonly string[]): FormatName {
  if (lines.some((l) => l.startsWith('# tracer:'))) return 'tracefs';
  for (const l of lines) {
    if (/^\s*\S.*?\s+\d+(?:\/\d+)?\s+\[\d+\]\s+\d+\.\d+:\s+(?:\d+\s+)?(kvm|kvmmmu|ftrace):\w+:/.test(l)) return 'perf-script';
  }
  const sp = lines.find((l) => /kvm_mmu_(get|prepare_zap)_page:/.test(l));
  if (sp) {
    const payload = sp.slice(sp.indexOf('_page:') + 6).trim();
    if (/\bgfn=/.test(payload)) return 'trace-cmd-raw';
    if (/^(new|existing) sp gfn|^sp gfn|^\d+(\/\d+)? q\d/.test(payload)) return 'trace-cmd';
    return 'tracefs';
  }
  if (lines.some((l) => /^cpus=\d+/.test(l))) return lines.some((l) => /\s\w+=\S/.test(l) && /\]\s+\d+\.\d+:/.test(l)) ? 'trace-cmd-raw' : 'trace-cmd';
  return 'tracefs';
}


/**
 * tracefs text (`trace` and `trace_pipe`): `TASK-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: PAYLOAD`.
 * The task name may hold spaces and dashes ("CPU 0/KVM-4145"): the pid is the last "-digits"
 * before the CPU column. FLAGS is absent before ~4.x latency output, 4 characters in 4.x and 5 from
 * 5.x (migrate-disable); the TGID column appears with options/record-tgid. Payloads are the
 * kernel's own TP_printk output. Header lines start with "#".
 */
import type { ParsedLine, TraceFormat } from '../record.js';

// task-pid, optional (tgid), [cpu], optional flags, timestamp, event, payload
const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d+)\]\s+(?:([.a-zA-Z0-9]{4,6})\s+)?(\d+\.\d+):\s+([A-Za-z_][\w]*):\s?(.*)$/;

export function parseTracefsLine(text: string, line: number): ParsedLine {
  if (text.length === 0 || text.charCodeAt(0) === 35 /* # */) return { kind: 'skip' };
  const m = LINE.exec(text);
  if (!m) return { kind: 'error', ...whereItStops(text) };
  return {
    kind: 'record',
    record: {
      line,
      task: m[1]!,
      pid: Number(m[2]),
      ...(m[3] !== undefined && /^\d+$/.test(m[3]) ? { tgid: Number(m[3]) } : {}),
      cpu: Number(m[4]),
      ts: m[6]!,
      event: m[7]!,
      payload: m[8]!,
    },
  };
}

/** Column and expectation for a line that is not `TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: ...`. */
export function whereItStops(text: string): { column: number; expected: string } {
  const cpu = text.indexOf('[');
  if (cpu < 0) return { column: 1, expected: 'TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: (no [CPU] column)' };
  if (!/-\d+\s+(\(\s*[\d-]+\)\s+)?$/.test(text.slice(0, cpu))) return { column: 1, expected: 'TASK-PID before the [CPU] column' };
  const close = text.indexOf(']', cpu);
  if (close < 0 || !/^\d+$/.test(text.slice(cpu + 1, close))) return { column: cpu + 2, expected: 'a CPU number in [...]' };
  const ts = /^\s+(?:[.a-zA-Z0-9]{4,6}\s+)?\d+\.\d+:/.exec(text.slice(close + 1));
  if (!ts) return { column: close + 2, expected: 'FLAGS (optional) and TIMESTAMP: (seconds.micros)' };
  return { column: close + 2 + ts[0].length, expected: ' EVENT: PAYLOAD' };
}

export const TRACEFS: TraceFormat = { name: 'tracefs', payloads: 'kernel', parse: parseTracefsLine };

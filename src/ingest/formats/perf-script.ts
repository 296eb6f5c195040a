/**
 * `perf script` text of tracepoints: `COMM PID [CPU] TIMESTAMP: SYSTEM:EVENT: PAYLOAD` (default
 * fields comm, tid, cpu, time, event, trace), or `COMM PID/TID [CPU] ...` with `-F +pid`.
 * The comm may hold spaces; the payload is the kernel's TP_printk output. perf writes a marker
 * written to trace_marker as `ftrace:print: ...`.
 */
import type { ParsedLine, TraceFormat } from '../record.js';

const LINE = /^\s*(.*?)\s+(\d+)(?:\/(\d+))?\s+\[(\d+)\]\s+(\d+\.\d+):\s+(?:\d+\s+)?([A-Za-z_]\w*):([A-Za-z_]\w*):\s?(.*)$/;

export function parsePerfScriptLine(text: string, line: number): ParsedLine {
  if (text.trim().length === 0 || text.charCodeAt(0) === 35) return { kind: 'skip' };
  const m = LINE.exec(text);
  if (!m) {
    const cpu = text.indexOf('[');
    return { kind: 'error', column: cpu < 0 ? 1 : cpu + 1, expected: 'COMM PID [CPU] TIMESTAMP: SYSTEM:EVENT: PAYLOAD' };
  }
  const tid = m[3] !== undefined ? Number(m[3]) : Number(m[2]);
  const event = m[6] === 'ftrace' && m[7] === 'print' ? 'tracing_mark_write' : m[7]!;
  return {
    kind: 'record',
    record: { line, task: m[1]!, pid: tid, ...(m[3] !== undefined ? { tgid: Number(m[2]) } : {}), cpu: Number(m[4]), ts: m[5]!, event, payload: m[8]! },
  };
}

/** The event name of "... TIMESTAMP: SYSTEM:EVENT: ...". */
function perfEventOf(text: string): string | undefined {
  const close = text.indexOf('] ');
  if (close < 0) return undefined;
  const colon = text.indexOf(': ', close);
  if (colon < 0) return undefined;
  const sys = text.indexOf(':', colon + 2);
  const end = sys < 0 ? -1 : text.indexOf(':', sys + 1);
  if (end < 0) return undefined;
  const event = text.slice(sys + 1, end);
  return text.slice(colon + 2, sys).trim() === 'ftrace' && event === 'print' ? 'tracing_mark_write' : event;
}

export const PERF_SCRIPT: TraceFormat = { name: 'perf-script', payloads: 'kernel', parse: parsePerfScriptLine, eventOf: perfEventOf };

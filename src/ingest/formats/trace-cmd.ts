/**
 * `trace-cmd report` text: `TASK-PID [CPU] TIMESTAMP: EVENT: PAYLOAD` (latency flags between CPU
 * and timestamp with -l), after a `cpus=N` line. Its kvmmmu shadow-page events are printed by
 * libtraceevent's kvm plugin in its own shape (see payloads.ts, plugin), and with `-R` every
 * event is printed as raw `field=value` pairs. The header is the same as tracefs's without the
 * `#` lines, so the line grammar is shared.
 */
import type { ParsedLine, TraceFormat } from '../record.js';
import { parseTracefsLine, tracefsEventOf } from './tracefs.js';

export function parseTraceCmdLine(text: string, line: number): ParsedLine {
  if (/^(cpus|version)=/.test(text) || /^CPU \d+ is empty$/.test(text) || /^\s*$/.test(text)) return { kind: 'skip' };
  const p = parseTracefsLine(text, line);
  // trace-cmd pads the event name ("kvm_mmu_get_page:     new sp ..."): the payload starts after the padding
  return p.kind === 'record' ? { kind: 'record', record: { ...p.record, payload: p.record.payload.trimStart() } } : p;
}

export const TRACE_CMD: TraceFormat = { name: 'trace-cmd', payloads: 'plugin', parse: parseTraceCmdLine, eventOf: tracefsEventOf };
export const TRACE_CMD_RAW: TraceFormat = { name: 'trace-cmd-raw', payloads: 'raw', parse: parseTraceCmdLine, eventOf: tracefsEventOf };

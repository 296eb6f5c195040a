/**
 * One trace line, whatever tool printed it: who (task, pid), where (CPU), when (the timestamp as
 * printed, seconds), which event, and the event's payload text. The format parsers
 * (src/ingest/formats) make these; the payload decoders (payloads.ts) read the payload.
 */
export interface TraceRecord {
  readonly line: number;
  readonly task: string;
  readonly pid: number;
  /** The thread group (process) when the trace shows it (tracefs with record-tgid, perf with --fields pid,tid). */
  readonly tgid?: number;
  readonly cpu: number;
  /** Seconds, as printed ("1404.389384"): kept as text so no digit is lost. */
  readonly ts: string;
  /** The event name without its system ("kvm_mmu_get_page"). */
  readonly event: string;
  /** The event's text after "event: ". */
  readonly payload: string;
}

/** What a format parser makes of one line. */
export type ParsedLine =
  | { readonly kind: 'record'; readonly record: TraceRecord }
  /** A header, comment or blank line of the format: no event. */
  | { readonly kind: 'skip' }
  /** A line the format does not recognise: `column` (1-based) is where it stops matching. */
  | { readonly kind: 'error'; readonly column: number; readonly expected: string };

export interface TraceFormat {
  readonly name: 'tracefs' | 'trace-cmd' | 'trace-cmd-raw' | 'perf-script';
  /** How the format prints kvmmmu shadow-page events: the kernel's TP_printk, libtraceevent's kvm plugin, or raw fields. */
  readonly payloads: 'kernel' | 'plugin' | 'raw';
  parse(text: string, line: number): ParsedLine;
  /** The event name of a well-formed line, found without parsing it (so other events are counted cheaply). */
  eventOf(text: string): string | undefined;
}

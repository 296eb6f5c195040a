import type { PageTrackEvent } from './types.js';

/** Where a VM's committed batches go. */
export interface EventSink {
  append(batch: readonly PageTrackEvent[]): void;
}

/**
 * The append-only in-memory log: events in sequence order, never changed or removed. Reads
 * return views, not copies.
 */
export class InMemoryEventLog implements EventSink {
  private readonly store: PageTrackEvent[] = [];

  append(batch: readonly PageTrackEvent[]): void {
    for (let i = 0; i < batch.length; i++) this.store.push(batch[i]!);
  }

  get length(): number {
    return this.store.length;
  }

  /** All events, in order (a read-only view of the live array). */
  get events(): readonly PageTrackEvent[] {
    return this.store;
  }

  /** The event with sequence number `seq` (from 1). */
  at(seq: number): PageTrackEvent | undefined {
    return this.store[seq - 1];
  }
}

/** One sink that appends to several, in order (a log file and an in-memory log, say). */
export function teeSinks(...sinks: EventSink[]): EventSink {
  return {
    append(batch) {
      for (const s of sinks) s.append(batch);
    },
  };
}

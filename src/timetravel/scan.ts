import { open } from 'node:fs/promises';
import type { PageTrackEvent } from '../events/types.js';
import { decodeEvent } from '../log/codec.js';
import { UPCASTERS, upcast } from '../log/upcast.js';

/**
 * Events from byte `offset` of a log (the start of an event line) onwards, in batches, parsed and
 * upcast but not validated: for positions an index already vouched for. Stops at a cut-off tail.
 */
export async function* scanEvents(path: string, offset: number, chunkBytes = 1 << 20): AsyncGenerator<PageTrackEvent[]> {
  const fh = await open(path, 'r');
  try {
    let position = offset;
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(chunkBytes), 0, chunkBytes, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      const data = carry.length ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
      const last = data.lastIndexOf(10);
      if (last < 0) {
        carry = Buffer.from(data);
        continue;
      }
      carry = Buffer.from(data.subarray(last + 1));
      const lines = data.toString('utf8', 0, last).split('\n');
      const batch: PageTrackEvent[] = new Array<PageTrackEvent>(lines.length);
      for (let i = 0; i < lines.length; i++) {
        const e = decodeEvent(JSON.parse(lines[i]!) as unknown[], UPCASTERS);
        batch[i] = upcast(e as Record<string, unknown>, UPCASTERS) as unknown as PageTrackEvent;
      }
      yield batch;
    }
  } finally {
    await fh.close();
  }
}

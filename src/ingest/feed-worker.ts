/**
 * The feed's worker thread: runs traceFeed (reading, splitting, counting, locating headers) on a
 * core of its own and posts each batch to the model's thread, its arrays transferred, never
 * more than CREDITS batches ahead of what that thread has taken (so memory stays bounded).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../io/input-file.js';
import type { FormatName } from './formats/registry.js';
import { traceFeed } from './trace-feed.js';

export const CREDITS = 4;

const port = parentPort!;
const { input, format, scan } = workerData as { input: string; format?: FormatName; scan: boolean };
let credits = CREDITS;
let wake: (() => void) | undefined;
port.on('message', (m: { credit?: number }) => {
  credits += m.credit ?? 0;
  wake?.();
});

try {
  for await (const b of traceFeed(input, format, scan)) {
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    port.postMessage({ batch: b }, [b.ints.buffer as ArrayBuffer, b.nums.buffer as ArrayBuffer, b.bytes.buffer as ArrayBuffer]);
  }
  port.postMessage({ done: true });
} catch (err) {
  const e = err as Error;
  port.postMessage({ error: { message: e.message, input: err instanceof InputError, path: (err as InputError).path, code: (err as InputError).code } });
}
port.close();

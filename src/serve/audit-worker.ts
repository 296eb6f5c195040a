/** The audit of `serve`'s log on a thread of its own (findings.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { auditLog } from '../cli/audit-command.js';

const { log } = workerData as { log: string };
auditLog(log, true).then(
  (report) => parentPort!.postMessage({ report }),
  (err: unknown) => parentPort!.postMessage({ error: (err as Error).message }),
);

/**
 * The audit's findings for the page, computed in the background after the server starts: on a
 * worker thread when the built package is there (the audit of a 10 M-event log takes seconds
 * and must not hold up requests), else (TypeScript sources under the tests) on this thread,
 * between requests.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AuditReport } from '../audit/auditor.js';
import { auditLog } from '../cli/audit-command.js';

export type FindingsStatus = { readonly ready: false; readonly error?: string } | { readonly ready: true; readonly report: AuditReport };

export class BackgroundAudit {
  status: FindingsStatus = { ready: false };
  private running: Promise<void> | undefined;

  constructor(private readonly log: string) {}

  /** Starts the audit (once); resolves when its findings are in `status`. */
  start(): Promise<void> {
    this.running ??= this.run(this.log).then(
      (report) => {
        this.status = { ready: true, report };
      },
      (err: unknown) => {
        this.status = { ready: false, error: `the audit failed: ${(err as Error).message}` };
      },
    );
    return this.running;
  }

  private worker: Worker | undefined;

  private run(log: string): Promise<AuditReport> {
    const script = fileURLToPath(new URL('./audit-worker.js', import.meta.url));
    if (!existsSync(script)) return auditLog(log, true);
    return new Promise<AuditReport>((resolve, reject) => {
      const w = new Worker(script, { workerData: { log } });
      this.worker = w;
      w.once('message', (m: { report?: AuditReport; error?: string }) => (m.report ? resolve(m.report) : reject(new Error(m.error ?? 'no report'))));
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`the audit thread exited (${code})`)));
    });
  }

  /** Stops the worker, if one runs. */
  async close(): Promise<void> {
    await this.worker?.terminate();
  }
}

/**
 * Private temporary folders that hold copies of logs (standard input spooled, a VM's log copied
 * out of a stream): removed when the process exits, and on Ctrl-C or SIGTERM too, which do not
 * run 'exit' handlers by themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();
let installed = false;

const removeAll = (): void => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
};

/** Removes `dir` when the process ends, however it ends short of SIGKILL. */
export function removeAtExit(dir: string): void {
  dirs.add(dir);
  if (installed) return;
  installed = true;
  process.once('exit', removeAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      removeAll();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** A fresh private folder under the system's temporary folder, removed at exit. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  removeAtExit(dir);
  return dir;
}

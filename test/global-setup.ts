/**
 * Builds the CLI once before any test file runs (tests spawn bin/pagetrack.js, which runs
 * dist/): one build, so no file's build rewrites dist/ under another file's running CLI.
 * Gives the run a temporary folder of its own (TMPDIR, which the test files' mkdtemp and the
 * processes they start use) and removes it at the end, so no run leaves folders in /tmp.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-tests-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}

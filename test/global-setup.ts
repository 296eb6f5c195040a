/**
 * Builds the CLI once before any test file runs (tests spawn bin/pagetrack.js, which runs
 * dist/): one build, so no file's build rewrites dist/ under another file's running CLI.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
}

/**
 * Issue 15: every command the tool suggests ("next:" after simulate) runs and answers — the
 * hints are part of the interface. Each is run as printed (shell quoting included), in the
 * directory the simulation ran in; debug gets its commands on standard input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');


/** The hint lines after "next:", as argument lists (the commands are printed for a POSIX shell). */
function hints(stdout: string): string[][] {
  const lines = stdout.split('\n');
  return lines
    .slice(lines.indexOf('next:') + 1)
    .filter((l) => l.startsWith('  npx pagetrack '))
    .map((l) => {
      const cmd = l.slice('  npx pagetrack '.length).replace(/ {3}\(.*\)$/, '');
      return [...cmd.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
    });
}

describe('the hints simulate prints all run', () => {
  it('audit, state at the middle, bisect, debug, and simulate --inject: each answers with exit 0 or 1 (a finding / "never") and no error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagetrack-hints-'));
    const sim = spawnSync(process.execPath, [BIN, 'simulate', 'shadow-mmu', '--events', '20000', '--quiet'], { cwd: dir, encoding: 'utf8' });
    expect(sim.status).toBe(0);
    const all = hints(sim.stdout);
    expect(all.map((h) => h[0])).toEqual(['audit', 'state', 'bisect', 'debug', 'simulate']);
    for (const args of all) {
      const r = spawnSync(process.execPath, [BIN, ...args, ...(args[0] === 'simulate' ? ['--events', '20000', '--quiet'] : [])], { cwd: dir, encoding: 'utf8', input: 'help\nquit\n', timeout: 60_000 });
      expect([args.join(' '), r.status, r.stderr]).toEqual([args.join(' '), args[0] === 'bisect' || args[0] === 'audit' ? r.status : 0, '']);
      expect([0, 1]).toContain(r.status);
      expect(r.stdout.length).toBeGreaterThan(0);
    }
    // the planted bug is found by the hint that follows it
    const injected = spawnSync(process.execPath, [BIN, 'audit', 'pagetrack-out/shadow-mmu.log.ndjson'], { cwd: dir, encoding: 'utf8' });
    expect(injected.status).toBe(1);
    expect(injected.stdout).toMatch(/B1/);
  });
});

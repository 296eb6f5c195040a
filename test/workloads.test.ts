import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Auditor } from '../src/audit/auditor.js';
import { PageTrackVm } from '../src/domain/vm.js';
import { INJECTABLE, WORKLOADS } from '../src/workloads/index.js';
import { WORKLOAD_NAMES } from '../src/workloads/catalog.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');

function simulate(name: string, inject?: (typeof INJECTABLE)[number], events = 30_000) {
  const w = WORKLOADS.find((x) => x.name === name)!;
  const vm = new PageTrackVm({ profile: w.profile });
  const r = w.run(vm, { events, seed: 5, ...(inject ? { inject } : {}) });
  const a = new Auditor(w.profile);
  for (const e of vm.log!.events) a.see(e);
  return { r, vm, report: a.finish() };
}

/** Where each injected bug must show up: the classes found at the injection's command. */
const EXPECTED: Record<(typeof INJECTABLE)[number], string[]> = {
  'unbalanced-remove': ['B2:error', 'B3:warning', 'B4:error'], // a remove on an untracked gfn
  'leak-at-unregister': ['B11:error'],
  'late-registration': ['B11:warning'],
  'counter-overflow': ['B2:error', 'B3:warning'],
  'deleted-slot-tracking': ['B13:error'],
};

describe.each(WORKLOADS.map((w) => w.name))('workload %s', (name) => {
  it('a clean run reports no finding at warning or above, and exercises its part of the model', () => {
    const { r, vm, report } = simulate(name);
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.events).toBeGreaterThanOrEqual(30_000);
    const types = new Set(vm.log!.events.map((e) => e.type));
    const wanted = { 'shadow-mmu': ['sp-created', 'sp-write-flooding', 'notification', 'spte-write-protected'], vgpu: ['slot-flush-notified', 'notification', 'memslot-moved'], introspection: ['notification', 'track-queried'] }[name]!;
    for (const t of wanted) expect(types, t).toContain(t);
  });

  it.each([...INJECTABLE])('--inject %s is found with the right class where it was put', (bug) => {
    const { r, report } = simulate(name, bug, 20_000);
    expect(r.injected?.bug).toBe(bug);
    expect(report.findings.filter((f) => f.position.command === r.injected!.cmd).map((f) => `${f.class}:${f.severity}`)).toEqual(EXPECTED[bug]);
  });
});

it('the catalog the CLI lists at start-up names exactly the workloads', () => {
  expect(WORKLOADS.map((w) => w.name)).toEqual([...WORKLOAD_NAMES]);
});

describe('pagetrack simulate', () => {

  it('is deterministic for a seed (byte-identical logs with SOURCE_DATE_EPOCH) and says what to try next', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagetrack-sim-'));
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1764028800' };
    const go = (out: string) => spawnSync(process.execPath, [BIN, 'simulate', 'introspection', '--events', '5000', '--seed', '9', '--out', out, '--quiet'], { encoding: 'utf8', env });
    const a = go(join(dir, 'a.log'));
    go(join(dir, 'b.log'));
    expect(readFileSync(join(dir, 'a.log')).equals(readFileSync(join(dir, 'b.log')))).toBe(true);
    expect(a.stdout.split('\n')[0]).toMatch(new RegExp(`^introspection \\(linux-4\\.19, seed 9\\): \\d+ commands, \\d+ events in [\\d.]+ s; log: ${join(dir, 'a.log').replace(/[.]/g, '\\.')}$`));
    expect(a.stdout).toContain(`npx pagetrack audit ${join(dir, 'a.log')}`);
    const audit = spawnSync(process.execPath, [BIN, 'audit', join(dir, 'a.log'), '--fail-on', 'warning', '--quiet'], { encoding: 'utf8' });
    expect(audit.status).toBe(0);
    const bad = spawnSync(process.execPath, [BIN, 'simulate', 'nvme'], { encoding: 'utf8' });
    expect([bad.status, bad.stderr]).toEqual([2, "pagetrack: unknown workload 'nvme' (one of: shadow-mmu, vgpu, introspection)\n"]);
  });
});

/**
 * Issue 15: `audit --checkpoint FILE` resumes an appended log where the last audit stopped (as
 * ausearch --checkpoint). A log audited in pieces, each append resumed from the checkpoint, gives
 * the whole log's findings and summary (only the tracked-gfn samples differ: each run samples
 * what it read); a checkpoint of another log, a cut log or a changed file is refused.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../src/cli/audit-command.js';
import type { AuditReport } from '../src/audit/auditor.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');
let dir: string;
let lines: string[];
let whole: AuditReport;
let n = 0;
const fresh = (name: string) => join(dir, `${n++}-${name}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-audit-cp-'));
  const log = join(dir, 'leak.log.ndjson');
  // A workload with an injected leak, so findings of several classes come before and after any cut.
  execFileSync(process.execPath, [BIN, 'simulate', 'vgpu', '--events', '4000', '--inject', 'leak-at-unregister', '--out', log, '--quiet'], { env: { ...process.env, SOURCE_DATE_EPOCH: '1' } });
  lines = readFileSync(log, 'utf8').split('\n').slice(0, -1);
  whole = await auditLog(log, true);
});

const withoutSamples = (r: AuditReport) => ({ ...r, summary: { ...r.summary, trackedOverTime: [] } });

describe('audit --checkpoint', () => {
  it('a log audited in appended pieces gives the whole log\'s report (findings, summary), whatever the cuts', async () => {
    expect(whole.findings.length).toBeGreaterThan(0);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: lines.length - 1 }), { minLength: 1, maxLength: 3 }), async (cuts) => {
        const log = fresh('pieces.log.ndjson');
        const cp = fresh('audit.cp');
        let from = 0;
        let last: AuditReport | undefined;
        for (const cut of [...cuts.sort((a, b) => a - b), lines.length]) {
          appendFileSync(log, lines.slice(from, cut).map((l) => `${l}\n`).join(''));
          from = cut;
          last = await auditLog(log, true, cp);
        }
        expect(withoutSamples(last!)).toEqual(withoutSamples(whole));
      }),
      { numRuns: 8 },
    );
  });

  it('a run with nothing appended gives the same report again, and keeps the checkpoint usable', async () => {
    const log = fresh('same.log.ndjson');
    const cp = fresh('same.cp');
    writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
    const first = await auditLog(log, true, cp);
    const again = await auditLog(log, true, cp);
    expect(withoutSamples(again)).toEqual(withoutSamples(first));
    expect(again.summary.events).toBe(lines.length - 1);
  });

  it('refuses a checkpoint of another log, of a log cut shorter, or a changed file, saying why (exit 2)', async () => {
    const log = fresh('a.log.ndjson');
    const cp = fresh('a.cp');
    writeFileSync(log, lines.map((l) => `${l}\n`).join(''));
    await auditLog(log, true, cp);
    const other = fresh('other.log.ndjson');
    execFileSync(process.execPath, [BIN, 'simulate', 'vgpu', '--events', '200', '--seed', '2', '--out', other, '--quiet'], { env: { ...process.env, SOURCE_DATE_EPOCH: '2' } });
    const otherRun = spawnSync(process.execPath, [BIN, 'audit', other, '--checkpoint', cp], { encoding: 'utf8' });
    expect(otherRun.status).toBe(2);
    expect(otherRun.stderr).toBe(`pagetrack: --checkpoint ${cp} does not fit ${other}: it was taken on another log (created 1970-01-01T00:00:01.000Z, linux-4.19; this one: created 1970-01-01T00:00:02.000Z, linux-4.19); delete it to audit from the start\n`);

    // Same header, other lines (another seed): the line where the checkpoint stopped tells them apart.
    const rewritten = fresh('rewritten.log.ndjson');
    execFileSync(process.execPath, [BIN, 'simulate', 'vgpu', '--events', '8000', '--seed', '3', '--out', rewritten, '--quiet'], { env: { ...process.env, SOURCE_DATE_EPOCH: '1' } });
    const rw = spawnSync(process.execPath, [BIN, 'audit', rewritten, '--checkpoint', cp], { encoding: 'utf8' });
    expect([rw.status, rw.stderr]).toEqual([2, expect.stringMatching(new RegExp(`^pagetrack: --checkpoint ${cp} does not fit ${rewritten}: the line before byte \\d+, where the checkpoint stopped, is not the one it saw: the log was rewritten or replaced; delete it to audit from the start\n$`))]);

    const cut = fresh('cut.log.ndjson');
    writeFileSync(cut, lines.slice(0, 10).map((l) => `${l}\n`).join(''));
    const cutCp = fresh('cut.cp');
    writeFileSync(cutCp, readFileSync(cp));
    const cutRun = spawnSync(process.execPath, [BIN, 'audit', cut, '--checkpoint', cutCp], { encoding: 'utf8' });
    expect([cutRun.status, cutRun.stderr]).toEqual([2, expect.stringMatching(/: the log is shorter \(\d+ bytes\) than where the checkpoint stopped \(\d+\): it was cut or replaced; delete it to audit from the start\n$/)]);

    const changed = readFileSync(cp);
    changed.writeUInt8(changed.readUInt8(changed.length - 5) ^ 1, changed.length - 5);
    writeFileSync(cp, changed);
    const bad = spawnSync(process.execPath, [BIN, 'audit', log, '--checkpoint', cp], { encoding: 'utf8' });
    expect([bad.status, bad.stderr]).toEqual([2, `pagetrack: ${cp}: the audit checkpoint's signature does not hold: it was changed, or written by another user or machine (its key is in the cache folder); delete it to audit from the start\n`]);
    writeFileSync(cp, 'hello');
    expect(spawnSync(process.execPath, [BIN, 'audit', log, '--checkpoint', cp], { encoding: 'utf8' }).stderr).toBe(`pagetrack: ${cp}: not a pagetrack audit checkpoint (it does not start with 'pagetrack-audit-checkpoint 1')\n`);
    rmSync(cp);
  });
});

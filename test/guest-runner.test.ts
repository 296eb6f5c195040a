/**
 * native/guest-runner.c against this machine's /dev/kvm. Where /dev/kvm exists every example
 * scenario must run to exit 0; where it does not (this project's PVM machines: "kvm-pvm: this
 * kernel is itself a kvm-pvm guest; not binding"), the runner must say so with exit 3, and the
 * KVM part is skipped with the reason printed. A malformed scenario is exit 2 naming its line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const NATIVE = join(import.meta.dirname, '..', 'native');
const cc = spawnSync('gcc', ['--version']);
const haveGcc = !cc.error && cc.status === 0;
let bin = '';

beforeAll(() => {
  if (!haveGcc) return;
  bin = join(mkdtempSync(join(tmpdir(), 'pagetrack-runner-')), 'guest-runner');
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, join(NATIVE, 'guest-runner.c')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`guest-runner does not build:\n${r.stderr}`);
});

describe('native/guest-runner', () => {
  it.skipIf(!haveGcc)('a malformed scenario is exit 2 naming the line', () => {
    const bad = join(tmpdir(), `bad-${process.pid}.scn`);
    writeFileSync(bad, 'memslot 0 0x0 0x200000\nstore 0x1000 3\n');
    const r = spawnSync(bin, [bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({ line: 2, op: 'parse', ok: false, error: `malformed scenario: ${bad}:2: WIDTH must be 1, 2, 4 or 8, not 3` });
  });

  const scenarios = readdirSync(join(NATIVE, 'scenarios')).filter((f) => f.endsWith('.scn'));
  it.skipIf(!haveGcc)(`the ${scenarios.length} example scenarios: run on a real /dev/kvm, or exit 3 saying why there is none`, (ctx) => {
    for (const s of scenarios) {
      const r = spawnSync(bin, [join(NATIVE, 'scenarios', s)], { encoding: 'utf8', timeout: 20_000 });
      if (!existsSync('/dev/kvm')) {
        expect([s, r.status]).toEqual([s, 3]);
        expect(r.stdout).toContain('cannot open /dev/kvm');
      } else expect([s, r.status, r.stderr]).toEqual([s, 0, '']);
    }
    if (!existsSync('/dev/kvm')) {
      console.log('guest-runner on a real KVM: SKIPPED: /dev/kvm does not exist on this machine (a PVM guest kernel: kvm-pvm does not bind); only the no-KVM answer was checked');
      ctx.skip();
    }
  });
});

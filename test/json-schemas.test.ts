/**
 * Issue 15, "one JSON vocabulary": every command's `--json` output is checked against its JSON
 * Schema in `schemas/` (a position is `{event, command}` everywhere, gfns are integers), on the
 * shipped example log, a log with every finding class the demo shows, and a small ingested trace.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeTrace } from '../bench/trace-gen.js';
import { SCHEMAS, conforms, schema } from './json-schema-check.js';

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'pagetrack.js');

let dir: string;
let log: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pagetrack-schemas-'));
  log = join(dir, 'demo.log.ndjson');
  copyFileSync(join(ROOT, 'examples', 'demo.log.ndjson'), log);
});

function run(...args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, input: '' });
  if (r.status === null || r.status > 1) throw new Error(`pagetrack ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}


const json = (...args: string[]) => JSON.parse(run(...args).stdout) as Record<string, unknown>;

describe('every command with --json has a schema, and its output conforms (publish, fleet and audit --nats: test/fleet.test.ts, on a real cluster)', () => {
  it('the schemas in the repository are exactly the commands with --json, plus the shared vocabulary', async () => {
    const help = run('--help').stdout;
    const commands = [...help.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    const helps = await Promise.all(commands.map((c) => execFileAsync(process.execPath, [BIN, c, '--help'], { encoding: 'utf8' })));
    const withJson = commands.filter((_, i) => /--json/.test(helps[i]!.stdout)).sort();
    expect(readdirSync(SCHEMAS).map((f) => f.replace('.schema.json', '')).sort()).toEqual([...withJson, 'common'].sort());
  });

  it('verify', () => conforms('verify', json('verify', log, '--json')));

  it('state: at the end, at a command, filtered and cut', () => {
    for (const extra of [[], ['--at', 'c9'], ['--at', 'e20', '--gfn', '0x1000-0x2000', '--limit', '1'], ['--command', '3', '--type', 'track,spte']]) {
      const s = json('state', log, '--json', ...extra);
      conforms('state', s);
    }
    expect(json('state', log, '--json', '--at', 'c9').position).toEqual({ event: 35, command: 9 });
  });

  it('step: moved, found and not found, with positions as objects', () => {
    const moved = json('step', log, '--at', 'c3', '--json');
    conforms('step', moved);
    expect(moved.from).toEqual({ event: 12, command: 3 });
    expect(moved.position).toEqual({ event: 13, command: 4 });
    conforms('step', json('step', log, '--at', 'start', '--type', 'warn', '--json'));
    conforms('step', json('step', log, '--at', 'end', '--type', 'warn', '--json'));
  });

  it('diff: from and to are positions', () => {
    const d = json('diff', log, 'c2', 'c9', '--json');
    conforms('diff', d);
    expect([d.from, d.to]).toEqual([{ event: 10, command: 2 }, { event: 35, command: 9 }]);
  });

  it('history: an object with the gfn, the end point and positioned touches', () => {
    const h = json('history', log, '--gfn', '0x1234', '--json');
    conforms('history', h);
    expect(h.gfn).toBe(0x1234);
    expect((h.touches as Array<{ position: unknown; event: { seq: number; cmd: number } }>).every((t) => JSON.stringify(t.position) === JSON.stringify({ event: t.event.seq, command: t.event.cmd }))).toBe(true);
  });

  it('why: the position where the question was asked', () => {
    const w = json('why', log, '--gfn', '0x1234', '--at', 'c9', '--json');
    conforms('why', w);
    expect(w.position).toEqual({ event: 35, command: 9 });
    expect(w.gfn).toBe(0x1234);
  });

  it('bisect: found and never', () => {
    conforms('bisect', json('bisect', log, '--when', 'warns() > 0', '--json'));
    conforms('bisect', json('bisect', log, '--when', 'count(0x1234) > 100', '--json'));
  });

  it('audit: findings carry a position and their reference entry', () => {
    const a = json('audit', log, '--json') as { findings: Array<{ position: unknown; ref: string; class: string }> };
    conforms('audit', a);
    expect(a.findings[0]).toMatchObject({ class: 'B1', position: { event: 41, command: 11 }, ref: 'docs/reference.md#B1' });
  });

  it('profiles and compare', () => {
    conforms('profiles', json('profiles', '--json'));
    conforms('compare', json('compare', join(ROOT, 'examples', 'demo.ndjson'), '--profiles', 'linux-4.6,linux-6.6', '--json'));
  });

  it('query: columns and rows as objects', () => {
    const q = json('query', log, 'SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY n DESC, type LIMIT 2', '--json', '--quiet');
    conforms('query', q);
    expect(q.columns).toEqual(['type', 'n']);
  });

  it('ingest', async () => {
    const trace = join(dir, 'small.trace');
    await writeTrace(trace, 3000);
    conforms('ingest', json('ingest', trace, '--out', join(dir, 'ingested'), '--json', '--quiet'));
  });

  it('debug: every kind of line it answers', () => {
    const r = spawnSync(process.execPath, [BIN, 'debug', log, '--json'], { encoding: 'utf8', input: ['n', 'event', 'state', 'gfn 0x1234', 'mark a', 'nc 3', 'marks', 'diff a', 'find --type warn', 'rfind --type nothing-like-this', 'help', 'bogus', 'quit'].join('\n') + '\n' });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const l of lines) conforms('debug', l);
  });
});

describe('the schemas can fail', () => {
  it('an old-style position (a bare number) and a hex-string gfn are refused', () => {
    const w = json('why', log, '--gfn', '0x1234', '--at', 'c9', '--json');
    expect(schema('why')({ ...w, position: 35 })).toBe(false);
    expect(schema('why')({ ...w, gfn: '0x1234' })).toBe(false);
    const { position: _p, ...rest } = w;
    expect(schema('why')({ ...rest, at: 35 })).toBe(false);
  });
});

/**
 * `pagetrack serve` on an indexed log: how soon it answers after start, when its background work
 * (the timeline's reduction, the audit) is done, and how fast 200 random zooms (/api/timeline,
 * 1,000 columns, spans from 100 events to the whole log) and 200 random seeks (what the page asks
 * on a seek: /api/state with 200 rows per table and /api/summary, together) answer once it is.
 * The server runs in a process of its own, as a user starts it; times are wall-clock round trips.
 *
 *   node dist/bench/serve-bench.js LOG     (prints JSON)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/pagetrack.js', import.meta.url));
const SERVE = new URL('../src/cli/serve-command.js', import.meta.url).href;
const COMMANDER = pathToFileURL(createRequire(import.meta.url).resolve('commander')).href;
const REQUESTS = 200;

/** The serve command as a process: the CLI once `serve` is wired into it, else the command alone. */
function startServe(log: string): ChildProcess {
  const wired = existsSync(BIN) && /^ {2}serve /m.test(spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' }).stdout);
  if (wired) return spawn(process.execPath, [BIN, 'serve', log, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  // A file, not `node -e`: workers (the audit's, the reader's hash thread) inherit the parent's flags.
  const entry = join(mkdtempSync(join(tmpdir(), 'pagetrack-serve-bench-')), 'serve.mjs');
  writeFileSync(entry, `import { Command } from ${JSON.stringify(COMMANDER)}; import { addServeCommand } from ${JSON.stringify(SERVE)}; const p = new Command().name('pagetrack'); addServeCommand(p); await p.parseAsync(process.argv.slice(2), { from: 'user' });\n`);
  return spawn(process.execPath, [entry, 'serve', log, '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../..', import.meta.url)) });
}

/** A small seeded generator (mulberry32), so every run asks the same requests. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { requests: s.length, medianMs: +at(0.5).toFixed(1), p90Ms: +at(0.9).toFixed(1), maxMs: +s[s.length - 1]!.toFixed(1) };
};

async function timed(url: string): Promise<{ ms: number; body: unknown }> {
  const t = performance.now();
  const r = await fetch(url);
  const body: unknown = await r.json();
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - t, body };
}

export async function serveBench(log: string): Promise<object> {
  const started = performance.now();
  const child = startServe(log);
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}) before it printed its URL`)));
    });
    const urlMs = performance.now() - started;
    const meta = (await timed(`${base}api/meta`)).body as { events: number };
    const firstAnswerMs = performance.now() - started;
    const first = await timed(`${base}api/timeline?width=1000`);
    const firstTimelineMs = performance.now() - started;
    const total = meta.events;
    let reducedMs = 0;
    let findingsMs = 0;
    for (;;) {
      const m = (await timed(`${base}api/meta`)).body as { timeline: { reduced: number; error?: string }; findings: { ready: boolean; error?: string } };
      if (m.timeline.error || m.findings.error) throw new Error(`serve's background work failed: ${m.timeline.error ?? m.findings.error}`);
      if (!reducedMs && m.timeline.reduced === 1) reducedMs = performance.now() - started;
      if (!findingsMs && m.findings.ready) findingsMs = performance.now() - started;
      if (reducedMs && findingsMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const rnd = random(16);
    const zoom: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      // Spans log-uniform from 100 events to the whole log.
      const span = Math.min(total, Math.round(100 * (total / 100) ** rnd()));
      const from = Math.floor(rnd() * (total - span + 1));
      zoom.push((await timed(`${base}api/timeline?from=e${from}&to=e${from + span}&width=1000`)).ms);
    }
    const seek: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const at = Math.floor(rnd() * (total + 1));
      const t = performance.now();
      await Promise.all([timed(`${base}api/state?at=e${at}&limit=200`), timed(`${base}api/summary?at=e${at}`)]);
      seek.push(performance.now() - t);
    }
    return {
      log,
      events: total,
      startup: {
        urlPrintedMs: Math.round(urlMs),
        firstAnswerMs: Math.round(firstAnswerMs),
        firstTimelineMs: Math.round(firstTimelineMs),
        firstTimelineExact: (first.body as { exact: boolean }).exact,
        timelineReducedMs: Math.round(reducedMs),
        findingsReadyMs: Math.round(findingsMs),
      },
      zoom: stats(zoom),
      seek: stats(seek),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = process.argv[2];
  if (!log) {
    console.error('usage: node dist/bench/serve-bench.js LOG (an indexed log: any time-travel command builds the index)');
    process.exit(2);
  }
  console.log(JSON.stringify(await serveBench(log), null, 2));
}

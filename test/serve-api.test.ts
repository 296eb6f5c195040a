import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyPosition } from './serve-reference.js';
import { checkpointSummary } from '../src/serve/checkpoint-summary.js';
import { LogView } from '../src/serve/log-view.js';
import { type Serving, startServer } from '../src/serve/server.js';
import type { TimelineAnswer } from '../src/serve/timeline.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'pagetrack.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

const dir = mkdtempSync(join(tmpdir(), 'pagetrack-serve-'));
const DEMO = join(dir, 'demo.log.ndjson');
const SIM = join(dir, 'sim.log.ndjson');

async function get(s: Serving, path: string, init?: RequestInit): Promise<{ status: number; body: unknown; text: string }> {
  const r = await fetch(new URL(path, s.url), init);
  const text = await r.text();
  return { status: r.status, text, body: r.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
}

describe('serve: the JSON API over the demo log', () => {
  let view: LogView;
  let s: Serving;
  beforeAll(async () => {
    copyFileSync(join(import.meta.dirname, '..', 'examples', 'demo.log.ndjson'), DEMO);
    view = await LogView.open(DEMO);
    s = await startServer(view, { port: 0 });
    await Promise.all([view.timeline.start(), view.audit.start()]);
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await view?.close();
  });

  it('answers on 127.0.0.1 at a free port', () => {
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('/api/state is byte for byte what `state --json --at` prints, with the same filters', async () => {
    for (const [q, args] of [
      ['at=e59', ['--at', 'e59']],
      ['at=c9', ['--at', 'c9']],
      ['at=e41&limit=1&type=track,sp', ['--at', 'e41', '--limit', '1', '--type', 'track,sp']],
      ['at=end&gfn=0x1000-0x2000&as=0', ['--at', 'end', '--gfn', '0x1000-0x2000', '--as', '0']],
    ] as const) {
      const r = cli('state', DEMO, '--json', '--quiet', ...args);
      expect(r.status, r.stderr).toBe(0);
      const a = await get(s, `/api/state?${q}`);
      expect(a.status).toBe(200);
      expect(a.text).toBe(r.stdout.trimEnd());
    }
  });

  it('/api/meta names the log, its size and what is ready', async () => {
    const { body } = await get(s, '/api/meta');
    expect(body).toEqual({ log: 'demo.log.ndjson', profile: 'linux-4.6', created: '2025-11-25T00:00:00.000Z', events: 62, commands: 14, interval: 25000, checkpoints: 1, times: [], timeline: { reduced: 1 }, findings: { ready: true, count: 10 } });
  });

  it('/api/timeline: one column per position when the view is narrower than the width, each the state there', async () => {
    const ref = await everyPosition(DEMO);
    const { body } = (await get(s, '/api/timeline?from=start&to=end&width=500')) as { body: TimelineAnswer };
    expect(body.columns).toBe(63);
    expect(body.x).toEqual(ref.map((_, i) => i));
    expect(body.exact).toBe(true);
    for (const [name, series] of Object.entries(body.series)) {
      // A slot's series is absent before it exists, a user's while it holds no unit.
      expect(series.max, name).toEqual(ref.map((r) => r[name] ?? null));
      expect(series.min, name).toEqual(series.max);
    }
    expect(Object.keys(body.series)).toEqual(['tracked', 'writeProtected', 'shadowPages', 'tlbFlushes', 'warns', 'zaps', 'slot as0/0', 'slot as1/0', 'user kvm-mmu', 'user vgpu0']);
    // Whole-log counts: 2 flushes, 6 WARNs, 1 zap at the end, as `state` says.
    const end = JSON.parse(cli('state', DEMO, '--json', '--quiet', '--at', 'end').stdout) as { tlbFlushes: number; warns: Record<string, number> };
    expect(body.series.tlbFlushes!.max.at(-1)).toBe(end.tlbFlushes);
    expect(body.series.warns!.max.at(-1)).toBe(Object.values(end.warns).reduce((a, b) => a + b, 0));
  });

  it('/api/timeline: a column is the min and max over its positions', async () => {
    const ref = await everyPosition(DEMO);
    const { body } = (await get(s, '/api/timeline?from=e10&to=e50&width=7')) as { body: TimelineAnswer };
    expect(body.columns).toBe(7);
    expect(body.x).toEqual([10, 16, 22, 28, 34, 40, 46]);
    body.x.forEach((x, c) => {
      const span = ref.slice(x, c + 1 < body.x.length ? body.x[c + 1] : 51);
      expect(body.series.tracked!.min[c]).toBe(Math.min(...span.map((r) => r.tracked!)));
      expect(body.series.tracked!.max[c]).toBe(Math.max(...span.map((r) => r.tracked!)));
      expect(body.series.warns!.max[c]).toBe(Math.max(...span.map((r) => r.warns!)));
    });
  });

  it('/api/findings lists the audit, each finding with its position', async () => {
    const audit = JSON.parse(cli('audit', DEMO, '--json', '--quiet').stdout) as { findings: unknown[] };
    const { body } = (await get(s, '/api/findings')) as { body: { ready: boolean; findings: unknown[] } };
    expect(body.ready).toBe(true);
    expect(body.findings).toEqual(audit.findings);
  });

  it('/api/diff, /api/why and /api/history are what diff, why and history print as JSON', async () => {
    const pairs: Array<[string, string[]]> = [
      ['/api/diff?from=e3&to=c9', ['diff', DEMO, 'e3', 'c9', '--json']],
      ['/api/why?gfn=0x1234&at=e45', ['why', DEMO, '--gfn', '0x1234', '--at', 'e45', '--json']],
      ['/api/history?gfn=4660&to=c11', ['history', DEMO, '--gfn', '4660', '--to', 'c11', '--json']],
    ];
    for (const [path, args] of pairs) {
      const r = cli(...args, '--quiet');
      expect(r.status, r.stderr).toBe(0);
      const a = await get(s, path);
      expect(a.status, a.text).toBe(200);
      expect(a.body, path).toEqual(JSON.parse(r.stdout));
    }
  });

  it('a bad parameter is a 400 naming it and why; an unknown path 404; anything but GET 405', async () => {
    const bad: Array<[string, string]> = [
      ['/api/state?at=e99', `at: e99 is beyond the end: ${DEMO} has 62 events`],
      ['/api/state?at=x1', "at: 'x1' is not a position: write e<N> (after event N), c<K> (after command K), t<SECONDS> (a trace timestamp), start or end"],
      ['/api/state?at=c15', `at: c15 is beyond the end: the last command of ${DEMO} is c14`],
      ['/api/state?nope=1', "/api/state takes no parameter 'nope' (it takes at, limit, all, gfn, slot, as, type)"],
      ['/api/state?at=e1&at=e2', 'at: given more than once'],
      ['/api/state?limit=-1', "limit: must be an integer in 0..9007199254740991, got '-1'"],
      ['/api/state?limit=2&all', 'limit: give limit or all, not both'],
      ['/api/state?type=track,bogus', "type: must be one or more of slots, track, lpage, spte, sp (comma-separated), got 'bogus'"],
      ['/api/state?gfn=9-3', 'gfn: 9-3: the range ends before it starts'],
      ['/api/timeline?width=0', "width: must be an integer in 1..8192, got '0'"],
      ['/api/timeline?from=e40&to=e10', 'to: e10 is before from (e40)'],
      ['/api/why?at=e3', 'gfn: missing (/api/why needs it)'],
      ['/api/why?gfn=0x1234', 'at: missing: a position (e<N>, c<K>, t<SECONDS>, start or end)'],
      ['/api/why?gfn=0x99999999&at=e30', 'after e30 no memslot of address space 0 holds gfn 0x99999999'],
      ['/api/why?gfn=2^40&at=e3', "gfn: '2^40' is not a gfn (a decimal or 0x-hex integer below 2^40)"],
      ['/api/history?gfn=0x99999999', 'no event up to e62 touches gfn 0x99999999: no memslot ever held it'],
      ['/api/diff?from=e1', 'to: missing: a position (e<N>, c<K>, t<SECONDS>, start or end)'],
      ['/api/event?seq=63', 'seq: e63 does not exist: the log has events e1..e62'],
      ['/api/state?at=t12', `at: t12: ${DEMO} has no trace timestamps (t<SECONDS> positions work on logs made by pagetrack ingest)`],
    ];
    for (const [path, error] of bad) {
      const r = await get(s, path);
      expect([path, r.status, r.body]).toEqual([path, 400, { error }]);
    }
    expect(await get(s, '/api/nothing')).toMatchObject({ status: 404, body: { error: "no such API path '/api/nothing' (there are /api/meta, /api/timeline, /api/state, /api/summary, /api/diff, /api/why, /api/history, /api/event, /api/findings)" } });
    expect(await get(s, '/elsewhere')).toMatchObject({ status: 404, body: { error: "no such path '/elsewhere' (the page is at /, the API under /api/)" } });
    for (const method of ['POST', 'PUT', 'DELETE']) {
      expect(await get(s, '/api/meta', { method })).toMatchObject({ status: 405, body: { error: `method ${method} is not allowed: this server is read-only (GET only)` } });
    }
  });

  it('refuses a Host header that is not its own address (DNS rebinding)', async () => {
    const port = new URL(s.url).port;
    const http = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/api/meta', headers: { host: `attacker.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('serves the page, its script and uPlot from this package', async () => {
    const page = await get(s, '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script type="module" src="/app.js"></script>');
    for (const p of ['/app.js', '/uPlot.esm.js', '/uPlot.min.css', '/style.css']) expect((await get(s, p)).status, p).toBe(200);
  });
});

describe('serve: the timeline of a log of several index windows', () => {
  let ref: Array<Record<string, number>>;
  beforeAll(async () => {
    const r = cli('simulate', 'vgpu', '--events', '3000', '--out', SIM, '--quiet');
    expect(r.status, r.stderr).toBe(0);
    ref = await everyPosition(SIM);
  }, 60_000);

  const check = (a: TimelineAnswer, slack: number) => {
    a.x.forEach((x, c) => {
      const end = c + 1 < a.x.length ? a.x[c + 1]! : a.to + 1;
      for (const name of ['tracked', 'writeProtected', 'shadowPages', 'warns']) {
        const exact = ref.slice(x, end).map((r) => r[name]!);
        const around = ref.slice(Math.max(0, x - slack), end + slack).map((r) => r[name]!);
        const [lo, hi] = [a.series[name]!.min[c]!, a.series[name]!.max[c]!];
        // The envelope holds every position of the column and nothing beyond its buckets.
        expect(lo, `${name} column ${c}`).toBeLessThanOrEqual(Math.min(...exact));
        expect(hi, `${name} column ${c}`).toBeGreaterThanOrEqual(Math.max(...exact));
        expect(lo).toBeGreaterThanOrEqual(Math.min(...around));
        expect(hi).toBeLessThanOrEqual(Math.max(...around));
      }
    });
  };

  it("the numbers at each checkpoint, read from its small state, are a replay's", async () => {
    const view = await LogView.open(SIM, { interval: 500, chunkBytes: 4096, rebuild: true, background: false });
    try {
      const cps = view.tm.index.checkpoints;
      expect(cps.length).toBeGreaterThan(4);
      for (const [w, cp] of cps.entries()) {
        const { writeProtected: _left, ...want } = ref[cp.seq]!; // left out (checkpoint-summary.ts)
        expect(Object.fromEntries(checkpointSummary(cp.small)), `checkpoint ${w}`).toEqual(want);
      }
    } finally {
      await view.close();
    }
  });

  it('reduced by the background pass: envelopes at bucket resolution', async () => {
    const view = await LogView.open(SIM, { interval: 500, chunkBytes: 4096 });
    try {
      await view.timeline.start();
      const total = view.tm.total;
      expect(view.tm.index.checkpoints.length).toBeGreaterThan(4);
      expect(total).toBe(ref.length - 1);
      const a = await view.timeline.columns(0, total, 20);
      expect(a.exact).toBe(true);
      check(a, 64);
      // Finer than a bucket: exact min and max per column, across window boundaries, from the change logs.
      for (const [from, to, width] of [[700, 1300, 600], [450, 1600, 77], [0, total, 1000]] as const) {
        const fine = await view.timeline.columns(from, to, width);
        expect((to - from + 1) / fine.columns).toBeLessThan(64);
        check(fine, 0);
      }
    } finally {
      await view.close();
    }
  });

  it('ahead of the background pass: a few windows computed on demand, more answered from checkpoints and marked inexact', async () => {
    const view = await LogView.open(SIM, { interval: 500, chunkBytes: 4096, background: false });
    try {
      const near = await view.timeline.columns(600, 1400, 10); // windows 1 and 2: computed now
      expect(near.exact).toBe(true);
      check(near, 64);
      const far = await view.timeline.columns(0, view.tm.total, 10);
      expect(far.exact).toBe(false);
      // Each inexact column lies between the values at the checkpoints around it.
      far.x.forEach((x, c) => {
        const lo = far.series.tracked!.min[c]!;
        const hi = far.series.tracked!.max[c]!;
        const w0 = Math.floor(x / 500) * 500;
        const candidates = ref.slice(Math.max(0, w0 - 500), Math.min(ref.length, w0 + 1500)).map((r) => r.tracked!);
        expect(lo).toBeGreaterThanOrEqual(Math.min(...candidates));
        expect(hi).toBeLessThanOrEqual(Math.max(...candidates));
      });
      await view.timeline.start();
      const after = await view.timeline.columns(0, view.tm.total, 10);
      expect(after.exact).toBe(true);
      check(after, 64);
    } finally {
      await view.close();
    }
  });
});

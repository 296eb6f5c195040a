/**
 * The page of `pagetrack serve` in a real browser: Debian's Chromium driven by playwright-core
 * (no browser download). Screenshots of the main views go to docs/screenshots/.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogView } from '../src/serve/log-view.js';
import { type Serving, packageRoot, startServer } from '../src/serve/server.js';
import { everyPosition } from './serve-reference.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(import.meta.dirname, '..');
const APP = join(ROOT, 'dist', 'src', 'serve', 'page', 'app.js');
const why = !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed (apt-get install chromium)` : !existsSync(APP) ? `${APP} is missing: the page script is built by npm run build` : undefined;
if (why) console.log(`serve-browser: skipped: ${why}`);

const BIN = join(ROOT, 'bin', 'pagetrack.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const SHOTS = join(ROOT, 'docs', 'screenshots');

describe.skipIf(!!why)('serve: the page in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pagetrack-serve-web-'));
  const LOG = join(dir, 'demo.log.ndjson');
  let view: LogView;
  let s: Serving;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    expect(packageRoot()).toBe(ROOT);
    copyFileSync(join(ROOT, 'examples', 'demo.log.ndjson'), LOG);
    view = await LogView.open(LOG);
    s = await startServer(view, { port: 0 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
    mkdirSync(SHOTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await view?.close();
  });

  const ready = async (path: string) => {
    await page.goto(new URL(path, s.url).href);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  };

  it('loads the demo log: the timeline shows its counts, the findings their number', async () => {
    await ready('/');
    await page.waitForSelector('#findings li');
    const ref = await everyPosition(LOG);
    const end = ref.at(-1)!;
    const max = (k: string) => Math.max(...ref.map((r) => r[k] ?? 0));
    const audit = JSON.parse(cli('audit', LOG, '--json', '--quiet').stdout) as { findings: unknown[]; summary: { findings: Record<string, number> } };
    expect(await page.locator('#tl-summary').textContent()).toBe(
      `in view: at most ${max('tracked')} tracked gfns, ${max('writeProtected')} write-protected SPTEs, ${max('shadowPages')} shadow pages; ${end.tlbFlushes} TLB flushes, ${end.warns} WARNs, ${end.zaps} zaps, ${audit.findings.length} findings`,
    );
    expect(await page.locator('#range').textContent()).toBe('e0 – e62 (63 positions, 63 columns)');
    expect(await page.locator('#findings li').count()).toBe(audit.findings.length);
    const f = audit.summary.findings;
    expect(await page.locator('#findings-count').textContent()).toBe(`(${audit.findings.length}: ${f.error} error, ${f.warning} warning, ${f.info} info)`);
    expect(await page.locator('#position').textContent()).toBe('at e62 (c14)');
    expect(await page.locator('#error').isHidden()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'serve-overview.png'), fullPage: true });
  });

  it('clicking a finding seeks to its event: the URL and the state panel show it, the state `state --at` prints there', async () => {
    const audit = JSON.parse(cli('audit', LOG, '--json', '--quiet').stdout) as { findings: Array<{ class: string; position: { event: number; command: number } }> };
    const first = audit.findings.find((f) => f.class === 'B4')!.position;
    const b4 = page.locator('#findings button', { hasText: 'B4' }).first();
    expect(await b4.getAttribute('data-seek')).toBe(`e${first.event}`);
    await b4.click();
    await page.waitForFunction((p) => document.querySelector('#position')?.textContent === `at e${p.event} (c${p.command})`, first);
    expect(new URL(page.url()).searchParams.get('at')).toBe(`e${first.event}`);
    const shown = await page.locator('#state-json').textContent();
    const r = cli('state', LOG, '--json', '--quiet', '--at', `e${first.event}`, '--limit', '200');
    expect(r.status, r.stderr).toBe(0);
    expect(shown).toBe(r.stdout.trimEnd());
    expect(await page.locator('#state-at').textContent()).toBe(`e${first.event} (c${first.command})`);
    await page.screenshot({ path: join(SHOTS, 'serve-finding.png'), fullPage: true });
  });

  it('a shared URL restores the view: zoomed range, a gfn lane, why, and a diff from the mark', async () => {
    await ready('/?at=e45&from=e15&to=e50&lanes=0x1234&gfn=0x1234&mark=e20');
    await page.waitForSelector('#lane-0x1234 canvas');
    expect(await page.locator('#range').textContent()).toBe('e15 – e50 (36 positions, 36 columns)');
    expect(await page.locator('#lane-0x1234 h3').textContent()).toMatch(/^gfn 0x1234: \d+ events in the log/);
    const whyText = JSON.parse(cli('why', LOG, '--gfn', '0x1234', '--at', 'e45', '--json', '--quiet').stdout) as { explanation: string[] };
    await page.waitForSelector('#why p');
    expect(await page.locator('#why p').first().innerText()).toBe(whyText.explanation.join('\n'));
    await page.locator('#diff').click();
    await page.waitForSelector('#diff-out table');
    expect(await page.locator('#diff-out p').first().textContent()).toBe('from e20 to e45');
    await page.screenshot({ path: join(SHOTS, 'serve-zoom-lane-why.png'), fullPage: true });
  });

  it('dragging across the chart zooms; clicking it seeks there', async () => {
    await ready('/');
    const over = page.locator('#timeline .u-over');
    const box = (await over.boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.25, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('from') !== 'start');
    const q = new URL(page.url()).searchParams;
    const [from, to] = [Number(q.get('from')!.slice(1)), Number(q.get('to')!.slice(1))];
    expect(from).toBeGreaterThanOrEqual(14);
    expect(to).toBeLessThanOrEqual(33);
    await page.waitForFunction((t) => document.querySelector('#range')?.textContent?.startsWith(`e${t[0]} – e${t[1]} `), [from, to]);
    await page.mouse.click(box.x + box.width * 0.5, y);
    await page.waitForFunction(() => new URL(location.href).searchParams.get('at') !== 'end');
    const at = Number(new URL(page.url()).searchParams.get('at')!.slice(1));
    expect(at).toBeGreaterThanOrEqual(from);
    expect(at).toBeLessThanOrEqual(to);
    await page.waitForFunction((a) => document.querySelector('#state-at')?.textContent?.startsWith(`e${a} `), at);
  });

  it('a bad request shows the server\'s error, clearly', async () => {
    await ready('/');
    await page.locator('#goto-at').fill('e999');
    await page.locator('#goto button').click();
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.locator('#error').textContent()).toBe(`at: e999 is beyond the end: ${LOG} has 62 events`);
    await page.locator('#lane-gfn').fill('0xzz');
    await page.locator('#lane-form button').click();
    await page.waitForFunction(() => document.querySelector('#error')?.textContent?.startsWith('gfn:'));
    expect(await page.locator('#error').textContent()).toBe("gfn: '0xzz' is not a gfn (a decimal or 0x-hex integer below 2^40)");
    await page.screenshot({ path: join(SHOTS, 'serve-error.png') });
    expect(errors).toEqual([]);
  });
});

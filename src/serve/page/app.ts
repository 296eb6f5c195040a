/// <reference lib="dom" />
/**
 * The page of `pagetrack serve` (runs in the browser; compiled by tsc beside html.ts). It draws
 * the timeline from /api/timeline (min/max per pixel column), markers for flushes, WARNs, zaps
 * and findings, a lane per chosen gfn (/api/history), and the state at the selected position
 * (/api/state: what `state --json --at P` prints). The URL holds the position, the view, the lanes,
 * the mark and the gfn asked about, so a view can be shared.
 */
import type uPlotType from 'uplot';

type UPlot = uPlotType;
const uPlot = ((await import('/uPlot.esm.js' as string)) as { default: typeof uPlotType }).default;

interface Meta {
  log: string;
  profile: string;
  events: number;
  commands: number;
  findings: { ready: boolean; count?: number };
  timeline: { reduced: number; error?: string };
}
interface Answer {
  from: number;
  to: number;
  columns: number;
  x: number[];
  series: Record<string, { min: Array<number | null>; max: Array<number | null> }>;
  exact: boolean;
  reduced: number;
}
interface Finding {
  class: string;
  severity: string;
  position?: { event: number; command: number };
  event?: number;
  command?: number;
  gfn?: number;
  message: string;
}
interface Touch {
  position: { event: number; command: number };
  event: { seq: number; type: string; gfn?: number; count?: number; as?: number; mode?: number; user?: string };
}

const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const hex = (n: number) => `0x${n.toString(16)}`;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

class ApiError extends Error {}

async function api<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const r = await fetch(`${path}${q.size ? `?${q}` : ''}`);
  const body = (await r.json()) as T & { error?: string };
  if (!r.ok) throw new ApiError(body.error ?? `HTTP ${r.status}`);
  return body;
}

function showError(err: unknown): void {
  const e = $('#error');
  e.textContent = err instanceof Error ? err.message : String(err);
  e.hidden = false;
}
const clearError = () => {
  $('#error').hidden = true;
};

// ---- what the URL holds ----
const url = new URLSearchParams(location.search);
let meta: Meta;
let at = url.get('at') ?? 'end';
let pos = 0; // the event number `at` stands for
let view = { from: url.get('from') ?? 'start', to: url.get('to') ?? 'end' };
let lanes = (url.get('lanes') ?? '').split(',').filter(Boolean);
let mark = url.get('mark') ?? undefined;
let whyGfn = url.get('gfn') ?? undefined;
let whyAs = url.get('as') ?? '0';

function saveUrl(): void {
  const q = new URLSearchParams();
  q.set('at', at);
  q.set('from', view.from);
  q.set('to', view.to);
  if (lanes.length) q.set('lanes', lanes.join(','));
  if (mark) q.set('mark', mark);
  if (whyGfn) q.set('gfn', whyGfn);
  if (whyGfn && whyAs !== '0') q.set('as', whyAs);
  history.replaceState(null, '', `?${q}`);
}

// ---- timeline ----
const MAIN_EXCLUDED = new Set(['tlbFlushes', 'warns', 'zaps']);
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#ff7f0e'];
let chart: UPlot | undefined;
let markers: UPlot | undefined;
let answer: Answer | undefined;
let findings: Finding[] = [];
/** When a drag last zoomed, and when a button last went down: the click ending a drag is not a seek. */
let zoomedAt = -Infinity;
let downAt = -Infinity;
document.addEventListener('mousedown', () => (downAt = performance.now()), true);
let refine: number | undefined;
const LABELS: Record<string, string> = { tracked: 'tracked gfns', writeProtected: 'write-protected SPTEs', shadowPages: 'shadow pages' };

const width = () => Math.max(300, $('#timeline-pane').clientWidth - 10);
const findingEvent = (f: Finding) => f.position?.event ?? f.event ?? 0;

function columnOf(a: Answer, p: number): number {
  let lo = 0;
  let hi = a.x.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a.x[mid]! <= p) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Events of a cumulative counter in each column (its max there minus the max in the column before). */
function increments(a: Answer, name: string): number[] {
  const s = a.series[name];
  if (!s) return a.x.map(() => 0);
  return s.max.map((m, c) => (m ?? 0) - (c > 0 ? (s.max[c - 1] ?? 0) : (s.min[0] ?? 0)));
}

async function loadTimeline(): Promise<void> {
  window.clearTimeout(refine);
  const a = await api<Answer>('/api/timeline', { from: view.from, to: view.to, width: width() });
  answer = a;
  drawTimeline(a);
  $('#range').textContent = `e${a.from} – e${a.to} (${a.to - a.from + 1} positions, ${a.columns} columns)`;
  $('#tl-status').textContent = a.exact ? '' : `refining: ${(a.reduced * 100).toFixed(0)}% of the log reduced`;
  if (!a.exact) refine = window.setTimeout(() => void loadTimeline().catch(showError), 1000);
  summarize(a);
  for (const l of lanes) void drawLane(l).catch(showError);
}

/** The counts of the view, under the chart. */
function summarize(a: Answer): void {
  const flushes = increments(a, 'tlbFlushes').reduce((x, y) => x + y, 0);
  const warns = increments(a, 'warns').reduce((x, y) => x + y, 0);
  const zaps = increments(a, 'zaps').reduce((x, y) => x + y, 0);
  const maxOf = (n: string) => Math.max(0, ...(a.series[n]?.max ?? []).map((v) => v ?? 0));
  const inView = findings.filter((f) => findingEvent(f) >= a.from && findingEvent(f) <= a.to).length;
  $('#tl-summary').textContent = `in view: at most ${maxOf('tracked')} tracked gfns, ${maxOf('writeProtected')} write-protected SPTEs, ${maxOf('shadowPages')} shadow pages; ${flushes} TLB flushes, ${warns} WARNs, ${zaps} zaps, ${inView} findings`;
}

function drawTimeline(a: Answer): void {
  const names = Object.keys(a.series).filter((n) => !MAIN_EXCLUDED.has(n));
  const data: Array<Array<number | null>> = [a.x];
  const series: uPlotType.Series[] = [{ label: 'position', value: (_u, v) => (v == null ? '' : `e${v}`) }];
  const bands: uPlotType.Band[] = [];
  names.forEach((n, i) => {
    const color = COLORS[i % COLORS.length]!;
    data.push(a.series[n]!.max);
    series.push({ label: `${LABELS[n] ?? n} (max)`, stroke: color, width: 1.5, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false } });
    data.push(a.series[n]!.min);
    series.push({ label: `${LABELS[n] ?? n} (min)`, stroke: color, width: 0.5, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false }, show: n === 'tracked' });
    bands.push({ series: [data.length - 2, data.length - 1], fill: `${color}33` });
  });
  const w = width();
  const opts: uPlotType.Options = {
    width: w,
    height: 260,
    scales: { x: { time: false, range: () => [a.from, a.to] } },
    series,
    bands,
    axes: [{ values: (_u, vals) => vals.map((v) => `e${Math.round(v)}`) }, {}],
    cursor: { drag: { x: true, y: false, setScale: false }, sync: { key: 'pagetrack' } },
    legend: { live: true },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 3) return;
          const f = Math.max(a.from, Math.floor(u.posToVal(u.select.left, 'x')));
          const t = Math.min(a.to, Math.ceil(u.posToVal(u.select.left + u.select.width, 'x')));
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          zoomedAt = performance.now();
          if (t > f) setView(f, t);
        },
      ],
      draw: [(u) => drawCursorLine(u)],
    },
  };
  chart?.destroy();
  chart = new uPlot(opts, data as uPlotType.AlignedData, $('#timeline'));
  // The min lines bound each band; the legend names each series once (its max).
  chart.root.querySelectorAll<HTMLElement>('.u-legend .u-series').forEach((row, i) => {
    if (i > 0 && i % 2 === 0) row.style.display = 'none';
  });
  chart.over.addEventListener('click', (ev) => {
    if (zoomedAt >= downAt) return;
    const u = chart!;
    // From the click itself: the cursor has not moved when a click follows a drag that ended there.
    const left = ev.clientX - u.over.getBoundingClientRect().left;
    const p = Math.round(u.posToVal(left, 'x'));
    void seek(`e${Math.max(a.from, Math.min(a.to, p))}`);
  });
  drawMarkers(a, w);
}

/** The selected position as a vertical line. */
function drawCursorLine(u: UPlot): void {
  if (pos < (answer?.from ?? 0) || pos > (answer?.to ?? 0)) return;
  const x = Math.round(u.valToPos(pos, 'x', true));
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = '#e6550d';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x, u.bbox.top);
  ctx.lineTo(x, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.restore();
}

function drawMarkers(a: Answer, w: number): void {
  const lanesOf = [
    ['TLB flushes', increments(a, 'tlbFlushes'), '#1f77b4'],
    ['WARNs', increments(a, 'warns'), '#d62728'],
    ['zaps', increments(a, 'zaps'), '#7f7f7f'],
  ] as const;
  const perCol = a.x.map(() => 0);
  for (const f of findings) {
    const e = findingEvent(f);
    if (e >= a.from && e <= a.to) perCol[columnOf(a, e)]!++;
  }
  const rows: Array<[string, number[], string]> = [...lanesOf.map(([l, v, c]) => [l, v, c] as [string, number[], string]), ['findings', perCol, '#ff7f0e']];
  const data: Array<Array<number | null>> = [a.x, ...rows.map(([, v], i) => v.map((n) => (n > 0 ? rows.length - i : null)))];
  const series: uPlotType.Series[] = [{ label: 'position', value: (_u, v) => (v == null ? '' : `e${v}`) }];
  rows.forEach(([label, v, color]) => series.push({ label, stroke: color, fill: color, paths: () => null, points: { show: true, size: 7, fill: color }, value: (_u, _y, _s, i) => (i == null ? '' : String(v[i] ?? 0)) }));
  markers?.destroy();
  markers = new uPlot(
    {
      width: w,
      height: 110,
      scales: { x: { time: false, range: () => [a.from, a.to] }, y: { range: [0.5, rows.length + 0.5] } },
      series,
      axes: [{ show: false }, { splits: () => rows.map((_r, i) => i + 1), values: (_u, vals) => vals.map((v) => (Number.isInteger(v) && v >= 1 && v <= rows.length ? rows[rows.length - v]![0] : '')), size: 90 }],
      cursor: { drag: { x: false, y: false }, sync: { key: 'pagetrack' } },
      legend: { live: true },
    },
    data as uPlotType.AlignedData,
    $('#markers'),
  );
}

function setView(from: number, to: number): void {
  view = { from: `e${from}`, to: `e${to}` };
  saveUrl();
  void loadTimeline().catch(showError);
}

function zoom(factor: number, shift = 0): void {
  if (!answer) return;
  const span = answer.to - answer.from;
  const mid = (answer.from + answer.to) / 2 + shift * span;
  const half = Math.max(1, (span * factor) / 2);
  let from = Math.round(mid - half);
  let to = Math.round(mid + half);
  if (from < 0) [from, to] = [0, to - from];
  if (to > meta.events) [from, to] = [Math.max(0, from - (to - meta.events)), meta.events];
  setView(from, to);
}

// ---- gfn lanes ----
async function drawLane(g: string): Promise<void> {
  const id = `lane-${g}`;
  let box = document.getElementById(id);
  if (!box) {
    box = document.createElement('div');
    box.id = id;
    box.className = 'lane';
    $('#lanes').append(box);
  }
  const h = await api<{ touches: Touch[] }>('/api/history', { gfn: g, to: 'end' });
  const a = answer!;
  // Its count after each event that touched it (write mode), and every touching event as a point.
  let count = 0;
  const xs: number[] = [a.from];
  const counts: Array<number | null> = [];
  const marks: Array<number | null> = [];
  let before = 0;
  for (const t of h.touches) {
    if (t.event.type === 'track-count-step' && (t.event.mode ?? 0) === 0 && t.event.gfn === Number(g)) count = t.event.count ?? count;
    if (t.position.event <= a.from) before = count;
  }
  counts.push(before);
  marks.push(null);
  count = before;
  for (const t of h.touches) {
    const e = t.position.event;
    if (t.event.type === 'track-count-step' && (t.event.mode ?? 0) === 0 && t.event.gfn === Number(g)) count = t.event.count ?? count;
    if (e <= a.from || e > a.to) continue;
    xs.push(e);
    counts.push(count);
    marks.push(count);
  }
  xs.push(a.to);
  counts.push(count);
  marks.push(null);
  box.innerHTML = `<h3>gfn ${esc(g)}: ${h.touches.length} events in the log <button data-remove="${esc(g)}">remove</button></h3>`;
  const holder = document.createElement('div');
  box.append(holder);
  new uPlot(
    {
      width: width(),
      height: 110,
      scales: { x: { time: false, range: () => [a.from, a.to] } },
      series: [{ label: 'position' }, { label: 'count', stroke: '#2ca02c', paths: uPlot.paths.stepped!({ align: 1 }), points: { show: false } }, { label: 'events', stroke: '#555', paths: () => null, points: { show: true, size: 5 } }],
      axes: [{ values: (_u, vals) => vals.map((v) => `e${Math.round(v)}`) }, {}],
      cursor: { sync: { key: 'pagetrack' } },
    },
    [xs, counts, marks] as uPlotType.AlignedData,
    holder,
  );
  box.querySelector('button')!.addEventListener('click', () => {
    lanes = lanes.filter((x) => x !== g);
    box.remove();
    saveUrl();
  });
}

// ---- the state at the selected position ----
function table(head: string[], rows: Array<Array<string | number>>, total: number): string {
  if (total === 0) return '<p class="cut">(none)</p>';
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(String(c))}</td>`).join('')}</tr>`).join('');
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${body}</table>${total > rows.length ? `<p class="cut">... ${total - rows.length} more</p>` : ''}`;
}

interface StateJson {
  position: { event: number; command: number };
  slots: Array<{ as: number; slot: number; base: number; npages: number; flags: number; track: Record<string, Array<[number, number, Record<string, number>]>> }>;
  sptes: Array<{ as: number; level: number; gfn: number; writable: boolean }>;
  shadowPages: Array<{ sp: number; as: number; gfn: number; level: number; direct: boolean }>;
  warns: Record<string, number>;
  tlbFlushes: number;
  notifiers: string[];
  balances: Record<string, number>;
}
interface SummaryJson {
  position: { event: number; command: number };
  tracked: number;
  writeProtected: number;
  shadowPages: number;
  tlbFlushes: number;
  warns: number;
  zaps: number;
  trackedBySlot: Record<string, number>;
  trackedByUser: Record<string, number>;
}

const ROWS = 200;

async function seek(to: string): Promise<void> {
  try {
    const [st, sum] = await Promise.all([api<StateJson>('/api/state', { at: to, limit: ROWS }).then((s) => s), api<SummaryJson>('/api/summary', { at: to })]);
    clearError();
    at = to;
    pos = st.position.event;
    saveUrl();
    const where = `e${st.position.event} (c${st.position.command})`;
    $('#position').textContent = `at ${where}`;
    $('#state-at').textContent = where;
    ($('#goto-at') as HTMLInputElement).value = to;
    $('#summary').innerHTML =
      `<p>${sum.tracked} tracked gfns (${Object.entries(sum.trackedBySlot).map(([k, n]) => `${esc(k)}: ${n}`).join(', ') || 'no slots'}); ` +
      `users: ${Object.entries(sum.trackedByUser).map(([u, n]) => `${esc(u)} ${n}`).join(', ') || 'none'}; ${sum.writeProtected} write-protected SPTEs; ${sum.shadowPages} shadow pages; ` +
      `${sum.tlbFlushes} TLB flushes; ${sum.warns} WARNs; ${sum.zaps} zaps</p>`;
    const track = st.slots.flatMap((s) => Object.entries(s.track).flatMap(([mode, rows]) => rows.map(([g, c, h]) => [s.as, s.slot, mode, hex(g), c, Object.entries(h).map(([u, n]) => `${u} ${n}`).join(', ')])));
    const warns = Object.entries(st.warns).filter(([, n]) => n > 0);
    $('#state').innerHTML =
      `<h3>memslots</h3>${table(['as', 'slot', 'base', 'pages', 'flags'], st.slots.map((s) => [s.as, s.slot, hex(s.base), s.npages, s.flags]), st.slots.length)}` +
      `<h3>track counts (nonzero)</h3>${table(['as', 'slot', 'mode', 'gfn', 'count', 'holders'], track, track.length)}` +
      `<h3>SPTEs</h3>${table(['as', 'level', 'gfn', 'writable'], st.sptes.map((p) => [p.as, p.level, hex(p.gfn), p.writable ? 'W' : 'ro']), st.sptes.length)}` +
      `<h3>shadow pages</h3>${table(['sp', 'as', 'gfn', 'level', 'kind'], st.shadowPages.map((p) => [p.sp, p.as, hex(p.gfn), p.level, p.direct ? 'direct' : 'indirect']), st.shadowPages.length)}` +
      `<p>WARNs: ${warns.map(([k, n]) => `${esc(k)} ${n}`).join(', ') || 'none'}; TLB flushes ${st.tlbFlushes}; notifiers ${esc(st.notifiers.join(' → ')) || '(none)'}; balances ${Object.entries(st.balances).map(([u, n]) => `${esc(u)} ${n}`).join(', ') || 'none'}</p>` +
      `<details><summary>JSON (state --json --at ${esc(to)} --limit ${ROWS})</summary><pre id="state-json">${esc(JSON.stringify(st, null, 2))}</pre></details>`;
    chart?.redraw(false);
    if (whyGfn) await why().catch(showError);
  } catch (err) {
    showError(err);
  }
}

// ---- why, diff, findings ----
async function why(): Promise<void> {
  if (!whyGfn) return;
  const w = await api<{ explanation: string[]; count: number; adds: Touch[] }>('/api/why', { gfn: whyGfn, at: `e${pos}`, as: whyAs });
  $('#why').innerHTML = `<p>${w.explanation.map(esc).join('<br>')}</p>${w.adds.length ? `<p>unmatched adds: ${w.adds.map((t) => `<a href="#" data-seek="e${t.position.event}">e${t.position.event}</a>`).join(', ')}</p>` : ''}`;
}

async function diff(): Promise<void> {
  if (!mark) throw new ApiError('mark a position first (mark A)');
  const d = await api<Record<string, unknown> & { counts: Array<[number, number, number, number, number]> }>('/api/diff', { from: mark, to: `e${pos}` });
  const counts = d.counts.map(([as, slot, g, b, a]) => [as, slot, hex(g), b, a]);
  const { counts: _c, ...rest } = d;
  $('#diff-out').innerHTML = `<p>from ${esc(mark)} to e${pos}</p><h3>counts</h3>${table(['as', 'slot', 'gfn', 'before', 'after'], counts.slice(0, ROWS), counts.length)}<pre>${esc(JSON.stringify(rest, null, 1))}</pre>`;
}

async function loadFindings(): Promise<void> {
  const f = await api<{ ready: boolean; error?: string; findings?: Finding[]; summary?: { findings: Record<string, number> } }>('/api/findings');
  if (!f.ready) {
    $('#findings-count').textContent = f.error ? `(${f.error})` : '(the audit is running…)';
    if (!f.error) window.setTimeout(() => void loadFindings().catch(showError), 1000);
    return;
  }
  findings = f.findings ?? [];
  const s = f.summary?.findings ?? {};
  $('#findings-count').textContent = `(${findings.length}: ${s.error ?? 0} error, ${s.warning ?? 0} warning, ${s.info ?? 0} info)`;
  $('#findings').innerHTML = findings
    .slice(0, 1000)
    .map((x) => `<li><button data-seek="e${findingEvent(x)}" class="sev-${esc(x.severity)}">${esc(x.class)} ${esc(x.severity)} e${findingEvent(x)}</button> ${x.gfn !== undefined ? `${hex(x.gfn)} ` : ''}${esc(x.message)}</li>`)
    .join('');
  if (answer) {
    drawMarkers(answer, width());
    summarize(answer);
  }
}

// ---- wiring ----
document.addEventListener('click', (ev) => {
  const t = (ev.target as HTMLElement).closest('[data-seek]');
  if (!t) return;
  ev.preventDefault();
  void seek(t.getAttribute('data-seek')!);
});
$('#goto').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void seek(($('#goto-at') as HTMLInputElement).value.trim());
});
$('#zoom-out').addEventListener('click', () => zoom(2));
$('#pan-left').addEventListener('click', () => zoom(1, -0.5));
$('#pan-right').addEventListener('click', () => zoom(1, 0.5));
$('#reset').addEventListener('click', () => setView(0, meta.events));
$('#step-back').addEventListener('click', () => void seek(`e${Math.max(0, pos - 1)}`));
$('#step-fwd').addEventListener('click', () => void seek(`e${Math.min(meta.events, pos + 1)}`));
$('#mark').addEventListener('click', () => {
  mark = `e${pos}`;
  $('#mark-at').textContent = `A = ${mark}`;
  saveUrl();
});
$('#diff').addEventListener('click', () => void diff().catch(showError));
$('#lane-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const g = ($('#lane-gfn') as HTMLInputElement).value.trim();
  if (!g || lanes.includes(g)) return;
  void drawLane(g).then(
    () => {
      lanes.push(g);
      saveUrl();
    },
    (err: unknown) => {
      document.getElementById(`lane-${g}`)?.remove();
      showError(err);
    },
  );
});
$('#why-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  whyGfn = ($('#why-gfn') as HTMLInputElement).value.trim() || undefined;
  whyAs = ($('#why-as') as HTMLInputElement).value.trim() || '0';
  saveUrl();
  void why().catch(showError);
});
let resizing: number | undefined;
window.addEventListener('resize', () => {
  window.clearTimeout(resizing);
  resizing = window.setTimeout(() => void loadTimeline().catch(showError), 200);
});

try {
  meta = await api<Meta>('/api/meta');
  $('#logname').textContent = meta.log;
  $('#meta').textContent = `${meta.profile}; ${meta.events} events, ${meta.commands} commands`;
  if (mark) $('#mark-at').textContent = `A = ${mark}`;
  if (whyGfn) ($('#why-gfn') as HTMLInputElement).value = whyGfn;
  ($('#why-as') as HTMLInputElement).value = whyAs;
  await loadTimeline();
  await seek(at);
  await loadFindings();
  document.body.dataset.ready = 'true';
} catch (err) {
  showError(err);
  document.body.dataset.ready = 'error';
}

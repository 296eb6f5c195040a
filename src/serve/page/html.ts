/** The page `serve` shows (its script is app.ts, compiled beside this file; uPlot from node_modules). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pagetrack</title>
<link rel="stylesheet" href="/uPlot.min.css">
<link rel="stylesheet" href="/style.css">
<script type="module" src="/app.js"></script>
</head>
<body>
<header>
  <h1>pagetrack <span id="logname"></span></h1>
  <span id="meta"></span>
  <form id="goto"><label>position <input id="goto-at" name="at" size="12" placeholder="e123, c9, end"></label> <button>go</button></form>
  <span id="position" title="the position shown in the state panel"></span>
</header>
<div id="error" role="alert" hidden></div>
<main>
  <section id="timeline-pane">
    <div class="toolbar">
      <button id="zoom-out" title="zoom out (x2)">−</button>
      <button id="pan-left" title="pan left">◀</button>
      <button id="pan-right" title="pan right">▶</button>
      <button id="reset" title="the whole log">all</button>
      <span id="range"></span>
      <span id="tl-status"></span>
    </div>
    <div id="timeline"></div>
    <div id="markers"></div>
    <p class="hint">Drag across the chart to zoom, click to seek there. Markers: TLB flushes, WARNs, shadow-page zaps, audit findings.</p>
    <p id="tl-summary"></p>
    <form id="lane-form"><label>gfn lane <input id="lane-gfn" size="12" placeholder="0x1234"></label> <button>add</button></form>
    <div id="lanes"></div>
  </section>
  <aside>
    <section>
      <h2>State <span id="state-at"></span></h2>
      <div class="toolbar">
        <button id="step-back" title="one event back">−1</button>
        <button id="step-fwd" title="one event forward">+1</button>
        <button id="mark" title="remember this position as A">mark A</button>
        <button id="diff" title="what changed from A to here">diff A → here</button>
        <span id="mark-at"></span>
      </div>
      <div id="summary"></div>
      <div id="state"></div>
    </section>
    <section>
      <h2>Why is this gfn tracked?</h2>
      <form id="why-form"><label>gfn <input id="why-gfn" size="12" placeholder="0x1234"></label> <label>as <input id="why-as" size="2" value="0"></label> <button>why</button></form>
      <div id="why"></div>
    </section>
    <section>
      <h2>Diff</h2>
      <div id="diff-out"><p class="hint">Mark a position (A), move elsewhere, then diff.</p></div>
    </section>
    <section>
      <h2>Findings <span id="findings-count"></span></h2>
      <ol id="findings"></ol>
    </section>
  </aside>
</main>
</body>
</html>
`;

export const PAGE_CSS = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { display: flex; gap: 1.5em; align-items: baseline; padding: 6px 12px; background: #24323f; color: #eee; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; }
header input { font: inherit; }
#error { background: #fde2e1; color: #8a1010; border-bottom: 1px solid #e0a0a0; padding: 6px 12px; font-weight: 600; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(340px, 2fr); gap: 12px; padding: 8px 12px; }
section { margin-bottom: 10px; }
h2 { font-size: 14px; margin: 6px 0; }
.toolbar { display: flex; gap: 6px; align-items: center; margin: 4px 0; flex-wrap: wrap; }
.hint { color: #666; margin: 2px 0; }
#tl-status { color: #a60; }
table { border-collapse: collapse; font: 12px/1.3 ui-monospace, monospace; }
td, th { border: 1px solid #ddd; padding: 1px 5px; text-align: right; }
th { background: #eee; }
aside { max-height: calc(100vh - 60px); overflow: auto; }
#findings li { margin: 2px 0; }
#why p:first-child { white-space: pre-wrap; }
#findings button { font: inherit; text-align: left; border: 0; background: none; color: #0645ad; cursor: pointer; padding: 0; }
#findings .sev-error { color: #b00; font-weight: 600; }
#findings .sev-warning { color: #a60; }
.lane { margin: 4px 0; }
.lane h3 { font-size: 12px; margin: 0; }
pre { font: 11px/1.3 ui-monospace, monospace; white-space: pre-wrap; margin: 2px 0; }
.cut { color: #666; }
`;

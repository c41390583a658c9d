// agmem's report page: draws the data in #agmem-data (reporters/page_data.py) with no library.
// Render only: every figure shown comes from the data; the formats follow units.py.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("agmem-data").textContent);
  const root = document.getElementById("report");
  const SVG_NS = "http://www.w3.org/2000/svg";

  // --- small helpers ---------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  // The columns arrive delta-encoded (page_data.deltas): add them back up.
  function undelta(column) {
    const out = new Array(column ? column.length : 0);
    let total = 0;
    for (let i = 0; i < out.length; i++) { total += column[i]; out[i] = total; }
    return out;
  }

  function formatCount(n) {
    return n === null || n === undefined ? "–" : Math.trunc(n).toLocaleString("en-US");
  }

  // As units.format_bytes: binary units, one decimal, exact bytes below 1 KiB.
  function formatBytes(n, signed) {
    if (n === null || n === undefined) return "–";
    const sign = n < 0 ? "-" : (signed && n > 0 ? "+" : "");
    let value = Math.abs(n);
    for (const unit of ["B", "KiB", "MiB", "GiB"]) {
      if (value < 1024 || unit === "GiB") {
        if (unit === "B") return `${sign}${formatCount(value)} B`;
        return `${sign}${value.toLocaleString("en-US", {minimumFractionDigits: 1, maximumFractionDigits: 1})} ${unit}`;
      }
      value /= 1024;
    }
    return "";
  }

  function exactBytes(n) { return `${formatCount(n)} B`; }

  // As units.format_seconds: three significant digits in s, ms or µs.
  function formatSeconds(s) {
    if (s === null || s === undefined) return "–";
    if (s === 0) return "0 s";
    const value = Math.abs(s);
    if (value >= 1) return `${s.toFixed(2)} s`;
    if (value >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
    return `${(s * 1e6).toFixed(1)} µs`;
  }

  function plural(count, noun) { return `${formatCount(count)} ${noun}${count === 1 ? "" : "s"}`; }

  // The first index whose value is >= x in an ascending column.
  function lowerBound(column, x) {
    let low = 0, high = column.length;
    while (low < high) { const mid = (low + high) >> 1; if (column[mid] < x) low = mid + 1; else high = mid; }
    return low;
  }

  function nearest(column, x) {
    const i = lowerBound(column, x);
    if (i <= 0) return 0;
    if (i >= column.length) return column.length - 1;
    return x - column[i - 1] <= column[i] - x ? i - 1 : i;
  }

  // Round steps for an axis: 1, 2 or 5 times a power of ten of the chosen unit.
  function niceStep(span, ticks) {
    const raw = span / Math.max(ticks, 1);
    const power = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
    return 10 * power;
  }

  // --- the data, decoded ---------------------------------------------------------------

  function decodeVariant(raw) {
    const t = raw.timeline || {}, live = raw.live || {}, gc = raw.collections || {};
    const secondsOf = (column) => undelta(column).map((us) => us / 1e6);
    const rssMax = undelta(t.rss_bytes);
    const children = undelta(t.children_rss_bytes);
    const rssMin = t.rss_bytes_min && t.rss_bytes_min.length ? undelta(t.rss_bytes_min) : rssMax;
    const liveVariables = undelta(live.live_variables), liveFunctions = undelta(live.live_functions);
    return {
      ...raw,
      rss: {
        iteration: undelta(t.iteration), seconds: secondsOf(t.seconds_us),
        max: rssMax, min: rssMin, children: children.length ? children : null,
      },
      live: {
        iteration: undelta(live.iteration), seconds: secondsOf(live.end_seconds_us),
        variables: liveVariables, functions: liveFunctions,
        variablesMin: undelta(live.live_variables_min), functionsMin: undelta(live.live_functions_min),
      },
      gc: {
        generation: gc.generation || [], collected: undelta(gc.collected),
        uncollectable: undelta(gc.uncollectable), pause: (gc.pause_us || []).map((us) => us / 1e6),
        iteration: undelta(gc.iteration), seconds: secondsOf(gc.seconds_us),
      },
    };
  }

  const variants = (data.variants || []).map(decodeVariant);

  // --- header, verdict, metrics table --------------------------------------------------

  function renderHeader() {
    const [first, ...rest] = data.header || [];
    root.append(el("header", {},
      el("h1", {}, data.heading || "agmem"),
      el("p", {class: "command"}, el("code", {}, data.title)),
      first ? el("p", {class: "config"}, first) : null,
      rest.map((line) => el("p", {class: "environment"}, line))));
  }

  function renderVerdict() {
    if (!(data.verdict || []).length) return;
    const kind = data.passed === true ? "pass" : data.passed === false ? "fail" : "info";
    root.append(el("section", {class: `verdict ${kind}`, "aria-label": "Verdict"},
      data.verdict.map((line) => el("p", {}, el("strong", {}, "Verdict: "), line))));
  }

  function cellNode(text, extra) {
    const [median, spread] = String(text).split("\n");
    return el("td", extra || {}, median, spread ? el("span", {class: "spread"}, spread) : null);
  }

  function renderTable() {
    const table = data.table;
    if (!table) return;
    const ratioFrom = table.ratio_from === null ? Infinity : table.ratio_from;
    const head = el("tr", {}, table.headings.map((h, i) =>
      el("th", {scope: "col", class: i >= ratioFrom ? "ratio" : null}, h)));
    const body = [];
    for (const section of table.sections) {
      const group = el("tbody", {});
      if (section.title) {
        group.append(el("tr", {class: "section"},
          el("th", {scope: "rowgroup", colspan: table.headings.length}, section.title)));
      }
      for (const row of section.rows) {
        const cells = row.cells.map((c, i) => cellNode(c, {
          class: [i + 1 >= ratioFrom ? "ratio" : "",
                  row.verdict && i === row.cells.length - 1 ? `verdict-${row.verdict.replace(" ", "-")}` : ""]
            .join(" ").trim() || null,
        }));
        group.append(el("tr", {}, el("th", {scope: "row"}, row.title), cells));
      }
      body.push(group);
    }
    // One value per row (a single run): its sections side by side where the window allows.
    const tables = table.headings.length === 2 && body.length > 1
      ? body.map((group) => el("table", {class: "metrics"}, group))
      : [el("table", {class: "metrics"}, el("thead", {}, head), body)];
    root.append(el("section", {id: "metrics", "aria-labelledby": "metrics-title"},
      el("h2", {id: "metrics-title"}, "Metrics"),
      el("div", {class: `table-scroll${tables.length > 1 ? " sections" : ""}`}, tables),
      (data.notes || []).map((line) => el("p", {class: "note"}, line))));
  }

  // --- the timeline ----------------------------------------------------------------------

  const onTheClock = variants.some((v) => v.program);
  const hasLive = variants.some((v) => v.live.iteration.length > 0);
  const state = {
    hidden: new Set(), scale: "shared", axis: onTheClock ? "seconds" : "iteration",
    range: null, cursor: null, pinned: null,
  };
  const MARGIN = {left: 84, right: 18};
  const RSS_HEIGHT = 190, LIVE_HEIGHT = 110, MARK_ROW = 14, GAP = 26;
  const GENERATION_MARKS = ["circle", "diamond", "square"];

  // The x of each point on the chosen axis; a workload's samples before its first
  // iteration (iteration -1) have no place on the iteration axis.
  function rssPoints(v) {
    const xs = state.axis === "iteration" ? v.rss.iteration : v.rss.seconds;
    const points = [];
    for (let i = 0; i < xs.length; i++) {
      if (state.axis === "iteration" && xs[i] < 0) continue;
      const own = v.rss.children ? v.rss.max[i] + v.rss.children[i] : v.rss.max[i];
      const low = v.rss.children ? v.rss.min[i] + v.rss.children[i] : v.rss.min[i];
      points.push({x: xs[i], i, high: own - v.baseline_rss_bytes, low: low - v.baseline_rss_bytes});
    }
    return points;
  }

  function livePoints(v) {
    const xs = state.axis === "iteration" ? v.live.iteration : v.live.seconds;
    return xs.map((x, i) => ({
      x, i,
      high: v.live.variables[i] + v.live.functions[i],
      low: (v.live.variablesMin[i] ?? v.live.variables[i]) + (v.live.functionsMin[i] ?? v.live.functions[i]),
    }));
  }

  function gcXs(v) { return state.axis === "iteration" ? v.gc.iteration : v.gc.seconds; }

  function extent() {
    let end = 0;
    for (const v of variants) {
      if (state.axis === "iteration") end = Math.max(end, v.iterations || 0);
      else end = Math.max(end, v.wall_seconds, ...v.rss.seconds.slice(-1), ...v.gc.seconds.slice(-1));
    }
    return [0, end || 1];
  }

  function currentRange() { return state.range || extent(); }

  function axisText(x) {
    return state.axis === "iteration" ? `iteration ${formatCount(x)}` : `${formatSeconds(x)}`;
  }

  function describeRange() {
    const [a, b] = currentRange(), [, end] = extent();
    if (state.axis === "iteration") {
      return `iterations ${formatCount(Math.max(0, Math.floor(a)))} – ${formatCount(Math.ceil(b))} of ${formatCount(end)}`;
    }
    return `${formatSeconds(a)} – ${formatSeconds(b)} of ${formatSeconds(end)}`;
  }

  function visibleVariants() { return variants.filter((v) => !state.hidden.has(v.label)); }

  function panels() {
    const shown = visibleVariants();
    return state.scale === "shared" ? (shown.length ? [shown] : []) : shown.map((v) => [v]);
  }

  // The points in [a, b] and one either side, so a line reaches the edges.
  function clip(points, a, b) {
    const xs = points.map((p) => p.x);
    const start = Math.max(0, lowerBound(xs, a) - 1);
    const stop = Math.min(points.length, lowerBound(xs, b) + 1);
    return points.slice(start, stop);
  }

  function yTicks(low, high, bytes) {
    const unit = bytes ? (Math.max(Math.abs(low), Math.abs(high)) >= 1024 ** 3 ? 1024 ** 3
      : Math.max(Math.abs(low), Math.abs(high)) >= 1024 ** 2 ? 1024 ** 2 : 1024) : 1;
    const step = niceStep((high - low) / unit, 4) * unit;
    const ticks = [];
    for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(t);
    return ticks;
  }

  function plotArea(group, spec) {
    // spec: {top, height, series: [{v, points}], bytes, width, a, b, title}
    const {top, height, width, a, b, bytes} = spec;
    let low = 0, high = 0;
    for (const s of spec.series) for (const p of s.points) { low = Math.min(low, p.low); high = Math.max(high, p.high); }
    if (bytes) high = Math.max(high, 1024 * 1024);  // as the terminal: one arena at least
    if (high === low) high = low + 1;
    high += (high - low) * 0.06;  // headroom: a peak is not drawn on the frame
    const x = (value) => MARGIN.left + (value - a) / (b - a) * (width - MARGIN.left - MARGIN.right);
    const y = (value) => top + height - (value - low) / (high - low) * height;
    group.append(svg("rect", {x: MARGIN.left, y: top, width: width - MARGIN.left - MARGIN.right, height, class: "plot"}));
    for (const tick of yTicks(low, high, bytes)) {
      group.append(svg("line", {x1: MARGIN.left, x2: width - MARGIN.right, y1: y(tick), y2: y(tick), class: "grid"}));
      const label = svg("text", {x: MARGIN.left - 6, y: y(tick) + 4, class: "tick", "text-anchor": "end"});
      label.textContent = bytes ? formatBytes(tick, true) : formatCount(tick);
      group.append(label);
    }
    const title = svg("text", {x: MARGIN.left + 6, y: top + 14, class: "plot-title"});
    title.textContent = spec.title;
    group.append(title);
    for (const s of spec.series) {
      if (!s.points.length) continue;
      if (s.points.some((p) => p.low !== p.high)) {
        const upper = s.points.map((p) => `${x(p.x).toFixed(1)},${y(p.high).toFixed(1)}`);
        const lower = s.points.slice().reverse().map((p) => `${x(p.x).toFixed(1)},${y(p.low).toFixed(1)}`);
        group.append(svg("polygon", {points: upper.concat(lower).join(" "), class: `band c-${s.v.colour}`}));
      }
      const line = s.points.map((p) => `${x(p.x).toFixed(1)},${y(p.high).toFixed(1)}`).join(" ");
      group.append(svg("polyline", {points: line, class: `series c-${s.v.colour}`, "data-variant": s.v.label}));
    }
    return {x, y};
  }

  function markPath(generation, cx, cy) {
    const r = 4 + Math.min(generation, 2);
    const shape = GENERATION_MARKS[Math.min(generation, 2)];
    if (shape === "circle") return `M${cx - r},${cy}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`;
    if (shape === "diamond") return `M${cx},${cy - r}L${cx + r},${cy}L${cx},${cy + r}L${cx - r},${cy}Z`;
    return `M${cx - r + 1},${cy - r + 1}h${2 * r - 2}v${2 * r - 2}h${-2 * r + 2}Z`;
  }

  function drawMarks(group, panelVariants, top, x, a, b) {
    panelVariants.forEach((v, row) => {
      const cy = top + row * MARK_ROW + MARK_ROW / 2;
      const label = svg("text", {x: MARGIN.left - 6, y: cy + 4, class: "tick", "text-anchor": "end"});
      label.textContent = panelVariants.length > 1 ? `${v.label} gc` : "collections";
      group.append(label);
      const xs = gcXs(v);
      for (let j = 0; j < xs.length; j++) {
        if (xs[j] < a || xs[j] > b) continue;
        const mark = svg("path", {
          d: markPath(v.gc.generation[j], x(xs[j]), cy),
          class: `gc-mark c-${v.colour}${state.pinned && state.pinned.v === v && state.pinned.j === j ? " pinned" : ""}`,
          "data-variant": v.label, "data-index": j,
        });
        mark.addEventListener("mouseenter", (event) => showCollection(v, j, event));
        mark.addEventListener("click", (event) => { event.stopPropagation(); pinCollection(v, j); });
        group.append(mark);
      }
    });
  }

  function drawXAxis(group, top, x, a, b, width) {
    const step = niceStep(b - a, Math.max(2, Math.floor((width - MARGIN.left) / 110)));
    for (let t = Math.ceil(a / step) * step; t <= b + step * 1e-9; t += step) {
      group.append(svg("line", {x1: x(t), x2: x(t), y1: top, y2: top + 5, class: "axis"}));
      // The last label ends at the plot's edge rather than past the window's.
      const anchor = x(t) > width - MARGIN.right - 30 ? "end" : "middle";
      const label = svg("text", {x: x(t), y: top + 17, class: "tick", "text-anchor": anchor});
      label.textContent = state.axis === "iteration" ? formatCount(Math.round(t)) : formatSeconds(t);
      group.append(label);
    }
    const name = svg("text", {x: width - MARGIN.right, y: top + 32, class: "tick", "text-anchor": "end"});
    name.textContent = state.axis === "iteration" ? "iteration" : "seconds since the first line";
    group.append(name);
  }

  function drawPanel(panelVariants, width) {
    const [a, b] = currentRange();
    const showLive = hasLive && panelVariants.some((v) => v.live.iteration.length);
    const rssTop = 8, marksTop = rssTop + RSS_HEIGHT + 8;
    const liveTop = marksTop + panelVariants.length * MARK_ROW + 10;
    const axisTop = (showLive ? liveTop + LIVE_HEIGHT : liveTop - 10) + 4;
    const height = axisTop + 40;
    const chart = svg("svg", {width, height, class: "chart", role: "img",
      "aria-label": `RSS${showLive ? " and live objects" : ""} of ${panelVariants.map((v) => v.label).join(", ")}`});
    const rssTitle = onTheClock ? "RSS growth of the process tree" : "RSS growth above the baseline";
    const rss = plotArea(chart, {top: rssTop, height: RSS_HEIGHT, width, a, b, bytes: true, title: rssTitle,
      series: panelVariants.map((v) => ({v, points: clip(rssPoints(v), a, b)}))});
    drawMarks(chart, panelVariants, marksTop, rss.x, a, b);
    if (showLive) {
      plotArea(chart, {top: liveTop, height: LIVE_HEIGHT, width, a, b, bytes: false,
        title: "live objects (engine Variables + Functions)",
        series: panelVariants.map((v) => ({v, points: clip(livePoints(v), a, b)}))});
    }
    drawXAxis(chart, axisTop, rss.x, a, b, width);
    const cursor = svg("line", {y1: rssTop, y2: axisTop, class: "cursor", visibility: "hidden"});
    chart.append(cursor);
    return {chart, x: rss.x, a, b, panelVariants, cursor};
  }

  // --- the timeline's interaction: hover, zoom and pan, collections ---------------------

  const timeline = {};

  function tooltipFor(panelVariants, xValue) {
    const lines = [];
    for (const v of panelVariants) {
      const points = rssPoints(v);
      if (!points.length) continue;
      const p = points[nearest(points.map((q) => q.x), xValue)];
      const rssHigh = v.rss.max[p.i], rssLow = v.rss.min[p.i];
      const rssText = rssLow === rssHigh ? exactBytes(rssHigh) : `${exactBytes(rssLow)} – ${exactBytes(rssHigh)}`;
      const parts = [el("span", {class: `swatch c-${v.colour}`}, ""), el("b", {}, v.label), " ",
        el("span", {class: "at"}, `sample at ${axisText(p.x)}`), ": RSS ",
        el("span", {class: "rss", "data-bytes": rssHigh}, rssText),
        ` (${formatBytes(p.high, true)} over the baseline)`];
      if (v.rss.children) parts.push(`, workers ${exactBytes(v.rss.children[p.i])}`);
      const liveXs = state.axis === "iteration" ? v.live.iteration : v.live.seconds;
      if (liveXs.length) {
        const k = nearest(liveXs, xValue);
        parts.push("; at ", el("span", {class: "live-at"}, axisText(liveXs[k])), ": ",
          el("span", {class: "variables"}, formatCount(v.live.variables[k])), " Variables, ",
          el("span", {class: "functions"}, formatCount(v.live.functions[k])), " Functions alive");
      }
      lines.push(el("div", {class: "tip-row", "data-variant": v.label}, parts));
    }
    return lines;
  }

  function showTip(panel, content, px) {
    const tip = timeline.tooltip;
    tip.replaceChildren(...content);
    tip.hidden = false;
    const box = panel.chart.getBoundingClientRect(), host = timeline.charts.getBoundingClientRect();
    // Beside the pointer, on the side with more room: the other side stays in sight.
    const at = px - host.left;
    const left = at < host.width / 2 ? Math.min(at + 14, host.width - tip.offsetWidth)
      : Math.max(0, at - 14 - tip.offsetWidth);
    tip.style.left = `${left}px`;
    tip.style.top = `${box.top - host.top + 8}px`;
  }

  function hover(panel, xValue) {
    state.cursor = xValue;
    const px = panel.x(xValue);
    for (const other of timeline.panels) {
      other.cursor.setAttribute("x1", px);
      other.cursor.setAttribute("x2", px);
      other.cursor.setAttribute("visibility", "visible");
    }
    const box = panel.chart.getBoundingClientRect();
    showTip(panel, [el("div", {class: "tip-x"}, axisText(xValue)), ...tooltipFor(panel.panelVariants, xValue)], box.left + px);
  }

  function unhover() {
    timeline.tooltip.hidden = true;
    for (const panel of timeline.panels) panel.cursor.setAttribute("visibility", "hidden");
  }

  function collectionText(v, j) {
    const explainLink = v.explain
      ? el("a", {href: `#explain-${cssId(v.label)}`}, `shapes the --explain rerun found in ${v.label}`)
      : null;
    return [
      el("div", {class: "tip-x"}, `${v.label}: collection ${formatCount(j + 1)} of ${formatCount(v.gc.generation.length)}`),
      el("div", {class: "collection", "data-variant": v.label, "data-index": j},
        "generation ", el("b", {class: "generation"}, (v.generations || [])[v.gc.generation[j]] ?? v.gc.generation[j]),
        " · ", el("b", {class: "collected"}, formatCount(v.gc.collected[j])), " objects collected · ",
        el("span", {class: "uncollectable"}, formatCount(v.gc.uncollectable[j])), " uncollectable · pause ",
        el("b", {class: "pause"}, formatSeconds(v.gc.pause[j])), " · at ",
        v.program ? "" : `iteration ${formatCount(v.gc.iteration[j])}, `, formatSeconds(v.gc.seconds[j])),
      explainLink ? el("div", {}, explainLink) : null,
    ];
  }

  function showCollection(v, j, event) {
    const panel = timeline.panels.find((p) => p.panelVariants.includes(v));
    showTip(panel, collectionText(v, j), event.clientX);
  }

  function pinCollection(v, j) {
    state.pinned = {v, j};
    timeline.details.replaceChildren(...collectionText(v, j));
    timeline.details.hidden = false;
    drawTimeline();
  }

  function zoom(factor, centre) {
    const [a, b] = currentRange(), [start, end] = extent();
    const minimum = state.axis === "iteration" ? 4 : (end - start) / 1e5;
    const width = Math.min(end - start, Math.max(minimum, (b - a) * factor));
    const c = centre ?? (a + b) / 2;
    let lo = c - (c - a) / (b - a) * width;
    lo = Math.min(Math.max(start, lo), end - width);
    state.range = width >= end - start ? null : [lo, lo + width];
    drawTimeline();
  }

  function pan(shift) {
    const [a, b] = currentRange(), [start, end] = extent();
    if (!state.range) return;
    const lo = Math.min(Math.max(start, a + shift), end - (b - a));
    state.range = [lo, lo + (b - a)];
    drawTimeline();
  }

  function attach(panel) {
    const chart = panel.chart;
    const valueAt = (clientX) => {
      const box = chart.getBoundingClientRect();
      const px = clientX - box.left;
      return panel.a + (px - MARGIN.left) / (box.width - MARGIN.left - MARGIN.right) * (panel.b - panel.a);
    };
    chart.addEventListener("mousemove", (event) => {
      if (timeline.drag || event.target.classList.contains("gc-mark")) return;
      hover(panel, Math.min(panel.b, Math.max(panel.a, valueAt(event.clientX))));
    });
    chart.addEventListener("mouseleave", () => { if (!timeline.drag) unhover(); });
    chart.addEventListener("mousedown", (event) => {
      if (event.button !== 0 || !state.range) return;
      // Kept on the timeline, not the chart: each move redraws the chart it started on.
      const plotWidth = chart.getBoundingClientRect().width - MARGIN.left - MARGIN.right;
      timeline.drag = {from: event.clientX, range: state.range.slice(), per: (panel.b - panel.a) / plotWidth};
      unhover();
      event.preventDefault();
    });
    chart.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(Math.exp(event.deltaY * 0.002), valueAt(event.clientX));
    }, {passive: false});
    chart.addEventListener("dblclick", () => { state.range = null; drawTimeline(); });
  }

  // Keyboard: the chart is one stop in the tab order; arrows move the cursor sample by
  // sample, + and - zoom, Shift+arrows pan, 0 resets, n and p step through collections.
  function onKey(event) {
    const panel = timeline.panels[0];
    if (!panel) return;
    const [a, b] = currentRange();
    const points = rssPoints(panel.panelVariants[0]).map((p) => p.x);
    const keys = {
      "+": () => zoom(0.5, state.cursor ?? undefined), "=": () => zoom(0.5, state.cursor ?? undefined),
      "-": () => zoom(2, state.cursor ?? undefined), "0": () => { state.range = null; drawTimeline(); },
      "n": () => stepCollection(1), "p": () => stepCollection(-1),
      "Escape": unhover,
    };
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const forward = event.key === "ArrowRight";
      if (event.shiftKey) { pan((forward ? 1 : -1) * (b - a) / 4); event.preventDefault(); return; }
      if (!points.length) return;
      let k = state.cursor === null ? 0 : nearest(points, state.cursor) + (forward ? 1 : -1);
      k = Math.min(points.length - 1, Math.max(0, k));
      if (points[k] < a || points[k] > b) { const w = b - a; state.range = state.range && [points[k] - w / 2, points[k] + w / 2]; drawTimeline(); }
      hover(timeline.panels[0], points[k]);
      event.preventDefault();
    } else if (keys[event.key]) {
      keys[event.key]();
      event.preventDefault();
    }
  }

  function stepCollection(direction) {
    const v = (state.pinned && !state.hidden.has(state.pinned.v.label)) ? state.pinned.v : visibleVariants()[0];
    if (!v || !v.gc.generation.length) return;
    const j = state.pinned && state.pinned.v === v ? state.pinned.j + direction : 0;
    pinCollection(v, Math.min(v.gc.generation.length - 1, Math.max(0, j)));
  }

  function cssId(label) { return label.replace(/[^A-Za-z0-9_-]/g, "_"); }

  function drawTimeline() {
    const width = Math.max(320, timeline.charts.clientWidth);
    timeline.panels = panels().map((group) => drawPanel(group, width));
    const blocks = timeline.panels.map((panel) => {
      attach(panel);
      const title = state.scale === "each" ? el("h3", {class: "panel-title"}, panel.panelVariants[0].label) : null;
      return el("div", {class: "panel"}, title, panel.chart);
    });
    if (!blocks.length) blocks.push(el("p", {class: "note"}, "Every variant is hidden."));
    timeline.charts.replaceChildren(...blocks, timeline.tooltip);
    timeline.tooltip.hidden = true;
    timeline.range.textContent = describeRange();
    timeline.reset.disabled = !state.range;
  }

  function controls() {
    const toggles = variants.length > 1 ? el("fieldset", {class: "variants"}, el("legend", {}, "Variants"),
      variants.map((v) => el("label", {}, el("input", {type: "checkbox", checked: true, "data-variant": v.label,
        onchange: (event) => { if (event.target.checked) state.hidden.delete(v.label); else state.hidden.add(v.label); drawTimeline(); }}),
      el("span", {class: `swatch c-${v.colour}`}, ""), v.label))) : null;
    const choice = (name, legend, options, key) => el("fieldset", {class: "choice"}, el("legend", {}, legend),
      options.map(([value, text]) => el("label", {}, el("input", {type: "radio", name, value, checked: state[key] === value,
        onchange: () => { state[key] = value; if (key === "axis") state.range = null; drawTimeline(); }}), text)));
    const scale = variants.length > 1 ? choice("scale", "Scale", [["shared", "one shared scale"], ["each", "one per variant"]], "scale") : null;
    const axis = onTheClock ? null : choice("axis", "Along", [["iteration", "iterations"], ["seconds", "time"]], "axis");
    timeline.reset = el("button", {type: "button", onclick: () => { state.range = null; drawTimeline(); }}, "Reset zoom");
    const zoomButtons = el("div", {class: "zoom"},
      el("button", {type: "button", onclick: () => zoom(0.5, state.cursor ?? undefined), "aria-label": "Zoom in"}, "+"),
      el("button", {type: "button", onclick: () => zoom(2, state.cursor ?? undefined), "aria-label": "Zoom out"}, "−"),
      timeline.reset);
    return el("div", {class: "controls"}, toggles, scale, axis, zoomButtons);
  }

  function renderTimeline() {
    if (!variants.length) return;
    timeline.charts = el("div", {class: "charts", tabindex: 0, onkeydown: onKey,
      "aria-label": "Timeline: arrows move the cursor, + and - zoom, Shift+arrows pan, 0 resets, n and p step through collections"});
    timeline.tooltip = el("div", {class: "tooltip", role: "status", hidden: true});
    timeline.range = el("p", {class: "range", "aria-live": "polite"});
    timeline.details = el("div", {class: "details", hidden: true, "aria-live": "polite"});
    const counts = variants.map((v) => `${v.label}: ${plural(v.gc.generation.length, "collection")}`).join(" · ");
    root.append(el("section", {id: "timeline", "aria-labelledby": "timeline-title"},
      el("h2", {id: "timeline-title"}, "Timeline"),
      controls(), timeline.range, timeline.charts,
      el("p", {class: "help"}, "Hover for values; wheel to zoom, drag to pan, double-click to reset; ",
        "the chart takes the keyboard too (arrows, + and −, 0). Marks: ● generation 0, ◆ 1, ■ 2; click one for its details. ",
        counts),
      timeline.details));
    drawTimeline();
    window.addEventListener("mousemove", (event) => {
      const drag = timeline.drag;
      if (!drag) return;
      state.range = drag.range;
      pan(-(event.clientX - drag.from) * drag.per);
    });
    window.addEventListener("mouseup", () => { timeline.drag = null; });
    let pending = null;
    window.addEventListener("resize", () => { clearTimeout(pending); pending = setTimeout(drawTimeline, 100); });
  }

  // --- the explain panel -------------------------------------------------------------

  function genericTable(items) {
    const keys = [...new Set(items.flatMap((item) => Object.keys(item)))];
    const text = (value) => typeof value === "object" && value !== null ? JSON.stringify(value) : String(value ?? "–");
    return el("div", {class: "table-scroll"}, el("table", {class: "plain"},
      el("thead", {}, el("tr", {}, keys.map((k) => el("th", {scope: "col"}, k.replaceAll("_", " "))))),
      el("tbody", {}, items.map((item) => el("tr", {}, keys.map((k) => el("td", {}, text(item[k]))))))));
  }

  const KNOWN_EXPLAIN = new Set(["collections", "garbage_objects", "garbage_by_type", "array_bytes_held",
    "example_cycle", "shapes", "bytes_held", "bytes_held_at_most", "bytes_freed_total", "growth",
    "top_lines", "waiting", "waiting_text", "summary"]);

  // A shape's bytes: the most held at once and the total freed (an older document: held).
  function shapeBytes(s, key) {
    const value = s[key] ?? s.bytes_held;
    return el("td", {class: "num", title: value === undefined ? null : exactBytes(value)}, formatBytes(value));
  }

  function siteCell(s) {
    if (!s.site_text) return el("td", {}, "unknown (not traced)");
    return el("td", {}, el("code", {class: "site"}, s.site_text),
      s.inner_site_text ? el("div", {class: "inner"}, "in ", el("code", {class: "site"}, s.inner_site_text)) : null);
  }

  // As the terminal: the cycle, where it was made and what to do, in one cell under each other.
  function shapesTable(shapes) {
    const headings = ["cycles", "objects", "held at most", "freed in all", "cycle, where it was made, and what to do"];
    return el("div", {class: "table-scroll"}, el("table", {class: "shapes"},
      el("thead", {}, el("tr", {}, headings.map((h, i) => el("th", {scope: "col", class: i < 4 ? "num" : null}, h)))),
      el("tbody", {}, shapes.map((s) => el("tr", {},
        el("td", {class: "num"}, formatCount(s.cycles)), el("td", {class: "num"}, formatCount(s.objects)),
        shapeBytes(s, "bytes_held_at_most"), shapeBytes(s, "bytes_freed_total"),
        el("td", {},
          el("div", {class: "path"}, el("code", {}, s.path_text)),
          el("div", {class: "made"}, "made at ", s.site_text ? el("code", {class: "site"}, s.site_text) : "unknown (not traced)",
            s.inner_site_text ? [", in ", el("code", {class: "site"}, s.inner_site_text)] : null),
          s.hint ? el("div", {class: "hint"}, "hint: ", s.hint) : null))))));
  }

  function growthTable(growth) {
    const bytes = (g) => g.bytes_end === undefined ? "–" : formatBytes(g.bytes_end - g.bytes_start, true);
    return el("div", {class: "table-scroll"}, el("table", {class: "figures growth"},
      el("thead", {}, el("tr", {}, ["type", "at the start", "at the end", "growth", "bytes", "allocated at"].map(
        (h, i) => el("th", {scope: "col", class: i > 0 && i < 5 ? "num" : null}, h)))),
      el("tbody", {}, growth.map((g) => el("tr", {},
        el("td", {}, el("code", {}, g.type)), el("td", {class: "num"}, formatCount(g.start)),
        el("td", {class: "num"}, formatCount(g.end)), el("td", {class: "num"}, `+${formatCount(g.end - g.start)}`),
        el("td", {class: "num"}, bytes(g)), siteCell(g))))));
  }

  function linesTable(lines) {
    return el("div", {class: "table-scroll"}, el("table", {class: "figures lines"},
      el("thead", {}, el("tr", {}, ["bytes", "blocks", "line"].map(
        (h, i) => el("th", {scope: "col", class: i < 2 ? "num" : null}, h)))),
      el("tbody", {}, lines.map((line) => el("tr", {},
        el("td", {class: "num", title: exactBytes(line.bytes)}, formatBytes(line.bytes)),
        el("td", {class: "num"}, formatCount(line.count)), siteCell(line))))));
  }

  function explainBlock(v) {
    const report = v.explain;
    // Lists a later document adds, shown as they are until the page learns them.
    const extra = Object.entries(report).filter(([key, value]) => !KNOWN_EXPLAIN.has(key) && Array.isArray(value)
      && value.length && typeof value[0] === "object");
    const waiting = report.waiting || {};
    return el("article", {id: `explain-${cssId(v.label)}`, class: "explain", tabindex: -1},
      el("h3", {}, variants.length > 1 ? `What the collector found in ${v.label}` : "What the collector found"),
      el("p", {}, report.summary),
      (report.shapes || []).length ? shapesTable(report.shapes) : null,
      report.waiting_text ? [el("p", {}, report.waiting_text),
        (waiting.shapes || []).length ? shapesTable(waiting.shapes) : null] : null,
      (report.growth || []).length
        ? [el("h4", {}, "Objects that grew over the run and were still there at its end"), growthTable(report.growth)]
        : null,
      (report.top_lines || []).length
        ? [el("h4", {}, "Lines holding the most memory at the end (allocated during the run, not freed)"),
           linesTable(report.top_lines)]
        : null,
      extra.map(([key, value]) => [el("h4", {}, key.replaceAll("_", " ")), genericTable(value)]));
  }

  function renderExplain() {
    const explained = variants.filter((v) => v.explain);
    if (!explained.length) return;
    root.append(el("section", {id: "explain", "aria-labelledby": "explain-title"},
      el("h2", {id: "explain-title"}, "Explain (--explain)"), explained.map(explainBlock)));
  }

  // --- the pytest page: every measured test --------------------------------------------

  function renderTests() {
    if (!data.tests) return;
    const columns = data.test_columns;
    const state = {key: columns[1].key, descending: true, filter: ""};
    const body = el("tbody", {});
    const count = el("p", {class: "range", "aria-live": "polite"});
    const buttons = columns.map((c) => el("button", {type: "button", class: "sort", "data-key": c.key,
      onclick: () => { state.descending = state.key === c.key ? !state.descending : c.key !== "nodeid"; state.key = c.key; draw(); }}, c.title));
    const head = el("tr", {}, columns.map((c, i) => el("th", {scope: "col", class: c.numeric ? "num" : null}, buttons[i])));
    const filter = el("input", {type: "search", placeholder: "filter tests", "aria-label": "Filter tests",
      oninput: (event) => { state.filter = event.target.value.toLowerCase(); draw(); }});
    function draw() {
      const shown = data.tests.filter((t) => t.nodeid.toLowerCase().includes(state.filter));
      shown.sort((p, q) => {
        const a = p[state.key], b = q[state.key];
        const order = typeof a === "string" ? a.localeCompare(b) : (a ?? -1) - (b ?? -1);
        return state.descending ? -order : order;
      });
      buttons.forEach((button, i) => button.parentNode.setAttribute("aria-sort",
        columns[i].key === state.key ? (state.descending ? "descending" : "ascending") : "none"));
      body.replaceChildren(...shown.flatMap(testRows));
      count.textContent = `${formatCount(shown.length)} of ${plural(data.tests.length, "measured test")}`;
    }
    function testRows(test) {
      const shapes = test.shapes || [];
      const open = el("button", {type: "button", class: "open", "aria-expanded": "false", disabled: !shapes.length},
        shapes.length ? "cycles ▸" : "no cycle");
      const detail = el("tr", {class: "test-detail", hidden: true}, el("td", {colspan: columns.length + 1},
        shapes.length ? shapesTable(shapes) : null));
      open.addEventListener("click", () => {
        detail.hidden = !detail.hidden;
        open.setAttribute("aria-expanded", String(!detail.hidden));
        open.textContent = detail.hidden ? "cycles ▸" : "cycles ▾";
      });
      const cells = columns.map((c) => el("td", {class: [c.numeric ? "num" : "", c.key === "outcome" ? `outcome-${test.outcome}` : ""].join(" ").trim() || null},
        c.key === "nodeid" ? el("code", {}, test.nodeid) : test[`${c.key}_text`] ?? String(test[c.key] ?? "–")));
      return [el("tr", {class: "test", "data-nodeid": test.nodeid}, cells, el("td", {}, open)), detail];
    }
    root.append(el("section", {id: "tests", "aria-labelledby": "tests-title"},
      el("h2", {id: "tests-title"}, "Measured tests"), filter, count,
      el("div", {class: "table-scroll"}, el("table", {class: "tests"}, el("thead", {}, head, ), body))));
    head.append(el("th", {scope: "col"}, "cycles found"));
    draw();
  }

  renderHeader();
  renderVerdict();
  renderTable();
  renderTimeline();
  renderExplain();
  renderTests();
  document.documentElement.dataset.ready = "true";
})();

// report.html's charts, drawn on <canvas> from the REPORT object above (no library, no network;
// format.js before it formats and picks round ticks, tables.js after it fills the tables). The
// charts share one time window: price (candles, the mixins' overlays, trades, protective levels),
// a pane per other indicator (RSI, ATR, volume), equity and drawdown. A basket's page has a symbol
// selector: the price and indicator panes show one symbol with its trades, equity and drawdown are the
// account's (per time step). After the first draw the page records what it drew in
// <html data-rendered="...">, which the tests read through headless Chromium.
"use strict";
(function () {
  const R = REPORT;
  const $ = (id) => document.getElementById(id);
  // every symbol's candles and indicators (one symbol: the page's own)
  const M = R.symbols || [{ symbol: "", candles: R.candles, indicators: R.indicators || [] }];
  const E = R.equity, D = R.drawdown, ALL = R.trades;
  const eStep = E.step || M[0].candles.step;
  let sel = R.selected || 0;
  let C, P, T, n;        // the shown symbol's candles, indicator panes, trades and candle count
  function show(k) {
    sel = k; C = M[k].candles; P = M[k].indicators || []; n = C.t.length;
    T = R.symbols ? ALL.filter((tr) => tr.symbol === M[k].symbol) : ALL;
  }
  show(sel);
  const full = (function () {
    const ends = [];
    if (n) ends.push([C.t[0], C.t[n - 1] + C.step]);
    if (R.symbols && E.t.length) ends.push([E.t[0], E.t[E.t.length - 1] + eStep]);
    return ends.length ? [Math.min(...ends.map((e) => e[0])), Math.max(...ends.map((e) => e[1]))] : [0, 1];
  })();
  let view = full.slice();
  let hover = null;      // {x, chart} of the mouse
  let drag = null;       // {x, view} while panning
  let markers = [];      // drawn trade markers, for hit tests: {x, y, trade, kind}
  const PAD = { l: 8, r: 78, t: 10, b: 6 };
  const AXIS = 22;       // room for time labels under the last chart
  // P[0]: the price overlays; then one pane each (every symbol of a basket has the same panes)
  for (let k = 1; k < P.length; k++) {
    const canvas = document.createElement("canvas");
    canvas.id = "pane-" + k; canvas.dataset.height = "0.16"; canvas.dataset.pane = String(k);
    $("equity").before(canvas);
  }
  const charts = ["price", ...P.slice(1).map((_, k) => "pane-" + (k + 1)), "equity", "drawdown"].map((id) => {
    const canvas = $(id);
    return { id, canvas, ctx: canvas.getContext("2d"), share: parseFloat(canvas.dataset.height),
             w: 0, h: 0, bottom: 0 };
  });
  const last = charts[charts.length - 1];

  const { iso, num, pct, escapeHtml } = RF;

  // ---- geometry --------------------------------------------------------------------------------
  function plotWidth(c) { return c.w - PAD.l - PAD.r; }
  function xOf(c, t) { return PAD.l + (t - view[0]) / (view[1] - view[0]) * plotWidth(c); }
  function tOf(c, x) { return view[0] + (x - PAD.l) / plotWidth(c) * (view[1] - view[0]); }
  function lowerBound(arr, v) {
    let lo = 0, hi = arr.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function visible(ts, step) {
    const i0 = Math.max(0, lowerBound(ts, view[0] - step));
    const i1 = Math.min(ts.length, lowerBound(ts, view[1]) + 1);
    return [i0, i1];
  }
  function yScale(c, lo, hi) {
    if (!(hi > lo)) { const pad = Math.abs(hi) * 0.01 || 1; lo -= pad; hi += pad; }
    const span = hi - lo; lo -= span * 0.05; hi += span * 0.05;
    const bottom = c.h - PAD.b - (c === last ? AXIS : 0);
    const f = (v) => bottom - (v - lo) / (hi - lo) * (bottom - PAD.t);
    f.lo = lo; f.hi = hi; f.bottom = bottom;
    return f;
  }

  function resize() {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(320, $("charts").clientWidth - 14);
    const total = Math.max(420, Math.min(780, window.innerHeight * 0.72));
    for (const c of charts) {
      c.w = width; c.h = Math.round(total * c.share) + (c === last ? AXIS : 0);
      c.canvas.style.height = c.h + "px";
      c.canvas.width = Math.round(width * dpr); c.canvas.height = Math.round(c.h * dpr);
      c.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }
  }

  // ---- axes ------------------------------------------------------------------------------------
  function yAxis(c, y, unit) {
    // round values (1, 2, 2.5 or 5 x a power of ten), as many as the chart's height holds
    const ctx = c.ctx, { ticks, digits } = RF.niceTicks(y.lo, y.hi, Math.max(2, Math.floor((y.bottom - PAD.t) / 28)));
    ctx.fillStyle = "#666"; ctx.strokeStyle = "#eee"; ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle"; ctx.textAlign = "left";
    for (const v of ticks) {
      const py = Math.round(y(v)) + 0.5;
      if (py < PAD.t || py > y.bottom) continue;
      ctx.beginPath(); ctx.moveTo(PAD.l, py); ctx.lineTo(c.w - PAD.r, py); ctx.stroke();
      ctx.fillText(RF.tickLabel(v, digits) + (unit || ""), c.w - PAD.r + 6, py);
    }
  }
  function timeAxis(c) {
    const ctx = c.ctx, axis = RF.timeTicks(view[0], view[1], plotWidth(c) / 110);
    ctx.fillStyle = "#666"; ctx.strokeStyle = "#eee"; ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of axis.ticks) {
      const x = Math.round(xOf(c, t)) + 0.5;
      for (const other of charts) {
        const o = other.ctx; o.strokeStyle = "#f0f0f0";
        o.beginPath(); o.moveTo(x, PAD.t); o.lineTo(x, other.h - PAD.b - (other === last ? AXIS : 0)); o.stroke();
      }
      ctx.fillText(axis.label(t), x, c.h - AXIS + 4);
    }
  }

  // ---- the three charts ------------------------------------------------------------------------
  function drawPrice(c) {
    const ctx = c.ctx, [i0, i1] = visible(C.t, C.step);
    let lo = Infinity, hi = -Infinity;
    for (let i = i0; i < i1; i++) { if (C.l[i] < lo) lo = C.l[i]; if (C.h[i] > hi) hi = C.h[i]; }
    const overlays = P.length ? P[0].lines : [];
    for (const line of overlays) {
      for (let i = i0; i < i1; i++) { const v = line.v[i]; if (v !== null) { if (v < lo) lo = v; if (v > hi) hi = v; } }
    }
    const y = yScale(c, lo, hi);
    yAxis(c, y);
    const bodyW = Math.max(1, (xOf(c, C.step) - xOf(c, 0)) * 0.7);
    for (let i = i0; i < i1; i++) {
      const x = xOf(c, C.t[i] + C.step / 2), up = C.c[i] >= C.o[i];
      ctx.strokeStyle = ctx.fillStyle = up ? "#26a69a" : "#ef5350";
      ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, y(C.h[i])); ctx.lineTo(Math.round(x) + 0.5, y(C.l[i])); ctx.stroke();
      if (bodyW >= 3) {
        const top = y(Math.max(C.o[i], C.c[i])), bot = y(Math.min(C.o[i], C.c[i]));
        ctx.fillRect(x - bodyW / 2, top, bodyW, Math.max(1, bot - top));
      }
    }
    for (const line of overlays) polyline(c, y, line, i0, i1);
    markers = [];
    ctx.save();
    ctx.beginPath(); ctx.rect(PAD.l, 0, plotWidth(c), c.h); ctx.clip();
    for (const tr of T) {
      if (tr.exit_t < view[0] || tr.entry_t > view[1]) continue;
      const x0 = xOf(c, tr.entry_t), x1 = xOf(c, tr.exit_t), won = tr.pnl > 0;
      ctx.setLineDash([4, 3]); ctx.lineWidth = 1;
      if (tr.sl) { ctx.strokeStyle = "#d73027"; ctx.beginPath(); ctx.moveTo(x0, y(tr.sl)); ctx.lineTo(x1, y(tr.sl)); ctx.stroke(); }
      if (tr.tp) { ctx.strokeStyle = "#1a9850"; ctx.beginPath(); ctx.moveTo(x0, y(tr.tp)); ctx.lineTo(x1, y(tr.tp)); ctx.stroke(); }
      ctx.setLineDash([]);
      ctx.strokeStyle = won ? "rgba(26,152,80,0.7)" : "rgba(215,48,39,0.7)";
      ctx.beginPath(); ctx.moveTo(x0, y(tr.entry_p)); ctx.lineTo(x1, y(tr.exit_p)); ctx.stroke();
      triangle(ctx, x0, y(tr.entry_p), 1, "#1a9850");
      triangle(ctx, x1, y(tr.exit_p), -1, won ? "#1a9850" : "#d73027");
      markers.push({ x: x0, y: y(tr.entry_p), trade: tr, kind: "entry" });
      markers.push({ x: x1, y: y(tr.exit_p), trade: tr, kind: "exit" });
    }
    ctx.restore();
    c.y = y;
    return i1 - i0;
  }
  function polyline(c, y, line, i0, i1) {
    // an indicator's values at the candles' ends; a gap where it is not ready yet
    const ctx = c.ctx;
    ctx.save(); ctx.beginPath(); ctx.rect(PAD.l, 0, plotWidth(c), c.h); ctx.clip();
    ctx.strokeStyle = line.color; ctx.lineWidth = 1.1; ctx.setLineDash(line.dash ? [5, 3] : []);
    ctx.beginPath();
    let pen = false;
    for (let i = i0; i < i1; i++) {
      const v = line.v[i];
      if (v === null) { pen = false; continue; }
      const x = xOf(c, C.t[i] + C.step / 2);
      if (pen) ctx.lineTo(x, y(v)); else { ctx.moveTo(x, y(v)); pen = true; }
    }
    ctx.stroke(); ctx.restore();
  }
  function drawPane(c, pane) {
    const [i0, i1] = visible(C.t, C.step);
    let lo = Infinity, hi = -Infinity;
    if (pane.fixed) { [lo, hi] = pane.fixed; } else {
      for (const line of pane.lines) {
        for (let i = i0; i < i1; i++) { const v = line.v[i]; if (v !== null) { if (v < lo) lo = v; if (v > hi) hi = v; } }
      }
      if (!isFinite(lo)) { lo = 0; hi = 1; }
    }
    const y = yScale(c, lo, hi), ctx = c.ctx;
    yAxis(c, y);
    ctx.save(); ctx.setLineDash([2, 3]); ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
    for (const level of pane.levels || []) {
      const py = Math.round(y(level)) + 0.5;
      ctx.beginPath(); ctx.moveTo(PAD.l, py); ctx.lineTo(c.w - PAD.r, py); ctx.stroke();
    }
    ctx.restore();
    for (const line of pane.lines) polyline(c, y, line, i0, i1);
    ctx.fillStyle = "#444"; ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "top";
    ctx.fillText(pane.title + (pane.levels && pane.levels.length ? "  (levels " + pane.levels.join(", ") + ")" : ""), PAD.l + 4, PAD.t);
    c.y = y;
    return i1 - i0;
  }
  function triangle(ctx, x, y, dir, color) {
    // entries point up from below the price, exits point down from above it
    const s = 6, tip = y + (dir > 0 ? 2 : -2), base = tip + dir * 10;
    ctx.fillStyle = color; ctx.strokeStyle = "#222"; ctx.lineWidth = 0.6;
    ctx.beginPath(); ctx.moveTo(x, tip); ctx.lineTo(x - s, base); ctx.lineTo(x + s, base); ctx.closePath();
    ctx.fill(); ctx.stroke();
  }
  function band(c, ts, step, lo, hi, color, fmt, fromZero) {  // fmt: the ticks' unit
    const ctx = c.ctx, [i0, i1] = visible(ts, step);
    let min = fromZero ? 0 : Infinity, max = fromZero ? 0 : -Infinity;
    for (let i = i0; i < i1; i++) { if (lo[i] < min) min = lo[i]; if (hi[i] > max) max = hi[i]; }
    const y = yScale(c, min, max);
    yAxis(c, y, fmt);
    if (i1 <= i0) return 0;
    ctx.beginPath();
    for (let i = i0; i < i1; i++) ctx.lineTo(xOf(c, ts[i] + step / 2), y(hi[i]));
    for (let i = i1 - 1; i >= i0; i--) ctx.lineTo(xOf(c, ts[i] + step / 2), y(lo[i]));
    ctx.closePath(); ctx.globalAlpha = 0.35; ctx.fillStyle = color; ctx.fill(); ctx.globalAlpha = 1;
    ctx.beginPath();
    for (let i = i0; i < i1; i++) ctx.lineTo(xOf(c, ts[i] + step / 2), y(fromZero ? lo[i] : hi[i]));
    ctx.strokeStyle = color; ctx.lineWidth = 1.2; ctx.stroke();
    c.y = y;
    return i1 - i0;
  }

  const negDrawdown = D.v.map((v) => -v);
  const zeros = D.v.map(() => 0);
  function draw() {
    for (const c of charts) c.ctx.clearRect(0, 0, c.w, c.h);
    timeAxis(last);
    const candles = drawPrice(charts[0]);
    const panes = P.slice(1).map((pane, k) => drawPane(charts[k + 1], pane));
    const count = charts.length;
    const eq = band(charts[count - 2], E.t, eStep, E.lo, E.hi, "#2166ac", "", false);
    const dd = band(charts[count - 1], D.t, eStep, negDrawdown, zeros, "#d73027", "%", true);
    if (hover) crosshair(hover);
    return { candles, panes, equity: eq, drawdown: dd };
  }

  // ---- hover: crosshair, readout and the trade tooltip -----------------------------------------
  function crosshair(h) {
    const t = tOf(charts[0], h.x);
    for (const c of charts) {
      const ctx = c.ctx; ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(Math.round(h.x) + 0.5, 0); ctx.lineTo(Math.round(h.x) + 0.5, c.h); ctx.stroke();
    }
    const i = Math.min(n - 1, Math.max(0, lowerBound(C.t, t + 1e-9) - 1));
    const j = Math.min(E.t.length - 1, Math.max(0, lowerBound(E.t, t + 1e-9) - 1));
    if (!n || !E.t.length) return;
    $("readout").textContent = (R.symbols ? M[sel].symbol + "  " : "") + iso(C.t[i]) + "  O " +
      num(C.o[i]) + "  H " + num(C.h[i]) + "  L " + num(C.l[i]) + "  C " + num(C.c[i]) +
      "   equity " + num(E.hi[j]) + "   drawdown " + D.v[j].toFixed(2) + " %";
  }
  function nearestMarker(x, y) {
    let best = null, bestD = 10;
    for (const m of markers) {
      const d = Math.hypot(m.x - x, m.y + (m.kind === "entry" ? 7 : -7) - y);
      if (d < bestD) { best = m; bestD = d; }
    }
    return best;
  }
  function showTooltip(m, px, py) {
    const tip = $("tooltip"), tr = m.trade, cls = tr.pnl > 0 ? "win" : "loss";
    tip.innerHTML = "<b>Trade " + tr.n + (R.symbols ? " " + escapeHtml(tr.symbol) : "") + " (" +
      (tr.open ? "open at the end" : m.kind) + ")</b><br>" +
      "entry " + iso(tr.entry_t) + " @ " + num(tr.entry_p) + "<br>" +
      (tr.open ? "marked to market at the last close, " : "exit&nbsp;&nbsp;") + iso(tr.exit_t) + " @ " + num(tr.exit_p) + "<br>" +
      "pnl <b class='" + cls + "'>" + num(tr.pnl) + " (" + pct(tr.pnl_pct) + ")</b>, fees " + num(tr.fees) + "<br>" +
      "exit reason " + escapeHtml(tr.reason) + "<br>" + "held " + tr.bars + " bars" +
      (tr.sl ? "<br>stop loss " + num(tr.sl) : "") + (tr.tp ? "<br>take profit " + num(tr.tp) : "");
    tip.style.display = "block";
    const box = $("charts").getBoundingClientRect();
    tip.style.left = Math.min(px + 14, box.width - tip.offsetWidth - 4) + "px";
    tip.style.top = Math.max(0, py - tip.offsetHeight - 8) + "px";
  }
  function onMove(ev, c) {
    const rect = c.canvas.getBoundingClientRect(), x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    if (drag) {
      const dt = (drag.x - ev.clientX) / plotWidth(c) * (drag.view[1] - drag.view[0]);
      setView(drag.view[0] + dt, drag.view[1] + dt);
      return;
    }
    hover = { x };
    draw();
    const m = c === charts[0] ? nearestMarker(x, y) : null;
    if (m) {
      const box = $("charts").getBoundingClientRect();
      showTooltip(m, ev.clientX - box.left, ev.clientY - box.top);
    } else {
      $("tooltip").style.display = "none";
    }
  }
  function setView(a, b) {
    const span = Math.min(full[1] - full[0], Math.max(b - a, C.step * 10));
    if (a < full[0]) { a = full[0]; b = a + span; }
    if (b > full[1]) { b = full[1]; a = b - span; }
    view = [a, a + span];
    draw();
  }

  for (const c of charts) {
    c.canvas.addEventListener("mousemove", (ev) => onMove(ev, c));
    c.canvas.addEventListener("mouseleave", () => { hover = null; $("tooltip").style.display = "none"; draw(); });
    c.canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, view: view.slice() }; });
    c.canvas.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const rect = c.canvas.getBoundingClientRect(), t = tOf(c, ev.clientX - rect.left);
      const f = Math.exp(Math.max(-1, Math.min(1, ev.deltaY * 0.002)));
      setView(t - (t - view[0]) * f, t + (view[1] - t) * f);
    }, { passive: false });
    c.canvas.addEventListener("dblclick", () => setView(full[0], full[1]));
  }
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("resize", () => { resize(); draw(); });

  function legend() {
    // what each colour and mark is: from R.legend, built with the page's data
    $("legend").innerHTML = (R.legend || []).map((e) =>
      "<span class='item'><span class='swatch " + e.kind + "' style='--c:" + e.color + "'></span>" +
      escapeHtml(e.label) + "</span>").join("");
  }

  // ---- a basket: the symbol selector ----------------------------------------------------------
  let picker = null;
  function pick(k) {
    show(k);
    hover = null; $("tooltip").style.display = "none";
    if (picker) picker.value = String(k);
    return draw();
  }
  if (R.symbols) {
    picker = document.createElement("select");
    picker.id = "symbol";
    picker.innerHTML = M.map((m, k) => "<option value='" + k + "'>" + escapeHtml(m.symbol) + " (" +
      ALL.filter((tr) => tr.symbol === m.symbol).length + " trades)</option>").join("");
    picker.value = String(sel);
    picker.addEventListener("change", () => pick(Number(picker.value)));
    const label = document.createElement("label");
    label.className = "pick"; label.textContent = "Symbol ";
    label.append(picker);
    $("charts").before(label);
  }

  // ---- start -----------------------------------------------------------------------------------
  $("title").textContent = R.title;
  $("subtitle").textContent = R.subtitle;
  legend();
  resize();
  const drawn = draw();
  RT.fill(R, (tr) => {
    const k = M.findIndex((m) => m.symbol === tr.symbol);
    if (R.symbols && k >= 0 && k !== sel) pick(k);
    const pad = Math.max((tr.exit_t - tr.entry_t) * 2, C.step * 30);
    setView(tr.entry_t - pad, tr.exit_t + pad);
    $("charts").scrollIntoView({ behavior: "smooth" });
  });
  const painted = charts.map((c) => {
    const px = c.ctx.getImageData(0, 0, c.canvas.width, c.canvas.height).data;
    let count = 0;
    for (let i = 3; i < px.length; i += 16) if (px[i] > 0) count++;
    return count;
  });
  document.documentElement.dataset.rendered = JSON.stringify({
    charts: charts.length, candles: drawn.candles, panes: drawn.panes, equity: drawn.equity,
    drawdown: drawn.drawdown, markers: markers.length, painted, trade_rows: ALL.length,
    legend: document.querySelectorAll("#legend .item").length, symbols: M.length,
    shown: M[sel].symbol,
  });
  if (location.hash === "#selftest" && R.symbols) {
    // pick every symbol as a person would, and record what each draws
    const first = sel, picked = M.map((m, k) => {
      const counts = pick(k);
      return { symbol: m.symbol, candles: counts.candles, markers: markers.length };
    });
    pick(first);
    document.documentElement.dataset.picked = JSON.stringify(picked);
  }
  if (location.hash === "#selftest" && markers.length) {
    // hover the first trade's entry marker as a person would, and record what the tooltip says
    const m = markers[0], rect = charts[0].canvas.getBoundingClientRect();
    charts[0].canvas.dispatchEvent(new MouseEvent("mousemove", {
      clientX: rect.left + m.x, clientY: rect.top + m.y + 7, bubbles: true }));
    const tip = $("tooltip");
    document.documentElement.dataset.selftest = JSON.stringify({
      visible: tip.style.display === "block", text: tip.textContent });
  }
})();

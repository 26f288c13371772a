// report.html's formatting and axis ticks: plain functions, no page state (node can load this
// file, which is how the tests check the ticks).
"use strict";
var RF = (function () {
  const iso = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
  const num = (v, digits) => (v === null || v === undefined || !isFinite(v)) ? "n/a"
    : Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 && v !== 0 ? v.toPrecision(digits || 6)
    : (+v.toPrecision(digits || 6)).toString();
  const pct = (v) => (v === null || v === undefined) ? "n/a" : v.toFixed(2) + " %";
  const money = (v, currency) => num(v, 8) + (currency && v !== null && v !== undefined ? " " + currency : "");
  const hours = (h) => {
    if (h === null || h === undefined) return "n/a";
    const m = Math.round(h * 60), d = Math.floor(m / 1440), hh = Math.floor(m % 1440 / 60);
    return (d ? d + "d " : "") + (d || hh ? hh + "h " : "") + (m % 60) + "m";
  };
  const signClass = (v) => v > 0 ? "pos" : v < 0 ? "neg" : "";
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);

  // Round ticks: a step of 1, 2, 2.5 or 5 times a power of ten, about `count` of them in [lo, hi].
  function niceTicks(lo, hi, count) {
    if (!(hi > lo) || !isFinite(lo) || !isFinite(hi)) return { ticks: [lo], step: 0, digits: 0 };
    const raw = (hi - lo) / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag, step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
    let digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    if (Math.abs(Math.round(step * Math.pow(10, digits)) - step * Math.pow(10, digits)) > 1e-6) digits += 1;
    const ticks = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(+(k * step).toFixed(digits));
    return { ticks, step, digits };
  }
  const tickLabel = (v, digits) => Math.abs(v) >= 1e6 ? v.toPrecision(4) : v.toFixed(digits);

  // Time ticks on round UTC moments: minutes, hours, days, weeks from Monday, months, years.
  const MINUTE = 60, HOUR = 3600, DAY = 86400;
  const SPANS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 6 * HOUR, 12 * HOUR,
                 DAY, 2 * DAY, 7 * DAY];
  function timeTicks(t0, t1, most) {
    const span = t1 - t0, fit = (s) => span / s <= Math.max(2, most);
    const step = SPANS.find(fit);
    const ticks = [];
    if (step) {
      const offset = step === 7 * DAY ? 4 * DAY : 0;  // 1970-01-01 was a Thursday: weeks start Monday
      for (let t = Math.ceil((t0 - offset) / step) * step + offset; t <= t1; t += step) ticks.push(t);
      return { ticks, step, label: (t) => step >= DAY ? iso(t).slice(0, 10) : iso(t).slice(5) };
    }
    const months = [1, 3, 6, 12, 24, 60].find((m) => fit(m * 30.44 * DAY)) || 120;
    const d = new Date(t0 * 1000);
    let y = d.getUTCFullYear(), m = Math.ceil((d.getUTCMonth() + (d.getUTCDate() > 1 || d.getUTCHours() ? 1 : 0)) / months) * months;
    for (;;) {
      const t = Date.UTC(y + Math.floor(m / 12), m % 12, 1) / 1000;
      if (t > t1) break;
      ticks.push(t); m += months;
    }
    return { ticks, step: months * 30.44 * DAY, label: (t) => months >= 12 ? iso(t).slice(0, 4) : iso(t).slice(0, 7) };
  }

  return { iso, num, pct, money, hours, signClass, escapeHtml, niceTicks, tickLabel, timeTicks };
})();
if (typeof module !== "undefined") module.exports = RF;
